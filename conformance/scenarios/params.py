"""Requests that exercise one documented parameter each, built so the right effect is provable."""

from __future__ import annotations

from typing import Any

from ..evidence import Evidence
from ..suite import SUITE
from ..target import OMIT, Context
from .prompts import COUNT_TO_12, COUNT_TO_30, GREETING, JSON_PROMPT, RANDOM_WORDS, CITY_SCHEMA

scenario = SUITE.scenario
CAP = 5


def _one(ctx: Context, prompt: str | list[dict[str, Any]], **fields: Any) -> Evidence:
    body = ctx.body(prompt, **fields)
    return Evidence(ctx, body, ctx.send(body))


@scenario("chat", "valid", "capped", marks=("smoke",))
def cap_max_tokens(ctx: Context) -> Evidence:
    """max_tokens 5 on a prompt whose answer needs ~60 tokens."""
    return _one(ctx, COUNT_TO_30, max_tokens=CAP)


@scenario("chat", "valid", "capped")
def cap_max_completion_tokens(ctx: Context) -> Evidence:
    """max_completion_tokens 5 alone (no max_tokens) on the same prompt."""
    return _one(ctx, COUNT_TO_30, max_tokens=OMIT, max_completion_tokens=CAP)


@scenario("stream", "valid", "capped")
def stream_cap_max_tokens(ctx: Context) -> Evidence:
    """max_tokens 5, streamed, with usage so the cap can be verified."""
    return _one(ctx, COUNT_TO_30, max_tokens=CAP, stream=True, stream_options={"include_usage": True})


@scenario("chat", "valid", "stopped")
def stop_string(ctx: Context) -> Evidence:
    """Counting to 12 with stop ' 5': the answer must end before 5."""
    return _one(ctx, COUNT_TO_12, max_tokens=40, stop=" 5")


@scenario("chat", "valid", "stopped")
def stop_list(ctx: Context) -> Evidence:
    """Counting to 12 with a list of four stop strings; the earliest one wins."""
    return _one(ctx, COUNT_TO_12, max_tokens=40, stop=[" 7", " 4", "xyzzy", "11"])


@scenario("stream", "valid", "stopped")
def stream_stop_string(ctx: Context) -> Evidence:
    """Counting to 12 with stop ' 5', streamed."""
    return _one(ctx, COUNT_TO_12, max_tokens=40, stop=" 5", stream=True)


@scenario("chat", "valid", "multi_choice")
def n_two(ctx: Context) -> Evidence:
    """n 2 at temperature 1: two choices, indices 0 and 1."""
    return _one(ctx, RANDOM_WORDS, n=2, temperature=1)


@scenario("stream", "valid", "multi_choice")
def stream_n_two(ctx: Context) -> Evidence:
    """n 2 streamed: interleaved choices, each with its own role delta and finish chunk."""
    return _one(ctx, RANDOM_WORDS, n=2, temperature=1, stream=True)


@scenario("chat", "valid", "json_mode")
def json_object(ctx: Context) -> Evidence:
    """response_format json_object with a prompt that asks for JSON."""
    return _one(ctx, JSON_PROMPT, max_tokens=64, response_format={"type": "json_object"})


@scenario("chat", "valid", "json_schema")
def json_schema(ctx: Context) -> Evidence:
    """response_format json_schema (strict) with a small city schema."""
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}}
    ev = _one(ctx, JSON_PROMPT, max_tokens=64, response_format=fmt)
    ev.data["schema"] = CITY_SCHEMA
    return ev


@scenario("chat", "valid", "logprobs")
def logprobs_top2(ctx: Context) -> Evidence:
    """logprobs true with top_logprobs 2."""
    return _one(ctx, COUNT_TO_12, max_tokens=8, logprobs=True, top_logprobs=2)


@scenario("stream", "valid", "logprobs")
def stream_logprobs(ctx: Context) -> Evidence:
    """logprobs true with top_logprobs 2, streamed."""
    return _one(ctx, COUNT_TO_12, max_tokens=8, logprobs=True, top_logprobs=2, stream=True)


@scenario("repeatability", requests=2)
def seed_repeat(ctx: Context) -> Evidence:
    """The same request with seed 1234 at temperature 0, twice."""
    body = ctx.body(RANDOM_WORDS, temperature=0, seed=1234)
    first = ctx.send(body)
    return Evidence(ctx, body, first, related={"repeat": ctx.send(body)})


@scenario("variation", requests=3)
def temperature_variation(ctx: Context) -> Evidence:
    """Three unseeded requests at temperature 1.5: sampled output should vary."""
    body = ctx.body(RANDOM_WORDS, temperature=1.5)
    first = ctx.send(body)
    return Evidence(ctx, body, first, related={"second": ctx.send(body), "third": ctx.send(body)})


@scenario("equivalence", requests=2)
def stream_equivalence(ctx: Context) -> Evidence:
    """A deterministic request (temperature 0, seed) sent non-stream and streamed with usage."""
    body = ctx.body(COUNT_TO_12, temperature=0, seed=7, max_tokens=40)
    streamed = dict(body, stream=True, stream_options={"include_usage": True})
    return Evidence(ctx, body, ctx.send(body), related={"stream": ctx.send(streamed)})


@scenario("unknown_param")
def unknown_parameter(ctx: Context) -> Evidence:
    """A misspelt parameter (temperatur): OpenAI rejects it with 400 naming the parameter."""
    return _one(ctx, GREETING, temperatur=0.5)


@scenario("chat", "valid", "vendor_param", marks=("vendor",), requests=2)
def vendor_top_k(ctx: Context) -> Evidence:
    """The seed vendor's top_k 1 at temperature 1.5, twice: greedy sampling must give the same text."""
    body = ctx.body(RANDOM_WORDS, temperature=1.5, top_k=1, repetition_penalty=1.1)
    return Evidence(ctx, body, ctx.send(body), related={"repeat": ctx.send(body)})
