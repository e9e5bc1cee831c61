"""Requests that break exactly one rule; each knows which parameter the error should name.

Invalid streamed requests break different parameters (temperature, messages, the context length),
so a server that validates only one of them before it starts a stream is still caught.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import NotApplicable, Skip
from ..evidence import Evidence
from ..suite import SUITE
from ..target import OMIT, Context
from ..wire.client import STALL_KINDS
from .prompts import GREETING, WEATHER_TOOL

Mutation = Callable[[Context], dict[str, Any]]


def _register(name: str, doc: str, build: Mutation, param: str | None, *tags: str, marks: tuple[str, ...] = ()) -> None:
    def run(ctx: Context) -> Evidence:
        body = build(ctx)
        return Evidence(ctx, body, ctx.send(body), param=param)

    run.__name__ = name
    run.__doc__ = doc
    # The field the request breaks is the one whose "invalid" direction it probes (for coverage).
    covers = (f"request.{param.split('.')[0]}:invalid",) if param else ()
    SUITE.scenario("invalid", *tags, marks=marks, covers=covers)(run)


_INVALID: list[tuple[str, str, Mutation, str | None, tuple[str, ...]]] = [
    ("missing_messages", "No messages key at all.",
     lambda c: c.body(GREETING, messages=OMIT), "messages", ()),
    ("empty_messages", "messages is an empty array.",
     lambda c: c.body([]), "messages", ()),
    ("temperature_too_high", "temperature 2.5, above the maximum of 2.",
     lambda c: c.body(GREETING, temperature=2.5), "temperature", ()),
    ("temperature_wrong_type", "temperature given as the string \"0.5\".",
     lambda c: c.body(GREETING, temperature="0.5"), "temperature", ()),
    ("top_p_too_high", "top_p 1.5, above the maximum of 1.",
     lambda c: c.body(GREETING, top_p=1.5), "top_p", ()),
    ("n_zero", "n 0, below the minimum of 1.",
     lambda c: c.body(GREETING, n=0), "n", ()),
    ("max_tokens_zero", "max_tokens 0, below the minimum of 1.",
     lambda c: c.body(GREETING, max_tokens=0), "max_tokens", ()),
    ("five_stop_strings", "stop with five strings; at most four are allowed.",
     lambda c: c.body(GREETING, stop=["a", "b", "c", "d", "e"]), "stop", ()),
    ("top_logprobs_without_logprobs", "top_logprobs 2 without logprobs true.",
     lambda c: c.body(GREETING, top_logprobs=2), "top_logprobs", ()),
    ("top_logprobs_too_high", "top_logprobs 21, above the maximum of 20.",
     lambda c: c.body(GREETING, logprobs=True, top_logprobs=21), "top_logprobs", ()),
    ("stream_options_without_stream", "stream_options given while stream is false.",
     lambda c: c.body(GREETING, stream_options={"include_usage": True}), "stream_options", ()),
    ("tool_choice_without_tools", "tool_choice required with no tools.",
     lambda c: c.body(GREETING, tool_choice="required"), "tool_choice", ("tool_rules",)),
    ("tool_choice_null", "tool_choice null; the field is not nullable.",
     lambda c: c.body(GREETING, tools=[WEATHER_TOOL], tool_choice=None), "tool_choice", ()),
    ("image_in_system", "A system message with an image_url part; only text parts are allowed there.",
     lambda c: c.body([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}]},
                       {"role": "user", "content": GREETING}]), "messages", ()),
    ("role_unknown", "A message with role 'wizard'.",
     lambda c: c.body([{"role": "wizard", "content": "hi"}]), "messages", ()),
    ("orphan_tool_message", "A tool message whose tool_call_id matches no earlier tool call.",
     lambda c: c.body([{"role": "user", "content": GREETING},
                       {"role": "tool", "tool_call_id": "call_missing", "content": "42"}]), "messages", ()),
    ("stream_wrong_type", "stream given as the string \"sometimes\" (no boolean reading of it exists).",
     lambda c: c.body(GREETING, stream="sometimes"), "stream", ()),
    ("presence_penalty_too_high", "presence_penalty 2.5, above the maximum of 2.",
     lambda c: c.body(GREETING, presence_penalty=2.5), "presence_penalty", ()),
    ("frequency_penalty_too_low", "frequency_penalty -2.5, below the minimum of -2.",
     lambda c: c.body(GREETING, frequency_penalty=-2.5), "frequency_penalty", ()),
    ("max_completion_tokens_zero", "max_completion_tokens 0, below the minimum of 1.",
     lambda c: c.body(GREETING, max_tokens=OMIT, max_completion_tokens=0), "max_completion_tokens", ()),
    ("logprobs_wrong_type", "logprobs given as the string \"sometimes\".",
     lambda c: c.body(GREETING, logprobs="sometimes"), "logprobs", ()),
    ("seed_wrong_type", "seed given as the string \"lucky\".",
     lambda c: c.body(GREETING, seed="lucky"), "seed", ()),
    ("logit_bias_out_of_range", "logit_bias of 150 for a token; weights range over -100..100.",
     lambda c: c.body(GREETING, logit_bias={"11": 150}), "logit_bias", ()),
    ("response_format_unknown_type", "response_format of type \"yaml\": only text, json_object and json_schema exist.",
     lambda c: c.body(GREETING, response_format={"type": "yaml"}), "response_format", ()),
    ("tool_without_function", "A function tool without its function object.",
     lambda c: c.body(GREETING, tools=[{"type": "function"}]), "tools", ()),
    ("parallel_tool_calls_wrong_type", "parallel_tool_calls given as the string \"sometimes\".",
     lambda c: c.body(GREETING, tools=[WEATHER_TOOL], parallel_tool_calls="sometimes"), "parallel_tool_calls", ()),
    ("stream_temperature_too_high", "temperature 2.5 with stream true: the error must come before any stream.",
     lambda c: c.body(GREETING, temperature=2.5, stream=True), "temperature", ("invalid_stream",)),
    ("stream_empty_messages", "messages is an empty array with stream true: the error must come before any stream.",
     lambda c: c.body([], stream=True), "messages", ("invalid_stream",)),
]

_SMOKE = {"missing_messages", "temperature_too_high"}

for _name, _doc, _build, _param, _tags in _INVALID:
    _register(_name, _doc, _build, _param, *_tags, marks=("smoke",) if _name in _SMOKE else ())

# The seed vendor's parameters, read only in the vendor profile.
for _field, _value in (("top_k", "many"), ("repetition_penalty", "strong")):
    _register(f"{_field}_wrong_type", f"{_field} given as the string {_value!r}.",
              lambda c, f=_field, v=_value: c.body(GREETING, **{f: v}), _field, marks=("vendor",))

# Parameters a server may leave unimplemented: the lenient reading lets it ignore them (unknown
# keys are legal there), so only the full contract demands that a wrong type is refused.
_WRONG_TYPES: dict[str, Any] = {
    "user": 123, "safety_identifier": 123, "prompt_cache_key": 123, "prompt_cache_retention": 123,
    "prompt_cache_options": "all", "store": "sometimes", "metadata": "none", "service_tier": 123,
    "modalities": "text", "audio": "loud", "prediction": "none", "reasoning_effort": 123, "verbosity": 123,
    "web_search_options": "none", "functions": "none", "function_call": 123,
}
for _field, _value in _WRONG_TYPES.items():
    _register(f"{_field}_wrong_type", f"{_field} given as {_value!r}, a value of the wrong type.",
              lambda c, f=_field, v=_value: c.body(GREETING, **{f: v}), _field, marks=("strict",))


@SUITE.scenario("invalid", "malformed")
def malformed_json(ctx: Context) -> Evidence:
    """A body that is not JSON at all."""
    raw = b'{"model": "x", "messages": [ this is not json'
    return Evidence(ctx, raw, ctx.send(raw), param=None)


@SUITE.scenario("unknown_model")
def unknown_model(ctx: Context) -> Evidence:
    """A model id that cannot exist."""
    body = ctx.body(GREETING, model="no-such-model-conformance-probe")
    return Evidence(ctx, body, ctx.send(body), param="model")


@SUITE.scenario("auth", requests=2)
def bad_credentials(ctx: Context) -> Evidence:
    """No key, then a wrong key, when the user gave a key; without one the target is open and only
    the preflight's keyless GET /models is recorded (no request is spent)."""
    if not ctx.target.enforces_auth:
        preflight = ctx.facts.get("models_exchange")
        if preflight is None:
            raise NotApplicable
        return Evidence(ctx, b"", preflight, data={"open_server": True})
    body = ctx.body(GREETING)
    missing = ctx.send(body, auth=False)
    wrong = ctx.send(body, api_key="sk-conformance-wrong-key-0000")
    return Evidence(ctx, body, missing, related={"wrong_key": wrong})


# --- context-length overflow ----------------------------------------------------------------------

# Where GET /models declares a model's context length: OpenRouter and LM Studio (context_length,
# max_context_length), Groq (context_window), vLLM (max_model_len), llama-server (meta.n_ctx).
_CONTEXT_KEYS = ("context_length", "context_window", "max_context_length", "max_model_len")
# " the" is one token in every common tokenizer and never merges with its neighbours, so a prompt
# of N such words is at least N tokens.  30 000 words (120 KB) keep the body, and its curl line,
# under the 128 KiB a single shell argument may hold.  Without a declared context the probe sends
# 10 000 words: more than the 2k-8k contexts local servers default to, and cheap where it fits.
_WORD = "the"
MAX_PROMPT_WORDS = 30_000
UNDECLARED_PROMPT_WORDS = 10_000


def declared_context(models: Any, model: str) -> tuple[int, str] | None:
    """The context length GET /models declares for ``model``, with the key it was read from."""
    data = models.get("data") if isinstance(models, dict) else None
    entry = next((m for m in data if isinstance(m, dict) and m.get("id") == model), None) if isinstance(data, list) else None
    if entry is None:
        return None
    meta = entry.get("meta")
    found = [(entry.get(key), key) for key in _CONTEXT_KEYS]
    found.append((meta.get("n_ctx") if isinstance(meta, dict) else None, "meta.n_ctx"))
    return next(((v, key) for v, key in found if isinstance(v, int) and not isinstance(v, bool) and v > 0), None)


def _answered(ev: Evidence) -> bool:
    """A complete answer came back (a finish_reason, no error event): the prompt fitted the context."""
    try:
        if ev.streamed:
            view = ev.stream
            return view.error_event is None and any(acc.finish_reasons for acc in view.choices.values())
        return any(choice.get("finish_reason") for choice in ev.choices())
    except Skip:
        return False


def _overflow(ctx: Context, **fields: Any) -> Evidence:
    """A prompt longer than the model's context: 1.25 x the declared context length (+ 64) in
    one-token words, or 10 000 words without a declaration.  A declared context too large to
    overflow within 30 000 words is a SKIP (nothing is sent); without a declaration, a complete
    answer, or no answer within the timeout, means the prompt may have fitted: a SKIP, never a FAIL."""
    declared = declared_context(ctx.facts.get("models"), ctx.target.model)
    words = UNDECLARED_PROMPT_WORDS if declared is None else declared[0] * 5 // 4 + 64
    if words > MAX_PROMPT_WORDS:
        raise Skip(f"GET /models declares a context of {declared[0]} tokens ({declared[1]}): overflowing it "
                   f"takes more than the {MAX_PROMPT_WORDS} words this probe sends")
    body = ctx.body(" ".join([_WORD] * words), **fields)
    ev = Evidence(ctx, body, ctx.send(body), param="messages")
    if declared is None:
        unknown = f"GET /models declares no context length (e.g. {_CONTEXT_KEYS[0]}), and a {words}-word prompt"
        error = ev.exchange.error
        if ev.exchange.status is None and error is not None and error.kind in STALL_KINDS:
            raise Skip(f"{unknown} got no answer within the limits ({error.kind}): a context that holds it may take that long")
        if ev.exchange.status == 200 and _answered(ev):
            raise Skip(f"{unknown} was answered: it may fit the context")
    return ev


@SUITE.scenario("invalid")
def context_overflow(ctx: Context) -> Evidence:
    """A prompt longer than the model's context window (sized from the context length GET /models
    declares): OpenAI answers 400 context_length_exceeded, param messages."""
    return _overflow(ctx)


@SUITE.scenario("invalid", "invalid_stream")
def stream_context_overflow(ctx: Context) -> Evidence:
    """The same overflowing prompt with stream true: the error must be an HTTP 4xx before any
    stream starts, not a 200 stream that dies."""
    return _overflow(ctx, stream=True)
