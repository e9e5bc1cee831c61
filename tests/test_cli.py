"""The `conformance` command as a user meets it: the main job, its exit codes and its output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.clauses import CLAUSES
from conformance.engine import Verdict
from conformance.reports import json_report
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute
from conformance.suite import load_suite


def conformance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_main_job_certifies_the_embedded_server(tmp_path: Path) -> None:
    done = conformance("run", "--profile", "smoke", "--reports-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CONFORMANT" in done.stdout and "area" in done.stdout and "total" in done.stdout
    document = json.loads((tmp_path / "out" / "latest" / "report.json").read_text())
    assert document["summary"]["status"] == "conformant" and document["run"]["requests"] <= 30
    assert document["provenance"]["embedded_server"] is True
    assert "Traceback" not in done.stderr


def test_default_profile_with_generated_traffic_is_conformant_on_the_reference_server() -> None:
    report = execute(RunConfig(command=["test"]))
    bad = [f"{r.key} {r.verdict.value} {r.observed or r.note}" for r in report.results
           if r.verdict not in (Verdict.PASS, Verdict.INFO)]
    assert not bad, "\n".join(bad)
    assert any(r.scenario.startswith("fuzz_") for r in report.results)


def test_defect_run_exits_1_and_explains_the_finding(tmp_path: Path) -> None:
    done = conformance("run", "--profile", "smoke", "--defect", "sse-no-done", "--reports-dir", "out", cwd=tmp_path)
    assert done.returncode == 1
    assert "FAIL  SSE-03 (MUST)" in done.stdout and "repro:    curl" in done.stdout


def test_bad_options_exit_2_without_a_traceback(tmp_path: Path) -> None:
    missing_model = conformance("run", "--base-url", "http://127.0.0.1:9/v1", cwd=tmp_path)
    assert missing_model.returncode == 2 and "--model is required" in missing_model.stderr
    unreachable = conformance("run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", cwd=tmp_path)
    assert unreachable.returncode == 2 and "target unreachable" in unreachable.stderr
    assert "Traceback" not in missing_model.stderr + unreachable.stderr


def test_an_open_server_is_recorded_not_failed() -> None:
    with ReferenceServer() as server:  # no API key: anyone may call it
        report = execute(RunConfig(base_url=server.base_url, model=EMBEDDED_MODEL, api_key_env="CONFORMANCE_NO_SUCH_KEY",
                                   scenarios=("bad_credentials", "chat_basic"), command=["test"]))
    auth = [r for r in report.results if r.clause == "ERR-05"]
    assert [r.verdict for r in auth] == [Verdict.INFO] and "not tested" in auth[0].note
    assert json_report.build(report)["summary"]["status"] == "conformant"


def test_list_checks_names_every_checked_clause_with_its_level(tmp_path: Path) -> None:
    done = conformance("list-checks", cwd=tmp_path)
    assert done.returncode == 0
    checked = {c.rule.id for c in load_suite().checks.values()}
    for cid in checked:
        assert f"{cid} " in done.stdout and CLAUSES[cid].level.value in done.stdout
    assert checked == set(CLAUSES), sorted(set(CLAUSES) ^ checked)  # no clause without a check


@pytest.mark.parametrize("profile", ["smoke", "compatible", "openai-strict", "vendor", "certify"])
def test_every_profile_is_listed(tmp_path: Path, profile: str) -> None:
    done = conformance("list-checks", "--profile", profile, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.count("\n") > 20


def test_list_checks_shows_what_a_run_in_the_profile_executes(tmp_path: Path) -> None:
    """list-checks uses the run's own selection: smoke generates nothing, so no check is listed for
    the generated scenarios there, and every listed check is one a smoke run executes."""
    from conformance.profiles import get_profile
    from conformance.selection import select

    done = conformance("list-checks", "--profile", "smoke", cwd=tmp_path)
    checks, scenarios = select(get_profile("smoke"), reconcile=True)
    listed = {line.split()[3] for line in done.stdout.splitlines() if line[:1].isupper()}
    assert listed == {c.name for c in checks}
    assert not any("fuzz" in s.tags for s in scenarios)
