"""Differential mode (`conformance run --compare-to URL`): the run's requests sent once more to a
comparison target, and the structural differences reported next to the verdicts.  The reference
server compared with itself shows none; compared with a mutant, exactly the mutant's difference;
the comparison key is never written anywhere; an unreachable comparison target stops the run
before it sends anything (one line, exit 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance import cli, differential
from conformance.reports import render
from conformance.servers.launcher import ReferenceServer
from conformance.wire.model import Exchange, RecordedRequest
from conformance.wire.sse import parse_sse

COMPARE_KEY = "sk-comparison-key-3f9a7c41d2e8b605"


@pytest.fixture(scope="module")
def comparison_server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=COMPARE_KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def _comparison_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPARE_API_KEY", COMPARE_KEY)


def _run(tmp_path: Path, url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    code = cli.main(["run", "--quiet", "--concurrency", "4", "--reports-dir", str(reports), "--compare-to", url, *extra])
    document = json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))
    assert render.validate(document) == []
    return code, document


def _differences(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(i["aspect"], i["this"], i["comparison"]) for i in document["differences"]["items"]}


def test_the_reference_server_compared_with_itself_differs_in_nothing(
        tmp_path: Path, comparison_server: ReferenceServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _run(tmp_path, comparison_server.base_url)
    section = document["differences"]
    assert code == 0 and section["items"] == []
    assert section["compared"] > 50  # streams, errors, tools: the recorded exchanges were compared
    # Identical requests go once; the comparison's cost is its own, apart from the run's.
    assert 0 < section["requests"] < document["run"]["requests"] and section["tokens"] > 0
    assert {n["scenario"] for n in section["not_compared"]} == {"fuzz_valid", "fuzz_invalid", "fuzz_invalid_stream"}
    assert section["comparison"] == {"url": comparison_server.base_url, "model": "reference-model"}
    out = capsys.readouterr().out
    assert f"differences: 0 structural difference(s) from {comparison_server.base_url}" in out


# One defect of each kind: a field dropped, a status code changed, the SSE framing broken, a content-type.
MUTANTS = {
    "body-missing-object": {("field object", "string", "absent")},
    "validation-422": {("status code", "400", "422")},
    "sse-no-done": {("SSE [DONE] sentinel", "present", "absent")},
    "json-content-type-text-plain": {("content-type", "application/json", "text/plain")},
}


@pytest.mark.parametrize("defect", sorted(MUTANTS))
def test_a_mutant_shows_exactly_its_difference(tmp_path: Path, comparison_server: ReferenceServer, defect: str) -> None:
    code, document = _run(tmp_path, comparison_server.url_for(defect))
    assert _differences(document) == MUTANTS[defect]
    assert code == 0 and document["summary"]["status"] == "conformant"  # facts, not verdicts: the gate is the run's
    run_dir = tmp_path / "reports" / "latest"
    summary, page = (run_dir / "summary.md").read_text(encoding="utf-8"), (run_dir / "report.html").read_text(encoding="utf-8")
    aspect = next(iter(MUTANTS[defect]))[0]
    assert "Differences from the comparison target" in summary and "Differences from the comparison target" in page
    assert '<a href="#differences">' in page
    assert aspect.replace("[", "\\[").replace("]", "\\]") in summary
    assert all(w["request"].startswith(("POST /chat/completions", "GET /models"))
               for i in document["differences"]["items"] for w in i["where"])


def test_the_comparison_key_is_never_written(tmp_path: Path, comparison_server: ReferenceServer) -> None:
    _run(tmp_path, comparison_server.url_for("sse-no-done"), "--compare-model", "reference-model")
    written = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in written)
    for path in written:
        assert COMPARE_KEY.encode() not in path.read_bytes(), path


def test_a_refused_comparison_key_is_one_line_and_exit_2(tmp_path: Path, comparison_server: ReferenceServer,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MY_COMPARE_KEY", "sk-not-the-comparison-key-0000")
    code = cli.main(["run", "--quiet", "--reports-dir", str(tmp_path / "r"), "--compare-to", comparison_server.base_url,
                     "--compare-api-key-env", "MY_COMPARE_KEY"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "the key was refused" in err and "$MY_COMPARE_KEY" in err
    assert "sk-not-the-comparison-key" not in err and not (tmp_path / "r").exists()


def test_an_unreachable_comparison_target_stops_the_run_before_it_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--quiet", "--reports-dir", str(tmp_path / "r"), "--compare-to", "http://127.0.0.1:9/v1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and err.startswith("error: comparison target unreachable:"), err
    assert not (tmp_path / "r").exists()  # nothing was run, nothing written


def test_comparison_options_need_a_comparison_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--quiet", "--reports-dir", str(tmp_path), "--compare-model", "gpt-4o-mini"]) == 2
    assert capsys.readouterr().err.strip() == "error: --compare-model needs --compare-to"


# --- the shape signature ------------------------------------------------------------------------------


def _exchange(body: bytes, *, status: int = 200, content_type: str = "application/json") -> Exchange:
    request = RecordedRequest("POST", "http://127.0.0.1/v1/chat/completions", [], b"{}", {})
    ex = Exchange(request, status=status, headers=[("Content-Type", content_type)], body=body)
    if content_type == "text/event-stream":
        ex.events, ex.framing = parse_sse(body)
    return ex


def test_fields_are_typed_paths_with_arrays_collapsed_and_values_ignored() -> None:
    one = _exchange(b'{"id":"a","choices":[{"message":{"content":"hi","tool_calls":[{"function":{"arguments":"{}"}}]}},'
                    b'{"message":{"content":null}}]}')
    shape = differential.signature(one)
    assert shape["field choices[].message.tool_calls[].function.arguments"] == "string"
    assert shape["field choices[].message.content"] == "null|string"
    other = _exchange(b'{"id":"b","choices":[{"message":{"content":"other text","tool_calls":[{"function":'
                      b'{"arguments":{}}}]}},{"message":{"content":null}}]}')
    assert differential.differences(one, other, this_whole=True) == [
        ("field choices[].message.tool_calls[].function.arguments", "string", "object")]


def test_stream_framing_is_compared_not_the_text() -> None:
    role = b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    finish = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    usage = b'data: {"choices":[],"usage":{"total_tokens":3}}\n\n'
    this = _exchange(role + finish + usage + b"data: [DONE]\n\n", content_type="text/event-stream")
    shape = differential.signature(this)
    assert {k: shape[k] for k in shape if k.startswith("SSE")} == {
        "SSE data-only events": "yes", "SSE [DONE] sentinel": "present", "SSE role in the first delta": "yes",
        "SSE usage chunk": "present", "SSE finish chunk": "present"}
    named = _exchange(b"event: message\n" + role + finish, content_type="text/event-stream")
    assert dict((a, (m, t)) for a, m, t in differential.differences(this, named, this_whole=True)) == {
        "SSE data-only events": ("yes", "no"), "SSE [DONE] sentinel": ("present", "absent"),
        "SSE usage chunk": ("present", "absent"), "chunk field usage": ("object", "absent"),
        "chunk field usage.total_tokens": ("number", "absent")}


def test_answers_of_different_classes_are_not_compared_field_by_field() -> None:
    ok = _exchange(b'{"id":"x","object":"chat.completion"}')
    refused = _exchange(b'{"error":{"message":"no","type":"invalid_request_error"}}', status=400)
    assert differential.differences(ok, refused, this_whole=True) == [("status class", "2xx (200)", "4xx (400)")]


def test_the_comparison_model_replaces_the_runs_in_the_bytes_sent() -> None:
    body = b'{"model" : "reference-model","messages":[{"role":"user","content":"model reference-model"}]}'
    assert differential._with_model(body, "reference-model", "gpt-4o-mini") == \
        b'{"model" : "gpt-4o-mini","messages":[{"role":"user","content":"model reference-model"}]}'


def test_a_hostile_answer_with_thousands_of_keys_keeps_the_report_bounded() -> None:
    wide = _exchange(json.dumps({f"k{i}": i for i in range(5000)}).encode())
    shape = differential.signature(wide)
    assert sum(1 for aspect in shape if aspect.startswith("field ")) == differential.MAX_PATHS
