"""Each clause has one implementation: its registered checks.  Generated traffic is judged by the
same checks as hand-written scenarios (see engine/judging.py), so no other module may decide a
verdict or name a clause in code that judges."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conformance.suite import load_suite

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
CLAUSE_ID = re.compile(r"^[A-Z]{2,4}-\d{2}$")
VERDICT_MAKERS = {"fail", "warn", "passed", "inconclusive", "info", "Outcome"}
# Where checks live, and the engine that turns outcomes into results.
JUDGES = ("checks/", "sdk/openai_sdk.py", "engine/")
# Modules that name clauses as data, never as rules: the clause table, which clauses judge a
# capability, the defects' declarations, the kill-matrix exemptions, the replay trigger.
CLAUSE_DATA = ("clauses.py", "capabilities.py", "servers/defects/", "selftest.py", "session.py")


def _modules() -> list[tuple[str, ast.Module]]:
    return [(path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(PACKAGE.rglob("*.py"))]


def test_every_check_is_defined_where_checks_live() -> None:
    for spec in load_suite().checks.values():
        module = spec.func.__module__
        assert module.startswith("conformance.checks.") or module == "conformance.sdk.openai_sdk", (spec.name, module)


def test_no_module_outside_the_checks_builds_a_verdict() -> None:
    offenders = []
    for name, tree in _modules():
        if name.startswith(JUDGES):
            continue
        for node in ast.walk(tree):
            # the engine's verdict makers are imported by name (pytest.fail() is not one of them)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in VERDICT_MAKERS:
                offenders.append(f"{name}:{node.lineno} calls {node.func.id}()")
    assert not offenders, offenders


def test_clause_ids_appear_only_in_checks_and_declarations() -> None:
    offenders = []
    for name, tree in _modules():
        if name.startswith(JUDGES) or name.startswith(CLAUSE_DATA):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CLAUSE_ID.match(node.value):
                offenders.append(f"{name}:{node.lineno} names {node.value}")
    assert not offenders, offenders


def test_generated_traffic_is_judged_by_registered_checks() -> None:
    suite = load_suite()
    for name in ("fuzz_valid", "fuzz_invalid", "fuzz_invalid_stream", "schemathesis_phases"):
        scenario = suite.scenarios[name]
        judges = {c.rule.id for c in suite.checks.values() if c.applies_to(scenario)}
        assert scenario.judges and {"HTTP-01", "ERR-01"} <= judges, name


def test_the_whole_suite_loads_after_one_module_was_imported_first() -> None:
    """A test (or a user) importing one check module before anything else must not leave the
    registry half filled: load_suite imports every module once, whatever came before."""
    import subprocess
    import sys

    code = ("import conformance.checks.params\nfrom conformance.suite import load_suite\n"
            "s = load_suite()\nprint(len(s.checks), 'fuzz_valid' in s.scenarios)")
    alone = subprocess.run([sys.executable, "-c", "from conformance.suite import load_suite\n"
                            "s = load_suite()\nprint(len(s.checks), 'fuzz_valid' in s.scenarios)"],
                           capture_output=True, text=True, check=True).stdout
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert first == alone and alone.strip().endswith("True")
