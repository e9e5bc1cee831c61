"""A stream over time and beside other streams: when its chunks arrive, and whether parallel
streams stay apart.

Both scenarios run after the others (``after``), with nothing else of the suite in flight, so
the arrival times they record are the target's and not the suite's own load; they carry the
``any`` tag explicitly, so the transport rules still judge their exchanges.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

from ..evidence import Evidence
from ..suite import SUITE
from ..target import Context
from ..wire.client import Exchange
from .prompts import COUNT_TO_30

# Room for the whole count (30 tokens), so the answer ends naturally and is long enough to show
# how its chunks are spread over time.
PACING_MAX_TOKENS = 48
# Parallel streams with disjoint answers: each counts through its own range of three-digit numbers.
ISOLATION_STARTS = (101, 201, 301)
ISOLATION_LENGTH = 12


def isolation_prompt(start: int) -> str:
    return f"Count from {start} to {start + ISOLATION_LENGTH - 1}, separated by single spaces. Output only the numbers."


@SUITE.scenario("any", "stream", "timed", marks=("after",), requests=2)
def stream_pacing(ctx: Context) -> Evidence:
    """A 30-number count at temperature 0, first as one JSON answer (how long the target takes to
    generate it), then streamed: when each chunk arrives, against the stream's duration and the
    JSON answer's latency."""
    body = ctx.body(COUNT_TO_30, max_tokens=PACING_MAX_TOKENS, temperature=0)
    whole = ctx.send(body)
    streamed = {**body, "stream": True}
    return Evidence(ctx, streamed, ctx.send(streamed), related={"non-stream": whole},
                    data={"non_stream_latency": whole.elapsed if whole.status == 200 else None})


@SUITE.scenario("any", "isolation", marks=("after",), requests=len(ISOLATION_STARTS))
def concurrent_streams(ctx: Context) -> Evidence:
    """Three streams sent at the same moment, each counting through its own range (101-112,
    201-212, 301-312) at temperature 0: each answer must be its own, whole and unmixed."""
    bodies = [ctx.body(isolation_prompt(start), max_tokens=2 * ISOLATION_LENGTH + 8, temperature=0, stream=True)
              for start in ISOLATION_STARTS]
    start_together = Barrier(len(bodies))

    def send(body: dict[str, Any]) -> Exchange:
        start_together.wait()
        return ctx.send(body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        exchanges = list(pool.map(send, bodies))
    related = {f"stream {start}": ex for start, ex in zip(ISOLATION_STARTS[1:], exchanges[1:], strict=True)}
    return Evidence(ctx, bodies[0], exchanges[0], related=related,
                    data={"starts": ISOLATION_STARTS, "length": ISOLATION_LENGTH})
