"""Public Hypothesis strategies for Chat Completions requests.

``valid_requests`` draws requests that are valid under the strict request schema *and* the rules
it cannot express (tool messages answer an earlier ``tool_calls[].id``, a named ``tool_choice``
names a declared tool, ``json_object`` mode mentions JSON in the prompt).  Every request carries
a small token cap, so generated traffic stays cheap on a real model.

``invalid_requests`` takes such a valid request and breaks exactly one rule; each draw is an
``InvalidRequest(body, param, rule)`` naming the parameter the 400 error should point at.

Usable in a user's own tests::

    from hypothesis import given
    from conformance.generation.strategies import invalid_requests, valid_requests

    @given(valid_requests("my-model", stream=False))
    def test_accepts(body): ...

    @given(invalid_requests("my-model"))
    def test_rejects(case):
        body, param, rule = case
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, NamedTuple

from hypothesis import strategies as st

from .. import schema

Body = dict[str, Any]

# Characters and strings are drawn from explicit code points: st.characters, st.text and
# st.from_regex would build Hypothesis' Unicode tables (every code point's category and UTF-8
# round trip) on a machine's first run, costing seconds and ~500 MB (bench/first_contact.py).
_LETTERS = string.ascii_letters
_ALNUM = string.ascii_letters + string.digits
# Every code point UTF-8 can carry but controls (Cc) and surrogates (Cs): printable ASCII first,
# so shrinking ends on plain text.
_TEXT_CHAR = st.one_of([st.integers(lo, hi).map(chr) for lo, hi in ((0x20, 0x7E), (0xA0, 0xD7FF), (0xE000, 0x10FFFF))])


def _string(alphabet: str, min_size: int, max_size: int, first: str = "") -> st.SearchStrategy[str]:
    """`first` (one character of it, when given) then min_size..max_size characters of `alphabet`."""
    rest = st.lists(st.sampled_from(alphabet), min_size=min_size, max_size=max_size).map("".join)
    return st.builds(str.__add__, st.sampled_from(first), rest) if first else rest


TEXT = st.lists(_TEXT_CHAR, min_size=1, max_size=24).map("".join)
IDENT = _string(_ALNUM + "_", 0, 15, first=_LETTERS + "_")
# 1x1 PNG / 44-byte silent WAV / a tiny PDF header: real payloads a vision/audio/file model can parse.
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
_WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="
_PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK"
_PARAM_TYPES = ("string", "integer", "number", "boolean")


class InvalidRequest(NamedTuple):
    """A request breaking exactly one rule; ``param`` is what ``error.param`` should name (None: no single one)."""

    body: Body
    param: str | None
    rule: str


# --- building blocks ---------------------------------------------------------------------------
# Builders are cached: a strategy object made anew inside every draw has Hypothesis recompute its
# label (a walk over the whole strategy tree) each time, which was most of the CPU a generated
# request cost.

@cache
def _text_parts() -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.builds(lambda t: {"type": "text", "text": t}, TEXT), min_size=1, max_size=3)


@cache
def _text_content() -> st.SearchStrategy[Any]:
    return st.one_of(TEXT, _text_parts())


@cache
def _user_part(multimodal: bool) -> st.SearchStrategy[dict[str, Any]]:
    text = st.builds(lambda t: {"type": "text", "text": t}, TEXT)
    if not multimodal:
        return text
    image = st.builds(
        lambda detail: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_PNG}", **detail}},
        st.sampled_from([{}, {"detail": "low"}, {"detail": "auto"}, {"detail": "high"}]),
    )
    audio = st.sampled_from([{"type": "input_audio", "input_audio": {"data": _WAV, "format": "wav"}}])
    file = st.sampled_from([{"type": "file", "file": {"filename": "a.pdf", "file_data": f"data:application/pdf;base64,{_PDF}"}}])
    return st.one_of(text, image, audio, file)


@cache
def _user_message(multimodal: bool) -> st.SearchStrategy[dict[str, Any]]:
    content = st.one_of(TEXT, st.lists(_user_part(multimodal), min_size=1, max_size=3))
    return st.fixed_dictionaries({"role": st.just("user"), "content": content}, optional={"name": IDENT})


@cache
def _instruction_message() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "developer"]), "content": _text_content()}, optional={"name": IDENT}
    )


@cache
def _assistant_message() -> st.SearchStrategy[dict[str, Any]]:
    refusal = st.builds(lambda t: [{"type": "refusal", "refusal": t}], TEXT)
    return st.fixed_dictionaries({"role": st.just("assistant"), "content": st.one_of(TEXT, _text_parts(), refusal)})


@st.composite
def _tool_round(draw: st.DrawFn, names: list[str], round_no: int) -> list[dict[str, Any]]:
    """An assistant turn calling 1-3 of the declared tools, then one tool message per call id."""
    called = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
    calls = []
    for i, name in enumerate(called):
        args = draw(st.dictionaries(IDENT, st.one_of(st.integers(-9, 99), TEXT), max_size=2))
        suffix = draw(_string(_ALNUM, 6, 12))
        calls.append({"id": f"call_{round_no}{i}{suffix}", "type": "function",
                      "function": {"name": name, "arguments": json.dumps(args)}})
    assistant: dict[str, Any] = {"role": "assistant", "tool_calls": calls}
    content_form = draw(st.sampled_from(["null", "absent", "text"]))
    if content_form == "null":
        assistant["content"] = None
    elif content_form == "text":
        assistant["content"] = draw(TEXT)
    answers = [{"role": "tool", "tool_call_id": c["id"], "content": draw(_text_content())} for c in calls]
    return [assistant, *answers]


@st.composite
def conversations(draw: st.DrawFn, *, tool_names: list[str] | None = None, multimodal: bool = False) -> list[dict[str, Any]]:
    """A message list with every role: an optional system/developer turn, 1-3 user turns, assistant
    replies (text, text parts or a refusal part) and, when tools are declared, tool rounds whose
    tool messages answer the preceding call ids.  It ends with a user or tool message."""
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append(draw(_instruction_message()))
    turns = draw(st.integers(1, 3))
    for turn in range(turns):
        messages.append(draw(_user_message(multimodal)))
        last = turn == turns - 1
        reply = draw(st.sampled_from(["tools", "none", "text"] if tool_names else ["none", "text"]))
        if reply == "tools":
            messages.extend(draw(_tool_round(tool_names or [], turn)))
        elif reply == "text" and not last:
            messages.append(draw(_assistant_message()))
    return messages


@st.composite
def _json_schema(draw: st.DrawFn) -> dict[str, Any]:
    """A small object schema in the shape strict mode accepts (every property required, closed)."""
    names = draw(st.lists(IDENT, min_size=1, max_size=3, unique=True))
    props = {n: {"type": draw(st.sampled_from(_PARAM_TYPES))} for n in names}
    return {"type": "object", "properties": props, "required": names, "additionalProperties": False}


@st.composite
def tool_definitions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-3 function tools with distinct names and small parameter schemas (strict or not)."""
    names = draw(st.lists(_string(_ALNUM + "_-", 0, 20, first=_LETTERS),
                          min_size=1, max_size=3, unique_by=str.lower))
    tools = []
    for name in names:
        function: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            function["description"] = draw(TEXT)
        form = draw(st.sampled_from(["none", "schema", "strict"]))
        if form != "none":
            function["parameters"] = draw(_json_schema())
        if form == "strict":
            function["strict"] = True
        tools.append({"type": "function", "function": function})
    return tools


@cache
def _sampling() -> dict[str, st.SearchStrategy[Any]]:
    def bounded(lo: float, hi: float) -> st.SearchStrategy[float]:
        return st.one_of(st.sampled_from([lo, (lo + hi) / 2, hi]), st.floats(lo, hi, allow_nan=False))

    return {
        "temperature": bounded(0, 2),
        "top_p": bounded(0, 1),
        "presence_penalty": bounded(-2, 2),
        "frequency_penalty": bounded(-2, 2),
        "seed": st.integers(0, 2**31 - 1),
        "user": IDENT,
        "logit_bias": st.dictionaries(st.integers(0, 1000).map(str), st.integers(-100, 100), max_size=3),
        "stop": st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=4)),
        "n": st.integers(1, 3),
    }


# --- valid requests ----------------------------------------------------------------------------

@st.composite
def _valid(
    draw: st.DrawFn, model: str, vendor: bool, stream: bool | None, max_tokens: int, multimodal: bool, tools: bool | None
) -> Body:
    with_tools = draw(st.booleans()) if tools is None else tools
    declared = draw(tool_definitions()) if with_tools else []
    names = [t["function"]["name"] for t in declared]
    body: Body = {"model": model, "messages": draw(conversations(tool_names=names or None, multimodal=multimodal))}
    sampling = _sampling()
    for key in sorted(sampling):
        if draw(st.booleans()):
            body[key] = draw(sampling[key])
    cap = st.integers(1, max_tokens)
    cap_form = draw(st.sampled_from(["max_tokens", "max_completion_tokens", "both"]))
    if cap_form in ("max_tokens", "both"):
        body["max_tokens"] = draw(cap)
    if cap_form in ("max_completion_tokens", "both"):
        body["max_completion_tokens"] = draw(cap)
    if draw(st.booleans()):
        body["logprobs"] = draw(st.booleans())
        if body["logprobs"] and draw(st.booleans()):
            body["top_logprobs"] = draw(st.integers(0, 20))
    form = draw(st.sampled_from(["absent", "text", "json_object", "json_schema"]))
    if form == "json_object":
        body["response_format"] = {"type": "json_object"}
        # OpenAI refuses json_object mode unless the word JSON appears in the messages.
        body["messages"].insert(0, {"role": "system", "content": "Reply in JSON."})
    elif form == "json_schema":
        spec: dict[str, Any] = {"name": draw(IDENT), "schema": draw(_json_schema())}
        if draw(st.booleans()):
            spec["strict"] = True
        body["response_format"] = {"type": "json_schema", "json_schema": spec}
    elif form == "text":
        body["response_format"] = {"type": "text"}
    if declared:
        body["tools"] = declared
        choice = draw(st.sampled_from(["absent", "none", "auto", "required", "named"]))
        if choice == "named":
            body["tool_choice"] = {"type": "function", "function": {"name": draw(st.sampled_from(names))}}
        elif choice != "absent":
            body["tool_choice"] = choice
        if draw(st.booleans()):
            body["parallel_tool_calls"] = draw(st.booleans())
    streaming = draw(st.sampled_from([None, False, True])) if stream is None else stream
    if streaming is not None:
        body["stream"] = streaming
    if streaming and draw(st.booleans()):
        body["stream_options"] = {"include_usage": draw(st.booleans())}
    if vendor:
        if draw(st.booleans()):
            body["top_k"] = draw(st.sampled_from([-1, 0, 1, 5, 40]))
        if draw(st.booleans()):
            body["repetition_penalty"] = draw(st.sampled_from([0.5, 1.0, 1.1, 2.0]))
    return body


def valid_requests(
    model: str,
    *,
    strict: bool = False,
    vendor: bool = False,
    stream: bool | None = None,
    max_tokens: int = 16,
    multimodal: bool = False,
    tools: bool | None = None,
) -> st.SearchStrategy[Body]:
    """Valid chat requests over the whole parameter space, each capped at ``max_tokens`` tokens.

    ``stream``: None draws absent/false/true, a bool forces it.  ``vendor`` adds ``top_k`` /
    ``repetition_penalty``.  ``multimodal`` adds image, audio and file parts to user messages.
    ``tools``: None draws whether tools (and tool rounds in the history) are present.  ``strict``
    is accepted for symmetry with ``invalid_requests``: a valid request is valid in every profile.
    """
    del strict
    return _valid(model, vendor, stream, max_tokens, multimodal, tools)


# --- invalid requests --------------------------------------------------------------------------

Mutation = Callable[[st.DrawFn, Body], Body]


def _drop(body: Body, *keys: str) -> Body:
    for key in keys:
        body.pop(key, None)
    return body


def _out_of_range(name: str, low: float | None, high: float | None, integer: bool) -> Mutation:
    def mutate(draw: st.DrawFn, body: Body) -> Body:
        options = []
        if low is not None:
            options.append(st.integers(-1000, int(low) - 1) if integer else st.floats(-1e6, low, exclude_max=True, allow_nan=False))
        if high is not None:
            options.append(st.integers(int(high) + 1, 10**6) if integer else st.floats(high, 1e6, exclude_min=True, allow_nan=False))
        body[name] = draw(st.one_of(options))
        if name == "top_logprobs":
            body["logprobs"] = True
        return body

    return mutate


def _wrong_type(name: str, values: st.SearchStrategy[Any]) -> Mutation:
    def mutate(draw: st.DrawFn, body: Body) -> Body:
        body[name] = draw(values)
        if name == "top_logprobs":
            body["logprobs"] = True
        return body

    return mutate


def _null(name: str, needs_tools: bool = False) -> Mutation:
    def mutate(draw: st.DrawFn, body: Body) -> Body:
        if needs_tools and not body.get("tools"):
            body["tools"] = draw(tool_definitions())
        body[name] = None
        return body

    return mutate


def _stream_wrong_type(draw: st.DrawFn, body: Body) -> Body:
    body.pop("stream_options", None)
    body["stream"] = draw(st.sampled_from(["true", 1, "yes"]))
    return body


def _top_logprobs_without_logprobs(draw: st.DrawFn, body: Body) -> Body:
    body.pop("logprobs", None) if draw(st.booleans()) else body.update(logprobs=False)
    body["top_logprobs"] = draw(st.integers(1, 20))
    return body


def _stream_options_without_stream(draw: st.DrawFn, body: Body) -> Body:
    body.pop("stream", None) if draw(st.booleans()) else body.update(stream=False)
    body["stream_options"] = {"include_usage": draw(st.booleans())}
    return body


def _tool_choice_without_tools(draw: st.DrawFn, body: Body) -> Body:
    _drop(body, "tools", "parallel_tool_calls")
    body["tool_choice"] = draw(st.sampled_from(["auto", "required", {"type": "function", "function": {"name": "get_weather"}}]))
    return body


def _parallel_without_tools(draw: st.DrawFn, body: Body) -> Body:
    _drop(body, "tools", "tool_choice")
    body["parallel_tool_calls"] = draw(st.booleans())
    return body


def _named_unknown_tool(draw: st.DrawFn, body: Body) -> Body:
    if not body.get("tools"):
        body["tools"] = draw(tool_definitions())
    names = {t["function"]["name"] for t in body["tools"]}
    body["tool_choice"] = {"type": "function", "function": {"name": "undeclared_" + "_".join(sorted(names))[:40]}}
    return body


def _bad_tool_name(draw: st.DrawFn, body: Body) -> Body:
    tools = body.get("tools") or draw(tool_definitions())
    body.pop("tool_choice", None)
    bad = draw(st.sampled_from(["has space", "dot.name", "", "x" * 65, "naïve"]))
    tools[0]["function"]["name"] = bad
    body["tools"] = tools
    return body


def _too_many_stops(draw: st.DrawFn, body: Body) -> Body:
    body["stop"] = draw(st.lists(TEXT, min_size=5, max_size=8))
    return body


def _empty_messages(draw: st.DrawFn, body: Body) -> Body:
    body["messages"] = []
    return body


def _append_message(message: Callable[[st.DrawFn], dict[str, Any]]) -> Mutation:
    def mutate(draw: st.DrawFn, body: Body) -> Body:
        body["messages"].append(message(draw))
        return body

    return mutate


def _orphan_tool(draw: st.DrawFn) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": "call_orphan" + draw(_string(_ALNUM, 4, 10)),
            "content": draw(TEXT)}


def _unknown_parameter(draw: st.DrawFn, body: Body) -> Body:
    known = set(schema.request_schema(strict=True, vendor=True)["properties"])
    name = draw(st.one_of(st.sampled_from(["temperatur", "max_token", "streams", "top-p", "messages_"]),
                          IDENT.filter(lambda n: n not in known)))
    body[name] = draw(st.one_of(st.integers(0, 9), TEXT, st.booleans()))
    return body


# (rule name, param the error should name, mutation, touches the stream flag, strict profile only)
_MUTATIONS: list[tuple[str, str | None, Mutation, bool, bool]] = [
    ("temperature_out_of_range", "temperature", _out_of_range("temperature", 0, 2, False), False, False),
    ("top_p_out_of_range", "top_p", _out_of_range("top_p", 0, 1, False), False, False),
    ("presence_penalty_out_of_range", "presence_penalty", _out_of_range("presence_penalty", -2, 2, False), False, False),
    ("frequency_penalty_out_of_range", "frequency_penalty", _out_of_range("frequency_penalty", -2, 2, False), False, False),
    ("n_out_of_range", "n", _out_of_range("n", 1, 128, True), False, False),
    ("max_tokens_below_one", "max_tokens", _out_of_range("max_tokens", 1, None, True), False, False),
    ("max_completion_tokens_below_one", "max_completion_tokens", _out_of_range("max_completion_tokens", 1, None, True), False, False),
    ("top_logprobs_out_of_range", "top_logprobs", _out_of_range("top_logprobs", 0, 20, True), False, False),
    ("temperature_wrong_type", "temperature", _wrong_type("temperature", st.sampled_from(["0.5", [1], {"v": 1}, True])), False, False),
    ("n_wrong_type", "n", _wrong_type("n", st.sampled_from(["2", 1.5, True, [2]])), False, False),
    ("max_tokens_wrong_type", "max_tokens", _wrong_type("max_tokens", st.sampled_from(["16", 2.5, False])), False, False),
    ("logprobs_wrong_type", "logprobs", _wrong_type("logprobs", st.sampled_from(["true", 1, [True]])), False, False),
    ("stop_wrong_type", "stop", _wrong_type("stop", st.sampled_from([5, {"s": "x"}, [1, 2], True])), False, False),
    ("model_wrong_type", "model", _wrong_type("model", st.sampled_from([42, ["m"], {"id": "m"}])), False, False),
    ("messages_wrong_type", "messages", _wrong_type("messages", st.sampled_from(["hello", {"role": "user", "content": "hi"}, 7])), False, False),
    ("stream_wrong_type", "stream", _stream_wrong_type, True, False),
    ("model_null", "model", _null("model"), False, False),
    ("messages_null", "messages", _null("messages"), False, False),
    ("tool_choice_null", "tool_choice", _null("tool_choice", needs_tools=True), False, False),
    ("parallel_tool_calls_null", "parallel_tool_calls", _null("parallel_tool_calls", needs_tools=True), False, False),
    ("top_logprobs_without_logprobs", "top_logprobs", _top_logprobs_without_logprobs, False, False),
    ("stream_options_without_stream", "stream_options", _stream_options_without_stream, True, False),
    ("tool_choice_without_tools", "tool_choice", _tool_choice_without_tools, False, False),
    ("parallel_tool_calls_without_tools", "parallel_tool_calls", _parallel_without_tools, False, False),
    ("tool_choice_names_undeclared_tool", "tool_choice", _named_unknown_tool, False, False),
    ("tool_name_pattern", "tools", _bad_tool_name, False, False),
    ("five_or_more_stop_strings", "stop", _too_many_stops, False, False),
    ("empty_messages", "messages", _empty_messages, False, False),
    ("orphan_tool_call_id", "messages", _append_message(_orphan_tool), False, False),
    ("unknown_role", "messages", _append_message(lambda d: {"role": d(st.sampled_from(["wizard", "bot", "", "USER"])), "content": d(TEXT)}), False, False),
    ("user_content_null", "messages", _append_message(lambda d: {"role": "user", "content": None}), False, False),
    ("empty_content_parts", "messages", _append_message(lambda d: {"role": d(st.sampled_from(["user", "system"])), "content": []}), False, False),
    ("tool_message_without_id", "messages", _append_message(lambda d: {"role": "tool", "content": d(TEXT)}), False, False),
    ("assistant_without_content", "messages", _append_message(lambda d: {"role": "assistant"}), False, False),
    ("response_format_unknown_type", "response_format", _wrong_type("response_format", st.sampled_from([{"type": "yaml"}, {"type": "xml"}])), False, False),
    ("logit_bias_out_of_range", "logit_bias", _wrong_type("logit_bias", st.builds(lambda v: {"50": v}, st.integers(101, 10**4))), False, False),
    ("unknown_parameter", None, _unknown_parameter, False, True),
]

RULES: tuple[str, ...] = tuple(name for name, *_ in _MUTATIONS)


@st.composite
def _invalid(draw: st.DrawFn, model: str, strict: bool, vendor: bool, stream: bool | None, max_tokens: int,
             rules: frozenset[str] | None) -> InvalidRequest:
    options = [m for m in _MUTATIONS
               if (strict or not m[4]) and not (stream is True and m[3]) and (rules is None or m[0] in rules)]
    if not options:
        raise ValueError(f"no rule of {sorted(rules or ())} applies with strict={strict}, stream={stream}")
    name, param, mutate, _, _ = draw(st.sampled_from(options))
    # The base carries no tool history, so a target refusing some valid history cannot mask the broken rule.
    body = draw(_valid(model, vendor, stream, max_tokens, False, False))
    body = mutate(draw, body)
    if name == "unknown_parameter":
        param = next(k for k in body if k not in schema.request_schema(strict=True, vendor=vendor)["properties"])
    return InvalidRequest(body, param, name)


def invalid_requests(
    model: str,
    *,
    strict: bool = False,
    vendor: bool = False,
    stream: bool | None = None,
    max_tokens: int = 16,
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[InvalidRequest]:
    """Requests that break exactly one rule, as ``InvalidRequest(body, param, rule)``.

    The rules: out-of-range and wrong-type values, null for non-nullable fields, a missing
    prerequisite (``top_logprobs`` without ``logprobs``, ``stream_options`` without ``stream``,
    ``tool_choice``/``parallel_tool_calls`` without ``tools``), five or more stop strings, empty
    ``messages``, malformed messages (orphan ``tool_call_id``, unknown role, ...), bad tool
    names, and — in the strict profile only — an unknown top-level parameter.  ``stream=True``
    keeps ``stream: true`` in every request (rules that need another stream value are left out).
    ``rules`` restricts the draw to some of ``RULES``.
    """
    return _invalid(model, strict, vendor, stream, max_tokens, None if rules is None else frozenset(rules))
