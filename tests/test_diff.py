"""`conformance diff`: the comparison kinds, grouping by root cause, the three renderings, the
schema of the JSON form, the baseline gate sharing the comparison, and the CLI end to end against
the embedded reference server (a clean run against a run with defects)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import as_json, hand_report

from conformance import baseline as bl
from conformance import cli
from conformance.reports import compare, diff_view, schemas

FAILING = ("FAIL", "ERROR")


@pytest.mark.parametrize(("before", "after", "kind"), [
    (None, "FAIL", "new"), ("PASS", "ERROR", "new"), ("WARN", "FAIL", "new"), ("SKIP", "FAIL", "new"),
    ("FAIL", "PASS", "fixed"), ("ERROR", "INFO", "fixed"),
    ("FAIL", "FAIL", "still"), ("FAIL", "ERROR", "still"),
    ("FAIL", None, "not_run"), ("FAIL", "SKIP", "not_run"), ("ERROR", "INCONCLUSIVE", "not_run"),
    ("FAIL", "WARN", "changed"), ("PASS", "WARN", "changed"), ("PASS", "SKIP", "changed"),
    (None, "PASS", "added"), ("WARN", None, "removed"), ("PASS", "PASS", "same"), ("WARN", "WARN", "same"),
])
def test_each_pair_of_verdicts_has_one_kind(before: str | None, after: str | None, kind: str) -> None:
    assert compare.kind_of(before, after, FAILING) == kind


def test_warn_counts_as_a_failure_when_asked() -> None:
    assert compare.kind_of("PASS", "WARN", ("FAIL", "ERROR", "WARN")) == "new"
    assert compare.kind_of("FAIL", "WARN", ("FAIL", "ERROR", "WARN")) == "still"


def _document(*rows: tuple[str, str, str]) -> dict[str, Any]:
    """A report.json document whose results are (scenario, verdict, observed) of one check."""
    document = as_json(hand_report())
    template = next(r for r in document["results"] if r["verdict"] == "FAIL")
    document["results"] = [dict(template, key=f"{template['check']}[{scenario}]", scenario=scenario, verdict=verdict,
                                observed=observed) for scenario, verdict, observed in rows]
    return document


def test_results_of_one_cause_are_one_entry() -> None:
    before = _document(("a", "PASS", ""), ("b", "PASS", ""), ("c", "PASS", ""), ("d", "FAIL", "x"))
    after = _document(("a", "FAIL", "created = 1712345678901"), ("b", "FAIL", "created = 1712345600000"),
                      ("c", "FAIL", "object is missing"), ("d", "PASS", ""))
    diff = compare.compare(before, after, FAILING)
    assert diff["counts"] == {"new": 3, "fixed": 1, "changed": 0, "not_run": 0, "still": 0, "added": 0, "removed": 0,
                              "same": 0}
    new = [c for c in diff["causes"] if c["kind"] == "new"]
    assert sorted(c["scenarios"] for c in new) == [["a", "b"], ["c"]]  # numbers masked: one cause for a and b
    fixed = [c for c in diff["causes"] if c["kind"] == "fixed"]
    assert fixed[0]["before"] == "FAIL" and fixed[0]["after"] == "PASS" and fixed[0]["observed"] == "x"
    assert diff["regressed"] and schemas.errors(schemas.DIFF, diff) == []


def test_renderings_name_every_listed_cause() -> None:
    before = _document(("a", "PASS", ""), ("b", "FAIL", "b broke"), ("c", "FAIL", "c broke"))
    after = _document(("a", "WARN", "odd"), ("b", "PASS", ""), ("c", "FAIL", "c broke"))
    diff = compare.compare(before, after, FAILING, before_source="old", after_source="new")
    text = diff_view.console(diff)
    assert "0 new failures, 1 fixed, 1 changed" in text
    assert "FIXED    FAIL→PASS" in text and "CHANGED  PASS→WARN" in text and "STILL" in text
    md = diff_view.markdown(diff)
    assert md.startswith("### Conformance diff: ✅ no new failures")
    assert "#### Fixed" in md and "#### Changed verdicts" in md and "<summary>Still failing (1)</summary>" in md
    assert not diff["regressed"]


def test_markdown_escapes_what_the_target_sent() -> None:
    before = _document(("a", "PASS", ""))
    after = _document(("a", "FAIL", "<img src=x onerror=alert(1)> | `x`"))
    md = diff_view.markdown(compare.compare(before, after, FAILING))
    assert "<img" not in md and "&lt;img" in md and "\\|" in md


@pytest.mark.parametrize("fail_on", ["fail", "warn"])
def test_the_baseline_gate_and_the_diff_agree(fail_on: str) -> None:
    """A baseline made from run A gates run B exactly as `diff A B` sorts B's failures."""
    before = _document(("a", "FAIL", ""), ("b", "WARN", ""), ("c", "PASS", ""), ("d", "ERROR", ""), ("e", "FAIL", ""))
    after = _document(("a", "FAIL", ""), ("b", "FAIL", ""), ("c", "WARN", ""), ("d", "PASS", ""), ("e", "SKIP", ""),
                      ("f", "ERROR", ""))
    failing = bl.gated_verdicts(fail_on)
    waivers = bl.create(before, "known", dt.date(2099, 1, 1), include_warn=fail_on == "warn")
    gate = bl.evaluate(after, waivers, file="b.yml", fail_on=fail_on)
    kinds = compare.transitions(compare.verdicts(before), compare.verdicts(after), failing)
    assert gate.new == kinds["new"]
    assert gate.fixed == kinds["fixed"] and gate.not_run == kinds["not_run"] and gate.waived == kinds["still"]


# --- the command, end to end -------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A clean run and a run against two defects, of the same scenarios."""
    reports = tmp_path_factory.mktemp("diff")
    scenarios = ["--scenario", "chat_basic", "--scenario", "stream_basic", "--scenario", "missing_messages"]
    assert cli.main(["run", "--quiet", "--reports-dir", str(reports / "clean"), *scenarios]) == 0
    assert cli.main(["run", "--quiet", "--reports-dir", str(reports / "broken"), *scenarios,
                     "--defect", "body-object-wrong", "--defect", "sse-no-done"]) == 1
    return (reports / "clean" / "latest").resolve(), (reports / "broken" / "latest").resolve()


def test_diff_names_new_failures_and_exits_1(two_runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    clean, broken = two_runs
    assert cli.main(["diff", str(clean), str(broken)]) == 1
    out = capsys.readouterr().out
    assert "NEW" in out and "ENV-02" in out and "SSE-03" in out and "[chat_basic]" in out
    assert cli.main(["diff", str(broken), str(clean / "report.json")]) == 0  # the other way round: all fixed
    assert "FIXED" in capsys.readouterr().out


def test_diff_markdown_and_json(two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean, broken = two_runs
    assert cli.main(["diff", str(clean), str(broken), "--format", "markdown"]) == 1
    assert "#### New failures" in capsys.readouterr().out
    out = tmp_path / "diff.json"
    assert cli.main(["diff", str(clean), str(broken), "--format", "json", "--output", str(out)]) == 1
    diff = json.loads(out.read_text(encoding="utf-8"))
    assert schemas.errors(schemas.DIFF, diff) == []
    assert diff["before"]["source"] == str(clean) and diff["counts"]["new"] >= 2
    broken_diff = copy.deepcopy(diff)
    broken_diff["counts"]["new"] = -1
    assert schemas.errors(schemas.DIFF, broken_diff) != []


@pytest.mark.parametrize("problem", ["missing", "not-json", "not-a-report"])
def test_a_bad_run_is_one_line_and_exit_2(problem: str, two_runs: tuple[Path, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    if problem != "missing":
        bad.mkdir()
        (bad / "report.json").write_text("{" if problem == "not-json" else '{"format": "x"}', encoding="utf-8")
    assert cli.main(["diff", str(two_runs[0]), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
