"""Envelope defects of bodies and chunks (catalogue section B: D10-D15, and D19)."""

from __future__ import annotations

from typing import Any

from conformance.servers.reference.pipeline import Context, Stage

from .edit import choices
from .registry import defect

Chunks = list[dict[str, Any]]
Body = dict[str, Any]


@defect("chunk-object-wrong", Stage.CHUNKS, clause="ENV-02", verdict="FAIL", deviations=("D10",),
        summary="Chunks are labelled object 'chat.completion' instead of 'chat.completion.chunk'")
def chunk_object_wrong(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["object"] = "chat.completion"
    return chunks


@defect("body-object-wrong", Stage.BODY, clause="ENV-02", verdict="FAIL", deviations=("D10",),
        summary="The non-stream body says object 'chat.completions'")
def body_object_wrong(body: Body, ctx: Context) -> Body:
    body["object"] = "chat.completions"
    return body


@defect("body-missing-object", Stage.BODY, clause="ENV-02", verdict="FAIL", deviations=("D12",), collateral=("ENV-01",),
        summary="The non-stream body has no 'object' key")
def body_missing_object(body: Body, ctx: Context) -> Body:
    del body["object"]
    return body


@defect("created-milliseconds", Stage.BODY, clause="ENV-03", verdict="FAIL", deviations=("D11",),
        summary="The non-stream 'created' is in milliseconds")
def created_milliseconds(body: Body, ctx: Context) -> Body:
    body["created"] *= 1000
    return body


@defect("chunk-created-milliseconds", Stage.CHUNKS, clause="ENV-03", verdict="FAIL", deviations=("D11",), collateral=("SSE-19",),
        summary="Every chunk's 'created' is in milliseconds (streaming path only)")
def chunk_created_milliseconds(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["created"] *= 1000
    return chunks


@defect("chunk-created-varies", Stage.CHUNKS, clause="SSE-05", verdict="FAIL", deviations=("D11",),
        summary="'created' changes from chunk to chunk")
def chunk_created_varies(chunks: Chunks, ctx: Context) -> Chunks:
    for position, chunk in enumerate(chunks):
        chunk["created"] += position
    return chunks


@defect("chunk-id-varies", Stage.CHUNKS, clause="SSE-05", verdict="FAIL",
        summary="Every chunk carries a different 'id'")
def chunk_id_varies(chunks: Chunks, ctx: Context) -> Chunks:
    for position, chunk in enumerate(chunks):
        chunk["id"] = f"{chunk['id']}-{position}"
    return chunks


@defect("chunk-missing-created", Stage.CHUNKS, clause="SSE-19", verdict="FAIL", deviations=("D12",), collateral=("ENV-03", "SSE-05"),
        summary="Chunks have no 'created' key")
def chunk_missing_created(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk.pop("created", None)
    return chunks


@defect("azure-filter-first-chunk", Stage.CHUNKS, clause="SSE-05", verdict="WARN", deviations=("D12",), collateral=("ENV-02", "ENV-04", "SSE-11"),
        summary="Azure-style first chunk: id '', object '', created 0, model '', choices [] plus prompt_filter_results")
def azure_filter_first_chunk(chunks: Chunks, ctx: Context) -> Chunks:
    first = {"id": "", "object": "", "created": 0, "model": "", "choices": [],
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}]}
    return [first] + chunks


@defect("empty-completion-id", Stage.BODY, clause="ENV-04", verdict="FAIL", deviations=("D13",),
        summary="The completion id is the empty string")
def empty_completion_id(body: Body, ctx: Context) -> Body:
    body["id"] = ""
    return body


@defect("response-model-empty", Stage.BODY, clause="ENV-05", verdict="WARN", deviations=("D12", "D56"),
        summary="The response's 'model' is the empty string")
def response_model_empty(body: Body, ctx: Context) -> Body:
    body["model"] = ""
    return body


@defect("chunk-error-null", Stage.CHUNKS, clause="ENV-07", verdict="FAIL", deviations=("D14",),
        summary="Every successful chunk carries \"error\": null (Foundry Local)")
def chunk_error_null(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["error"] = None
    return chunks


@defect("body-error-null", Stage.BODY, clause="ENV-07", verdict="FAIL", deviations=("D14",),
        summary="The successful non-stream body carries \"error\": null")
def body_error_null(body: Body, ctx: Context) -> Body:
    body["error"] = None
    return body


@defect("content-as-parts", Stage.BODY, clause="ENV-06", verdict="FAIL", deviations=("D15",), collateral=("ENV-01",),
        summary="message.content is an array of text parts instead of a string")
def content_as_parts(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        message = choice["message"]
        if isinstance(message.get("content"), str):
            message["content"] = [{"type": "text", "text": message["content"]}]
    return body


@defect("delta-content-as-parts", Stage.CHUNKS, clause="ENV-06", verdict="FAIL", deviations=("D15",), collateral=("SSE-19",),
        summary="delta.content is an array of text parts instead of a string (Mistral)")
def delta_content_as_parts(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        delta = choice["delta"]
        if delta.get("content"):
            delta["content"] = [{"type": "text", "text": delta["content"]}]
    return chunks


@defect("answer-in-reasoning-content", Stage.BODY, clause="ENV-08", verdict="WARN", deviations=("D19",),
        collateral=("PAR-04", "PAR-05", "PAR-06", "PAR-07", "SSE-18", "TOOL-06"), summary="The answer is only in message.reasoning_content; content is ''")
def answer_in_reasoning_content(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        message = choice["message"]
        if message.get("content"):
            message["reasoning_content"] = message["content"]
            message["content"] = ""
    return body


@defect("delta-answer-in-reasoning", Stage.CHUNKS, clause="ENV-08", verdict="WARN", deviations=("D19",),
        collateral=("SSE-16", "SSE-18"), summary="Streamed answer tokens arrive in delta.reasoning_content instead of delta.content")
def delta_answer_in_reasoning(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        delta = choice["delta"]
        if delta.get("content"):
            delta["reasoning_content"] = delta.pop("content")
    return chunks


@defect("stream-model-weights-path", Stage.CHUNKS, clause="ENV-09", verdict="WARN",
        summary="Stream chunks name the weights path the server loaded ('/models/<name>') while non-stream bodies "
                "name the served model (vLLM without --served-model-name on one route)")
def stream_model_weights_path(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["model"] = f"/models/{chunk['model']}"
    return chunks
