"""Streams over time and beside each other: buffering, uneven pacing, crosstalk, abandoned streams
(issue 17).

The reference server streams as fast as it renders; these hooks give a stream's pieces their own
pauses (``Wire.pauses``), with margins large enough that the verdicts never depend on how loaded
the machine is.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from conformance.servers.reference.errors import invalid
from conformance.servers.reference.pipeline import Context, Stage, Wire
from conformance.servers.reference.wire import chunk_json, sse_event

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



# Isolation streams seen (when each arrived), for the batch-slot defect.
_arrivals: list[float] = []
SETTLE_S = 1.0  # the batch-slot stream waits this long before sending, so its siblings have arrived
_SIBLING_WINDOW_S = 3.0


async def _in_batch_slot(pieces: AsyncIterator[bytes], arrived: float) -> AsyncIterator[bytes]:
    await asyncio.sleep(SETTLE_S)
    with _slot:
        offset = sum(1 for t in _arrivals if t != arrived and abs(t - arrived) < _SIBLING_WINDOW_S)
    async for piece in pieces:
        if offset and piece.startswith(b"data: {"):
            chunk = json.loads(piece[len(b"data: "):])
            for choice in chunk.get("choices") or []:
                choice["index"] += offset
            piece = sse_event(chunk_json(chunk))
        yield piece


@defect("stream-batch-slot-index", Stage.WIRE, clause="HTTP-05", verdict="FAIL",
        summary="With n>1, a stream that shares the server's batch with others numbers its choices from its slot in "
                "the batch (k and k+1 beside k siblings) instead of 0..n-1; acts on counts from 100 up")
def stream_batch_slot_index(wire: Wire, ctx: Context) -> Wire:
    if not (wire.sse and _counts_high(ctx)):
        return wire
    arrived = time.monotonic()
    with _slot:
        _arrivals[:] = [t for t in _arrivals if arrived - t < _SIBLING_WINDOW_S] + [arrived]
    if ((ctx.payload or {}).get("n") or 1) > 1:
        wire.relay = functools.partial(_in_batch_slot, arrived=arrived)
    return wire


# Tool-call chunks of streams seen lately (when each arrived, the chunk), for the leak defect.
_tool_chunks: list[tuple[float, bytes]] = []


async def _with_leaked_call(pieces: AsyncIterator[bytes], arrived: float) -> AsyncIterator[bytes]:
    await asyncio.sleep(SETTLE_S)
    with _slot:
        leaked = [piece for t, piece in _tool_chunks if abs(t - arrived) < _SIBLING_WINDOW_S]
    first = True
    async for piece in pieces:
        yield piece
        if first and leaked:
            yield leaked[-1]
        first = False


@defect("stream-tool-call-leak", Stage.WIRE, clause="HTTP-05", verdict="FAIL",
        summary="A tool-call delta of a stream being generated beside others is also sent in a sibling stream (its "
                "chunk id, call id and arguments); acts on counts from 100 up started with a tool stream")
def stream_tool_call_leak(wire: Wire, ctx: Context) -> Wire:
    arrived = time.monotonic()
    if wire.sse and (ctx.payload or {}).get("tools"):
        call = next((piece for piece in wire.pieces if b'"tool_calls"' in piece and b'"id"' in piece), None)
        if call is not None:
            with _slot:
                _tool_chunks[:] = [(t, p) for t, p in _tool_chunks if arrived - t < _SIBLING_WINDOW_S] + [(arrived, call)]
    elif wire.sse and _counts_high(ctx):
        wire.relay = functools.partial(_with_leaked_call, arrived=arrived)
    return wire


@defect("isolation-n-refused", Stage.REQUEST, clause="HTTP-05", verdict="PASS", benign=True,
        summary="n > 1 is refused with a clean 400 (a server without multiple choices); acts on counts from 100 up, so "
                "only the isolation probe's n=2 stream meets it")
def isolation_n_refused(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    if (payload.get("n") or 1) > 1 and _counts_high(ctx):
        raise invalid("n > 1 is not supported by this server.", param="n", code="unsupported_parameter")
    return payload

# --- abandoned streams: one generation slot ------------------------------------------------------

# The abandoned-stream probe's prompts (a count to 300 and a count to 3): only they meet the slot,
# so the rest of the suite keeps its pace.
_PROBE_COUNT = re.compile(r"count from 1 to (?:300|3)\b", re.IGNORECASE)
GENERATION_S = 2.0  # how long the slot server takes to generate a long answer
SLOW_S = 0.3  # the slow-but-cancelling variant's extra latency on every probe request
_LONG_TOKENS = 100  # answers at least this long are paced over GENERATION_S


class _Slot:
    """One generation slot: requests take turns; ``hold_abandoned`` keeps it taken, after the client
    went away, until the abandoned generation would have ended."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None  # created in the server's event loop

    async def relay(self, pieces: AsyncIterator[bytes], duration: float, hold_abandoned: bool) -> AsyncIterator[bytes]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        lock = self._lock
        await lock.acquire()
        loop = asyncio.get_running_loop()
        ends = loop.time() + duration
        finished = False
        try:
            async for piece in pieces:
                yield piece
            finished = True
        finally:
            left = ends - loop.time() if hold_abandoned and not finished else 0.0
            if left > 0:
                loop.call_later(left, lock.release)  # the generation goes on for nobody
            else:
                lock.release()


_GENERATION_SLOT = _Slot()


def _in_slot(wire: Wire, ctx: Context, *, hold_abandoned: bool, latency: float) -> Wire:
    """A probe request served through the slot: a long answer paced over GENERATION_S, every
    answer ``latency`` seconds late."""
    messages = (ctx.payload or {}).get("messages") or []
    last = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else None
    if ctx.route != "chat" or wire.status != 200 or not (isinstance(last, str) and _PROBE_COUNT.search(last)):
        return wire
    pieces = len(wire.pieces)
    long = wire.sse and (ctx.usage or {}).get("completion_tokens", 0) >= _LONG_TOKENS
    step = GENERATION_S / max(1, pieces - 1) if long else 0.0
    wire.pauses = [latency] + [step] * (pieces - 1)
    wire.chunked = True  # a JSON answer too goes out through the slot
    duration = latency + step * (pieces - 1)
    wire.relay = functools.partial(_GENERATION_SLOT.relay, duration=duration, hold_abandoned=hold_abandoned)
    return wire


@defect("disconnect-keeps-generating", Stage.WIRE, clause="TIM-03", verdict="WARN", profile="certify",
        summary=f"One generation slot, and a stream the client abandons is generated to its end anyway: the next "
                f"request waits the rest of the {GENERATION_S:g} s the long answer takes; acts on the "
                "abandoned-stream probe's counts")
def disconnect_keeps_generating(wire: Wire, ctx: Context) -> Wire:
    return _in_slot(wire, ctx, hold_abandoned=True, latency=0.0)


@defect("slow-server-cancels", Stage.WIRE, clause="TIM-03", verdict="PASS", benign=True, profile="certify",
        summary=f"One generation slot, a long answer takes {GENERATION_S:g} s and every answer {SLOW_S:g} s more, "
                "but an abandoned stream frees the slot at once; acts on the abandoned-stream probe's counts")
def slow_server_cancels(wire: Wire, ctx: Context) -> Wire:
    return _in_slot(wire, ctx, hold_abandoned=False, latency=SLOW_S)


# --- a slow reader ---------------------------------------------------------------------------------

# The slow-reader probe's prompt (a count to 2000): only its streams are watched.
_VERY_LONG_COUNT = re.compile(r"count from 1 to 2000\b", re.IGNORECASE)
WRITE_TIMEOUT_S = 1.0  # a stream whose writes have waited this long in all for the client is ended
BATCH_AFTER_S = 0.2  # ... or, in the benign variant, is sent on in batches of events
BATCH = 16  # events per write once batching


async def _watch_writes(pieces: AsyncIterator[bytes], give_up: bool) -> AsyncIterator[bytes]:
    """Time the writes (the ASGI send waits while the client's window and the server's buffers are
    full): once they have waited long enough for a client that falls behind, the stream is ended
    (``give_up``) or its rest is sent in batches of events."""
    loop = asyncio.get_running_loop()
    waited = 0.0
    batch: list[bytes] = []
    async for piece in pieces:
        if waited > BATCH_AFTER_S and not give_up:
            batch.append(piece)
            if len(batch) < BATCH:
                continue
            piece, batch = b"".join(batch), []
        started = loop.time()
        yield piece
        waited += loop.time() - started
        if give_up and waited > WRITE_TIMEOUT_S:
            return  # the body ends here: no [DONE], the connection stays well-formed
    if batch:
        yield b"".join(batch)


def _watched(wire: Wire, ctx: Context, give_up: bool) -> Wire:
    messages = (ctx.payload or {}).get("messages") or []
    last = messages[-1].get("content") if messages and isinstance(messages[-1], dict) else None
    if wire.sse and isinstance(last, str) and _VERY_LONG_COUNT.search(last):
        wire.relay = functools.partial(_watch_writes, give_up=give_up)
    return wire


@defect("slow-reader-cut", Stage.WIRE, clause="TIM-04", verdict="WARN", profile="certify",
        summary=f"A write timeout: a stream whose writes have waited {WRITE_TIMEOUT_S:g} s in all for a slow client "
                "is ended there, without [DONE]; acts on the slow-reader probe's count")
def slow_reader_cut(wire: Wire, ctx: Context) -> Wire:
    return _watched(wire, ctx, give_up=True)


@defect("slow-reader-batched", Stage.WIRE, clause="TIM-04", verdict="PASS", benign=True, profile="certify",
        summary=f"Once a client falls behind, the rest of its stream is written {BATCH} events at a time (fewer, "
                "larger writes), every event intact; acts on the slow-reader probe's count")
def slow_reader_batched(wire: Wire, ctx: Context) -> Wire:
    return _watched(wire, ctx, give_up=False)
