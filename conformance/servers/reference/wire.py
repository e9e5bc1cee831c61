"""Encode answers as bytes: JSON bodies, SSE streams (``data: <json>\n\n`` ... ``data: [DONE]\n\n``)
and error envelopes."""

from __future__ import annotations

import json
from typing import Any

from .pipeline import ErrorReply, Wire

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"


def dumps(value: Any) -> bytes:
    """JSON text with Python's default separators (``", "`` and ``": "``), UTF-8, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def chunk_json(value: Any) -> str:
    """A chunk as compact JSON, the way OpenAI streams them."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_wire(status: int, value: Any) -> Wire:
    return Wire(status=status, headers={"content-type": JSON_TYPE}, pieces=[dumps(value)])


def sse_event(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


def sse_wire(chunks: list[dict[str, Any]]) -> Wire:
    pieces = [sse_event(chunk_json(chunk)) for chunk in chunks] + [sse_event("[DONE]")]
    return Wire(status=200, headers={"content-type": SSE_TYPE, "cache-control": "no-cache"}, pieces=pieces, sse=True, chunked=True)


def error_wire(error: ErrorReply) -> Wire:
    if isinstance(error.body, str):
        headers = {"content-type": "text/plain; charset=utf-8"}
        piece = error.body.encode("utf-8")
    else:
        headers = {"content-type": JSON_TYPE}
        piece = dumps(error.body)
    headers.update({name.lower(): value for name, value in error.headers.items()})
    return Wire(status=error.status, headers=headers, pieces=[piece])
