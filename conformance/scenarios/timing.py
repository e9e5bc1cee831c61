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
from .prompts import COUNT_TO_30, WEATHER_TOOL

# Room for the whole count (30 tokens), so the answer ends naturally and is long enough to show
# how its chunks are spread over time.
PACING_MAX_TOKENS = 48
# Parallel streams with disjoint answers: each counts through its own range of three-digit numbers;
# the last asks for two choices.  Beside them, a stream that calls a tool.
ISOLATION_STARTS = (101, 201, 301, 401)
ISOLATION_LENGTH = 12
TWO_CHOICES = 401  # the count streamed with n=2
TOOL_CITY = "Oslo"
TOOL_STREAM = "tool stream"


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


@SUITE.scenario("any", "isolation", marks=("after",), requests=len(ISOLATION_STARTS) + 1)
def concurrent_streams(ctx: Context) -> Evidence:
    """Five streams sent at the same moment at temperature 0: four counting through their own
    ranges (101-112, 201-212, 301-312, and 401-412 with n=2) and one calling get_weather for Oslo
    (tool_choice required): each answer must be its own, whole and unmixed."""
    bodies = [ctx.body(isolation_prompt(start), max_tokens=2 * ISOLATION_LENGTH + 8, temperature=0, stream=True,
                       **({"n": 2} if start == TWO_CHOICES else {}))
              for start in ISOLATION_STARTS]
    bodies.append(ctx.body(f"What is the weather in {TOOL_CITY}? Use the get_weather tool.", temperature=0, stream=True,
                           max_tokens=64, tools=[WEATHER_TOOL], tool_choice="required"))
    start_together = Barrier(len(bodies))

    def send(body: dict[str, Any]) -> Exchange:
        start_together.wait()
        return ctx.send(body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        exchanges = list(pool.map(send, bodies))
    related = {f"stream {start}": ex for start, ex in zip(ISOLATION_STARTS[1:], exchanges[1:-1], strict=True)}
    related[TOOL_STREAM] = exchanges[-1]
    return Evidence(ctx, bodies[0], exchanges[0], related=related,
                    data={"starts": ISOLATION_STARTS, "length": ISOLATION_LENGTH, "two_choices": TWO_CHOICES})
