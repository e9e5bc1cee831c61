"""Tool-calling defects (catalogue section F: D34-D40, D44-D46, D62)."""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
from typing import Any

from conformance.servers.reference.errors import ApiError, invalid
from conformance.servers.reference.model import Completion, new_call_id
from conformance.servers.reference.pipeline import Context, Stage
from conformance.servers.reference.tokenizer import tokenize

from .edit import choices, tool_deltas
from .registry import also, defect
from .semantics import validates

Chunks = list[dict[str, Any]]
Body = dict[str, Any]
_MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_ALNUM = string.ascii_letters + string.digits


def _short_id() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(9))


def _replayed_ids(payload: Body) -> list[Any]:
    """Tool-call ids the conversation history carries (assistant tool_calls and tool messages)."""
    ids: list[Any] = []
    for message in payload.get("messages") or ():
        if isinstance(message, dict):
            ids += [call.get("id") for call in message.get("tool_calls") or () if isinstance(call, dict)]
            if message.get("role") == "tool":
                ids.append(message.get("tool_call_id"))
    return ids


def _reject_non_mistral_ids(payload: Body) -> None:
    if not validates(payload):
        return
    for call_id in _replayed_ids(payload):
        if not (isinstance(call_id, str) and _MISTRAL_ID.match(call_id)):
            raise ApiError(400, f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9.", type="invalid_function_call", code="3280")


# --- stream deltas ---------------------------------------------------------------------------

@defect("tool-delta-without-index", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D34",), collateral=("SDK-03", "TOOL-04", "TOOL-07"),
        summary="Streamed tool-call deltas carry no 'index'")
def tool_delta_without_index(chunks: Chunks, ctx: Context) -> Chunks:
    for delta in tool_deltas(chunks):
        delta.pop("index", None)
    return chunks


@defect("tool-delta-first-without-id", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D35",),
        collateral=("TOOL-05", "TOOL-07"),
        summary="The first tool-call delta of each index has no 'id'")
def tool_delta_first_without_id(chunks: Chunks, ctx: Context) -> Chunks:
    for delta in tool_deltas(chunks):
        delta.pop("id", None)
    return chunks


@defect("tool-delta-empty-id-continuation", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D35",),
        summary="Continuation tool-call deltas carry id '' (DashScope)")
def tool_delta_empty_id_continuation(chunks: Chunks, ctx: Context) -> Chunks:
    for delta in tool_deltas(chunks):
        delta.setdefault("id", "")
    return chunks


@defect("tool-delta-id-changes", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D35",), collateral=("SDK-04",),
        summary="Each continuation tool-call delta carries a different, new id")
def tool_delta_id_changes(chunks: Chunks, ctx: Context) -> Chunks:
    for delta in tool_deltas(chunks):
        delta.setdefault("id", new_call_id())
    return chunks


@defect("tool-delta-name-repeated-empty", Stage.CHUNKS, clause="SSE-09", verdict="WARN", deviations=("D39",),
        summary="Continuation tool-call deltas repeat function.name as '' (LM Studio)")
def tool_delta_name_repeated_empty(chunks: Chunks, ctx: Context) -> Chunks:
    for delta in tool_deltas(chunks):
        delta["function"].setdefault("name", "")
    return chunks


@defect("tool-delta-arguments-object", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D36",), collateral=("TOOL-04", "SDK-03", "SSE-18"),
        summary="Streamed tool calls carry arguments as one JSON object instead of string fragments")
def tool_delta_arguments_object(chunks: Chunks, ctx: Context) -> Chunks:
    full: dict[tuple[int, int], str] = {}
    for choice in choices(chunks):
        for delta in choice["delta"].get("tool_calls") or ():
            key = (choice["index"], delta["index"])
            full[key] = full.get(key, "") + delta["function"].get("arguments", "")
    kept = []
    for chunk in chunks:
        keep = True
        for choice in chunk.get("choices") or ():
            for delta in choice["delta"].get("tool_calls") or ():
                if "id" in delta:
                    delta["function"]["arguments"] = json.loads(full[(choice["index"], delta["index"])])
                else:
                    keep = False
        if keep:
            kept.append(chunk)
    return kept


@defect("tool-args-duplicated-at-end", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D37",), collateral=("TOOL-04", "SDK-03", "SSE-18"),
        summary="After the fragments, the whole arguments object is sent again (vLLM xlam flush)")
def tool_args_duplicated_at_end(chunks: Chunks, ctx: Context) -> Chunks:
    out: Chunks = []
    full: dict[tuple[int, int], str] = {}
    template: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            for delta in choice["delta"].get("tool_calls") or ():
                key = (choice["index"], delta["index"])
                full[key] = full.get(key, "") + delta["function"].get("arguments", "")
                template[choice["index"]] = chunk
            if choice["finish_reason"] is not None and choice["index"] in template:
                for (index, call), arguments in full.items():
                    if index == choice["index"]:
                        extra = copy.deepcopy(template[index])
                        extra["choices"][0]["delta"] = {"tool_calls": [{"index": call, "function": {"arguments": arguments}}]}
                        out.append(extra)
        out.append(chunk)
    return out


@defect("tool-args-truncated", Stage.CHUNKS, clause="SSE-09", verdict="FAIL", deviations=("D37",), collateral=("TOOL-04", "SDK-03", "SSE-18"),
        summary="The last argument fragment of each tool call is lost, so the fragments are not valid JSON")
def tool_args_truncated(chunks: Chunks, ctx: Context) -> Chunks:
    last: dict[tuple[int, int], int] = {}
    for position, chunk in enumerate(chunks):
        for choice in chunk.get("choices") or ():
            for delta in choice["delta"].get("tool_calls") or ():
                if "id" not in delta:
                    last[(choice["index"], delta["index"])] = position
    drop = set(last.values())
    return [chunk for position, chunk in enumerate(chunks) if position not in drop]


@defect("parallel-tool-call-indices-collide", Stage.CHUNKS, clause="TOOL-07", verdict="FAIL", collateral=("SSE-09", "TOOL-04"),
        summary="Parallel tool calls are all streamed with index 0")
def parallel_tool_call_indices_collide(chunks: Chunks, ctx: Context) -> Chunks:
    for delta in tool_deltas(chunks):
        delta["index"] = 0
    return chunks


@defect("stream-tool-calls-dropped", Stage.CHUNKS, clause="TOOL-01", verdict="FAIL", deviations=("D38",), collateral=("FIN-05", "SSE-10", "SSE-18", "TOOL-03"),
        summary="A streaming filter drops every tool-call delta; only role and finish chunks remain")
def stream_tool_calls_dropped(chunks: Chunks, ctx: Context) -> Chunks:
    kept = []
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice["delta"]
            if delta.pop("tool_calls", None) is not None and "role" not in delta:
                break
        else:
            kept.append(chunk)
    return kept


# --- whole answers ---------------------------------------------------------------------------

@defect("tool-arguments-object", Stage.BODY, clause="TOOL-04", verdict="FAIL", deviations=("D36",), collateral=("ENV-01", "TOOL-06"),
        summary="function.arguments is a JSON object instead of a JSON-encoded string")
def tool_arguments_object(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        for call in choice["message"].get("tool_calls") or ():
            try:
                call["function"]["arguments"] = json.loads(call["function"]["arguments"])
            except ValueError:
                continue  # a call cut by the token cap has no object to parse: its text stays as it is
    return body


@defect("tool-call-as-text", Stage.COMPLETION, clause="TOOL-01", verdict="FAIL", deviations=("D38",), collateral=("FIN-03", "TOOL-03"),
        summary="Tool calls come back as JSON text in content, with no tool_calls and finish_reason 'stop'")
def tool_call_as_text(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        if choice.tool_calls:
            text = " ".join(json.dumps({"name": call.name, "arguments": call.arguments}) for call in choice.tool_calls)
            choice.tokens = tokenize(text)
            choice.tool_calls = []
            choice.finish_reason = "stop"
            if choice.logprobs is not None:
                choice.logprobs = None
    return completion


@defect("constant-tool-call-id", Stage.COMPLETION, clause="TOOL-05", verdict="FAIL", deviations=("D13",), collateral=("TOOL-07",),
        summary="Every tool-call id is the constant '0' (TGI)")
def constant_tool_call_id(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        for call in choice.tool_calls:
            call.id = "0"
    return completion


# --- history replay ----------------------------------------------------------------------------

@defect("reject-string-arguments-history", Stage.REQUEST, clause="TOOL-06", verdict="FAIL", deviations=("D36",), collateral=("REQ-03",),
        summary="Replayed assistant tool calls with string arguments (the OpenAI form) are rejected with 400")
def reject_string_arguments_history(payload: Body, ctx: Context) -> Body:
    if not validates(payload):
        return payload
    for message in payload.get("messages") or ():
        for call in (message.get("tool_calls") or ()) if isinstance(message, dict) else ():
            if isinstance(call, dict) and isinstance((call.get("function") or {}).get("arguments"), str):
                raise invalid("invalid message format: tool_calls.function.arguments must be an object", param="messages")
    return payload


@defect("reject-own-tool-call-ids", Stage.REQUEST, clause="TOOL-06", verdict="FAIL", deviations=("D40",), collateral=("REQ-03",),
        summary="The server issues 'call_…' ids but rejects any replayed id that is not 9 alphanumerics (400)")
def reject_own_tool_call_ids(payload: Body, ctx: Context) -> Body:
    _reject_non_mistral_ids(payload)
    return payload


@defect("500-on-tool-replay", Stage.REQUEST, clause="TOOL-06", verdict="FAIL", deviations=("D40", "D59"), collateral=("ERR-03", "REQ-03"),
        summary="A conversation replaying a tool result fails with HTTP 500 (chat template rejects the ids)")
def tool_replay_500(payload: Body, ctx: Context) -> Body:
    if validates(payload) and any(isinstance(m, dict) and m.get("role") == "tool" for m in payload.get("messages") or ()):
        raise ApiError(500, "Jinja exception: tool call id format not supported", type="server_error")
    return payload


@defect("reject-foreign-tool-call-ids", Stage.COMPLETION, clause="TOOL-06", verdict="WARN", deviations=("D62", "D40"), collateral=("REQ-03",),
        summary="Issues 9-character ids and rejects replayed OpenAI-style 'call_…' ids with 400 (Mistral)")
def reject_foreign_tool_call_ids(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        for call in choice.tool_calls:
            call.id = _short_id()
    return completion


@also("reject-foreign-tool-call-ids", Stage.REQUEST)
def _reject_foreign_on_replay(payload: Body, ctx: Context) -> Body:
    _reject_non_mistral_ids(payload)
    return payload


# --- tool_choice -------------------------------------------------------------------------------

def _is_named(choice: Any) -> bool:
    return isinstance(choice, dict) and choice.get("type") == "function"


@defect("tool-choice-none-ignored", Stage.REQUEST, clause="TOOL-02", verdict="FAIL", deviations=("D45",),
        summary="tool_choice 'none' is ignored: the model calls a tool anyway")
def tool_choice_none_ignored(payload: Body, ctx: Context) -> Body:
    if payload.get("tool_choice") == "none" and payload.get("tools") and validates(payload):
        payload["tool_choice"] = "required"
    return payload


@defect("tool-choice-required-ignored", Stage.REQUEST, clause="TOOL-01", verdict="FAIL", deviations=("D45",),
        summary="tool_choice 'required' is ignored: the model answers in text")
def tool_choice_required_ignored(payload: Body, ctx: Context) -> Body:
    if payload.get("tool_choice") == "required" and validates(payload):
        payload["tool_choice"] = "none"
    return payload


@defect("named-tool-choice-ignored", Stage.REQUEST, clause="TOOL-03", verdict="FAIL", deviations=("D45",),
        summary="A named tool_choice is ignored: the model calls another tool, or answers in text when there is none")
def named_tool_choice_ignored(payload: Body, ctx: Context) -> Body:
    choice = payload.get("tool_choice")
    if _is_named(choice) and validates(payload):
        others = [tool for tool in payload.get("tools") or ()
                  if isinstance(tool, dict) and (tool.get("function") or {}).get("name") != (choice.get("function") or {}).get("name")]
        payload["tool_choice"] = {"type": "function", "function": {"name": others[0]["function"]["name"]}} if others else "none"
    return payload


@defect("stream-named-tool-choice-ignored", Stage.REQUEST, clause="TOOL-03", verdict="FAIL", deviations=("D45",), collateral=("SSE-18",),
        summary="A named tool_choice is honoured in JSON answers but ignored when streaming")
def stream_named_tool_choice_ignored(payload: Body, ctx: Context) -> Body:
    return named_tool_choice_ignored(payload, ctx) if payload.get("stream") is True else payload


@defect("reject-named-tool-choice", Stage.REQUEST, clause="TOOL-03", verdict="FAIL", deviations=("D44",), collateral=("REQ-01",),
        summary="An object tool_choice is rejected with 400 (\"Invalid tool_choice type: 'object'\")")
def reject_named_tool_choice(payload: Body, ctx: Context) -> Body:
    if isinstance(payload.get("tool_choice"), dict):
        raise invalid("Invalid tool_choice type: 'object'. Supported string values: none, auto, required", param="tool_choice")
    return payload


@defect("reject-tool-choice-required", Stage.REQUEST, clause="TOOL-01", verdict="FAIL", deviations=("D44",), collateral=("REQ-01",),
        summary="tool_choice 'required' is rejected with 400")
def reject_tool_choice_required(payload: Body, ctx: Context) -> Body:
    if payload.get("tool_choice") == "required":
        raise invalid("tool_choice 'required' is not supported", param="tool_choice")
    return payload


@defect("accept-tool-choice-without-tools", Stage.REQUEST, clause="TOOL-08", verdict="FAIL", deviations=("D46",), collateral=("ERR-02",),
        summary="tool_choice without tools is accepted (200) instead of 400")
def accept_tool_choice_without_tools(payload: Body, ctx: Context) -> Body:
    if not payload.get("tools"):
        payload.pop("tool_choice", None)
        payload.pop("parallel_tool_calls", None)
    return payload


@defect("parallel-off-ignored", Stage.REQUEST, clause="TOOL-09", verdict="FAIL",
        summary="parallel_tool_calls false is ignored: several tool calls still come back in one answer")
def parallel_off_ignored(payload: Body, ctx: Context) -> Body:
    if payload.get("parallel_tool_calls") is False and validates(payload):
        return dict(payload, parallel_tool_calls=True)
    return payload
