"""`conformance replay`: recorded runs judged again offline reproduce their verdicts exactly, a
changed check shows up as a change, what was not recorded whole is SKIP "needs a live target"
(never a verdict), and the cassette rebuilds exchanges byte for byte (invalid UTF-8, long bodies,
SSE framing and timing included)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import as_json, embedded_run

from conformance import cassette, cli
from conformance.engine import fail
from conformance.evidence import Evidence
from conformance.replay import NEEDS_TARGET, replay
from conformance.reports import render
from conformance.suite import load_suite
from conformance.wire.model import Exchange, RecordedRequest, TransportError
from conformance.wire.sse import parse_sse

# Generated traffic is judged case by case while it is sent: only these scenarios may need a target.
GENERATED = {"fuzz_valid", "fuzz_invalid", "fuzz_invalid_stream", "schemathesis_phases"}
# Defects and variants whose exchanges exercise every part of the cassette: SSE framing facts and
# invalid UTF-8 (base64 bodies), error bodies, n and sampled probes, a server closing connections.
DEFECT_SETS = [(), ("sse-invalid-utf8", "error-string", "n-ignored"), ("sse-crlf", "sse-data-no-space", "connection-close"),
               ("body-object-wrong", "sse-no-done", "chunk-id-varies", "tool-args-truncated")]


def _assert_reproduced(document: dict[str, Any]) -> dict[str, Any]:
    replayed = as_json(replay(document, "recorded"))
    offline = replayed["provenance"]["replay"]["not_replayed"]
    assert set(offline) <= GENERATED, offline
    recorded = {r["key"]: r for r in document["results"]}
    assert {r["key"] for r in replayed["results"]} == set(recorded)
    for result in replayed["results"]:
        if result["scenario"] in offline:
            assert result["verdict"] == "SKIP" and result["note"].startswith(NEEDS_TARGET)
            continue
        was = recorded[result["key"]]
        assert (result["verdict"], result["expected"], result["observed"], result["note"]) == \
            (was["verdict"], was["expected"], was["observed"], was["note"]), result["key"]
    return replayed


@pytest.mark.parametrize("defects", DEFECT_SETS, ids=lambda d: "+".join(d) or "clean")
def test_replay_reproduces_every_recorded_verdict(defects: tuple[str, ...]) -> None:
    document = as_json(embedded_run(defects=defects))
    assert render.validate(document) == []
    replayed = _assert_reproduced(document)
    assert replayed["run"]["requests"] == 0 and replayed["provenance"]["replay"]["of"] == document["run"]["id"]
    _assert_reproduced(replayed)  # a replay keeps the recordings: it can be replayed in turn


def test_today_checks_judge_the_old_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    document = as_json(embedded_run(defects=()))
    suite = load_suite()
    spec = suite.checks["envelope.object_type"]
    stricter = dataclasses.replace(spec, func=lambda ev: fail("an object named by a stricter rule", "chat.completion"))
    monkeypatch.setitem(suite.checks, spec.name, stricter)
    replayed = as_json(replay(document, "recorded"))
    changed = {r["key"] for r in replayed["results"] if r["verdict"] == "FAIL"}
    assert changed and all(k.startswith("envelope.object_type[") for k in changed)


def test_a_run_without_recordings_needs_a_live_target_throughout() -> None:
    document = as_json(embedded_run(defects=("body-object-wrong",)))
    del document["recordings"]  # report.json as written before replay existed
    assert render.validate(document) == []
    replayed = as_json(replay(document, "old"))
    assert {r["verdict"] for r in replayed["results"]} == {"SKIP"}
    assert all("older than replay" in r["note"] for r in replayed["results"])


def test_replay_command_writes_a_run_and_shows_the_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--quiet", "--reports-dir", str(tmp_path / "runs"), "--scenario", "chat_basic",
                     "--scenario", "stream_basic", "--scenario", "fuzz_valid", "--defect", "sse-no-done"]) == 1
    capsys.readouterr()
    assert cli.main(["replay", str(tmp_path / "runs" / "latest"), "--reports-dir", str(tmp_path / "replays")]) == 0
    out = capsys.readouterr().out
    assert "2 of 3 scenarios judged again offline" in out and f"{NEEDS_TARGET}: fuzz_valid: generated traffic" in out
    assert "0 new failures" in out and "FAIL→SKIP" not in out  # fuzz_valid is listed once, not once per check
    replayed = render.load(tmp_path / "replays" / "latest")
    assert replayed["provenance"]["replay"]["source"] == str(tmp_path / "runs" / "latest")
    assert (tmp_path / "replays" / "latest" / "report.html").is_file()
    assert cli.main(["replay", str(tmp_path / "runs" / "latest"), "--reports-dir", str(tmp_path / "replays"),
                     "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["new"] == 0


def test_replay_of_a_missing_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# --- the cassette --------------------------------------------------------------------------------


def _exchange(body: bytes, *, stream: bool = False) -> Exchange:
    request = RecordedRequest("POST", "http://127.0.0.1:9/v1/chat/completions", [("Content-Type", "application/json")],
                              b'{"model":"m","stream":true}', {"model": "m", "stream": True}, "Authorization", "Bearer ",
                              "OPENAI_API_KEY")
    exchange = Exchange(request, 200, [("content-type", "text/event-stream" if stream else "application/json")], body,
                        elapsed=0.123456789, ttfb=0.01, attempts=2, retry_wait=1.5, http_version="HTTP/1.1", reason="OK",
                        closed_after_response=True, error=TransportError("reset", "peer: reset by peer"))
    if stream:
        exchange.events, exchange.framing = parse_sse(body)
        for n, event in enumerate(exchange.events):
            event.at = 0.001 * (n + 1)
    return exchange


def _round_trip(evidence: Evidence) -> tuple[dict[str, Any], Evidence | None]:
    recording = json.loads(json.dumps(cassette.record(evidence)))
    try:
        return recording, cassette.rebuild(recording, evidence.ctx)
    except cassette.NotReplayable:
        return recording, None


@pytest.mark.parametrize("body, stream", [
    (b'{"id": "x"}', False),
    (b'{"bad": "\xff\xfe"}', False),  # not UTF-8: recorded in base64
    (b'{"long": "' + b"x" * 40_000 + b'"}', False),  # beyond the artifact's 16 KiB, within the recording's 256 KiB
    (b'\xef\xbb\xbfdata:{"a":1}\r\n\r\n: keep-alive\r\ndata: [DONE]\r\n\r\ntrailing', True),  # BOM, CRLF, comment, tail
    (b'data: {"a":"\xff"}\n\ndata: [DONE]\n\n', True),
])
def test_the_cassette_rebuilds_exchanges_byte_for_byte(body: bytes, stream: bool) -> None:
    evidence = Evidence(None, {"stream": stream, "n": (1, 2)}, _exchange(body, stream=stream),  # type: ignore[arg-type]
                        related={"repeat": _exchange(b"{}")}, data={"$schema": {"k": {1, 2}}, "t": (1, "a")}, param=("n", "m"))
    recording, rebuilt = _round_trip(evidence)
    assert recording["replayable"] and rebuilt is not None
    assert rebuilt.exchange == evidence.exchange and rebuilt.related == evidence.related
    assert (rebuilt.request, rebuilt.data, rebuilt.param) == (evidence.request, evidence.data, evidence.param)


def test_what_cannot_be_recorded_whole_says_why() -> None:
    huge = Evidence(None, {}, _exchange(b"x" * (cassette.BODY_RECORDED + 1)))  # type: ignore[arg-type]
    recording, rebuilt = _round_trip(huge)
    assert rebuilt is None and "recorded only up to 16 KiB" in recording["reason"]
    odd = Evidence(None, {}, _exchange(b"{}"), data={"f": object()})  # type: ignore[arg-type]
    recording, rebuilt = _round_trip(odd)
    assert rebuilt is None and recording["reason"] == "data.f holds a object"
    budget = cassette.Allowance(40_000)  # the run's allowance for long bodies is spent after one of them
    first = cassette.record(Evidence(None, {}, _exchange(b"y" * 30_000)), budget)  # type: ignore[arg-type]
    second = cassette.record(Evidence(None, {}, _exchange(b"z" * 30_000)), budget)  # type: ignore[arg-type]
    assert first["replayable"] and not second["replayable"] and "was spent" in second["reason"]


def test_only_the_suites_own_types_are_rebuilt() -> None:
    with pytest.raises(cassette.NotReplayable):
        cassette.decode({"$dataclass": "subprocess:Popen", "fields": {}})
    with pytest.raises(cassette.NotReplayable):
        cassette.decode({"$dataclass": "conformance.replay:replay", "fields": {}})
