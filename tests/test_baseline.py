"""Baselines: file format, gate rules (new / waived / expired / fixed / not run), create and update,
and `conformance run --baseline` end to end against the embedded reference server."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from conformance import baseline as bl
from conformance import cli

TODAY = dt.date(2026, 6, 1)
LATER = dt.date(2026, 12, 31)


def _doc(*rows: tuple[str, str]) -> dict[str, Any]:
    return {"results": [{"key": key, "clause": "ENV-02", "verdict": verdict} for key, verdict in rows]}


def _baseline(*keys: str, expires: dt.date = LATER) -> bl.Baseline:
    return bl.Baseline({k: bl.Waiver(k, "ENV-02", "known", expires) for k in keys})


# --- the gate ------------------------------------------------------------------------------------


def test_gate_sorts_results_into_new_waived_expired_fixed_and_not_run() -> None:
    document = _doc(("a[x]", "FAIL"), ("b[x]", "FAIL"), ("c[x]", "PASS"), ("d[x]", "ERROR"), ("e[x]", "SKIP"), ("f[x]", "FAIL"))
    waivers = _baseline("a[x]", "c[x]", "e[x]", "gone[x]")
    waivers.entries["f[x]"] = bl.Waiver("f[x]", "ENV-02", "old", dt.date(2026, 5, 31))
    gate = bl.evaluate(document, waivers, file="b.yml", today=TODAY)
    assert (gate.new, gate.waived, gate.expired, gate.fixed, gate.not_run) == (
        ["b[x]", "d[x]"], ["a[x]"], ["f[x]"], ["c[x]"], ["e[x]", "gone[x]"])
    assert gate.failed


def test_only_waived_failures_pass_the_gate() -> None:
    gate = bl.evaluate(_doc(("a[x]", "FAIL"), ("b[x]", "ERROR"), ("c[x]", "WARN")), _baseline("a[x]", "b[x]"),
                       file="b.yml", today=TODAY)
    assert not gate.failed and gate.waived == ["a[x]", "b[x]"] and gate.new == []


def test_a_waiver_holds_through_its_expiry_day() -> None:
    document, waivers = _doc(("a[x]", "FAIL")), _baseline("a[x]", expires=TODAY)
    assert not bl.evaluate(document, waivers, file="b", today=TODAY).failed
    assert bl.evaluate(document, waivers, file="b", today=TODAY + dt.timedelta(days=1)).expired == ["a[x]"]


def test_fail_on_decides_which_verdicts_are_gated() -> None:
    document = _doc(("w[x]", "WARN"), ("f[x]", "FAIL"))
    assert bl.evaluate(document, bl.Baseline(), file="b", fail_on="warn", today=TODAY).new == ["f[x]", "w[x]"]
    assert bl.evaluate(document, bl.Baseline(), file="b", fail_on="fail", today=TODAY).new == ["f[x]"]
    assert not bl.evaluate(document, bl.Baseline(), file="b", fail_on="never", today=TODAY).failed


# --- the file ------------------------------------------------------------------------------------


def test_yaml_round_trip(tmp_path: Path) -> None:
    waivers = _baseline("b[x]", "a[x]")
    path = waivers.save(tmp_path / "base.yml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# conformance baseline") and "expires: 2026-12-31" in text
    assert text.index("a[x]") < text.index("b[x]")
    assert bl.load(path) == waivers


def test_json_round_trip(tmp_path: Path) -> None:
    path = _baseline("a[x]").save(tmp_path / "base.json")
    assert json.loads(path.read_text(encoding="utf-8"))["entries"][0]["expires"] == "2026-12-31"
    assert bl.load(path) == _baseline("a[x]")


@pytest.mark.parametrize(("text", "message"), [
    ("entries: []", "version: 1"),
    ("version: 1\nentries:\n  - key: a\n    clause: X-1\n    reason: r", "missing expires"),
    ("version: 1\nentries:\n  - {key: a, clause: X-1, reason: r, expires: soon}", "not a date"),
    ("version: 1\nentries:\n  - {key: a, clause: X-1, reason: '', expires: 2026-01-01}", "must not be empty"),
    ("version: 1\nentries:\n  - {key: a, clause: X-1, reason: r, expires: 2026-01-01}\n"
     "  - {key: a, clause: X-1, reason: r, expires: 2026-01-01}", "duplicate key"),
    ("version: [", "cannot read"),
])
def test_malformed_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "base.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(bl.BaselineError, match=message):
        bl.load(path)


# --- create and update ---------------------------------------------------------------------------


def test_create_waives_failures_and_errors() -> None:
    document = _doc(("a[x]", "FAIL"), ("b[x]", "ERROR"), ("c[x]", "WARN"), ("d[x]", "PASS"))
    assert sorted(bl.create(document, "why", LATER, today=TODAY).entries) == ["a[x]", "b[x]"]
    assert sorted(bl.create(document, "why", LATER, include_warn=True, today=TODAY).entries) == ["a[x]", "b[x]", "c[x]"]


@pytest.mark.parametrize(("reason", "expires"), [("", LATER), ("why", dt.date(2026, 5, 1))])
def test_create_refuses_empty_reasons_and_past_expiry(reason: str, expires: dt.date) -> None:
    with pytest.raises(bl.BaselineError):
        bl.create(_doc(("a[x]", "FAIL")), reason, expires, today=TODAY)


def test_update_drops_fixed_keeps_failing_and_not_run() -> None:
    old = _baseline("fixed[x]", "failing[x]", "absent[x]", expires=dt.date(2026, 7, 1))
    document = _doc(("fixed[x]", "PASS"), ("failing[x]", "FAIL"), ("new[x]", "FAIL"))
    new, summary = bl.update(old, document, expires=LATER, today=TODAY)
    assert (summary.removed, summary.kept, summary.not_run, summary.added) == (["fixed[x]"], ["failing[x]"], ["absent[x]"], [])
    assert new.entries["failing[x]"].expires == LATER and new.entries["absent[x]"].expires == dt.date(2026, 7, 1)
    added, summary = bl.update(old, document, expires=LATER, reason="new one", add_new=True, today=TODAY)
    assert summary.added == ["new[x]"] and added.entries["new[x]"].reason == "new one"
    with pytest.raises(bl.BaselineError, match="--reason"):
        bl.update(old, document, add_new=True, today=TODAY)


# --- the CLI, end to end -------------------------------------------------------------------------


def _run(reports: Path, *extra: str) -> int:
    return cli.main(["run", "--quiet", "--reports-dir", str(reports), "--scenario", "chat_basic", "--scenario", "stream_basic",
                     *extra])


def test_run_with_baseline_gates_only_new_and_expired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports, base = tmp_path / "reports", tmp_path / "base.yml"
    assert _run(reports / "one", "--defect", "body-object-wrong") == 1
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert cli.main(["baseline", "create", "--from", str(reports / "one" / "latest"), "--reason", "VENDOR-1",
                     "--expires", expires, "--output", str(base)]) == 0
    waived = bl.load(base)
    assert "envelope.object_type[chat_basic]" in waived.entries
    assert all(w.reason == "VENDOR-1" and w.clause.startswith("ENV-") for w in waived.entries.values())
    assert cli.main(["baseline", "create", "--from", str(reports / "one" / "latest"), "--reason", "x",
                     "--expires", expires, "--output", str(base)]) == 2  # exists: no silent overwrite

    assert _run(reports / "two", "--defect", "body-object-wrong", "--baseline", str(base)) == 0
    document = json.loads((reports / "two" / "latest" / "report.json").read_text(encoding="utf-8"))
    assert document["baseline"]["waived"] == sorted(waived.entries) and not document["baseline"]["failed"]
    assert "no new failures" in (reports / "two" / "latest" / "summary.md").read_text(encoding="utf-8")

    assert _run(reports / "three", "--defect", "body-object-wrong", "--defect", "response-model-empty",
                "--fail-on", "warn", "--baseline", str(base)) == 1  # the WARNs are new under --fail-on warn

    capsys.readouterr()
    assert _run(reports / "clean", "--baseline", str(base)) == 0
    assert "can be removed" in capsys.readouterr().out
    assert cli.main(["baseline", "update", str(base), "--from", str(reports / "clean" / "latest")]) == 0
    assert bl.load(base).entries == {}


def test_expired_waivers_fail_the_build_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base.yml"
    base.write_text("version: 1\nentries:\n  - {key: 'envelope.object_type[chat_basic]', clause: ENV-02, reason: old,"
                    " expires: 2001-01-01}\n", encoding="utf-8")
    assert _run(tmp_path / "r", "--defect", "body-object-wrong", "--clause", "ENV-02",
                "--baseline", str(base)) == 1
    assert "EXPIRED  envelope.object_type[chat_basic]" in capsys.readouterr().out


def test_waivers_are_refused_in_certification_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _baseline("a[x]").save(tmp_path / "base.yml")
    assert _run(tmp_path / "r", "--profile", "certify", "--baseline", str(base)) == 2
    assert "waivers are refused in certification runs" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_broken_baseline_stops_the_run_before_it_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path / "r", "--baseline", str(tmp_path / "missing.yml")) == 2
    assert "no such baseline file" in capsys.readouterr().err
