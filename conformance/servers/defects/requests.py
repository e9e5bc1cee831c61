"""Request-acceptance defects: valid requests rejected, invalid ones accepted (catalogue section G:
D42-D49, D55, D56, D62)."""

from __future__ import annotations

from typing import Any

from conformance.servers.reference.errors import ApiError, invalid
from conformance.servers.reference.pipeline import Context, Stage
from conformance.servers.reference.tokenizer import count_tokens, tokenize
from conformance.servers.reference.validation import CONTEXT_TOKENS, MODELS

from .registry import defect
from .semantics import validates

Body = dict[str, Any]
# (field, low, high) of the numeric ranges the contract defines.
_RANGES: tuple[tuple[str, float, float], ...] = (
    ("temperature", 0, 2), ("top_p", 0, 1), ("presence_penalty", -2, 2), ("frequency_penalty", -2, 2),
    ("n", 1, 128), ("top_logprobs", 0, 20), ("max_tokens", 1, float("inf")), ("max_completion_tokens", 1, float("inf")),
)
_BOUNDARIES: tuple[tuple[str, float], ...] = (
    ("temperature", 2), ("top_p", 0), ("presence_penalty", -2), ("presence_penalty", 2),
    ("frequency_penalty", -2), ("frequency_penalty", 2), ("n", 128), ("top_logprobs", 20),
)


def _messages(payload: Body) -> list[dict[str, Any]]:
    return [m for m in payload.get("messages") or () if isinstance(m, dict)] if isinstance(payload.get("messages"), list) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _out_of_range(payload: Body) -> str | None:
    for name, low, high in _RANGES:
        value = payload.get(name)
        if _number(value) and not low <= value <= high:
            return name
    bias = payload.get("logit_bias")
    if isinstance(bias, dict) and any(_number(v) and not -100 <= v <= 100 for v in bias.values()):
        return "logit_bias"
    return None


def _breaks_alternation(payload: Body) -> bool:
    roles = [m.get("role") for m in _messages(payload)]
    seen_turn = False
    for previous, role in zip([None] + roles, roles):
        if role in ("system", "developer") and seen_turn:
            return True
        if role in ("user", "assistant") and role == previous:
            return True
        seen_turn = seen_turn or role in ("user", "assistant")
    return False


@defect("reject-null-assistant-content", Stage.REQUEST, clause="REQ-03", verdict="FAIL", deviations=("D42",), collateral=("TOOL-06",),
        summary="An assistant message with tool_calls and content null is rejected with 400")
def reject_null_assistant_content(payload: Body, ctx: Context) -> Body:
    for message in _messages(payload):
        if message.get("role") == "assistant" and message.get("content") is None:
            raise invalid("'content' field must be a string or an array of objects.", param="messages")
    return payload


@defect("reject-empty-string-content", Stage.REQUEST, clause="REQ-03", verdict="WARN", deviations=("D42", "D62"),
        summary="A message with content '' is rejected with 400 (DeepSeek-style strictness)")
def reject_empty_string_content(payload: Body, ctx: Context) -> Body:
    if any(message.get("content") == "" for message in _messages(payload)):
        raise invalid("Messages token length must be in (0, 1048576]", param="messages")
    return payload


@defect("reject-content-parts", Stage.REQUEST, clause="REQ-02", verdict="FAIL", deviations=("D43",),
        summary="Content given as an array of parts is rejected with 400 ('expected a string')")
def reject_content_parts(payload: Body, ctx: Context) -> Body:
    if any(isinstance(message.get("content"), list) for message in _messages(payload)):
        raise invalid("invalid type: sequence, expected a string", param="messages")
    return payload


@defect("content-parts-dropped", Stage.REQUEST, clause="REQ-02", verdict="FAIL", deviations=("D43",), collateral=("ERR-02",),
        summary="Content given as an array of parts is silently replaced by '' (vllm-router)")
def content_parts_dropped(payload: Body, ctx: Context) -> Body:
    for message in _messages(payload):
        if isinstance(message.get("content"), list):
            message["content"] = ""
    return payload


@defect("accept-image-in-system", Stage.REQUEST, clause="ERR-02", verdict="FAIL", deviations=("D43",),
        summary="Non-text parts in system/developer/tool content are silently dropped instead of a 400")
def accept_image_in_system(payload: Body, ctx: Context) -> Body:
    for message in _messages(payload):
        content = message.get("content")
        if message.get("role") in ("system", "developer", "tool") and isinstance(content, list):
            text = [part for part in content if isinstance(part, dict) and part.get("type") == "text"]
            message["content"] = text or ""
    return payload


@defect("reject-non-alternating-roles", Stage.REQUEST, clause="REQ-04", verdict="WARN", deviations=("D49",),
        summary="Conversations where roles do not alternate (or a system message comes late) are rejected with 400")
def reject_non_alternating_roles(payload: Body, ctx: Context) -> Body:
    if _breaks_alternation(payload):
        raise invalid("Conversation roles must alternate user/assistant/user/assistant/...", param="messages")
    return payload


@defect("500-on-non-alternating-roles", Stage.REQUEST, clause="ERR-03", verdict="FAIL", deviations=("D49", "D59"), collateral=("REQ-04",),
        summary="A conversation whose roles do not alternate crashes the chat template: HTTP 500")
def non_alternating_roles_500(payload: Body, ctx: Context) -> Body:
    if _breaks_alternation(payload):
        raise ApiError(500, "Jinja exception: System message must be at the beginning.", type="server_error")
    return payload


@defect("accept-null-tool-choice", Stage.REQUEST, clause="ERR-02", verdict="FAIL", deviations=("D46",),
        summary="null for the non-nullable tool_choice / parallel_tool_calls is accepted (200)")
def accept_null_tool_choice(payload: Body, ctx: Context) -> Body:
    return {k: v for k, v in payload.items() if not (k in ("tool_choice", "parallel_tool_calls") and v is None)}


@defect("accept-params-without-prerequisite", Stage.REQUEST, clause="ERR-02", verdict="FAIL", deviations=("D46",),
        summary="stream_options without stream, top_logprobs without logprobs, parallel_tool_calls without tools are accepted")
def accept_params_without_prerequisite(payload: Body, ctx: Context) -> Body:
    if payload.get("stream") is not True:
        payload.pop("stream_options", None)
    if payload.get("logprobs") is not True:
        payload.pop("top_logprobs", None)
    if not payload.get("tools"):
        payload.pop("parallel_tool_calls", None)
    return payload


@defect("reject-max-completion-tokens", Stage.REQUEST, clause="PAR-02", verdict="FAIL", deviations=("D47",), collateral=("REQ-01",),
        summary="max_completion_tokens is rejected with 400 ('extra_forbidden')")
def reject_max_completion_tokens(payload: Body, ctx: Context) -> Body:
    if "max_completion_tokens" in payload:
        raise invalid("max_completion_tokens: Extra inputs are not permitted", param="max_completion_tokens", code="extra_forbidden")
    return payload


@defect("ignore-max-completion-tokens", Stage.REQUEST, clause="PAR-02", verdict="FAIL", deviations=("D47",),
        summary="max_completion_tokens is accepted but ignored (unbounded output)")
def ignore_max_completion_tokens(payload: Body, ctx: Context) -> Body:
    if validates(payload):  # an invalid value is still refused: the defect is the ignored cap only
        payload.pop("max_completion_tokens", None)
    return payload


@defect("reject-vendor-params", Stage.REQUEST, clause="PAR-12", verdict="WARN", deviations=("D48",),
        profile="vendor",
        summary="The vendor parameters top_k / repetition_penalty are rejected as unknown (400)")
def reject_vendor_params(payload: Body, ctx: Context) -> Body:
    for name in ("top_k", "repetition_penalty"):
        if name in payload:
            raise invalid(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    return payload


@defect("require-max-tokens", Stage.REQUEST, clause="REQ-01", verdict="FAIL", deviations=("D62",),
        summary="A request without max_tokens is rejected with 400 (provider-specific requirement)")
def require_max_tokens(payload: Body, ctx: Context) -> Body:
    if payload.get("max_tokens") is None and payload.get("max_completion_tokens") is None:
        raise invalid("max_tokens is required", param="max_tokens", code="missing_required_parameter")
    return payload


@defect("accept-out-of-range-sampling", Stage.REQUEST, clause="ERR-02", verdict="FAIL", deviations=("D55",), collateral=("ERR-04", "SSE-13"),
        summary="Out-of-range numbers (temperature 5, top_p 2, n 129, logit_bias 101, ...) are clamped and accepted (200)")
def accept_out_of_range(payload: Body, ctx: Context) -> Body:
    for name, low, high in _RANGES:
        value = payload.get(name)
        if _number(value):
            payload[name] = min(max(value, low), high)
    bias = payload.get("logit_bias")
    if isinstance(bias, dict):
        payload["logit_bias"] = {k: min(max(v, -100), 100) if _number(v) else v for k, v in bias.items()}
    return payload


@defect("500-on-out-of-range", Stage.REQUEST, clause="ERR-03", verdict="FAIL", deviations=("D55", "D59"), collateral=("ERR-02", "ERR-04"),
        summary="Out-of-range numbers crash the sampler: HTTP 500")
def out_of_range_500(payload: Body, ctx: Context) -> Body:
    if _out_of_range(payload):
        raise ApiError(500, "Internal Server Error", type="server_error")
    return payload


@defect("reject-boundary-values", Stage.REQUEST, clause="REQ-05", verdict="FAIL", deviations=("D55",),
        summary="Valid boundary values (temperature 2, top_p 0, penalties ±2, n 128, top_logprobs 20) are rejected with 400")
def reject_boundary_values(payload: Body, ctx: Context) -> Body:
    for name, boundary in _BOUNDARIES:
        if _number(payload.get(name)) and payload[name] == boundary:
            raise invalid(f"'{name}' must be strictly inside its range", param=name)
    return payload


@defect("unknown-model-accepted", Stage.REQUEST, clause="ERR-06", verdict="WARN", deviations=("D56",),
        summary="Any model name is accepted and served by the default model (no 404)")
def unknown_model_accepted(payload: Body, ctx: Context) -> Body:
    if isinstance(payload.get("model"), str) and payload["model"] not in MODELS:
        payload["model"] = MODELS[0]
    return payload


@defect("500-when-n-and-stream", Stage.REQUEST, clause="REQ-01", verdict="FAIL", collateral=("SSE-12", "PAR-04", "ERR-03"),
        summary="n > 1 together with stream:true fails with HTTP 500")
def n_and_stream_500(payload: Body, ctx: Context) -> Body:
    n = payload.get("n")
    if payload.get("stream") is True and _number(n) and n > 1:
        raise ApiError(500, "Internal Server Error", type="server_error")
    return payload


@defect("context-overflow-truncated", Stage.REQUEST, clause="ERR-02", verdict="FAIL", collateral=("SSE-13",),
        summary="A prompt longer than the context window is silently cut to fit and answered 200 (Ollama's num_ctx), "
                "although GET /models declares the context length")
def context_overflow_truncated(payload: Body, ctx: Context) -> Body:
    texts = [m for m in _messages(payload) if isinstance(m.get("content"), str)]
    if texts and sum(count_tokens(m["content"]) for m in texts) > CONTEXT_TOKENS // 2:
        keep = CONTEXT_TOKENS // (2 * len(texts))
        for message in texts:
            message["content"] = "".join(tokenize(message["content"])[-keep:])
    return payload


@defect("reject-empty-logit-bias", Stage.REQUEST, clause="REQ-05", verdict="FAIL",
        summary="logit_bias {} (the empty map some clients send by default) is rejected with 400")
def reject_empty_logit_bias(payload: Body, ctx: Context) -> Body:
    if payload.get("logit_bias") == {}:
        raise invalid("'logit_bias' must name at least one token", param="logit_bias")
    return payload


@defect("reject-response-format-text", Stage.REQUEST, clause="REQ-05", verdict="FAIL",
        summary="response_format {\"type\": \"text\"} is rejected with 400: only the JSON modes are implemented (LM Studio)")
def reject_response_format_text(payload: Body, ctx: Context) -> Body:
    if payload.get("response_format") == {"type": "text"}:
        raise invalid("'response_format.type' must be 'json_schema' or 'json_object'", param="response_format")
    return payload
