"""A stream read slowly: the same deterministic long stream read at full speed, then by a reader
that, after the first piece, takes nothing for a while (a busy client) over a connection with a
small receive window, so that the target has to hold what the reader has not taken yet and wait
for it.  The two transcripts must carry the same answer, each ended properly.

The pause is twice the normal read's duration (at least 4 s, at most 60 s: bounded); a target
whose normal read takes over 30 s is not read slowly at all (no bounded pause would make it
wait).  Every other figure is the target's own.  Expensive (a ~2 000-token stream, twice): the ``deep`` tier
(``certify``), or ``--clause TIM-04``.
"""

from __future__ import annotations

import dataclasses

from ..evidence import Evidence
from ..profiles import BY_CLAUSE
from ..suite import SUITE
from ..target import Context
from .prompts import VERY_LONG_COUNT

MAX_TOKENS = 2048
SLOWDOWN = 2.0  # the slow reader pauses this many times as long as the normal read took ...
MIN_PAUSE_S = 4.0  # ... but at least this long (a fast target: long enough for the target to notice)
MAX_PAUSE_S = 60.0  # ... and at most this long (a slow target: the probe stays bounded)


@SUITE.scenario("slow_reader", marks=("after", "deep", BY_CLAUSE), requests=2)
def slow_reader(ctx: Context) -> Evidence:
    """A count from 1 to 2000 (max_tokens 2048, temperature 0) streamed and read at full speed;
    then the same request over a connection with a small receive window, read after a pause twice
    as long as the first read took (4 to 60 s) once its first piece arrived."""
    body = ctx.body(VERY_LONG_COUNT, max_tokens=MAX_TOKENS, temperature=0, stream=True)
    normal = ctx.send(body)
    ev = Evidence(ctx, body, normal)
    if normal.status != 200 or not normal.body:
        return ev
    ev.data.update(normal_s=round(normal.elapsed, 4), bytes=len(normal.body))
    if SLOWDOWN * normal.elapsed > MAX_PAUSE_S:
        # A target this slow outpaces no bounded pause: the second ~2 000-token stream would only
        # cost a minute and tokens to end undecided (SmolLM2 on 2 CPU cores: 45 s per read).
        return ev
    pause = min(max(SLOWDOWN * normal.elapsed, MIN_PAUSE_S), MAX_PAUSE_S)
    base = ctx.client.limits
    limits = dataclasses.replace(base, read_pause=pause, total_timeout=max(base.total_timeout, pause + 2 * normal.elapsed))
    with ctx.client.private_pool(small_window=True) as client:
        ev.related["slow"] = dataclasses.replace(ctx, client=client).send(body, limits=limits)
    ev.data.update(pause_s=round(pause, 4), slow_s=round(ev.related["slow"].elapsed, 4))
    return ev
