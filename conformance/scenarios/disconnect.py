"""A stream the client abandons: does the target stop generating it?  Observed from outside, by
the latency of a short request sent right after the suite closed a long stream.

A target that keeps generating for the ghost client answers the short request late, as late as
when the long stream is still being read; one that cancels answers it as fast as on an idle
target.  The control (the short request beside a long stream that is read to its end) shows how
late a live generation makes it: the target's own effect size, so every threshold is a share of
the target's own latencies.  A target that serves both at once (parallel slots, batching) shows
no effect, and the probe cannot decide.

Expensive (several long generations): the ``deep`` tier (``certify``), or ``--clause TIM-03``.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..engine import BudgetExhausted
from ..evidence import Evidence
from ..profiles import BY_CLAUSE
from ..stats import Decision, SequentialTest, Trial
from ..stream import parse_stream
from ..suite import SUITE
from ..target import Context
from ..wire.client import Exchange
from .prompts import LONG_COUNT, SHORT_COUNT

LONG_MAX_TOKENS = 400
SHORT_MAX_TOKENS = 8
IDLE_SAMPLES = 2  # the short request alone: its latency on an idle target is the slowest of these
MIN_GENERATION_S = 1.0  # a long generation over sooner cannot keep anyone waiting: nothing to observe
MIN_EFFECT = 1.0  # a live generation must delay the short request by this many of its own idle latencies
SUSPICIOUS_SHARE = 0.5  # after an abandoned stream, a delay of this share of a live generation's: still generating
REASSURING_SHARE = 0.25  # ... of at most this share: cancelled
# Under H0 (the target cancels), a short request is as late as beside a live generation only by
# an unrelated stall; bounded generously: 4 such trials in a row reject H0 at 1 %.
P_STALL = 0.25
MAX_TRIALS = 6


def _token_seconds(exchange: Exchange) -> list[float]:
    """Arrival times of the chunks carrying generated text."""
    return [c.event.at for c in parse_stream(exchange.events or []).json_chunks
            if any(isinstance(ch.get("delta"), dict) and ch["delta"].get("content") for ch in c.choices)]


@SUITE.scenario("disconnect", marks=("after", "deep", BY_CLAUSE), requests=IDLE_SAMPLES + 3 + 2 * MAX_TRIALS)
def abandoned_stream(ctx: Context) -> Evidence:
    """A short count (1 to 3) on the idle target, twice; a long count (1 to 300, max_tokens 400)
    streamed to its end (how long a whole generation takes); the short count sent a quarter into
    another long stream read to its end (how late a live generation makes it); then trials: a long
    stream closed after its first event, at once followed by the short count, until the sequential
    test decides whether the short count is as late as beside a live generation."""
    short = ctx.body(SHORT_COUNT, max_tokens=SHORT_MAX_TOKENS, temperature=0)
    long = ctx.body(LONG_COUNT, max_tokens=LONG_MAX_TOKENS, temperature=0, stream=True)
    idle = [ctx.send(short) for _ in range(IDLE_SAMPLES)]
    whole = ctx.send(long)
    ev = Evidence(ctx, long, whole, related={f"idle {i + 1}": ex for i, ex in enumerate(idle)})
    tokens = _token_seconds(whole)
    data: dict[str, Any] = {"idle_s": [round(ex.elapsed, 4) for ex in idle], "generation_s": round(whole.elapsed, 4),
                            "token_events": len(tokens)}
    ev.data.update(data)
    if any(ex.status != 200 for ex in (*idle, whole)) or not tokens or whole.elapsed < MIN_GENERATION_S:
        return ev
    first = tokens[0]
    baseline = max(ex.elapsed for ex in idle)
    ev.related["live"], beside = _beside_live_stream(ctx, long, short, first + (whole.elapsed - first) / 4)
    ev.related["short beside it"] = beside
    effect = beside.elapsed - baseline
    ev.data.update(first_token_s=round(first, 4), baseline_s=round(baseline, 4), beside_live_s=round(beside.elapsed, 4),
                   effect_s=round(effect, 4))
    if beside.status != 200 or effect < MIN_EFFECT * baseline:
        return ev
    _trials(ctx, ev, long, short, baseline, effect)
    return ev


def _beside_live_stream(ctx: Context, long: dict[str, Any], short: dict[str, Any],
                        after: float) -> tuple[Exchange, Exchange]:
    """The long stream read to its end, and the short request sent ``after`` seconds into it."""
    with ThreadPoolExecutor(1) as pool:
        live = pool.submit(ctx.send, long)
        time.sleep(after)
        beside = ctx.send(short)
        return live.result(), beside


def _trials(ctx: Context, ev: Evidence, long: dict[str, Any], short: dict[str, Any], baseline: float,
            effect: float) -> None:
    """Abandon a long stream after its first event, send the short request at once; each delay
    against the live generation's effect is one trial of the sequential test."""
    test = SequentialTest(P_STALL, ctx.capabilities.false_alarm, MAX_TRIALS)
    close_early = dataclasses.replace(ctx.client.limits, stop_after_events=1)
    delays: list[float] = []
    stopped = ""
    try:
        while test.decision is Decision.CONTINUE:
            n = test.trials + 1
            abandoned = ctx.send(long, limits=close_early)
            after = ctx.send(short)
            ev.related[f"abandoned {n}"], ev.related[f"short after {n}"] = abandoned, after
            if abandoned.status != 200 or not abandoned.stopped_reading or after.status != 200:
                stopped = f"trial {n}: the long stream was not abandoned after its first event, or a request failed"
                break
            delay = after.elapsed - baseline
            delays.append(round(delay, 4))
            test.record(Trial.SUSPICIOUS if delay >= SUSPICIOUS_SHARE * effect
                        else Trial.REASSURING if delay <= REASSURING_SHARE * effect else Trial.NEUTRAL)
    except BudgetExhausted as exc:
        stopped = f"budget exhausted: {exc}"
    ev.data["delays_s"] = delays
    ev.data["sampling"] = dict(test.evidence(), stopped=stopped)
