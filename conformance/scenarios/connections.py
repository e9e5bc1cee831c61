"""How the target treats connections: kept-alive connections, and concurrent requests.

Scenarios whose exchanges broke while other requests were in flight are replayed alone by the
runner (see ``Runner.replay_if``); their rules are judged on the replay.  ``concurrent_interference``
(judged after every other scenario) hands HTTP-05 the concurrent exchanges of those that answered
cleanly alone: one finding for one cause.
"""

from __future__ import annotations

import dataclasses

from ..engine import NotApplicable, Result, Verdict
from ..evidence import Evidence
from ..suite import SUITE
from ..target import Context
from .prompts import GREETING

WATCH_CLOSE_S = 0.3  # how long after a response the suite looks whether the server closed the connection


# Three requests, each followed by a wait of WATCH_CLOSE_S (about a short answer's time each).
@SUITE.scenario("connection", requests=3, cost=6)
def connection_reuse(ctx: Context) -> Evidence:
    """A streamed answer, a JSON answer and a malformed request body (a 400, or the 500 some servers
    give), each followed by a look (0.3 s later) at whether the server closed the connection: a
    server that closes it must say Connection: close."""
    limits = dataclasses.replace(ctx.client.limits, watch_close=WATCH_CLOSE_S)
    with ctx.client.private_pool() as client:
        alone = dataclasses.replace(ctx, client=client)
        streamed = ctx.body(GREETING, stream=True)
        ev = Evidence(ctx, streamed, alone.send(streamed, limits=limits))
        ev.related["json"] = alone.send(ctx.body(GREETING), limits=limits)
        ev.related["error"] = alone.send(b'{"model": "x", "messages": [ not json', limits=limits)
    return ev


@SUITE.scenario("interference", marks=("after",), requests=0)
def concurrent_interference(ctx: Context) -> Evidence:
    """The scenarios whose exchanges broke only under concurrency (replayed alone, they answered cleanly); no request is sent."""
    if ctx.facts.get("concurrency", 1) < 2:
        raise NotApplicable  # nothing ran concurrently
    cleared = [r for r in ctx.facts.get("replays", []) if r.cleared and isinstance(r.evidence, Evidence)]
    cases = [(r.scenario, _broken(r.concurrent)) for r in cleared]
    if not cleared:
        preflight = ctx.facts.get("models_exchange")
        if preflight is None:
            raise NotApplicable
        return Evidence(ctx, b"", preflight, data={"interference": [], "concurrency": ctx.facts["concurrency"]})
    first = cleared[0].evidence
    related = {f"{r.scenario}:{label}": ex for r in cleared for label, ex in [("primary", r.evidence.exchange),
                                                                               *r.evidence.related.items()]
               if ex.error is not None}
    return Evidence(ctx, first.request, first.exchange, related=related,
                    data={"interference": cases, "concurrency": ctx.facts["concurrency"]})


def _broken(results: list[Result]) -> str:
    failed = sorted((r for r in results if r.verdict is Verdict.FAIL and r.observed),
                    key=lambda r: not r.clause.startswith(("HTTP-", "SSE-")))  # the break itself first
    return f"{failed[0].clause} {failed[0].observed}" if failed else "a broken exchange"
