"""The shape of a successful answer: schema, envelope fields, choices, finish_reason and usage."""

from __future__ import annotations

import time
from typing import Any, TypeGuard

from .. import schema
from ..engine import NotApplicable, Outcome, Skip, fail, inconclusive, passed
from ..evidence import Evidence
from ..suite import SUITE
from .common import FINISH_REASONS, payloads, req, short

check = SUITE.check
_DAY = 86_400


@check("ENV-01", on="chat", covers=("response.*:type",))
def response_matches_schema(ev: Evidence) -> Outcome:
    """A non-stream answer validates against the response schema of the profile (strict or lenient reading)."""
    errors = schema.validate("response", ev.body, strict=ev.strict, vendor=ev.vendor)
    if errors:
        return fail("a body valid for the response schema", "; ".join(errors[:5]), errors=errors)
    return passed()


@check("ENV-02", on=("chat", "stream"), covers=("response.object:value", "chunk.object:value"))
def object_type(ev: Evidence) -> Outcome:
    """object is "chat.completion" for a body and "chat.completion.chunk" for every stream chunk."""
    expected = "chat.completion.chunk" if ev.streamed else "chat.completion"
    for label, payload in payloads(ev):
        if payload.get("object") != expected:
            return fail(f'object == "{expected}"', f"{label}: object = {short(payload.get('object'))}")
    return passed()


@check("ENV-03", on=("chat", "stream"), covers=("response.created:value", "chunk.created:value"))
def created_in_seconds(ev: Evidence) -> Outcome:
    """created is an integer Unix time in seconds, within a day of now (not milliseconds, not 0)."""
    now = time.time()
    for label, payload in payloads(ev):
        created = payload.get("created")
        if not isinstance(created, int) or isinstance(created, bool):
            return fail("created: integer seconds", f"{label}: created = {short(created)}")
        if abs(created - now) > _DAY:
            unit = " (looks like milliseconds)" if created > 10**11 else ""
            return fail(f"created within a day of {int(now)}", f"{label}: created = {created}{unit}")
    return passed()


@check("ENV-04", on=("chat", "stream"), covers=("response.id:value", "chunk.id:value"))
def id_non_empty(ev: Evidence) -> Outcome:
    """id is a non-empty string."""
    for label, payload in payloads(ev):
        value = payload.get("id")
        if not isinstance(value, str) or not value:
            return fail("a non-empty string id", f"{label}: id = {short(value)}")
    return passed()


@check("ENV-05", on=("chat", "stream"), covers=("response.model:value", "chunk.model:value"))
def model_named(ev: Evidence) -> Outcome:
    """model is a non-empty string naming the model that answered."""
    for label, payload in payloads(ev):
        value = payload.get("model")
        if not isinstance(value, str) or not value:
            return fail("a non-empty model string", f"{label}: model = {short(value)}")
    return passed()


@check("ENV-06", on=("chat", "stream"),
       covers=("response.choices[].message.role:value", "response.choices[].message.content:value"))
def message_role_and_content(ev: Evidence) -> Outcome:
    """Each choice's message has role "assistant" and content that is a string or null (never an array); so does every streamed delta's content."""
    if ev.streamed:
        for chunk in ev.stream.json_chunks:
            for choice in chunk.choices:
                content = (choice.get("delta") or {}).get("content") if isinstance(choice.get("delta"), dict) else None
                if content is not None and not isinstance(content, str):
                    return fail("delta.content: string or null", f"chunk #{chunk.position}: content = {short(content)}")
        return passed()
    for choice in ev.choices():
        message = choice.get("message")
        if not isinstance(message, dict):
            return fail("choices[].message object", f"choice {choice.get('index')}: message = {short(message)}")
        if message.get("role") != "assistant":
            return fail('message.role == "assistant"', f"role = {short(message.get('role'))}")
        if "content" not in message or not (message["content"] is None or isinstance(message["content"], str)):
            return fail("message.content: string or null", f"content = {short(message.get('content', '(missing)'))}")
    return passed()


@check("ENV-07", on=("chat", "stream"))
def no_error_key_on_success(ev: Evidence) -> Outcome:
    """A successful body or chunk carries no "error" key, not even null (Go SDKs treat any error key as failure)."""
    for label, payload in payloads(ev):
        if "error" in payload:
            return fail('no "error" key', f"{label}: error = {short(payload['error'])}")
    return passed()


@check("ENV-08", on=("chat", "stream"))
def answer_in_content(ev: Evidence) -> Outcome:
    """Without tools, the answer text is in message.content / delta.content (not only in reasoning_content or similar).  An empty answer with no other field holds no text anywhere: INCONCLUSIVE (a model may answer nothing, e.g. at a stop sequence)."""
    if ev.data.get("tool_choice") not in (None, "none"):
        raise NotApplicable
    if ev.streamed:
        for index, acc in ev.stream.choices.items():
            if not acc.content and not acc.tool_calls:
                keys = sorted({k for c in ev.stream.json_chunks for ch in c.choices if ch.get("index") == index
                               for k in (ch.get("delta") or {}) if k not in ("role", "content", "tool_calls", "refusal")})
                if not keys:
                    return inconclusive(f"choice {index} streamed no text at all: nothing to find in another field")
                return fail("non-empty streamed content", f"choice {index}: no content deltas; other delta keys {keys}")
        return passed()
    for index, choice in enumerate(ev.choices()):
        message = choice.get("message") or {}
        if not message.get("tool_calls") and not ev.content(index):
            extra = [k for k in message if k not in ("role", "content", "refusal", "tool_calls")]
            if not extra:
                return inconclusive(f"choice {index} answered no text at all: nothing to find in another field")
            return fail("non-empty message.content", f"content = {short(message.get('content'))}; other keys {extra}")
    return passed()


@check("CHO-01", on=("chat", "stream"),
       covers=("request.n:set", "request.n:off", "response.choices:value", "chunk.choices:value"))
def choice_count(ev: Evidence) -> Outcome:
    """The answer has exactly n choices (n defaults to 1)."""
    n = req(ev, "n", 1)
    if ev.streamed:
        ev.stream.require_choices()
        seen: list[Any] = sorted(ev.stream.choices)
    else:
        seen = [c.get("index") for c in ev.choices()]
    if len(seen) != n:
        return fail(f"{n} choice(s)", f"{len(seen)} choice(s) with indices {seen}")
    return passed()


@check("CHO-02", on=("chat", "stream"), covers=("response.choices[].index:value", "chunk.choices[].index:value"))
def choice_indices(ev: Evidence) -> Outcome:
    """Choice indices are the integers 0..n-1, each exactly once."""
    indices: list[Any]
    if ev.streamed:
        indices = sorted(ev.stream.choices)
    else:
        indices = sorted((c.get("index") for c in ev.choices()), key=lambda i: (not isinstance(i, int), str(i)))
    if indices != list(range(len(indices))):
        return fail(f"indices {list(range(len(indices)))}", f"indices {indices} (-1 = index missing)")
    return passed()


@check("FIN-01", on=("chat", "stream"),
       covers=("response.choices[].finish_reason:value", "chunk.choices[].finish_reason:value"))
def finish_reason_value(ev: Evidence) -> Outcome:
    """finish_reason is stop, length, tool_calls, content_filter or function_call; '' and other values are not allowed."""
    values: list[tuple[Any, Any]]
    if ev.streamed:
        values = [(i, r) for i, acc in ev.stream.choices.items() for r in acc.finish_reasons]
    else:
        values = [(c.get("index"), c.get("finish_reason")) for c in ev.choices()]
    for index, value in values:
        if value not in FINISH_REASONS:
            return fail(f"finish_reason in {list(FINISH_REASONS)}", f"choice {index}: finish_reason = {short(value)}")
    return passed()


@check("FIN-05", on="chat", covers=("response.choices[].finish_reason:value",))
def tool_calls_reason_has_calls(ev: Evidence) -> Outcome:
    """finish_reason "tool_calls" only when the message actually carries tool calls."""
    for choice in ev.choices():
        message = choice.get("message") or {}
        if choice.get("finish_reason") == "tool_calls" and not message.get("tool_calls"):
            return fail("message.tool_calls when finish_reason is tool_calls", f"tool_calls = {short(message.get('tool_calls'))}")
    return passed()


@check("USE-01", on="chat", covers=("response.usage:value",))
def usage_present(ev: Evidence) -> Outcome:
    """A non-stream answer carries usage with integer prompt_tokens, completion_tokens and total_tokens."""
    usage = ev.usage()
    if usage is None:
        return fail("a usage object", f"usage = {short(ev.body.get('usage', '(missing)'))}")
    missing = [k for k in ("prompt_tokens", "completion_tokens", "total_tokens") if not _is_int(usage.get(k))]
    if missing:
        return fail("integer prompt/completion/total tokens", f"not integers: {missing} in {short(usage)}")
    return passed()


@check("USE-02", on=("chat", "stream"),
       covers=("response.usage.total_tokens:value", "chunk.usage.total_tokens:value"))
def usage_adds_up(ev: Evidence) -> Outcome:
    """total_tokens == prompt_tokens + completion_tokens (reasoning tokens are part of completion_tokens)."""
    usage = _usage(ev)
    p, c, t = (usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    if not (_is_int(p) and _is_int(c) and _is_int(t)):
        raise Skip(f"usage counts are not integers ({short(usage)}); judged by USE-01 / SSE-19")
    if p + c != t:
        return fail(f"total_tokens == {p} + {c} = {p + c}", f"total_tokens = {t}")
    return passed()


@check("USE-03", on=("chat", "stream"),
       covers=("response.usage.prompt_tokens:value", "response.usage.completion_tokens:value",
               "chunk.usage.prompt_tokens:value", "chunk.usage.completion_tokens:value",
               "response.usage.completion_tokens_details.reasoning_tokens:value",
               "chunk.usage.completion_tokens_details.reasoning_tokens:value"))
def usage_plausible(ev: Evidence) -> Outcome:
    """prompt_tokens > 0, and completion_tokens >= 1 whenever content or tool calls were produced."""
    usage = _usage(ev)
    p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not (_is_int(p) and _is_int(c)):
        raise Skip(f"usage counts are not integers ({short(usage)}); judged by USE-01 / SSE-19")
    produced = _produced_output(ev)
    if p <= 0:
        return fail("prompt_tokens > 0", f"prompt_tokens = {p}")
    if produced and c < 1:
        return fail("completion_tokens >= 1 for a non-empty answer", f"completion_tokens = {c}")
    details = usage.get("completion_tokens_details")
    reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
    if _is_int(reasoning) and reasoning > c:
        return fail("reasoning_tokens <= completion_tokens", f"reasoning_tokens = {reasoning}, completion_tokens = {c}")
    return passed()


_DETAILS = {"prompt_tokens": ("prompt_tokens_details", ("cached_tokens", "audio_tokens")),
            "completion_tokens": ("completion_tokens_details",
                                  ("audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"))}


@check("USE-06", on=("chat", "stream"),
       covers=tuple(f"{surface}.usage.{details}.{name}:value" for surface in ("response", "chunk")
                    for details, names in _DETAILS.values() for name in names))
def usage_details_within_counts(ev: Evidence) -> Outcome:
    """Every count in prompt_tokens_details (cached_tokens, audio_tokens) is at most prompt_tokens, and every count in completion_tokens_details (audio_tokens, accepted_prediction_tokens, rejected_prediction_tokens) at most completion_tokens (reasoning_tokens: USE-03): a detail counts some of the tokens it details, never more."""
    usage = _usage(ev)
    for total_key, (details_key, names) in _DETAILS.items():
        total, details = usage.get(total_key), usage.get(details_key)
        if not _is_int(total) or not isinstance(details, dict):
            continue  # a missing count is USE-01's; absent details are legal
        over = {name: details[name] for name in names if _is_int(details.get(name)) and details[name] > total}
        if over:
            return fail(f"{details_key} counts <= {total_key} ({total})", f"{details_key} {short(over)}")
    return passed()


@check("PAR-09", on="chat", covers=("request.logprobs:off", "response.choices[].logprobs:value"))
def logprobs_absent_unless_asked(ev: Evidence) -> Outcome:
    """Without logprobs:true, choices carry logprobs null (or no logprobs key)."""
    if req(ev, "logprobs"):
        return passed("logprobs requested")
    for choice in ev.choices():
        if choice.get("logprobs") is not None:
            return fail("logprobs null or absent", f"choice {choice.get('index')}: logprobs = {short(choice['logprobs'])}")
    return passed()


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _usage(ev: Evidence) -> dict[str, Any]:
    if ev.streamed:
        if not (req(ev, "stream_options") or {}).get("include_usage"):
            raise NotApplicable
        usage = ev.stream.final_usage()
        if usage is None:
            raise Skip("the stream carries no usage chunk; judged by SSE-11")
        return usage
    usage = ev.usage()
    if usage is None:
        raise Skip("the body has no usage object; judged by USE-01")
    return usage


def _produced_output(ev: Evidence) -> bool:
    if ev.streamed:
        return any(acc.content or acc.tool_calls for acc in ev.stream.choices.values())
    return any((c.get("message") or {}).get("content") or (c.get("message") or {}).get("tool_calls") for c in ev.choices())
