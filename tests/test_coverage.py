"""Contract coverage: every field of the schemas is exercised in every direction, or listed with a
reason, and the list holds no stale entry.  Both sides come from the suite itself (the `covers=`
declarations of checks and scenarios) and from conformance/coverage_exemptions.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance import coverage, schema
from conformance.cli import main
from conformance.profiles import PROFILES
from conformance.reports import html
from conformance.selection import select
from conformance.suite import load_suite

HOW = ("declare what exercises it (covers= on @check or @scenario), or give the reason it is not probed "
       "in conformance/coverage_exemptions.yaml")


@pytest.fixture(scope="module")
def table() -> list[coverage.Row]:
    return coverage.rows(coverage.by_profile())


def test_every_field_is_exercised_or_has_a_reason(table: list[coverage.Row]) -> None:
    missing = [f"{r.field.name}:{d}" for r in table for d, c in r.cells.items() if c.state == "missing"]
    assert not missing, f"not exercised in any profile: {missing}; {HOW}"


def test_every_reason_is_still_needed(table: list[coverage.Row]) -> None:
    cells = {(r.field.name, d): c for r in table for d, c in r.cells.items()}
    unknown = [f"{name}:{d}" for name, d in coverage.load_exemptions() if (name, d) not in cells]
    assert not unknown, f"coverage_exemptions.yaml names fields or directions the schemas do not have: {unknown}"
    covered = {f"{name}:{d}": cells[(name, d)].by for name, d in coverage.load_exemptions() if cells[(name, d)].by}
    assert not covered, f"coverage_exemptions.yaml gives reasons for what is covered now (drop them): {covered}"


def test_every_declaration_names_a_field() -> None:
    suite = load_suite()
    declared = [e for spec in [*suite.checks.values(), *suite.scenarios.values()] for e in spec.covers]
    assert declared
    assert coverage.unmatched(declared) == []


def test_a_typo_in_a_declaration_is_caught() -> None:
    assert coverage.unmatched(["request.temprature:set", "request.temperature:set", "response.id:set"]) == [
        "request.temprature:set", "response.id:set"]
    with pytest.raises(ValueError, match="covers entry"):
        coverage.unmatched(["request.temperature"])


def test_fields_come_from_the_schemas() -> None:
    fields = {f.name: f for f in coverage.fields()}
    request = schema.reading("request", strict=True)["properties"]
    assert {n for n, f in fields.items() if f.surface == "request" and not f.vendor} == {f"request.{k}" for k in request}
    assert fields["request.top_k"].vendor and fields["request.repetition_penalty"].vendor
    # Numbers and enumerated values need a value cross-check; free strings only a type check.
    assert fields["response.usage.total_tokens"].required == ("type", "value")
    assert fields["chunk.choices[].finish_reason"].required == ("type", "value")
    assert fields["chunk.choices[].delta.tool_calls[].index"].required == ("type", "value")
    assert fields["response.choices[].message.content"].required == ("type",)
    assert len(fields) == len(coverage.fields())  # a path reached through several schema branches is one field


def test_nothing_declared_is_all_missing_and_one_profile_shows_the_others() -> None:
    empty: dict[str, coverage.Selection] = {"compatible": ([], [])}
    states = {c.state for r in coverage.rows(empty, exemptions={}) for c in r.cells.values()}
    assert states == {"missing", "optional"}
    focused = coverage.rows(coverage.by_profile(), focus="compatible")
    user = next(r for r in focused if r.field.name == "request.user")
    assert user.cells["invalid"].state == "elsewhere" and user.cells["invalid"].profiles == ("openai-strict",)
    assert not any(r.field.vendor for r in focused)  # compatible does not read the vendor's parameters


def test_exemptions_file_format(tmp_path: Path) -> None:
    path = tmp_path / "reasons.yaml"
    path.write_text("request:\n  user:\n    set off: no effect\n  seed:\n    off: nothing promised\n")
    assert coverage.load_exemptions(path) == {("request.user", "set"): "no effect", ("request.user", "off"): "no effect",
                                              ("request.seed", "off"): "nothing promised"}
    path.write_text("request:\n  user:\n    sett: typo\n")
    with pytest.raises(ValueError, match="unknown direction"):
        coverage.load_exemptions(path)
    path.write_text("request:\n  user:\n    set: ''\n")
    with pytest.raises(ValueError, match="reason"):
        coverage.load_exemptions(path)


def test_run_section_is_a_valid_report_section() -> None:
    section = coverage.run_section("compatible", select(PROFILES["compatible"]))
    report_schema = schema.load("report.schema")
    jsonschema.Draft202012Validator({"$ref": "#/$defs/Coverage", "$defs": report_schema["$defs"]}).validate(section)
    assert [t["title"] for t in section["tables"]] == ["request fields", "response fields", "chunk fields"]
    assert all(t["missing"] == 0 for t in section["totals"])
    rendered = html._coverage(section)
    assert 'id="coverage"' in rendered and "c-exempt" in rendered and "c-elsewhere" in rendered


def test_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profiles"] == list(PROFILES)
    assert all(t["missing"] == 0 for t in out["totals"])
    top_k = next(f for f in out["fields"] if f["field"] == "top_k")
    assert top_k["directions"]["set"]["profiles"] == ["vendor"]


def test_command_text_for_one_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["coverage", "--profile", "compatible"]) == 0
    out = capsys.readouterr().out
    assert "REQUEST FIELD" in out and "only in openai-strict" in out and "Totals" in out and "MISSING" not in out
