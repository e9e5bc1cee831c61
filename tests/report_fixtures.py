"""Report documents for the report, baseline and certify tests: a hand-built run with every verdict and
hostile target bytes, and real runs of the suite against the embedded reference server."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from conformance.engine import Result, Verdict
from conformance.profiles import PROFILES, get_profile
from conformance.reports import json_report
from conformance.session import RunConfig, RunReport, execute
from conformance.target import Target
from conformance.wire.redact import Redactor

PLANTED_KEY = "sk-PLANTED-SECRET-123456"
SCRIPT = '<script>alert("pwned")</script>'
BREAKOUT = '</pre></details><img src=x onerror=alert(1)>'
CONTROL = "bell\x07nul\x00esc\x1b"
# Defects giving FAIL (stream and non-stream), WARN and a transcript with SSE arrival times.
DEFECTS = ("body-object-wrong", "response-model-empty", "sse-no-done")


def _artifact(body: str, transcript: str) -> dict[str, Any]:
    return {
        "label": "primary",
        "request": {"method": "POST", "url": "http://127.0.0.1:9/v1/chat/completions",
                    "headers": [["Content-Type", "application/json"], ["Authorization", f"Bearer {PLANTED_KEY}"]],
                    "body": '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}'},
        "curl": "curl -sS -N -X POST http://127.0.0.1:9/v1/chat/completions -H 'Authorization: Bearer '\"$OPENAI_API_KEY\"",
        "response": {"status": 200, "headers": [["content-type", "text/event-stream"], ["x-echo", PLANTED_KEY]],
                     "body": body, "body_bytes": len(body), "error": None, "truncated": False, "elapsed": 0.0123},
        "transcript": transcript,
    }


def _result(check: str, clause: str, level: str, area: str, scenario: str, verdict: Verdict, **kw: Any) -> Result:
    return Result(check=check, clause=clause, level=level, area=area, title=f"title of {clause}",
                  rule=f"rule of {check}", scenario=scenario, verdict=verdict, duration=0.01, **kw)


def hand_results() -> list[Result]:
    """One result per verdict; the FAIL and WARN carry hostile bytes and the planted key as a server would echo them."""
    transcript = (f"> POST http://127.0.0.1:9/v1/chat/completions\n< HTTP/1.1 200 OK\n\n"
                  f"+0.004s data: {{\"choices\":[{{\"delta\":{{\"content\":\"{SCRIPT}\"}}}}]}}\n"
                  f"+0.031s data: {BREAKOUT} key={PLANTED_KEY}\n+0.032s data: [DONE]")
    return [
        _result("envelope.object_type", "ENV-02", "MUST", "envelope", "basic", Verdict.FAIL,
                expected='object == "chat.completion"', observed=f"object = {SCRIPT} {CONTROL}",
                note=f"server said {PLANTED_KEY}", artifacts=[_artifact(SCRIPT, transcript)]),
        _result("stream.done_marker", "SSE-03", "MUST", "stream", "basic_stream", Verdict.ERROR,
                note="check crashed: boom", evidence={"traceback": "Traceback (most recent call last): boom"},
                artifacts=[_artifact("", transcript)]),
        _result("envelope.model_named", "ENV-05", "SHOULD", "envelope", "basic", Verdict.WARN,
                expected="a model name", observed="''", artifacts=[_artifact(BREAKOUT, "")]),
        _result("errors.error_envelope", "ERR-01", "MUST", "errors", "basic", Verdict.SKIP, note="no error answer"),
        _result("params.temperature", "PAR-11", "SHOULD", "parameters", "temperature", Verdict.INCONCLUSIVE,
                note="all answers equal"),
        _result("requests.unknown_param", "REQ-06", "SHOULD", "requests", "unknown", Verdict.INFO, note="accepted"),
        _result("envelope.id_present", "ENV-04", "MUST", "envelope", "basic", Verdict.PASS),
    ]


def hand_report(results: list[Result] | None = None, *, profile: str = "compatible", interrupted: bool = False) -> RunReport:
    """A RunReport as `session.execute` would return it, without running anything."""
    redactor = Redactor([PLANTED_KEY])
    provenance = {
        "suite_version": "0.1.0", "suite_commit": "0" * 40, "schema_hash": "a" * 64, "profile": profile,
        "command": redactor.text(f"conformance run --api-key {PLANTED_KEY}"), "target_url": "http://127.0.0.1:9/v1",
        "model": f"model-{SCRIPT}", "embedded_server": False, "server_headers": {"server": "hostile/1.0"},
        "models_status": 200, "models": {"object": "list", "data": [{"id": "model-x"}]}, "seed": 7,
        "concurrency": 2, "limits": {}, "python": "3.11",
    }
    return RunReport("20260101T000000Z-abcdef", get_profile(profile), Target("http://127.0.0.1:9/v1", "model-x", PLANTED_KEY),
                     hand_results() if results is None else results, 1767225600.0, 1767225601.5, interrupted, 5, 42,
                     provenance, redactor)


def as_json(report: RunReport) -> dict[str, Any]:
    """report.json as a reader sees it (after a JSON round trip)."""
    return json.loads(json.dumps(json_report.build(report)))


def embedded_run(profile: str = "compatible", defects: tuple[str, ...] = DEFECTS) -> RunReport:
    """A real run against the embedded reference server, with the planted key, also on the command line.

    Generated requests are cut to 3 per phase (every scenario still runs) to keep tests fast."""
    config = RunConfig(profile=profile, api_key=PLANTED_KEY, defects=defects, concurrency=4,
                       command=["conformance", "run", "--api-key", PLANTED_KEY])
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(PROFILES, profile, dataclasses.replace(PROFILES[profile], fuzz_examples=3))
        return execute(config)
