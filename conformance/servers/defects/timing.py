"""Streams over time and beside each other: buffering, uneven pacing, crosstalk (issue 17).

The reference server streams as fast as it renders; these hooks give a stream's pieces their own
pauses (``Wire.pauses``), with margins large enough that the verdicts never depend on how loaded
the machine is.
"""

from __future__ import annotations

import itertools
import re
import threading
import time

from conformance.servers.reference.pipeline import Context, Stage, Wire

from .registry import defect

LONG_ANSWER = 20  # completion tokens: the buffering defect and the uneven variant act on long answers only
BUFFER_S = 2.5  # the time the buffering server "generates" before it sends anything
UNEVEN_PAUSES_S = (0.0, 0.12, 0.01, 0.0, 0.2, 0.03, 0.06, 0.0)  # ~50 ms per piece on average
CROSSTALK_PAUSE_S = 0.1  # between pieces of a crosstalk stream: long enough for its siblings to overlap


def _long_answer(wire: Wire, ctx: Context) -> bool:
    return ctx.route == "chat" and wire.status == 200 and (ctx.usage or {}).get("completion_tokens", 0) >= LONG_ANSWER


@defect("stream-buffered", Stage.WIRE, clause="TIM-01", verdict="WARN",
        summary=f"A long answer takes {BUFFER_S:g} s to generate and a stream of it is buffered: nothing until "
                "generation ends, then every chunk in one burst (fake streaming)")
def stream_buffered(wire: Wire, ctx: Context) -> Wire:
    if _long_answer(wire, ctx):
        wire.pauses = [BUFFER_S] + [0.0] * (len(wire.pieces) - 1)
        wire.chunked = True  # a JSON answer too goes out after the pause (sent as one chunked piece)
    return wire


@defect("stream-uneven-gaps", Stage.WIRE, clause="TIM-01", verdict="PASS", benign=True,
        summary="A long stream's chunks arrive with naturally uneven gaps (0-200 ms), as a loaded GPU server sends them")
def stream_uneven_gaps(wire: Wire, ctx: Context) -> Wire:
    if wire.sse and _long_answer(wire, ctx):
        wire.pauses = list(itertools.islice(itertools.cycle(UNEVEN_PAUSES_S), len(wire.pieces)))
    return wire


# Streams of the crosstalk defect being sent: (when the last piece goes out, the pieces).
_in_flight: list[tuple[float, list[bytes]]] = []
_slot = threading.Lock()
# Counts from 100 up: only the isolation probe asks for them, so the other scenarios, which run
# many streams at once too, keep clean answers and the defect changes HTTP-05 alone.
_HIGH_COUNT = re.compile(r"count from \d{3,}", re.IGNORECASE)


def _counts_high(ctx: Context) -> bool:
    messages = (ctx.payload or {}).get("messages") or []
    last = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else None
    return isinstance(last, str) and bool(_HIGH_COUNT.search(last))


@defect("stream-crosstalk", Stage.WIRE, clause="HTTP-05", verdict="FAIL",
        summary="Streams in flight together share a decoding slot: a stream that starts while another is being sent "
                "carries one of the other's chunks (its id and its token); acts on counts from 100 up")
def stream_crosstalk(wire: Wire, ctx: Context) -> Wire:
    if not (wire.sse and _counts_high(ctx)) or len(wire.pieces) < 4:
        return wire
    now = time.monotonic()
    wire.pauses = [0.0] + [CROSSTALK_PAUSE_S] * (len(wire.pieces) - 1)
    with _slot:
        _in_flight[:] = [(end, pieces) for end, pieces in _in_flight if end > now]
        if _in_flight:
            wire.pieces[2] = _in_flight[0][1][2]  # the earlier stream's second token chunk
        _in_flight.append((now + sum(wire.pauses), list(wire.pieces)))
    return wire
