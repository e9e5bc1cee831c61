"""Delta role defects of streams (catalogue section C: D16-D18)."""

from __future__ import annotations

from typing import Any

from conformance.servers.reference.pipeline import Context, Stage

from .edit import choices
from .registry import defect

Chunks = list[dict[str, Any]]


@defect("first-delta-without-role", Stage.CHUNKS, clause="SSE-06", verdict="FAIL", deviations=("D16",),
        summary="The first delta of each choice lacks role 'assistant'")
def first_delta_without_role(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        choice["delta"].pop("role", None)
    return chunks


@defect("delta-role-empty", Stage.CHUNKS, clause="SSE-06", verdict="FAIL", deviations=("D17",),
        summary="The first delta has role '' instead of 'assistant' (MiniMax)")
def delta_role_empty(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        if "role" in choice["delta"]:
            choice["delta"]["role"] = ""
    return chunks


@defect("delta-role-null", Stage.CHUNKS, clause="SSE-06", verdict="WARN", deviations=("D17",),
        summary="Every delta after the first carries role: null")
def delta_role_null(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        choice["delta"].setdefault("role", None)
    return chunks


@defect("delta-role-repeated", Stage.CHUNKS, clause="SSE-06", verdict="WARN", deviations=("D18",),
        summary="role 'assistant' is repeated on every delta (Groq, LocalAI)")
def delta_role_repeated(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        choice["delta"]["role"] = "assistant"
    return chunks


@defect("delta-empty-tool-calls", Stage.CHUNKS, clause="SSE-09", verdict="WARN", deviations=("D18",),
        summary="Every text delta carries tool_calls: []")
def delta_empty_tool_calls(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        choice["delta"].setdefault("tool_calls", [])
    return chunks
