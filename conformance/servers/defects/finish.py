"""finish_reason defects (catalogue section D: D20-D27, D41)."""

from __future__ import annotations

import copy
from typing import Any

from conformance.servers.reference.model import Completion
from conformance.servers.reference.pipeline import Context, Stage

from .edit import choices, last_chunk_of
from .registry import defect

Chunks = list[dict[str, Any]]
Body = dict[str, Any]


@defect("finish-reason-empty-string", Stage.CHUNKS, clause="FIN-01", verdict="FAIL", deviations=("D20",), collateral=("SSE-07", "SSE-19"),
        summary="Intermediate chunks carry finish_reason '' instead of null")
def finish_reason_empty_string(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        if choice["finish_reason"] is None:
            choice["finish_reason"] = ""
    return chunks


@defect("finish-reason-key-omitted", Stage.CHUNKS, clause="SSE-07", verdict="FAIL", deviations=("D21",),
        summary="Intermediate chunks omit the finish_reason key")
def finish_reason_key_omitted(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        if choice["finish_reason"] is None:
            del choice["finish_reason"]
    return chunks


@defect("stream-no-finish-reason", Stage.CHUNKS, clause="SSE-07", verdict="FAIL", deviations=("D22",),
        summary="The stream never sends a non-null finish_reason")
def stream_no_finish_reason(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        choice["finish_reason"] = None
    return chunks


@defect("body-finish-reason-null", Stage.BODY, clause="FIN-01", verdict="FAIL", deviations=("D22",),
        summary="The non-stream choice has finish_reason null")
def body_finish_reason_null(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        choice["finish_reason"] = None
    return body


@defect("finish-reason-every-chunk", Stage.CHUNKS, clause="SSE-07", verdict="FAIL", deviations=("D23",),
        summary="Every chunk carries the final finish_reason, not only the last one (gcli2api)")
def finish_reason_every_chunk(chunks: Chunks, ctx: Context) -> Chunks:
    final = {c["index"]: c["finish_reason"] for c in choices(chunks) if c["finish_reason"] is not None}
    for choice in choices(chunks):
        choice["finish_reason"] = final.get(choice["index"], "stop")
    return chunks


@defect("finish-chunk-duplicated", Stage.CHUNKS, clause="SSE-07", verdict="FAIL", deviations=("D23",),
        summary="Each finishing chunk is sent twice (SGLang)")
def finish_chunk_duplicated(chunks: Chunks, ctx: Context) -> Chunks:
    out = []
    for chunk in chunks:
        out.append(chunk)
        if any(c["finish_reason"] is not None for c in chunk.get("choices") or ()):
            out.append(copy.deepcopy(chunk))
    return out


@defect("finish-only-last-choice", Stage.CHUNKS, clause="SSE-12", verdict="FAIL", deviations=("D23",), collateral=("SSE-07",),
        summary="With n > 1 only the highest choice index gets a finishing chunk")
def finish_only_last_choice(chunks: Chunks, ctx: Context) -> Chunks:
    indices = {c["index"] for c in choices(chunks)}
    last = max(indices, default=0)
    return [chunk for chunk in chunks
            if not any(c["finish_reason"] is not None and c["index"] != last for c in chunk.get("choices") or ())]


@defect("tool-finish-stop-stream", Stage.CHUNKS, clause="SSE-10", verdict="FAIL", deviations=("D24",), collateral=("FIN-03", "SSE-18"),
        summary="A stream with tool calls ends with finish_reason 'stop' (Gemini compat, streaming only)")
def tool_finish_stop_stream(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        if choice["finish_reason"] == "tool_calls":
            choice["finish_reason"] = "stop"
    return chunks


@defect("tool-finish-stop", Stage.BODY, clause="FIN-03", verdict="FAIL", deviations=("D24",), collateral=("SSE-18",),
        summary="A non-stream answer with tool calls has finish_reason 'stop'")
def tool_finish_stop(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        if choice["finish_reason"] == "tool_calls":
            choice["finish_reason"] = "stop"
    return body


@defect("finish-reason-eos-token", Stage.COMPLETION, clause="FIN-01", verdict="FAIL", deviations=("D25",),
        summary="finish_reason 'eos_token' instead of 'stop' (TGI)")
def finish_reason_eos_token(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        if choice.finish_reason == "stop":
            choice.finish_reason = "eos_token"
    return completion


@defect("finish-reason-gemini-native", Stage.COMPLETION, clause="FIN-01", verdict="FAIL", deviations=("D25",),
        summary="Gemini-native finish reasons leak: 'STOP', 'MAX_TOKENS'")
def finish_reason_gemini_native(completion: Completion, ctx: Context) -> Completion:
    native = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP"}
    for choice in completion.choices:
        choice.finish_reason = native.get(choice.finish_reason, choice.finish_reason)
    return completion


@defect("length-reported-as-stop", Stage.COMPLETION, clause="FIN-02", verdict="FAIL", deviations=("D26",),
        summary="The token cap cuts the answer but finish_reason says 'stop'")
def length_reported_as_stop(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        if choice.finish_reason == "length" and not choice.tool_calls:
            choice.finish_reason = "stop"
    return completion


@defect("finish-with-last-token", Stage.CHUNKS, clause="SSE-08", verdict="WARN", deviations=("D27",),
        summary="The last content token and finish_reason arrive in the same chunk (vLLM)")
def finish_with_last_token(chunks: Chunks, ctx: Context) -> Chunks:
    for index in {c["index"] for c in choices(chunks)}:
        last = last_chunk_of(chunks, index)
        if last is None or last == 0:
            continue
        finish = next(c for c in chunks[last]["choices"] if c["index"] == index)
        previous = next((p for p in range(last - 1, -1, -1)
                         if any(c["index"] == index and c["delta"].get("content") for c in chunks[p]["choices"])), None)
        if previous is not None:
            token = next(c for c in chunks[previous]["choices"] if c["index"] == index)
            token["finish_reason"] = finish["finish_reason"]
            chunks = chunks[:last] + chunks[last + 1:]
    return chunks


@defect("finish-tool-calls-without-calls", Stage.COMPLETION, clause="FIN-05", verdict="FAIL", deviations=("D41",), collateral=("FIN-02",),
        summary="finish_reason is hard-coded 'tool_calls' whenever tools are offered, even for a text answer")
def finish_tool_calls_without_calls(completion: Completion, ctx: Context) -> Completion:
    if ctx.request is not None and ctx.request.tools:
        for choice in completion.choices:
            choice.finish_reason = "tool_calls"
    return completion


@defect("tool-truncated-finish-tool-calls", Stage.COMPLETION, clause="FIN-02", verdict="FAIL", deviations=("D41",), collateral=("FIN-05",),
        summary="A tool call cut by the token cap reports finish_reason 'tool_calls' instead of 'length'")
def tool_truncated_finish_tool_calls(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        if choice.finish_reason == "length" and choice.tool_calls:
            choice.finish_reason = "tool_calls"
    return completion
