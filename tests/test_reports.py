"""Reports: report.json schema, junit.xml mapping, report.html escaping and contents, summary.md,
transcripts, `conformance report`, the run command's outputs, and redaction of a planted key in every
file the suite writes.  (report.html's charts: test_html_visuals.py; the GitHub Action: test_action.py.)"""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import BREAKOUT, PLANTED_KEY, SCRIPT, as_json, embedded_run, hand_report

from conformance import certify, cli
from conformance.reports import html, json_report, markdown, render, transcripts
from conformance.reports.findings import transcript_name
from conformance.servers.launcher import ReferenceServer


@pytest.fixture(scope="module")
def hand_doc() -> dict[str, Any]:
    return as_json(hand_report())


@pytest.fixture(scope="module")
def hand_dir(tmp_path_factory: pytest.TempPathFactory, hand_doc: dict[str, Any]) -> Path:
    out = tmp_path_factory.mktemp("hand")
    render.write(hand_doc, out)
    return out


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A run against the embedded server with defects, rendered and sealed as a bundle."""
    report = embedded_run()
    reports = tmp_path_factory.mktemp("reports")
    run_dir = json_report.write(report, reports)
    render.render_run(run_dir)
    certify.seal(run_dir, certify.Ed25519PrivateKey.generate())
    return render.load(run_dir), run_dir


# --- report.json ---------------------------------------------------------------------------------


def test_hand_built_report_follows_the_schema(hand_doc: dict[str, Any]) -> None:
    assert render.validate(hand_doc) == []


def test_real_run_report_follows_the_schema(real_run: tuple[dict[str, Any], Path]) -> None:
    document, _ = real_run
    assert render.validate(document) == []
    assert {r["verdict"] for r in document["results"]} >= {"PASS", "FAIL", "WARN"}


@pytest.mark.parametrize(("path", "value"), [
    (("results", 0, "verdict"), "BROKEN"),
    (("results", 0, "level"), "MUSTNT"),
    (("summary", "status"), "mostly-fine"),
    (("provenance", "schema_hash"), "not-a-hash"),
    (("version",), 1),  # the previous format version
])
def test_schema_rejects_malformed_reports(hand_doc: dict[str, Any], path: tuple[Any, ...], value: object) -> None:
    broken = copy.deepcopy(hand_doc)
    node = broken
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    assert render.validate(broken)


@pytest.mark.parametrize("key", ["suite_version", "suite_commit", "schema_hash", "command", "target_url", "model",
                                 "server_headers", "models", "seed"])
def test_schema_requires_every_provenance_field(hand_doc: dict[str, Any], key: str) -> None:
    broken = copy.deepcopy(hand_doc)
    del broken["provenance"][key]
    assert any(key in e for e in render.validate(broken))


# --- junit.xml -----------------------------------------------------------------------------------


def _cases(run_dir: Path) -> dict[str, ET.Element]:
    root = ET.parse(run_dir / "junit.xml").getroot()
    return {case.get("name"): case for case in root.iter("testcase")}  # type: ignore[misc]


def test_junit_maps_each_verdict(hand_dir: Path) -> None:
    root = ET.parse(hand_dir / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("7", "1", "1", "2")
    cases = _cases(hand_dir)
    failure = cases["envelope.object_type[basic]"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith('ENV-02 (MUST): expected object == "chat.completion"; observed object = ')
    assert "curl -sS -N -X POST" in (failure.text or "")
    assert cases["stream.done_marker[basic_stream]"].find("error") is not None
    assert cases["errors.error_envelope[basic]"].find("skipped") is not None
    assert cases["params.temperature[temperature]"].find("skipped").get("message", "").startswith("INCONCLUSIVE")  # type: ignore[union-attr]
    warn = cases["envelope.model_named[basic]"]
    assert [child.tag for child in warn] == ["properties", "system-out"]  # passes: WARN must not turn CI red
    properties = {p.get("name"): p.get("value") for p in warn.iter("property")}
    assert properties == {"clause": "ENV-05", "level": "SHOULD", "verdict": "WARN"}
    assert [child.tag for child in cases["envelope.id_present[basic]"]] == ["properties"]
    assert cases["envelope.object_type[basic]"].get("classname") == "envelope"


def test_junit_escapes_control_characters(hand_dir: Path) -> None:
    text = (hand_dir / "junit.xml").read_text(encoding="utf-8")
    assert "bell\\x07nul\\x00esc\\x1b" in text
    assert "\x00" not in text and "\x07" not in text


def test_junit_has_one_testcase_per_result(real_run: tuple[dict[str, Any], Path]) -> None:
    document, run_dir = real_run
    cases = _cases(run_dir)
    assert len(cases) == len(document["results"])
    fails = [r for r in document["results"] if r["verdict"] == "FAIL"]
    for r in fails:
        assert cases[r["key"]].find("failure").get("message", "").startswith(f"{r['clause']} ({r['level']})")  # type: ignore[union-attr]


# --- report.html ---------------------------------------------------------------------------------


def test_html_escapes_hostile_bytes(hand_dir: Path) -> None:
    page = (hand_dir / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in page and BREAKOUT not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "&lt;/pre&gt;&lt;/details&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("<script>") == 1 and page.count("<img") == 0
    assert "\x00" not in page and "nul\\x00esc" in page


def test_html_is_self_contained_with_hashed_script(hand_dir: Path) -> None:
    page = (hand_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and "default-src 'none'" in csp.group(1)
    script = re.search(r"<script>(.*)</script>", page, re.S)
    assert script and html._csp_hash(script.group(1)) in csp.group(1)


def test_html_shows_summary_findings_and_transcripts(hand_doc: dict[str, Any], hand_dir: Path) -> None:
    page = (hand_dir / "report.html").read_text(encoding="utf-8")
    assert 'class="banner status-non-conformant"' in page and ">NON-CONFORMANT<" in page
    for verdict in ("FAIL", "ERROR", "WARN", "SKIP", "INCONCLUSIVE", "INFO", "PASS"):
        assert f'data-filter="{verdict}"' in page
        assert f'data-verdict="{verdict}"' in page
    assert "area × level" in page and "ENV-02" in page and "SHOULD" in page
    assert "object == &quot;chat.completion&quot;" in page  # expected
    assert "rule of envelope.object_type" in page
    assert "+0.004s data:" in page and "+0.031s" in page  # SSE arrival times
    assert "repro (curl)" in page and "$OPENAI_API_KEY" in page
    assert "Traceback (most recent call last): boom" in page  # evidence


def test_html_renders_all_provenance(hand_doc: dict[str, Any], hand_dir: Path) -> None:
    page = (hand_dir / "report.html").read_text(encoding="utf-8")
    provenance = page[page.index('<section id="provenance">'):]
    for key in hand_doc["provenance"]:
        assert f"<th>{key}</th>" in provenance
    for key in ("started_at", "finished_at"):
        assert f"<th>{key}</th>" in provenance and hand_doc["run"][key] in provenance
    assert "hostile/1.0" in provenance and "conformance run --api-key ***" in provenance and "a" * 64 in provenance


# --- summary.md and transcripts ------------------------------------------------------------------


def test_markdown_summary(hand_dir: Path) -> None:
    text = (hand_dir / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("## ❌ NON-CONFORMANT: OpenAI-compatible conformance, profile compatible")
    assert "| area | FAIL | ERROR | WARN | INCONCLUSIVE | SKIP | INFO | PASS |" in text
    assert "| MUST | 1 | 1 | 0 | 0 | 1 | 0 | 1 |" in text
    assert "### Findings by cause" in text and "| FAIL | ENV-02 | MUST | envelope.object\\_type | 1: basic |" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<details><summary>Provenance</summary>" in text and "schema\\_hash" in text


def test_markdown_shows_the_baseline_outcome(hand_doc: dict[str, Any]) -> None:
    gated = dict(hand_doc, baseline={"file": "base.yml", "gated_verdicts": ["FAIL", "ERROR"], "failed": True,
                                     "new": ["stream.done_marker[basic_stream]"], "waived": ["envelope.object_type[basic]"],
                                     "expired": [], "fixed": ["old.check[gone]"], "not_run": []})
    assert render.validate(gated) == []
    text = markdown.build(gated)
    assert "**the build fails**: 1 new, 0 expired, 1 waived, 1 fixed, 0 not run" in text
    assert "Fixed: these entries can be removed from the baseline" in text and "old.check\\[gone\\]" in text
    assert "| FAIL | ENV-02 | MUST | envelope.object\\_type | 1: basic |" in text and "| observed | baseline |" in text
    assert "| ERROR | SSE-03 | MUST | stream.done\\_marker | 1: basic\\_stream | check crashed: boom |  | new |" in text
    assert "Baseline base.yml" in html.build(gated)


def test_transcripts_one_file_per_finding(hand_doc: dict[str, Any], hand_dir: Path) -> None:
    files = sorted(p.name for p in (hand_dir / "transcripts").iterdir() if p.is_file())
    with_artifacts = [r["key"] for r in hand_doc["results"] if r["artifacts"]]
    assert files == sorted(transcript_name(k) for k in with_artifacts)
    text = (hand_dir / "transcripts" / transcript_name("envelope.object_type[basic]")).read_text(encoding="utf-8")
    assert text.startswith("# oai-conformance reproduction: envelope.object_type[basic]")
    assert "# verdict: FAIL  clause ENV-02 (MUST)" in text and "curl -sS -N -X POST" in text
    exchange = re.search(r"request, response and SSE transcript: (exchanges/[0-9a-f]{16}\.txt)", text)
    assert exchange
    detail = (hand_dir / "transcripts" / exchange.group(1)).read_text(encoding="utf-8")
    assert "+0.031s data:" in detail and "Authorization: Bearer ***" in detail
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in files)


def test_each_exchange_is_written_and_rendered_once(real_run: tuple[dict[str, Any], Path]) -> None:
    """The checks of one scenario share its exchanges: report.html and transcripts/ hold each once."""
    document, run_dir = real_run
    stored = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["artifacts"]
    shown = {json_report.artifact_id(a) for r in document["results"] if r["verdict"] != "PASS" for a in r["artifacts"]}
    references = sum(len(r["artifacts"]) for r in document["results"] if r["verdict"] != "PASS")
    assert references > len(shown)  # shared, so deduplication matters here
    assert sorted(p.stem for p in (run_dir / "transcripts" / "exchanges").iterdir()) == sorted(shown)
    assert shown <= set(stored)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'<div class="artifact" id="x-([0-9a-f]{16})"', page)) == sorted(shown)


def test_transcript_names_do_not_collide() -> None:
    assert transcript_name("a.b[x y]") != transcript_name("a.b[x_y]")


def test_rerender_is_byte_identical(hand_doc: dict[str, Any], hand_dir: Path, tmp_path: Path) -> None:
    render.write(hand_doc, tmp_path)
    for name in ("report.json", "junit.xml", "report.html", "summary.md"):
        assert (tmp_path / name).read_bytes() == (hand_dir / name).read_bytes(), name


# --- commands ------------------------------------------------------------------------------------


def test_report_command_rerenders_from_report_json(hand_doc: dict[str, Any], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "report.json").write_text(json_report.dump(hand_doc), encoding="utf-8")
    assert cli.main(["report", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"report.json", "junit.xml", "report.html", "summary.md", "transcripts"}
    other = tmp_path / "only-html"
    assert cli.main(["report", str(tmp_path), "--format", "html", "--output", str(other)]) == 0
    assert [p.name for p in other.iterdir()] == ["report.html"]
    assert str(other / "report.html") in capsys.readouterr().out


def test_report_command_rejects_invalid_report_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "report.json").write_text('{"format": "something-else"}', encoding="utf-8")
    assert cli.main(["report", str(tmp_path)]) == 1
    assert "does not follow report.schema.json" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "missing")]) == 2  # could not run: nothing to render
    assert not (tmp_path / "report.html").exists()


def test_run_command_writes_every_format_and_the_step_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("previous step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    with ReferenceServer(api_key=PLANTED_KEY) as server:
        code = cli.main(["run", "--quiet", "--base-url", server.url_for("body-object-wrong"), "--model", "reference-model",
                         "--scenario", "chat_basic", "--scenario", "stream_basic", "--reports-dir", str(tmp_path / "reports")])
    out, err = capsys.readouterr()
    assert code == 1
    run_dir = tmp_path / "reports" / "latest"
    assert {p.name for p in run_dir.iterdir()} >= {"report.json", "junit.xml", "report.html", "summary.md", "transcripts"}
    summary = step_summary.read_text(encoding="utf-8")
    assert summary.startswith("previous step\n## ❌ NON-CONFORMANT")
    assert PLANTED_KEY not in out + err + summary
    assert "FAIL  ENV-02" in out


# --- redaction -----------------------------------------------------------------------------------


def _all_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def test_planted_key_appears_in_no_output_file(real_run: tuple[dict[str, Any], Path], hand_dir: Path) -> None:
    _, run_dir = real_run
    files = _all_files(run_dir, hand_dir)
    names = {p.relative_to(p.parent.parent if p.parent.name == "transcripts" else p.parent).as_posix() for p in files}
    assert {"report.json", "junit.xml", "report.html", "summary.md", "MANIFEST.json", "MANIFEST.sig",
            "signer.pub.pem"} <= names
    assert any(n.startswith("transcripts/") for n in names)
    leaks = [p for p in files if PLANTED_KEY.encode() in p.read_bytes()]
    assert leaks == []


def test_real_run_redacts_headers_and_command_line(real_run: tuple[dict[str, Any], Path]) -> None:
    document, _ = real_run
    assert document["provenance"]["command"] == "conformance run --api-key ***"
    headers = [h for r in document["results"] for a in r["artifacts"] for h in a["request"]["headers"]]
    assert ["Authorization", "Bearer ***"] in headers


def test_transcripts_keep_sse_arrival_times(real_run: tuple[dict[str, Any], Path]) -> None:
    document, run_dir = real_run
    streamed = [r for r in document["results"] if r["verdict"] == "FAIL" and "text/event-stream" in json.dumps(r["artifacts"])]
    assert streamed
    text = (run_dir / transcripts.DIRNAME / transcript_name(streamed[0]["key"])).read_text(encoding="utf-8")
    exchanges = re.findall(r"request, response and SSE transcript: (exchanges/\S+)", text)
    detail = "".join((run_dir / transcripts.DIRNAME / name).read_text(encoding="utf-8") for name in exchanges)
    assert re.search(r"^\+\d+\.\d{3}s data: ", detail, re.M)


# --- report.json storage and causes --------------------------------------------------------------


def test_report_json_stores_each_exchange_once(hand_doc: dict[str, Any], tmp_path: Path) -> None:
    shared = next(r["artifacts"] for r in hand_doc["results"] if r["artifacts"])
    doubled = copy.deepcopy(hand_doc)
    for result in doubled["results"]:
        result["artifacts"] = copy.deepcopy(shared)  # every result points at the same exchange(s)
    on_disk = json_report.compact(doubled)
    assert len(on_disk["artifacts"]) == len(shared)
    assert all(len(r["artifacts"]) == len(shared) and all(isinstance(i, str) for i in r["artifacts"])
               for r in on_disk["results"])
    assert render.validate(on_disk) == [] and json_report.expand(on_disk) == doubled
    (tmp_path / "report.json").write_text(json_report.dump(doubled), encoding="utf-8")
    assert render.load(tmp_path) == doubled


def test_one_cause_is_one_entry_in_the_console_and_the_summary(hand_doc: dict[str, Any]) -> None:
    """Results that differ only in scenario, exchange label and numbers are one cause."""
    from conformance.reports import console, markdown

    doc = copy.deepcopy(hand_doc)
    first = next(r for r in doc["results"] if r["clause"] == "ENV-02")
    doc["results"] += [dict(first, key=f"envelope.object_type[s{i}]", scenario=f"s{i}",
                            observed=first["observed"].replace("object", f"related_{i}: object", 1)) for i in range(3)]
    assert console.findings(doc).count("FAIL  ENV-02") == 1
    assert "[basic, s0, s1, s2]" in console.findings(doc)
    assert "| FAIL | ENV-02 | MUST | envelope.object\\_type | 4: basic, s0, s1, s2 |" in markdown.build(doc)


def test_console_cuts_a_huge_repro_and_names_the_file_holding_it(hand_doc: dict[str, Any], tmp_path: Path) -> None:
    """A context-overflow probe's curl line is tens of kilobytes: the terminal shows its start and
    where the whole command is; the transcript file written for that result holds it whole."""
    from conformance.reports import console, transcripts
    from conformance.reports.findings import transcript_name

    doc = copy.deepcopy(hand_doc)
    failing = next(r for r in doc["results"] if r["verdict"] == "FAIL" and r["artifacts"])
    short = failing["artifacts"][0]["curl"]
    assert short in console.findings(doc)  # a normal repro is shown whole
    huge = short + " --data-raw '" + "the " * 5000 + "'"
    failing["artifacts"] = [dict(failing["artifacts"][0], curl=huge)]
    shown = next(line for line in console.findings(doc).splitlines() if line.strip().startswith("repro:"))
    name = transcript_name(failing["key"])
    assert len(shown) < console.REPRO_SHOWN + 200 and f"{len(huge)} characters" in shown and name in shown
    transcripts.write(doc, tmp_path)
    assert huge in (tmp_path / transcripts.DIRNAME / name).read_text(encoding="utf-8")
