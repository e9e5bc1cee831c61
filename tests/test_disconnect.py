"""The abandoned-stream probe (TIM-03): the wire closes a stream after N events, the probe is
selected by certify and by --clause only, and the rule's verdicts on each shape of evidence.
Verdicts are asserted, never seconds (the kill matrix runs the defect and its benign variant)."""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.engine import Skip, Verdict
from conformance.profiles import get_profile
from conformance.selection import select
from conformance.session import RunConfig, execute
from conformance.suite import load_suite
from conformance.wire.client import Limits, RawClient

LIVENESS_S = 20.0  # a generous bound so that a hang fails instead of blocking CI


def test_stop_after_events_closes_the_connection() -> None:
    """The server sees the client go away after the first event, while it still has more to send."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    saw_close = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(LIVENESS_S)
            request = b""
            while not request.endswith(b"}"):  # the head and the JSON body may come in two writes
                request += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            event = b'data: {"choices":[]}\n\n'
            conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))
            try:
                closed = conn.recv(1) == b""
            except ConnectionResetError:
                closed = True
            if closed:
                saw_close.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with RawClient(f"http://127.0.0.1:{listener.getsockname()[1]}/v1") as client:
        exchange = client.post_json("/chat/completions", {"stream": True}, limits=Limits(stop_after_events=1))
    thread.join(LIVENESS_S)
    listener.close()
    assert exchange.stopped_reading and exchange.error is None and len(exchange.events or []) == 1
    assert saw_close.is_set()


def _scenario_names(profile: str, clauses: tuple[str, ...] = ()) -> set[str]:
    return {s.name for s in select(get_profile(profile), clauses=clauses)[1]}


def test_the_probe_runs_in_certify_and_on_request_only() -> None:
    assert "abandoned_stream" in _scenario_names("certify")
    assert "abandoned_stream" not in _scenario_names("compatible")
    assert "abandoned_stream" in _scenario_names("compatible", ("TIM-03",))
    assert "abandoned_stream" in _scenario_names("compatible", ("tim",))
    assert "abandoned_stream" not in _scenario_names("compatible", ("SSE",))  # it feeds no SSE rule
    assert "schemathesis_phases" not in _scenario_names("compatible", ("SSE",))  # deep, not on request


def _judge(data: dict[str, Any], status: int = 200) -> Verdict:
    ev = SimpleNamespace(exchange=SimpleNamespace(status=status), data=data,
                         related={"idle 1": SimpleNamespace(status=200)})
    return load_suite().checks["timing.abandoned_stream_cancelled"].func(ev).verdict


LONG = {"idle_s": [0.05, 0.04], "generation_s": 4.0, "token_events": 300, "first_token_s": 0.1,
        "baseline_s": 0.05, "beside_live_s": 3.0, "effect_s": 2.95}


def _sampled(decision: str, delays: list[float]) -> dict[str, Any]:
    return {**LONG, "delays_s": delays, "sampling": {"decision": decision, "suspicious": len(delays), "stopped": ""}}


@pytest.mark.parametrize(("data", "verdict"), [
    ({**LONG, "generation_s": 0.05}, Verdict.INFO),  # too quick to keep anyone waiting
    ({**LONG, "beside_live_s": 0.06, "effect_s": 0.01}, Verdict.INCONCLUSIVE),  # served in parallel
    ({key: LONG[key] for key in ("idle_s", "generation_s", "token_events")}, Verdict.INCONCLUSIVE),  # no control
    (_sampled("accept", [0.01]), Verdict.PASS),
    (_sampled("reject", [2.9, 2.9, 2.8, 2.9]), Verdict.FAIL),  # a WARN once the SHOULD level applies
    (_sampled("undecided", [1.0] * 6), Verdict.INCONCLUSIVE),
])
def test_rule_is_relative_to_the_target(data: dict[str, Any], verdict: Verdict) -> None:
    assert _judge(data) is verdict


def test_a_slow_target_is_judged_like_a_fast_one() -> None:
    slow = {k: [x * 40 for x in v] if isinstance(v, list) else v * 40 if k.endswith("_s") else v for k, v in LONG.items()}
    assert _judge({**slow, "effect_s": 0.5 * slow["baseline_s"]}) is Verdict.INCONCLUSIVE
    assert _judge({**slow, "delays_s": [1.0], "sampling": {"decision": "accept", "stopped": ""}}) is Verdict.PASS


def test_a_failed_long_request_is_not_judged_here() -> None:
    with pytest.raises(Skip, match="judged by REQ-01"):
        _judge(LONG, status=500)


def test_the_slow_but_cancelling_variant_is_a_pass_not_a_shrug() -> None:
    """The benign variant's long generation is long and serialised, so its PASS proves the rule was exercised."""
    report = execute(RunConfig(defects=("slow-server-cancels",), scenarios=("abandoned_stream",), profile="certify",
                               command=["t"]))
    assert [r.verdict for r in report.results if r.clause == "TIM-03"] == [Verdict.PASS]
