"""SSE framing and transport defects (catalogue section A: D03-D09)."""

from __future__ import annotations

import json
from typing import Any

from conformance.servers.reference.pipeline import Context, Stage, Wire
from conformance.servers.reference.wire import JSON_TYPE, SSE_TYPE, chunk_json, sse_event

from .edit import sse_payloads
from .registry import defect

HOLD_OPEN_S = 30.0


@defect("sse-no-done", Stage.WIRE, clause="SSE-03", verdict="FAIL", deviations=("D04",),
        summary="The stream closes without the final 'data: [DONE]' event")
def sse_no_done(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces = wire.pieces[:-1]
    return wire


@defect("sse-invalid-utf8", Stage.WIRE, clause="SSE-02", verdict="FAIL", collateral=("SSE-16", "SSE-18"),
        summary="One content chunk carries a byte that is not valid UTF-8 (a multi-byte character cut in half)")
def sse_invalid_utf8(wire: Wire, ctx: Context) -> Wire:
    if wire.sse and len(wire.pieces) > 2:
        piece = wire.pieces[1]  # the first content token (piece 0 is the role delta)
        start = piece.find(b'"content":"')
        if start >= 0:
            at = start + len(b'"content":"')
            wire.pieces[1] = piece[:at] + b"\xe2\x80" + piece[at:]
    return wire


@defect("sse-data-after-done", Stage.WIRE, clause="SSE-03", verdict="FAIL", deviations=("D04",),
        summary="Another chunk event follows 'data: [DONE]'")
def sse_data_after_done(wire: Wire, ctx: Context) -> Wire:
    if wire.sse and len(wire.pieces) >= 2:
        wire.pieces.append(wire.pieces[-2])
    return wire


@defect("sse-hold-open-after-done", Stage.WIRE, clause="SSE-03", verdict="FAIL", deviations=("D04",), collateral=("HTTP-01", "HTTP-04"),
        summary=f"The connection stays open {HOLD_OPEN_S:.0f} s after 'data: [DONE]' instead of closing")
def sse_hold_open(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.hold_open_s = HOLD_OPEN_S
    return wire


@defect("sse-comment-as-data", Stage.WIRE, clause="SSE-02", verdict="FAIL", deviations=("D03",), collateral=("SDK-02",),
        summary="A processing comment is re-wrapped as data: 'data: : OPENROUTER PROCESSING'")
def sse_comment_as_data(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces.insert(1, sse_event(": OPENROUTER PROCESSING"))
    return wire


@defect("stream-only-done", Stage.CHUNKS, clause="SSE-17", verdict="FAIL", deviations=("D06",),
        summary="The stream carries no chunk at all, only 'data: [DONE]'")
def stream_only_done(chunks: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    return []


@defect("non-stream-as-sse", Stage.WIRE, clause="SSE-15", verdict="FAIL", deviations=("D07",), collateral=("HTTP-02",),
        summary="A non-stream answer is sent as text/event-stream: 'data: <body>' then 'data: [DONE]'")
def non_stream_as_sse(wire: Wire, ctx: Context) -> Wire:
    if ctx.route == "chat" and not wire.sse and wire.status == 200:
        body = json.loads(b"".join(wire.pieces))
        wire.pieces = [sse_event(chunk_json(body)), sse_event("[DONE]")]
        wire.headers["content-type"] = SSE_TYPE
    return wire


@defect("stream-content-type-json", Stage.WIRE, clause="SSE-01", verdict="FAIL", deviations=("D08",),
        summary="A correct SSE stream is labelled Content-Type: application/json")
def stream_content_type_json(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.headers["content-type"] = JSON_TYPE
    return wire


@defect("stream-ignored", Stage.REQUEST, clause="SSE-01", verdict="FAIL", deviations=("D08",), collateral=("SSE-03",),
        summary="stream:true is ignored: the answer is one application/json completion body")
def stream_ignored(payload: dict[str, Any], ctx: Context) -> dict[str, Any]:
    if payload.get("stream") is True:
        payload = {k: v for k, v in payload.items() if k not in ("stream", "stream_options")}
    return payload


@defect("stream-ndjson", Stage.WIRE, clause="SSE-01", verdict="FAIL", deviations=("D09",), collateral=("SSE-02", "SSE-03"),
        summary="The stream is NDJSON (application/x-ndjson, one chunk per line, no [DONE]) instead of SSE")
def stream_ndjson(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces = [(data + "\n").encode("utf-8") for data in sse_payloads(wire) if data != "[DONE]"]
        wire.headers["content-type"] = "application/x-ndjson"
        wire.sse = False
    return wire


@defect("stream-plain-text", Stage.WIRE, clause="SSE-01", verdict="FAIL", deviations=("D09",), collateral=("SSE-02", "SSE-03"),
        summary="The stream is bare text/plain tokens (a toTextStreamResponse gateway), not SSE chunks")
def stream_plain_text(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        texts = []
        for data in sse_payloads(wire):
            if data != "[DONE]":
                for choice in json.loads(data)["choices"]:
                    texts.append(choice["delta"].get("content") or "")
        wire.pieces = [text.encode("utf-8") for text in texts if text]
        wire.headers["content-type"] = "text/plain; charset=utf-8"
        wire.sse = False
    return wire


@defect("stream-error-in-band", Stage.WIRE, clause="SSE-13", verdict="FAIL", deviations=("D05", "D60"), collateral=("ERR-02",),
        summary="With stream:true an invalid request gets 200 text/event-stream carrying 'data: {error}' then [DONE]")
def stream_error_in_band(wire: Wire, ctx: Context) -> Wire:
    if ctx.stream and wire.status >= 400 and not wire.sse:
        error = json.loads(b"".join(wire.pieces))
        wire.status = 200
        wire.pieces = [sse_event(chunk_json(error)), sse_event("[DONE]")]
        wire.headers["content-type"] = SSE_TYPE
        wire.sse = True
    return wire


def _wire_error(wire: Wire) -> dict[str, Any]:
    """The error object of a JSON error answer ({} for any other answer)."""
    try:
        error = json.loads(b"".join(wire.pieces)).get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


@defect("stream-validates-temperature-only", Stage.WIRE, clause="SSE-13", verdict="FAIL", deviations=("D05",), collateral=("ERR-02",),
        summary="With stream:true only temperature is checked before the stream starts: any other invalid value gets "
                "200 text/event-stream carrying 'data: {error}' then [DONE]")
def stream_validates_temperature_only(wire: Wire, ctx: Context) -> Wire:
    if ctx.stream and wire.status == 400 and not wire.sse and _wire_error(wire).get("param") != "temperature":
        return stream_error_in_band(wire, ctx)
    return wire


@defect("context-overflow-stream-dies", Stage.WIRE, clause="SSE-13", verdict="FAIL", deviations=("D05", "D60"), collateral=("ERR-02",),
        summary="With stream:true a prompt longer than the context window gets 200 text/event-stream that closes "
                "without a single event (llama-cpp-python)")
def context_overflow_stream_dies(wire: Wire, ctx: Context) -> Wire:
    if ctx.stream and not wire.sse and _wire_error(wire).get("code") == "context_length_exceeded":
        wire.status = 200
        wire.pieces = []
        wire.headers["content-type"] = SSE_TYPE
        wire.sse = True
    return wire


@defect("stream-error-not-last", Stage.CHUNKS, clause="SSE-14", verdict="FAIL", deviations=("D05",), collateral=("ENV-07", "SDK-02"),
        summary="An in-band {error} event appears mid-stream and the chunks continue after it")
def stream_error_not_last(chunks: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    error = {"error": {"message": "Upstream hiccup.", "type": "server_error", "param": None, "code": None}}
    return chunks[:2] + [error] + chunks[2:]


@defect("stream-finish-reason-error", Stage.CHUNKS, clause="FIN-01", verdict="FAIL", deviations=("D05", "D25"), collateral=("SSE-14", "ENV-07", "FIN-02", "FIN-03", "PAR-03", "SSE-10", "SSE-18"),
        summary="The stream ends with finish_reason 'error' plus an 'error' key in the same chunk (OpenRouter style)")
def stream_finish_reason_error(chunks: list[dict[str, Any]], ctx: Context) -> list[dict[str, Any]]:
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            if choice.get("finish_reason") is not None:
                choice["finish_reason"] = "error"
                chunk["error"] = {"message": "Provider returned error", "code": 502}
    return chunks
