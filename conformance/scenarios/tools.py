"""Tool-calling requests: every tool_choice form, streamed deltas, parallel calls, a capped call,
stream/non-stream equivalence and a round trip.  All need the ``tools`` capability (parallel
calls also ``parallel_tool_calls``): a clean refusal of an unclaimed capability is a SKIP."""

from __future__ import annotations

import json
from typing import Any

from ..engine import Skip
from ..evidence import Evidence
from ..suite import SUITE
from ..target import Context
from .params import with_stream_twin
from .prompts import CONSTRAINED_COST, PARALLEL_PROMPT, TIME_TOOL, WEATHER_PROMPT, WEATHER_TOOL

scenario = SUITE.scenario
TOOLS = [WEATHER_TOOL, TIME_TOOL]
NAMED = {"type": "function", "function": {"name": "get_time"}}


def _call(ctx: Context, prompt: str, tool_choice: Any, capability: str = "tools", **fields: Any) -> Evidence:
    fields.setdefault("max_tokens", 64)
    body = ctx.body(prompt, tools=TOOLS, tool_choice=tool_choice, **fields)
    ev = Evidence(ctx, body, ctx.send(body), data={"tool_choice": tool_choice, "tools": TOOLS})
    return ev.gate(capability)


@scenario("gated", "chat", "valid", "tool_call", cost=CONSTRAINED_COST)
def tools_required(ctx: Context) -> Evidence:
    """tool_choice required: at least one call, finish_reason tool_calls."""
    return _call(ctx, WEATHER_PROMPT, "required")


@scenario("gated", "chat", "valid", "tool_call", cost=CONSTRAINED_COST)
def tools_auto(ctx: Context) -> Evidence:
    """tool_choice auto with a prompt that asks for the tool by name (not calling is legal under auto)."""
    return _call(ctx, WEATHER_PROMPT, "auto")


@scenario("gated", "chat", "valid", "tool_call", cost=CONSTRAINED_COST)
def tools_named(ctx: Context) -> Evidence:
    """A named tool_choice forcing get_time although the prompt talks about the weather."""
    return _call(ctx, WEATHER_PROMPT, NAMED)


@scenario("gated", "stream", "valid", "stream_tool_call", cost=CONSTRAINED_COST)
def stream_tools_named(ctx: Context) -> Evidence:
    """A named tool_choice (get_time) on a prompt that asks for get_weather, streamed."""
    return _call(ctx, WEATHER_PROMPT, NAMED, stream=True)


@scenario("gated", "chat", "valid", "tool_none", cost=CONSTRAINED_COST)
def tools_none(ctx: Context) -> Evidence:
    """tool_choice none: the model must answer in text although tools are offered."""
    return _call(ctx, WEATHER_PROMPT, "none")


@scenario("gated", "stream", "valid", "stream_tool_call", cost=CONSTRAINED_COST)
def stream_tools_required(ctx: Context) -> Evidence:
    """tool_choice required, streamed: tool-call deltas with index, id, name and argument fragments."""
    return _call(ctx, WEATHER_PROMPT, "required", stream=True)


@scenario("gated", "stream", "valid", "stream_tool_call", "parallel", cost=CONSTRAINED_COST)
def stream_tools_parallel(ctx: Context) -> Evidence:
    """Both tools asked for in parallel under auto, streamed: distinct indices 0 and 1, distinct ids."""
    return _call(ctx, PARALLEL_PROMPT, "auto", "parallel_tool_calls", stream=True, parallel_tool_calls=True)


@scenario("gated", "chat", "valid", "tool_call", "parallel", requests=2, cost=2 * CONSTRAINED_COST)
def tools_parallel(ctx: Context) -> Evidence:
    """Both tools asked for in parallel under auto, non-stream; then the same request with
    parallel_tool_calls false, which must come back with one call at most."""
    ev = _call(ctx, PARALLEL_PROMPT, "auto", "parallel_tool_calls", parallel_tool_calls=True)
    ev.related["serial"] = ctx.send(dict(ev.request, parallel_tool_calls=False))  # type: ignore[arg-type]
    return ev


@scenario("gated", "chat", "valid", "capped_tool")
def tools_capped(ctx: Context) -> Evidence:
    """tool_choice required with max_tokens 3: the call is cut by the cap, so finish_reason is "length"."""
    return _call(ctx, WEATHER_PROMPT, "required", max_tokens=3)


@scenario("gated", "equivalence", requests=2, cost=2 * CONSTRAINED_COST)
def stream_equivalence_tools(ctx: Context) -> Evidence:
    """A forced call at temperature 0 with a seed, sent non-stream and streamed with usage: same call, same finish."""
    return with_stream_twin(ctx, _call(ctx, WEATHER_PROMPT, NAMED, temperature=0, seed=7))


@scenario("gated", "round_trip", requests=2, cost=2 * CONSTRAINED_COST)
def tool_round_trip(ctx: Context) -> Evidence:
    """Call a tool, then send the assistant turn back verbatim with the tool result."""
    first = _call(ctx, WEATHER_PROMPT, "required")
    try:
        message = first.message()
        calls = message["tool_calls"]
        call_id = calls[0]["id"]
    except (Skip, KeyError, IndexError, TypeError):
        raise Skip("the first turn produced no tool call to answer; judged by TOOL-01") from None
    messages = [
        {"role": "user", "content": WEATHER_PROMPT},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": call_id, "content": json.dumps({"temperature_c": 18})},
    ]
    body = ctx.body(messages, tools=TOOLS, max_tokens=32)
    return Evidence(ctx, body, ctx.send(body), related={"first_turn": first.exchange}, capability="tools")
