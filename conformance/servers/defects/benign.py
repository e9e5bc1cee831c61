"""Benign variants: valid-but-unusual server behaviour the suite must accept (PASS) or only WARN on."""

from __future__ import annotations

import gzip
import json
import secrets
import string
from collections import Counter
from typing import Any

from conformance.servers.reference.errors import invalid
from conformance.servers.reference.model import Completion, TokenLogprob, ToolCall, fragments, new_call_id, prompt_word
from conformance.servers.reference.pipeline import Context, Stage, Wire
from conformance.servers.reference.schema_instance import instance
from conformance.servers.reference.tokenizer import VOCABULARY
from conformance.servers.reference.validation import KNOWN_PARAMETERS

from .edit import choices, rewrite_json
from .registry import also, defect
from .semantics import validates

Body = dict[str, Any]
Chunks = list[dict[str, Any]]
_ALNUM = string.ascii_letters + string.digits


def _messages(body: Body) -> list[dict[str, Any]]:
    return [choice["message"] for choice in body.get("choices") or ()]


# --- SSE framing (valid per WHATWG, not canonical: WARN on SSE-04) ----------------------------

@defect("sse-data-no-space", Stage.WIRE, clause="SSE-04", verdict="WARN", deviations=("D01",), benign=True,
        summary="Events are 'data:{...}' without the optional space")
def sse_data_no_space(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces = [b"data:" + piece.removeprefix(b"data: ") for piece in wire.pieces]
    return wire


@defect("sse-crlf", Stage.WIRE, clause="SSE-04", verdict="WARN", deviations=("D02",), benign=True,
        summary="SSE lines end with CRLF (events separated by \\r\\n\\r\\n)")
def sse_crlf(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces = [piece.replace(b"\n", b"\r\n") for piece in wire.pieces]
    return wire


@defect("sse-keepalive-comments", Stage.WIRE, clause="SSE-04", verdict="WARN", deviations=("D03",), benign=True,
        summary="': keep-alive' comment lines are sent between events")
def sse_keepalive_comments(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces = [part for piece in wire.pieces for part in (b": keep-alive\n\n", piece)]
    return wire


@defect("sse-event-lines", Stage.WIRE, clause="SSE-04", verdict="WARN", benign=True,
        summary="Every event starts with an 'event: message' line")
def sse_event_lines(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        wire.pieces = [b"event: message\n" + piece for piece in wire.pieces]
    return wire


@defect("sse-multiline-data", Stage.WIRE, clause="SSE-04", verdict="WARN", benign=True,
        summary="Each JSON chunk is split over two 'data:' lines of one event (joined with a newline)")
def sse_multiline_data(wire: Wire, ctx: Context) -> Wire:
    if wire.sse:
        pieces = []
        for piece in wire.pieces:
            head, comma, tail = piece.partition(b",")
            pieces.append(head + comma + b"\ndata: " + tail if comma else piece)
        wire.pieces = pieces
    return wire


# --- bodies and chunks --------------------------------------------------------------------------

@defect("extra-unknown-keys", Stage.BODY, clause="ENV-01", verdict="PASS", deviations=("D14",), benign=True,
        summary="Bodies, chunks and choices carry extra vendor keys (x_vendor, stop_reason, timings)")
def extra_unknown_keys(body: Body, ctx: Context) -> Body:
    body["x_vendor"] = {"node": "ref-1"}
    body["timings"] = {"prompt_ms": 1.5, "predicted_ms": 3.25}
    for choice in body["choices"]:
        choice["stop_reason"] = None
    return body


@also("extra-unknown-keys", Stage.CHUNKS)
def _extra_unknown_keys_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["x_vendor"] = {"node": "ref-1"}
    for choice in choices(chunks):
        choice["stop_reason"] = None
    return chunks


@defect("system-fingerprint-null", Stage.BODY, clause="ENV-01", verdict="PASS", benign=True,
        summary="system_fingerprint is null")
def system_fingerprint_null(body: Body, ctx: Context) -> Body:
    body["system_fingerprint"] = None
    return body


@also("system-fingerprint-null", Stage.CHUNKS)
def _system_fingerprint_null_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["system_fingerprint"] = None
    return chunks


@defect("system-fingerprint-absent", Stage.BODY, clause="ENV-01", verdict="PASS", benign=True,
        summary="system_fingerprint is absent")
def system_fingerprint_absent(body: Body, ctx: Context) -> Body:
    body.pop("system_fingerprint", None)
    return body


@also("system-fingerprint-absent", Stage.CHUNKS)
def _system_fingerprint_absent_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk.pop("system_fingerprint", None)
    return chunks


def _plain_usage(usage: Any) -> Any:
    return {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")} if usage else usage


@defect("usage-without-details", Stage.BODY, clause="USE-01", verdict="PASS", benign=True,
        summary="usage has only the three counts, no *_tokens_details")
def usage_without_details(body: Body, ctx: Context) -> Body:
    body["usage"] = _plain_usage(body.get("usage"))
    return body


@also("usage-without-details", Stage.CHUNKS)
def _usage_without_details_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        if chunk.get("usage"):
            chunk["usage"] = _plain_usage(chunk["usage"])
    return chunks


@defect("chunk-obfuscation", Stage.CHUNKS, clause="SSE-19", verdict="PASS", benign=True,
        summary="Every chunk carries OpenAI's random 'obfuscation' padding string")
def chunk_obfuscation(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["obfuscation"] = "".join(secrets.choice(_ALNUM) for _ in range(secrets.randbelow(12) + 2))
    return chunks


@defect("first-delta-role-only", Stage.CHUNKS, clause="SSE-06", verdict="PASS", benign=True,
        summary="The first delta is {\"role\": \"assistant\"} without content: \"\"")
def first_delta_role_only(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        delta = choice["delta"]
        if delta.get("role") and delta.get("content") == "":
            del delta["content"]
    return chunks


@defect("logprobs-key-absent", Stage.BODY, clause="PAR-09", verdict="PASS", benign=True,
        summary="The choice has no logprobs key when logprobs were not requested")
def logprobs_key_absent(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        if choice.get("logprobs") is None:
            choice.pop("logprobs", None)
    return body


@also("logprobs-key-absent", Stage.CHUNKS)
def _logprobs_key_absent_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        if choice.get("logprobs") is None:
            choice.pop("logprobs", None)
    return chunks


@defect("refusal-absent", Stage.BODY, clause="ENV-06", verdict="PASS", benign=True,
        summary="message.refusal is absent instead of null")
def refusal_absent(body: Body, ctx: Context) -> Body:
    for message in _messages(body):
        if message.get("refusal") is None:
            message.pop("refusal", None)
    return body


@also("refusal-absent", Stage.CHUNKS)
def _refusal_absent_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        if choice["delta"].get("refusal", "") is None:
            del choice["delta"]["refusal"]
    return chunks


@defect("tool-call-content-empty-string", Stage.BODY, clause="ENV-06", verdict="PASS", benign=True,
        summary="With tool calls, message.content is '' instead of null")
def tool_call_content_empty_string(body: Body, ctx: Context) -> Body:
    for message in _messages(body):
        if message.get("tool_calls") and message.get("content") is None:
            message["content"] = ""
    return body


@also("tool-call-content-empty-string", Stage.CHUNKS)
def _tool_call_content_empty_string_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        delta = choice["delta"]
        if delta.get("tool_calls") and "content" in delta and delta["content"] is None:
            delta["content"] = ""
    return chunks


@defect("reasoning-content-alongside", Stage.BODY, clause="ENV-08", verdict="PASS", deviations=("D19",), benign=True,
        summary="A reasoning_content field accompanies the answer, which is still in content")
def reasoning_content_alongside(body: Body, ctx: Context) -> Body:
    for message in _messages(body):
        message["reasoning_content"] = "Thinking it over."
    return body


@also("reasoning-content-alongside", Stage.CHUNKS)
def _reasoning_content_alongside_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    out = []
    for chunk in chunks:
        out.append(chunk)
        for choice in chunk.get("choices") or ():
            if choice["delta"].get("role"):
                thinking = {**chunk, "choices": [{**choice, "delta": {"reasoning_content": "Thinking it over."}, "logprobs": None}]}
                out.append(thinking)
    return out


@defect("tool-call-ids-short", Stage.COMPLETION, clause="TOOL-05", verdict="PASS", benign=True,
        summary="Tool-call ids are 9 alphanumerics (Mistral format) instead of call_…")
def tool_call_ids_short(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        for call in choice.tool_calls:
            call.id = "".join(secrets.choice(_ALNUM) for _ in range(9))
    return completion


@defect("named-tool-finish-stop", Stage.COMPLETION, clause="FIN-04", verdict="PASS", deviations=("D24",), benign=True,
        summary="A call forced by a named tool_choice finishes with 'stop' (api.openai.com does this)")
def named_tool_finish_stop(completion: Completion, ctx: Context) -> Completion:
    choice_param = ctx.request.tool_choice if ctx.request is not None else None
    if isinstance(choice_param, dict) and choice_param.get("type") == "function":
        for choice in completion.choices:
            if choice.finish_reason == "tool_calls":
                choice.finish_reason = "stop"
    return completion


# --- HTTP transport -----------------------------------------------------------------------------

def _is_json(wire: Wire) -> bool:
    return not wire.sse and wire.headers.get("content-type", "").startswith("application/json")


@defect("gzip-json", Stage.WIRE, clause="HTTP-02", verdict="PASS", benign=True,
        summary="JSON answers are gzip-compressed (Content-Encoding: gzip) when the client accepts gzip")
def gzip_json(wire: Wire, ctx: Context) -> Wire:
    if _is_json(wire) and "gzip" in ctx.headers.get("accept-encoding", ""):
        wire.pieces = [gzip.compress(b"".join(wire.pieces))]
        wire.headers["content-encoding"] = "gzip"
        wire.headers["vary"] = "Accept-Encoding"
    return wire


@defect("json-chunked-transfer", Stage.WIRE, clause="HTTP-02", verdict="PASS", benign=True,
        summary="JSON answers use chunked transfer encoding instead of Content-Length")
def json_chunked_transfer(wire: Wire, ctx: Context) -> Wire:
    if _is_json(wire):
        body = b"".join(wire.pieces)
        wire.pieces = [body[: len(body) // 2], body[len(body) // 2:]]
        wire.chunked = True
    return wire


@defect("json-compact", Stage.WIRE, clause="HTTP-02", verdict="PASS", benign=True,
        summary="JSON bodies are compact, without any spaces")
def json_compact(wire: Wire, ctx: Context) -> Wire:
    return rewrite_json(wire, separators=(",", ":"))


@defect("json-pretty", Stage.WIRE, clause="HTTP-02", verdict="PASS", benign=True,
        summary="JSON bodies are pretty-printed with 2-space indentation")
def json_pretty(wire: Wire, ctx: Context) -> Wire:
    return rewrite_json(wire, indent=2)


@defect("connection-close", Stage.WIRE, clause="HTTP-01", verdict="PASS", benign=True,
        summary="Every answer carries Connection: close and the server closes the connection")
def connection_close(wire: Wire, ctx: Context) -> Wire:
    wire.headers["connection"] = "close"
    return wire


@defect("models-without-context-length", Stage.WIRE, clause="ERR-02", verdict="PASS", benign=True,
        summary="GET /models declares no context length (as api.openai.com): the overflow probe sends its largest prompt")
def models_without_context_length(wire: Wire, ctx: Context) -> Wire:
    if ctx.route == "models" and wire.status == 200:
        listing = json.loads(b"".join(wire.pieces))
        for model in listing["data"]:
            model.pop("context_length", None)
        wire.pieces = [json.dumps(listing).encode()]
    return wire


@defect("accept-unknown-parameters", Stage.REQUEST, clause="REQ-06", verdict="WARN", deviations=("D48",), benign=True,
        profile="openai-strict",
        summary="Unknown top-level parameters are silently ignored (200) instead of 400 unknown_parameter")
def accept_unknown_parameters(payload: Body, ctx: Context) -> Body:
    return {k: v for k, v in payload.items() if k in KNOWN_PARAMETERS}


# --- model behaviour ------------------------------------------------------------------------------

def _reword_prompts(payload: Body, old: str, new: str) -> Body:
    """Steer the toy model by rewording the probe's prompt (the toy model reacts to its words)."""
    for message in payload.get("messages") or ():
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            message["content"] = message["content"].replace(old, new)
    return payload


@defect("count-one-per-line", Stage.REQUEST, clause="PAR-03", verdict="PASS", benign=True,
        summary="The model writes counts one number per line, so the probes' space-prefixed stop sequences never match")
def count_one_per_line(payload: Body, ctx: Context) -> Body:
    return _reword_prompts(payload, "separated by single spaces", "one per line")


@defect("count-with-preface", Stage.REQUEST, clause="PAR-03", verdict="PASS", benign=True,
        summary="The model ignores 'Output only the numbers' and introduces a count with 'Here are the numbers from 1 to 12:'")
def count_with_preface(payload: Body, ctx: Context) -> Body:
    return _reword_prompts(payload, "Output only the numbers.", "Introduce the numbers.")


@defect("json-object-verbose", Stage.REQUEST, clause="PAR-05", verdict="PASS", benign=True,
        summary="In JSON mode the model writes a long object, which the probe's max_tokens cuts (finish_reason 'length')")
def json_object_verbose(payload: Body, ctx: Context) -> Body:
    response_format = payload.get("response_format")
    messages = payload.get("messages")
    if isinstance(response_format, dict) and response_format.get("type") == "json_object" and isinstance(messages, list):
        last = messages[-1] if messages else None
        if isinstance(last, dict) and isinstance(last.get("content"), str):
            last["content"] += " Describe it in detail."
    return payload


_ELLIPSIS = "\u2026".encode()  # 3 bytes: a byte-level tokenizer may split it across tokens


@defect("logprobs-byte-tokens", Stage.COMPLETION, clause="PAR-07", verdict="PASS", benign=True,
        summary="The answer ends with '\u2026', split over two byte-level tokens: their texts do not concatenate to it, their bytes do")
def logprobs_byte_tokens(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        if not choice.logprobs or not choice.tokens:
            continue
        last = choice.logprobs[-1]
        # The first piece's delta is "" (a partial character cannot be sent); the second completes it.
        choice.tokens[-1:] = ["", "\u2026"]
        # Token texts as api.openai.com shows byte pieces: escapes like "\\xe2\\x80"; the bytes are exact.
        choice.logprobs[-1:] = [TokenLogprob("".join(f"\\x{b:02x}" for b in piece), last.logprob, last.top, raw=piece)
                                for piece in (_ELLIPSIS[:2], _ELLIPSIS[2:])]
    return completion


@defect("content-parts-newline", Stage.REQUEST, clause="REQ-02", verdict="PASS", benign=True,
        summary="The chat template renders every text part followed by a newline, so parts count a token more than strings")
def content_parts_newline(payload: Body, ctx: Context) -> Body:
    for message in payload.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                part["text"] += "\n"
    return payload


@defect("tool-args-off-schema", Stage.COMPLETION, clause="TOOL-04", verdict="PASS", benign=True,
        summary="The model adds an argument that a non-strict tool's parameters do not declare ('country')")
def tool_args_off_schema(completion: Completion, ctx: Context) -> Completion:
    strict = {tool["name"] for tool in (ctx.request.tools if ctx.request else ()) if tool.get("strict") is True}
    for choice in completion.choices:
        if choice.finish_reason == "length":
            continue  # a call cut by the cap has no complete arguments to add to
        for call in choice.tool_calls:
            if call.name not in strict:
                call.fragments = fragments(json.dumps({**json.loads(call.arguments), "country": "France"}))
    return completion


@defect("tool-call-after-result", Stage.COMPLETION, clause="TOOL-06", verdict="PASS", benign=True,
        summary="Given a tool result under tool_choice auto, the model calls a tool it has not called yet instead of answering in text")
def tool_call_after_result(completion: Completion, ctx: Context) -> Completion:
    request = ctx.request
    if request is None or not request.tools or request.tool_choice != "auto" or request.messages[-1].get("role") != "tool":
        return completion
    called = {call["function"]["name"] for message in request.messages for call in message.get("tool_calls") or ()}
    tool = next((t for t in request.tools if t["name"] not in called), request.tools[0])
    word = prompt_word(next(m["content"] for m in request.messages if m.get("role") == "user" and isinstance(m.get("content"), str)))
    for choice in completion.choices:
        arguments = json.dumps(instance(tool.get("parameters") or {"type": "object"}, word))
        choice.tokens, choice.finish_reason = [], "tool_calls"
        choice.logprobs = [] if request.logprobs else None
        choice.tool_calls = [ToolCall(new_call_id(), tool["name"], fragments(arguments))]
    return completion


_SMALL_CAP = 16


def _thinks_through_the_cap(ctx: Context) -> bool:
    """A reasoning model under a probe-sized cap: it spends every token thinking."""
    request = ctx.request
    return (request is not None and request.max_tokens is not None and request.max_tokens <= _SMALL_CAP
            and not request.tools and request.response_format is None)


def _reasoning_usage(usage: Body | None) -> None:
    if isinstance(usage, dict):
        details = usage.setdefault("completion_tokens_details", {})
        details["reasoning_tokens"] = usage.get("completion_tokens", 0)


@defect("reasoning-spends-small-cap", Stage.BODY, clause="ENV-08", verdict="PASS", benign=True,
        summary="A reasoning model spends a small max_tokens on reasoning_content: content '', finish_reason 'length'")
def reasoning_spends_small_cap(body: Body, ctx: Context) -> Body:
    if not _thinks_through_the_cap(ctx):
        return body
    for choice in body.get("choices") or ():
        message = choice["message"]
        message["reasoning_content"], message["content"] = message.get("content") or "", ""
        choice["finish_reason"] = "length"
        if choice.get("logprobs") is not None:
            choice["logprobs"] = {"content": [], "refusal": None}
    _reasoning_usage(body.get("usage"))
    return body


@also("reasoning-spends-small-cap", Stage.CHUNKS)
def _reasoning_spends_small_cap_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    if not _thinks_through_the_cap(ctx):
        return chunks
    for choice in choices(chunks):
        delta = choice.get("delta") or {}
        if delta.get("content"):
            delta["reasoning_content"], delta["content"] = delta["content"], ""
        if choice.get("finish_reason") is not None:
            choice["finish_reason"] = "length"
        if isinstance(choice.get("logprobs"), dict):
            choice["logprobs"]["content"] = []
    for chunk in chunks:
        _reasoning_usage(chunk.get("usage"))
    return chunks


@defect("stops-before-cap", Stage.REQUEST, clause="FIN-02", verdict="PASS", benign=True,
        summary="The model ends its answer by itself (finish_reason 'stop') before the probes' token cap is reached")
def stops_before_cap(payload: Body, ctx: Context) -> Body:
    return _reword_prompts(payload, "Count from 1 to 30", "Count from 1 to 2")


@defect("stops-at-cap", Stage.REQUEST, clause="FIN-02", verdict="PASS", benign=True,
        summary="The model's answer ends by itself exactly at the probes' token cap (finish_reason 'stop')")
def stops_at_cap(payload: Body, ctx: Context) -> Body:
    return _reword_prompts(payload, "Count from 1 to 30", "Count from 1 to 5")


@defect("count-cut-short", Stage.REQUEST, clause="PAR-03", verdict="PASS", benign=True,
        summary="A weak model answers a count with its last number only ('12'), never writing the stop sequence")
def count_cut_short(payload: Body, ctx: Context) -> Body:
    return _reword_prompts(payload, "Count from 1 to 12", "Count from 12 to 12")


@defect("strict-call-cut-by-cap", Stage.REQUEST, clause="SDK-03", verdict="PASS", benign=True,
        summary="The model's strict tool call does not fit the probe's token cap (finish_reason 'length'), so the SDK "
                "stream helper raises LengthFinishReasonError")
def strict_call_cut_by_cap(payload: Body, ctx: Context) -> Body:
    tools = payload.get("tools")
    if isinstance(tools, list) and any(isinstance(t, dict) and (t.get("function") or {}).get("strict") for t in tools):
        payload["max_tokens"] = 1  # the toy model needs 2+ tokens for any call
    return payload


_ASKED: Counter[str] = Counter()  # how often each seeded greedy request was answered


@defect("best-effort-determinism", Stage.COMPLETION, clause="SSE-18", verdict="PASS", benign=True, collateral=("PAR-10",),
        summary="At temperature 0 with a seed, identical requests get different texts (several slots and a prompt "
                "cache: llama-server); the stream cannot be blamed, and seed reproducibility, a SHOULD, is a WARN")
def best_effort_determinism(completion: Completion, ctx: Context) -> Completion:
    request = ctx.request
    if request is None or request.temperature != 0 or request.seed is None or request.logprobs:
        return completion
    asked = json.dumps({k: v for k, v in (ctx.payload or {}).items() if k not in ("stream", "stream_options")}, sort_keys=True)
    word = VOCABULARY[_ASKED[asked] % len(VOCABULARY)]  # a different last word each time it is asked
    _ASKED[asked] += 1
    for choice in completion.choices:
        if choice.tokens:
            last = choice.tokens[-1]
            choice.tokens[-1] = last[: len(last) - len(last.lstrip())] + word
    return completion


# --- capabilities a model does not offer: only generated requests use them -------------------------

_MEDIA_PARTS = {"image_url": "Image", "input_audio": "Audio", "file": "File"}


@defect("text-only-model", Stage.REQUEST, clause="REQ-02", verdict="PASS", benign=True, generated=True,
        summary="A text-only model refuses image_url, input_audio and file parts with a clean 400 (llama-server "
                "without a projector): a modality not offered, not a valid request refused")
def text_only_model(payload: Body, ctx: Context) -> Body:
    messages = payload.get("messages")
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in _MEDIA_PARTS:
                raise invalid(f"{_MEDIA_PARTS[kind]} input is not supported by this model.", param="messages",
                              code="unsupported_content_type")
    return payload


@defect("reasoning-params-refused", Stage.REQUEST, clause="REQ-01", verdict="PASS", benign=True,
        summary="A model without reasoning refuses verbosity and reasoning_effort with a clean 400 unsupported_parameter "
                "(as api.openai.com does for such models); only schemathesis' generated requests send them")
def reasoning_params_refused(payload: Body, ctx: Context) -> Body:
    for name in ("verbosity", "reasoning_effort"):
        if name in payload:
            raise invalid(f"Unsupported parameter: '{name}' is not supported with this model.", param=name,
                          code="unsupported_parameter")
    return payload


@defect("max-completion-tokens-binds", Stage.REQUEST, clause="FIN-02", verdict="PASS", benign=True, generated=True,
        summary="Given both max_tokens and max_completion_tokens, the server honours max_completion_tokens, also "
                "when it is the larger (the contract does not say which binds)")
def max_completion_tokens_binds(payload: Body, ctx: Context) -> Body:
    # A valid request only: dropping an invalid max_tokens (0, "16") would accept what must be refused.
    if "max_tokens" in payload and "max_completion_tokens" in payload and validates(payload):
        del payload["max_tokens"]
    return payload


@defect("model-snapshots-per-route", Stage.BODY, clause="ENV-09", verdict="PASS", benign=True,
        summary="Answers name a dated snapshot of the requested model, non-stream bodies one snapshot and streams "
                "another (a gateway routing the two paths to different deployments)")
def model_snapshots_per_route(body: Body, ctx: Context) -> Body:
    body["model"] = f"{body['model']}-2025-01-31"
    return body


@also("model-snapshots-per-route", Stage.CHUNKS)
def _model_snapshots_per_route_chunks(chunks: Chunks, ctx: Context) -> Chunks:
    for chunk in chunks:
        chunk["model"] = f"{chunk['model']}-2025-03-01"
    return chunks
