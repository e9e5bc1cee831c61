"""Valid requests that real clients send and some servers refuse: each judged by its own REQ clause."""

from __future__ import annotations

import json
from typing import Any

from ..evidence import Evidence
from ..suite import SUITE
from ..target import OMIT, Context
from .prompts import GREETING, TIME_TOOL, WEATHER_PROMPT, WEATHER_TOOL

scenario = SUITE.scenario
# Long enough that a dropped part costs far more tokens than REQ-02's tolerance for template separators.
TERSE = "You are terse: answer every question in one short sentence."


def _one(ctx: Context, prompt: str | list[dict[str, Any]], **fields: Any) -> Evidence:
    body = ctx.body(prompt, **fields)
    return Evidence(ctx, body, ctx.send(body))


@scenario("chat", "valid")
def chat_without_cap(ctx: Context) -> Evidence:
    """No max_tokens at all (the field is optional): a one-sentence prompt keeps the answer short."""
    return _one(ctx, GREETING, max_tokens=OMIT)


@scenario("chat", "content_parts", requests=2)
def content_parts(ctx: Context) -> Evidence:
    """The same conversation with string content and with arrays of text parts; both must count the same prompt."""
    parts = [
        {"role": "system", "content": [{"type": "text", "text": TERSE}]},
        {"role": "user", "content": [{"type": "text", "text": GREETING}]},
    ]
    strings = [{"role": "system", "content": TERSE}, {"role": "user", "content": GREETING}]
    as_parts = ctx.body(parts)
    return Evidence(ctx, as_parts, ctx.send(as_parts), related={"as_strings": ctx.send(ctx.body(strings))})


@scenario("chat", "role_orders")
def role_orders(ctx: Context) -> Evidence:
    """Orders OpenAI accepts: developer role, two user turns in a row, a system message after a user turn."""
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Hello."},
        {"role": "user", "content": GREETING},
        {"role": "system", "content": "Answer in English."},
    ]
    return _one(ctx, messages)


@scenario("chat", "boundaries")
def boundaries_low(ctx: Context) -> Evidence:
    """Every sampling parameter at its documented lower bound (top_logprobs 0: logprobs without alternatives)."""
    return _one(ctx, GREETING, temperature=0, top_p=0, presence_penalty=-2, frequency_penalty=-2, n=1,
                logprobs=True, top_logprobs=0)


@scenario("chat", "boundaries")
def boundaries_high(ctx: Context) -> Evidence:
    """Every sampling parameter at its documented upper bound."""
    return _one(ctx, GREETING, temperature=2, top_p=1, presence_penalty=2, frequency_penalty=2,
                logprobs=True, top_logprobs=20)


@scenario("chat", "boundaries", covers=("request.logit_bias:off", "request.response_format:off"))
def explicit_off_values(ctx: Context) -> Evidence:
    """logit_bias {} and response_format {"type": "text"}: the explicit "off" values clients send by default
    must be accepted and give the plain answer the chat rules judge."""
    return _one(ctx, GREETING, logit_bias={}, response_format={"type": "text"})


@scenario("stream", "stream_usage", "stream_options", marks=("smoke",))
def stream_include_usage(ctx: Context) -> Evidence:
    """A stream with stream_options.include_usage: a final usage chunk with choices [] is expected."""
    return _one(ctx, GREETING, stream=True, stream_options={"include_usage": True})


@scenario("chat", "null_content", requests=2)
def assistant_null_content(ctx: Context) -> Evidence:
    """A replayed tool-call turn with assistant content null, and again with content "" (both are sent by SDKs)."""
    call = {"id": "call_abc123XYZ", "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}

    def history(content: str | None) -> list[dict[str, Any]]:
        return [
            {"role": "user", "content": WEATHER_PROMPT},
            {"role": "assistant", "content": content, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "18 C and sunny"},
            {"role": "user", "content": GREETING},
        ]

    tools = [WEATHER_TOOL, TIME_TOOL]
    null_body = ctx.body(history(None), tools=tools)
    empty = ctx.send(ctx.body(history(""), tools=tools))
    return Evidence(ctx, null_body, ctx.send(null_body), related={"empty_string_content": empty})
