"""The slow-reader probe (TIM-04): the wire's pause and small receive window, the probe's selection,
and the rule's verdicts on each shape of evidence.  Verdicts are asserted, never seconds (the kill
matrix runs the defect and its benign variant)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.engine import Skip, Verdict
from conformance.profiles import get_profile
from conformance.selection import select
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute
from conformance.stream import parse_stream
from conformance.suite import load_suite
from conformance.wire.client import Limits, RawClient, TransportError
from conformance.wire.sse import SSEEvent


def test_a_paused_reader_over_a_small_window_gets_the_whole_stream() -> None:
    body = {"model": EMBEDDED_MODEL, "stream": True, "max_tokens": 2048, "temperature": 0,
            "messages": [{"role": "user", "content": "Count from 1 to 2000"}]}
    with ReferenceServer() as server, RawClient(server.base_url) as client:
        normal = client.post_json("/chat/completions", body)
        with client.private_pool(small_window=True) as slow_client:
            slow = slow_client.post_json("/chat/completions", body, limits=Limits(read_pause=0.5))
    assert slow.error is None and normal.error is None
    slow_stream, normal_stream = parse_stream(slow.events or []), parse_stream(normal.events or [])
    assert slow_stream.done and len(slow_stream.chunks) == len(normal_stream.chunks) > 2000
    assert slow_stream.text(0) == normal_stream.text(0)


def test_the_probe_runs_in_certify_and_on_request_only() -> None:
    def names(profile: str, clauses: tuple[str, ...] = ()) -> set[str]:
        return {s.name for s in select(get_profile(profile), clauses=clauses)[1]}

    assert "slow_reader" in names("certify")
    assert "slow_reader" not in names("compatible")
    assert "slow_reader" in names("compatible", ("TIM-04",))
    assert "slow_reader" not in names("compatible", ("TIM-03",))


def _events(numbers: list[int], ended: bool = True) -> list[SSEEvent]:
    chunks = [{"id": "x", "choices": [{"index": 0, "delta": {"content": f" {n}"}, "finish_reason": None}]} for n in numbers]
    if ended:
        chunks.append({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events = [SSEEvent(json.dumps(c), None, None, i * 0.001, b"") for i, c in enumerate(chunks)]
    return events + ([SSEEvent("[DONE]", None, None, 1.0, b"")] if ended else [])


NUMBERS = list(range(1, 41))


def _judge(slow_events: list[SSEEvent] | None, *, slow_s: float = 8.0, status: int = 200,
           error: TransportError | None = None, normal: list[SSEEvent] | None = None) -> Verdict:
    slow = SimpleNamespace(status=status, events=slow_events, error=error, elapsed=slow_s)
    ev = SimpleNamespace(stream=parse_stream(normal if normal is not None else _events(NUMBERS)),
                         exchange=SimpleNamespace(error=None), related={"slow": slow},
                         data={"normal_s": 2.0, "pause_s": 4.0, "bytes": 9000, "slow_s": slow_s})
    return load_suite().checks["timing.slow_reader_served_whole"].func(ev).verdict


@pytest.mark.parametrize(("kwargs", "verdict"), [
    ({"slow_events": _events(NUMBERS)}, Verdict.PASS),
    ({"slow_events": _events(NUMBERS), "slow_s": 2.1}, Verdict.INCONCLUSIVE),  # the target was the slower one
    ({"slow_events": _events(NUMBERS[:25], ended=False)}, Verdict.FAIL),  # closed early (a WARN on TIM-04)
    ({"slow_events": _events(NUMBERS[:25]), "error": TransportError("reset", "connection broken")}, Verdict.FAIL),
    ({"slow_events": _events([n for n in NUMBERS if n % 7])}, Verdict.FAIL),  # chunks dropped
    ({"slow_events": _events([n + 100 for n in NUMBERS])}, Verdict.INCONCLUSIVE),  # another answer
    ({"slow_events": None, "status": 503}, Verdict.INCONCLUSIVE),
    ({"slow_events": _events(NUMBERS[:3], ended=False), "error": TransportError("total-timeout", "bound")},
     Verdict.INCONCLUSIVE),  # the suite's own bound
])
def test_rule_compares_the_slow_transcript_with_the_normal_one(kwargs: dict[str, Any], verdict: Verdict) -> None:
    assert _judge(**kwargs) is verdict


def test_a_normal_read_that_did_not_end_is_judged_elsewhere() -> None:
    with pytest.raises(Skip, match="SSE-03"):
        _judge(_events(NUMBERS), normal=_events(NUMBERS, ended=False))


def test_the_batching_variant_is_a_pass_not_a_shrug() -> None:
    report = execute(RunConfig(defects=("slow-reader-batched",), scenarios=("slow_reader",), profile="certify",
                               command=["t"]))
    assert [r.verdict for r in report.results if r.clause == "TIM-04"] == [Verdict.PASS]


def test_a_target_too_slow_for_a_bounded_pause_is_not_read_twice() -> None:
    """A normal read over 30 s: no pause of at most a minute would make the target wait, so the
    second ~2 000-token stream is not sent and TIM-04 says why it could not decide."""
    ev = SimpleNamespace(stream=parse_stream(_events(NUMBERS)), exchange=SimpleNamespace(error=None), related={},
                         data={"normal_s": 45.0, "bytes": 9000})
    outcome = load_suite().checks["timing.slow_reader_served_whole"].func(ev)
    assert outcome.verdict is Verdict.INCONCLUSIVE and "not sent" in outcome.note
    from conformance.scenarios import slow_reader as probe
    assert probe.SLOWDOWN * 45.0 > probe.MAX_PAUSE_S  # the scenario's own bound sends nothing more for it
