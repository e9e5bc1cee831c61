"""Streams over time (TIM-01, TIM-02), parallel streams (HTTP-05 on the isolation probe), the
latency options and report.json's timing section.  Verdicts are asserted, never seconds: the
defects' pauses are many times the margins the rules use."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance import latency
from conformance.engine import Verdict
from conformance.reports import json_report, render
from conformance.session import RunConfig, execute
from conformance.settings import resolve, run_config
from conformance.stream import parse_stream
from conformance.suite import load_suite
from conformance.wire.sse import SSEEvent

PROBES = ("stream_pacing", "concurrent_streams", "stream_basic")


def not_buffered(ev: SimpleNamespace):
    """TIM-01's check, from the loaded suite (importing a check module alone would half-fill it)."""
    return load_suite().checks["timing.not_buffered"].func(ev)


def _verdicts(report, clause: str) -> dict[str, Verdict]:
    return {r.scenario: r.verdict for r in report.results if r.clause == clause}


def test_percentiles_are_nearest_rank() -> None:
    values = [0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert latency.percentile(values, 50) == 0.5
    assert latency.percentile(values, 90) == 0.9
    assert latency.spread(values) == {"p50": 0.5, "p90": 0.9, "max": 1.0}
    assert latency.percentile([2.0], 90) == 2.0


def test_section_summarises_timed_results_and_is_absent_without_them() -> None:
    results = [{"scenario": "a", "evidence": {"ttft_s": 0.2, "gaps_ms": [10.0, 30.0]}},
               {"scenario": "b", "evidence": {"ttft_s": 0.4, "gaps_ms": []}},
               {"scenario": "c", "evidence": {}}]
    section = latency.section(results)
    assert section is not None and section["version"] == latency.SECTION_VERSION
    assert [s["scenario"] for s in section["streams"]] == ["a", "b"]
    assert section["ttft_s"]["max"] == 0.4 and section["gap_s"]["max"] == 0.03
    assert latency.section(results[2:]) is None and latency.console_line(None) is None
    assert latency.console_line(section).startswith("timing: 2 stream(s), time to first token p50 200 ms")


def _stream(times: list[float], whole: float | None = None) -> SimpleNamespace:
    events = [SSEEvent(json.dumps({"id": "x", "choices": [{"index": 0, "delta": {"content": f" {i}"}}]}), None, None, at, b"")
              for i, at in enumerate(times)]
    events.append(SSEEvent("[DONE]", None, None, times[-1], b""))
    return SimpleNamespace(stream=parse_stream(events), data={"non_stream_latency": whole})


BURST = [2.0 + i * 0.001 for i in range(20)]


@pytest.mark.parametrize(("times", "whole", "verdict"), [
    (BURST[:3], 2.0, Verdict.INCONCLUSIVE),  # a few chunks: never a WARN
    (BURST, 2.0, Verdict.FAIL),  # one late burst, as late as a whole answer (WARN on a SHOULD clause)
    (BURST, 0.01, Verdict.INCONCLUSIVE),  # one late burst, but the JSON answer was quick: a stall
    (BURST, None, Verdict.INCONCLUSIVE),  # ... or unknown
    ([0.1 * i for i in range(1, 21)], 2.0, Verdict.PASS),  # spread over the stream
    ([0.01 + i * 0.001 for i in range(20)], 0.03, Verdict.PASS),  # too quick to matter
    ([1.0 + i * 0.01 for i in range(20)], 1.2, Verdict.INCONCLUSIVE),  # neither
])
def test_buffering_rule_is_relative_to_the_stream(times: list[float], whole: float | None, verdict: Verdict) -> None:
    assert not_buffered(_stream(times, whole)).verdict is verdict


def test_a_slow_target_is_judged_like_a_fast_one() -> None:
    fast = [0.02 * i for i in range(1, 31)]
    assert not_buffered(_stream([t * 50 for t in fast], 30.0)).verdict is Verdict.PASS  # the same shape, 50 times slower
    burst = [1.0 + i * 0.0001 for i in range(30)]
    assert not_buffered(_stream([t * 50 for t in burst], 50.0)).verdict is Verdict.FAIL


def test_latency_limits_come_from_the_options(tmp_path: Path) -> None:
    resolved = resolve({"max_ttft": 0.5, "max_gap": 2.0}, cwd=tmp_path, environ={})
    config = run_config(resolved, "compatible", ["conformance"])
    assert (config.max_ttft, config.max_gap) == (0.5, 2.0)
    assert run_config(resolve({}, cwd=tmp_path, environ={}), "compatible", []).max_ttft is None


def test_buffered_stream_warns_and_a_ttft_limit_gates_it() -> None:
    report = execute(RunConfig(defects=("stream-buffered",), scenarios=PROBES, max_ttft=0.5, command=["t"]))
    assert _verdicts(report, "TIM-01") == {"stream_pacing": Verdict.WARN}
    ttft = _verdicts(report, "TIM-02")
    assert ttft["stream_pacing"] is Verdict.WARN  # buffered 2.5 s > 0.5 s
    document = json_report.build(report)
    assert not render.validate(json_report.compact(document))
    assert {s["scenario"] for s in document["timing"]["streams"]} >= {"stream_pacing", "stream_basic"}


def test_without_limits_latency_is_information() -> None:
    report = execute(RunConfig(defects=("stream-uneven-gaps",), scenarios=PROBES, command=["t"]))
    assert set(_verdicts(report, "TIM-02").values()) == {Verdict.INFO}
    assert _verdicts(report, "TIM-01") == {"stream_pacing": Verdict.PASS}
    document = json_report.build(report)
    del document["timing"]  # a report from before the section still follows the schema
    assert not render.validate(json_report.compact(document))


def test_crosstalk_fails_with_every_transcript() -> None:
    report = execute(RunConfig(defects=("stream-crosstalk",), scenarios=("concurrent_streams",), command=["t"]))
    failed = [r for r in report.results if r.clause == "HTTP-05" and r.verdict is Verdict.FAIL]
    assert len(failed) == 1 and "of another stream" in failed[0].observed  # its chunk id, and its numbers unless n=2 lent it
    assert len(failed[0].artifacts) == 5  # every stream's transcript


@pytest.mark.parametrize(("defect", "seen"), [
    ("stream-batch-slot-index", "carries choice index(es)"),  # the n=2 stream numbered by its batch slot
    ("stream-tool-call-leak", "asked to count, carries tool call(s)"),  # the tool stream's call in a count stream
])
def test_n_choices_and_tool_calls_stay_apart(defect: str, seen: str) -> None:
    report = execute(RunConfig(defects=(defect,), scenarios=("concurrent_streams",), command=["t"]))
    failed = [r for r in report.results if r.clause == "HTTP-05" and r.verdict is Verdict.FAIL]
    assert len(failed) == 1 and seen in failed[0].observed


def test_a_refused_n_leaves_that_stream_out() -> None:
    report = execute(RunConfig(defects=("isolation-n-refused",), scenarios=("concurrent_streams",), command=["t"]))
    passed = [r for r in report.results if r.clause == "HTTP-05" and r.verdict is Verdict.PASS]
    assert len(passed) == 1 and "left out" in (passed[0].note or "")


def test_an_ignored_n_is_not_a_stream_cut_short() -> None:
    """One choice where two were asked for is CHO-01's finding, not interference between streams."""
    report = execute(RunConfig(defects=("n-ignored",), scenarios=("concurrent_streams",), command=["t"]))
    assert _verdicts(report, "HTTP-05") == {"concurrent_streams": Verdict.PASS}
