"""Small helpers the defect hooks share to find and edit parts of chunks and wire pieces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from conformance.servers.reference.pipeline import Wire


def choices(chunks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every choice object of every chunk, in stream order."""
    for chunk in chunks:
        yield from chunk.get("choices") or ()


def last_chunk_of(chunks: list[dict[str, Any]], index: int) -> int | None:
    """Position of the last chunk carrying choice ``index``."""
    found = None
    for position, chunk in enumerate(chunks):
        if any(choice.get("index") == index for choice in chunk.get("choices") or ()):
            found = position
    return found


def tool_deltas(chunks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every ``delta.tool_calls[]`` item, in stream order."""
    for choice in choices(chunks):
        yield from choice.get("delta", {}).get("tool_calls") or ()


def data_of(piece: bytes) -> str:
    """The payload of a canonical ``data: X\\n\\n`` piece."""
    return piece.decode("utf-8").removeprefix("data: ").rstrip("\n")


def sse_payloads(wire: Wire) -> list[str]:
    """The data payloads of a canonical SSE wire (JSON texts and ``[DONE]``)."""
    return [data_of(piece) for piece in wire.pieces]


def rewrite_json(wire: Wire, **dump_options: Any) -> Wire:
    """Re-serialise a JSON (non-SSE) wire with ``json.dumps(**dump_options)``."""
    if wire.sse or not wire.headers.get("content-type", "").startswith("application/json"):
        return wire
    value = json.loads(b"".join(wire.pieces))
    wire.pieces = [json.dumps(value, ensure_ascii=False, **dump_options).encode("utf-8")]
    return wire
