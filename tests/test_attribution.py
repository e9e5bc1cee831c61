"""One cause, one finding, on the right exchange: failures that only concurrency causes are
replayed alone and judged there; SKIP reasons never point at a clause that did not run."""

from __future__ import annotations

import threading

from conformance.engine import Result, Rule, Runner, Suite, Verdict, fail, passed
from conformance.session import honest_skips

RULE = Rule("T-01", "MUST", "a", "the answer is whole")


def _suite(parties: int = 3) -> Suite:
    """Scenario 'fragile' breaks when run beside the others: the first call of each scenario waits
    at a barrier until all three are in flight (deterministic overlap); a later call runs alone."""
    suite = Suite(rule_lookup=lambda cid: RULE)
    barrier = threading.Barrier(parties)
    calls: dict[str, int] = {}
    lock = threading.Lock()

    def busy(name: str) -> bool:
        with lock:
            calls[name] = calls.get(name, 0) + 1
            first = calls[name] == 1
        if not first:
            return False
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:  # run serially: nobody else is in flight
            return False
        return name == "fragile"

    for name in ("fragile", "sturdy_a", "sturdy_b"):
        def scenario(ctx: object, name: str = name) -> bool:
            return busy(name)
        scenario.__name__ = name
        scenario.__doc__ = f"{name}."
        suite.scenario("s")(scenario)

    @suite.check("T-01", on="s")
    def whole(broken: bool):
        """Fails when the exchange broke."""
        return fail("a whole answer", "cut") if broken else passed()

    return suite


def test_a_failure_only_concurrency_causes_is_judged_on_the_serial_replay() -> None:
    suite = _suite()
    checks, scenarios = suite.select(lambda c: True, lambda s: True)
    runner = Runner(checks, scenarios, None, concurrency=3,
                    replay_if=lambda results: any(r.verdict is Verdict.FAIL for r in results))
    outcome = runner.run()
    assert {r.scenario: r.verdict for r in outcome.results} == dict.fromkeys(("fragile", "sturdy_a", "sturdy_b"), Verdict.PASS)
    assert [(r.scenario, r.cleared, r.concurrent[0].verdict) for r in outcome.replays] == [("fragile", True, Verdict.FAIL)]
    assert outcome.replays[0].evidence is True  # what the concurrent run saw, for the interference finding


def test_no_replay_when_serial() -> None:
    suite = _suite(parties=1)
    checks, scenarios = suite.select(lambda c: True, lambda s: True)
    outcome = Runner(checks, scenarios, None, concurrency=1, replay_if=lambda rs: True).run()
    assert outcome.replays == []


def _skip(note: str, clause: str = "X-01") -> Result:
    return Result("c", clause, "MUST", "a", "t", "r", "s", Verdict.SKIP, note=note)


def test_skip_reason_never_points_at_a_clause_that_did_not_run() -> None:
    ran = Result("c", "HTTP-01", "MUST", "a", "t", "r", "s", Verdict.PASS)
    results = honest_skips([ran, _skip("no response; judged by HTTP-01"), _skip("no tool call; judged by TOOL-01"),
                            _skip("bad; judged by TOOL-01 / HTTP-01")])
    assert [r.note for r in results[1:]] == [
        "no response; judged by HTTP-01",
        "no tool call; for TOOL-01 to judge, which did not run here",
        "bad; judged by TOOL-01 / HTTP-01",
    ]


def test_a_connection_closed_after_sitting_idle_is_the_servers_keep_alive_timeout() -> None:
    """HTTP-04 blames a dead kept-alive connection only when it was reused within a second of its
    last bytes; one idle for longer was closed by the server's keep-alive timeout, which is legal."""
    import pytest

    from conformance.checks.transport import KEEPALIVE_GRACE_S, kept_alive_connection_usable
    from conformance.engine import NotApplicable
    from conformance.evidence import Evidence
    from conformance.wire.client import Exchange, RecordedRequest

    def evidence(idle: float) -> Evidence:
        request = RecordedRequest("POST", "http://127.0.0.1:1/v1/chat/completions", [], b"{}", {})
        exchange = Exchange(request, 200, [("content-type", "application/json")], b"{}",
                            dead_connection="POST /v1/chat/completions -> HTTP 200", dead_connection_idle=idle)
        return Evidence(None, {}, exchange)  # type: ignore[arg-type]  # the rule reads only the exchange

    assert kept_alive_connection_usable(evidence(0.01)).verdict is Verdict.FAIL
    with pytest.raises(NotApplicable):
        kept_alive_connection_usable(evidence(KEEPALIVE_GRACE_S + 4))
