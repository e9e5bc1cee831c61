"""usage defects (catalogue section E: D28-D33)."""

from __future__ import annotations

from typing import Any

from conformance.servers.reference.errors import invalid
from conformance.servers.reference.pipeline import Context, Stage

from .registry import also, defect

Chunks = list[dict[str, Any]]
Body = dict[str, Any]


def _strip_usage(chunks: Chunks) -> Chunks:
    """The chunks without the usage chunk and without any usage key."""
    kept = [chunk for chunk in chunks if chunk.get("choices")]
    for chunk in kept:
        chunk.pop("usage", None)
    return kept


def _zeros() -> dict[str, int]:
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


@defect("stream-usage-ignored", Stage.CHUNKS, clause="SSE-11", verdict="FAIL", deviations=("D28",),
        summary="stream_options.include_usage is ignored: no usage chunk")
def stream_usage_ignored(chunks: Chunks, ctx: Context) -> Chunks:
    return _strip_usage(chunks)


@defect("stream-usage-under-x-groq", Stage.CHUNKS, clause="SSE-11", verdict="FAIL", deviations=("D28",),
        summary="Usage arrives as x_groq.usage on the finishing chunk instead of a usage chunk (Groq)")
def stream_usage_under_x_groq(chunks: Chunks, ctx: Context) -> Chunks:
    if ctx.request is None or not ctx.request.include_usage:
        return chunks
    kept = _strip_usage(chunks)
    if kept:
        kept[-1]["x_groq"] = {"usage": ctx.usage}
    return kept


@defect("reject-stream-options", Stage.REQUEST, clause="REQ-07", verdict="FAIL", deviations=("D29",), collateral=("REQ-01",),
        summary="stream_options is rejected with 400 (\"property 'stream_options' is unsupported\")")
def reject_stream_options(payload: Body, ctx: Context) -> Body:
    if "stream_options" in payload:
        raise invalid("property 'stream_options' is unsupported, did you mean 'stream'?", param="stream_options")
    return payload


@defect("stream-usage-unrequested", Stage.CHUNKS, clause="SSE-11", verdict="FAIL", deviations=("D30",),
        summary="A usage chunk (choices []) is sent although include_usage was not requested")
def stream_usage_unrequested(chunks: Chunks, ctx: Context) -> Chunks:
    if ctx.request is None or ctx.request.include_usage or not chunks:
        return chunks
    final = {key: chunks[-1][key] for key in ("id", "object", "created", "model", "system_fingerprint")}
    return chunks + [{**final, "choices": [], "usage": ctx.usage}]


@defect("stream-usage-every-chunk", Stage.CHUNKS, clause="SSE-11", verdict="FAIL", deviations=("D30",),
        summary="With include_usage, every chunk carries the non-null usage object (tt-inference-server)")
def stream_usage_every_chunk(chunks: Chunks, ctx: Context) -> Chunks:
    if ctx.request is not None and ctx.request.include_usage:
        for chunk in chunks:
            chunk["usage"] = ctx.usage
    return chunks


@defect("stream-usage-zeros-every-chunk", Stage.CHUNKS, clause="SSE-11", verdict="FAIL", deviations=("D30",), collateral=("USE-03",),
        summary="Every chunk carries usage with zeros although usage was not requested (LocalAI)")
def stream_usage_zeros_every_chunk(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        if chunk.get("usage") is None:
            chunk["usage"] = _zeros()
    return chunks


@defect("usage-on-finish-chunk", Stage.CHUNKS, clause="SSE-11", verdict="WARN", deviations=("D31",),
        summary="Usage rides on the finishing chunk (with choices) instead of a separate choices:[] chunk")
def usage_on_finish_chunk(chunks: Chunks, ctx: Context) -> Chunks:
    if ctx.request is None or not ctx.request.include_usage:
        return chunks
    kept = [chunk for chunk in chunks if chunk.get("choices")]
    if kept:
        kept[-1]["usage"] = ctx.usage
    return kept


@defect("usage-zeros", Stage.BODY, clause="USE-03", verdict="FAIL", deviations=("D32",), collateral=("USE-04", "USE-05"),
        summary="The non-stream usage is all zeros")
def usage_zeros(body: Body, ctx: Context) -> Body:
    body["usage"] = _zeros()
    return body


@defect("usage-total-mismatch", Stage.BODY, clause="USE-02", verdict="FAIL", deviations=("D32",),
        summary="usage.total_tokens != prompt_tokens + completion_tokens")
def usage_total_mismatch(body: Body, ctx: Context) -> Body:
    body["usage"]["total_tokens"] += 7
    return body


@defect("usage-completion-zero-with-reasoning", Stage.BODY, clause="USE-03", verdict="FAIL", deviations=("D32",), collateral=("USE-02", "USE-04", "USE-05"),
        summary="completion_tokens is 0 while reasoning_tokens holds the count (CLIProxyAPI/Gemini)")
def usage_completion_zero_with_reasoning(body: Body, ctx: Context) -> Body:
    usage = body["usage"]
    usage["completion_tokens_details"] = {"reasoning_tokens": usage["completion_tokens"]}
    usage["completion_tokens"] = 0
    return body


@defect("stream-usage-mismatch", Stage.CHUNKS, clause="USE-04", verdict="WARN", deviations=("D32",),
        collateral=("PAR-01", "USE-05"), summary="The streamed usage counts words, not tokens, so it differs from the non-stream usage")
def stream_usage_mismatch(chunks: Chunks, ctx: Context) -> Chunks:
    return _add_to_stream_usage(chunks, "completion_tokens", 3)


def _add_to_stream_usage(chunks: Chunks, field: str, extra: int) -> Chunks:
    """The usage chunk counts ``extra`` more in ``field`` (and in total_tokens, so it still adds up)."""
    for chunk in chunks:
        usage = chunk.get("usage")
        if usage:
            chunk["usage"] = dict(usage, **{field: usage[field] + extra}, total_tokens=usage["total_tokens"] + extra)
    return chunks


@defect("body-without-usage", Stage.BODY, clause="USE-01", verdict="WARN", deviations=("D33",),
        summary="The non-stream body has no usage")
def body_without_usage(body: Body, ctx: Context) -> Body:
    del body["usage"]
    return body


@defect("usage-counts-one-choice", Stage.BODY, clause="USE-05", verdict="FAIL", deviations=("D32",),
        summary="With n > 1, usage.completion_tokens counts one choice's tokens, not all of them (llama-server)")
def usage_counts_one_choice(body: Body, ctx: Context) -> Body:
    choices = len(body.get("choices") or ())
    usage = body.get("usage")
    if choices > 1 and isinstance(usage, dict):
        usage["completion_tokens"] //= choices
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return body


@defect("stream-usage-per-choice", Stage.CHUNKS, clause="SSE-11", verdict="FAIL", deviations=("D30",), collateral=("USE-05",),
        summary="With n > 1 and include_usage, one usage chunk per choice, each counting that choice (llama-server)")
def stream_usage_per_choice(chunks: Chunks, ctx: Context) -> Chunks:
    final = chunks[-1] if chunks and chunks[-1].get("choices") == [] and chunks[-1].get("usage") else None
    choices = {c["index"] for chunk in chunks for c in chunk.get("choices") or ()}
    if final is None or len(choices) < 2:
        return chunks
    usage = final["usage"]
    share = usage["completion_tokens"] // len(choices)
    each = dict(usage, completion_tokens=share, total_tokens=usage["prompt_tokens"] + share)
    return chunks[:-1] + [dict(final, usage=dict(each)) for _ in choices]


def _overcount_cache(usage: Any) -> None:
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        usage["prompt_tokens_details"] = {"cached_tokens": usage["prompt_tokens"] + 8, "audio_tokens": 0}


@defect("cached-tokens-above-prompt", Stage.BODY, clause="USE-06", verdict="FAIL",
        summary="usage.prompt_tokens_details.cached_tokens exceeds prompt_tokens (the whole cache counted, not this prompt's share)")
def cached_tokens_above_prompt(body: Body, ctx: Context) -> Body:
    _overcount_cache(body.get("usage"))
    return body


@also("cached-tokens-above-prompt", Stage.CHUNKS)
def _cached_tokens_above_prompt_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        _overcount_cache(chunk.get("usage"))
    return chunks


@defect("stream-prompt-tokens-plus-one", Stage.CHUNKS, clause="USE-07", verdict="FAIL",
        summary="The stream's usage counts one prompt token more than the non-stream usage of the same request "
                "(a start token counted on the streaming path only); USE-04's ±1 tolerance lets it through")
def stream_prompt_tokens_plus_one(chunks: Chunks, ctx: Context) -> Chunks:
    return _add_to_stream_usage(chunks, "prompt_tokens", 1)
