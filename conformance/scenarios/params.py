"""Requests that exercise one documented parameter each, built so the right effect is provable.

Every probe that needs an optional capability passes its first answer through
``Evidence.gate``: a clean refusal of an unclaimed capability is a SKIP ("not offered").
Sampled probes are sequential tests (``conformance.stats``): a conforming target costs one
trial; a suspicious one is sampled again until the false-alarm budget allows a verdict, or the
trial cap leaves it INCONCLUSIVE.  ``ev.data["sampling"]`` carries the test's evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..counting import stopped_before
from ..engine import BudgetExhausted, NotApplicable, Skip
from ..evidence import Evidence
from ..stats import Decision, SequentialTest, Trial
from ..suite import SUITE
from ..target import OMIT, Context
from ..wire.client import Exchange
from .prompts import (
    CITY_SCHEMA,
    CONSTRAINED_COST,
    COUNT_TO_12,
    COUNT_TO_30,
    COUNT_TO_120,
    GREETING,
    JSON_PROMPT,
    RANDOM_WORDS,
    REPEAT_WORD,
)

scenario = SUITE.scenario
CAP = 5
TOP_LOGPROBS = 6  # above 5, so a server capping alternatives at 5 is caught
MAX_TRIALS = 10
# Under H0 "temperature 1.5 is honoured", one sample of 8 free-choice words reproduces the greedy
# text with probability at most 1/2: a deliberately generous bound for any real sampler.
P_GREEDY_REPEAT = 0.5


def _one(ctx: Context, prompt: str | list[dict[str, Any]], capability: str | None = None, **fields: Any) -> Evidence:
    body = ctx.body(prompt, **fields)
    ev = Evidence(ctx, body, ctx.send(body))
    return ev.gate(capability) if capability else ev


def text_of(exchange: Exchange, index: int = 0) -> str | None:
    """The content of choice ``index`` of a 200 JSON answer; None when there is no (non-empty) text."""
    if exchange.status != 200 or exchange.events is not None:
        return None
    try:
        body = exchange.json()
        content = body["choices"][index]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    # An empty answer cannot show variation: it is no evidence either way (ENV-08 judges it).
    return content if isinstance(content, str) and content else None


def _sequential(ctx: Context, ev: Evidence, p_null: float, trial: Callable[[int], Trial | None]) -> None:
    """Run ``trial(i)`` (i = 0, 1, ...) until the test decides; None from a trial stops it (no evidence)."""
    test = SequentialTest(p_null, ctx.capabilities.false_alarm, MAX_TRIALS)
    stopped = ""
    try:
        while test.decision is Decision.CONTINUE:
            outcome = trial(test.trials)
            if outcome is None:
                stopped = "a sample could not be read (non-200 answer or no text)"
                break
            test.record(outcome)
    except BudgetExhausted as exc:
        stopped = f"budget exhausted: {exc}"
    ev.data["sampling"] = dict(test.evidence(), stopped=stopped)


# --- token caps ----------------------------------------------------------------------------------

LONGER_CAP = 4 * CAP


def _capped(ctx: Context, capability: str, field: str, **fields: Any) -> Evidence:
    """A greedy cap probe.  When the answer does not say "length", the same request with a cap 4x
    larger tells a model that stopped on its own (the longer answer is no longer) from a cap
    reported as "stop" (the longer answer goes on from the same text): FIN-02 and PAR-01/02
    judge with both exchanges, so a FAIL is proven by two raw requests."""
    ev = _one(ctx, COUNT_TO_30, capability, temperature=0, **{field: CAP}, **fields)
    if ev.exchange.status == 200 and _answer(ev)[1] not in ("length", None):
        ev.related["longer_cap"] = ctx.send(dict(ev.request, **{field: LONGER_CAP}))  # type: ignore[arg-type]
    return ev


def _answer(ev: Evidence) -> tuple[str, object]:
    """Choice 0's text and (last) finish_reason, ("", None) when there is no readable answer."""
    try:
        text, reason, _ = ev.answer()
    except Skip:
        return "", None
    return text, reason


@scenario("gated", "chat", "valid", "capped", marks=("smoke",), requests=2)
def cap_max_tokens(ctx: Context) -> Evidence:
    """max_tokens 5 alone, at temperature 0, on a prompt whose answer needs ~60 tokens."""
    return _capped(ctx, "max_tokens", "max_tokens")


@scenario("gated", "chat", "valid", "capped", requests=2)
def cap_max_completion_tokens(ctx: Context) -> Evidence:
    """max_completion_tokens 5 alone (no max_tokens) on the same prompt."""
    return _capped(ctx, "max_completion_tokens", "max_completion_tokens", max_tokens=OMIT)


@scenario("gated", "stream", "valid", "capped", requests=2)
def stream_cap_max_tokens(ctx: Context) -> Evidence:
    """max_tokens 5, streamed, with usage so the cap can be verified."""
    # Gated on stream_usage: refusing stream_options is SSE-11's business, not the cap's.
    return _capped(ctx, "stream_usage", "max_tokens", stream=True, stream_options={"include_usage": True})


UNCAPPED_EVENTS = 300  # chunks read from the uncapped stream: any default cap below that shows


@scenario("valid", "uncapped")
def uncapped_count(ctx: Context) -> Evidence:
    """No token cap at all on a ~240-token answer (counting to 120), streamed: nothing may cut it
    short.  The suite stops reading after 300 chunks, so a model that rambles on does not run
    into the suite's own timeout (that would judge the suite's settings, not the server)."""
    body = ctx.body(COUNT_TO_120, max_tokens=OMIT, stream=True)
    limits = dataclasses.replace(ctx.client.limits, stop_after_events=UNCAPPED_EVENTS)
    return Evidence(ctx, body, ctx.send(body, limits=limits))


# --- stop ----------------------------------------------------------------------------------------

def _stopped(ctx: Context, **fields: Any) -> Evidence:
    """A greedy stop probe on a counting prompt.  When the answer does not visibly end right before
    the first stop sequence, the same request without ``stop`` shows where the model would write
    it: PAR-03 compares the two, so a FAIL is proven by two raw requests and a model that never
    writes the sequence is INCONCLUSIVE."""
    ev = _one(ctx, COUNT_TO_12, "stop", max_tokens=40, temperature=0, **fields)
    text, reason = _answer(ev)
    if ev.exchange.status == 200 and not (reason == "stop" and stopped_before(text, _stops(fields))):
        ev.related["without_stop"] = ctx.send({k: v for k, v in ev.request.items() if k != "stop"})  # type: ignore[union-attr]
    return ev


def _stops(fields: dict[str, Any]) -> list[str]:
    stop = fields["stop"]
    return [stop] if isinstance(stop, str) else list(stop)


@scenario("gated", "chat", "valid", "stopped", requests=2)
def stop_string(ctx: Context) -> Evidence:
    """Counting to 12 with stop ' 5': the answer must end before 5."""
    return _stopped(ctx, stop=" 5")


@scenario("gated", "chat", "valid", "stopped", requests=2)
def stop_list(ctx: Context) -> Evidence:
    """Counting to 12 with a list of four stop strings; the earliest one (' 4') wins."""
    return _stopped(ctx, stop=[" 7", " 4", "xyzzy", "11"])


@scenario("gated", "stream", "valid", "stopped", requests=2)
def stream_stop_string(ctx: Context) -> Evidence:
    """Counting to 12 with stop ' 5', streamed."""
    return _stopped(ctx, stop=" 5", stream=True)


# --- n -------------------------------------------------------------------------------------------

@scenario("gated", "chat", "valid", "multi_choice")
def n_two(ctx: Context) -> Evidence:
    """n 2 at temperature 1: two complete choices.  If they are identical, a sign test decides
    whether the choices are copies: each further trial is one n 2 request and one single request;
    under independent sampling "the two choices agree but the single sample differs" is no more
    likely than the reverse, so 7 such trials in a row reject independence at 1 %."""
    body = ctx.body(RANDOM_WORDS, n=2, temperature=1)
    ev = Evidence(ctx, body, ctx.send(body)).gate("n")
    single = {k: v for k, v in body.items() if k != "n"}

    def trial(i: int) -> Trial | None:
        pair = ev.exchange if i == 0 else ctx.send(body)
        if i:
            ev.related[f"n2_trial_{i}"] = pair
        a, b = text_of(pair, 0), text_of(pair, 1)
        if a is None or b is None:
            return None
        if a != b:
            return Trial.REASSURING
        alone = ctx.send(single)
        ev.related[f"single_trial_{i}"] = alone
        c = text_of(alone)
        if c is None:
            return None
        return Trial.NEUTRAL if c == a else Trial.SUSPICIOUS

    _sequential(ctx, ev, 0.5, trial)
    return ev


N_CAP = 6


@scenario("gated", "chat", "valid", "n_capped")
def n_two_capped(ctx: Context) -> Evidence:
    """n 2 with max_tokens 6 on a prompt that needs ~60 tokens: both choices are cut at the cap,
    so the answer used exactly 12 completion tokens."""
    return _one(ctx, COUNT_TO_30, "n", n=2, max_tokens=N_CAP, temperature=1)


@scenario("gated", "stream", "valid", "n_capped")
def stream_n_two_capped(ctx: Context) -> Evidence:
    """The same, streamed with include_usage: one usage chunk, counting both choices."""
    return _one(ctx, COUNT_TO_30, "n", n=2, max_tokens=N_CAP, temperature=1, stream=True,
                stream_options={"include_usage": True})


@scenario("gated", "stream", "valid", "multi_choice")
def stream_n_two(ctx: Context) -> Evidence:
    """n 2 streamed: interleaved choices, each with its own role delta and finish chunk."""
    return _one(ctx, RANDOM_WORDS, "n", n=2, temperature=1, stream=True)


@scenario("invalid", "n_limit")
def n_above_limit(ctx: Context) -> Evidence:
    """n 129, above OpenAI's maximum of 128: rejected with 400 naming n."""
    body = ctx.body(GREETING, n=129, max_tokens=1)
    return Evidence(ctx, body, ctx.send(body), param="n")


# --- structured output ---------------------------------------------------------------------------

@scenario("gated", "chat", "valid", "json_mode", cost=CONSTRAINED_COST)
def json_object(ctx: Context) -> Evidence:
    """response_format json_object with a prompt that asks for JSON."""
    return _one(ctx, JSON_PROMPT, "json_object", max_tokens=64, response_format={"type": "json_object"})


@scenario("gated", "chat", "valid", "json_schema", cost=CONSTRAINED_COST)
def json_schema(ctx: Context) -> Evidence:
    """response_format json_schema (strict) with a small city schema."""
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True}}
    ev = _one(ctx, JSON_PROMPT, "json_schema", max_tokens=64, response_format=fmt)
    ev.data["schema"] = CITY_SCHEMA
    return ev


# --- logprobs ------------------------------------------------------------------------------------

@scenario("gated", "chat", "valid", "logprobs")
def logprobs_top(ctx: Context) -> Evidence:
    """logprobs true with top_logprobs 6 on a counting prompt."""
    return _one(ctx, COUNT_TO_12, "logprobs", max_tokens=8, logprobs=True, top_logprobs=TOP_LOGPROBS)


@scenario("gated", "stream", "valid", "logprobs")
def stream_logprobs(ctx: Context) -> Evidence:
    """logprobs true with top_logprobs 6, streamed."""
    return _one(ctx, COUNT_TO_12, "logprobs", max_tokens=8, logprobs=True, top_logprobs=TOP_LOGPROBS, stream=True)


# --- determinism and sampling ----------------------------------------------------------------------

@scenario("gated", "repeatability", requests=2)
def seed_repeat(ctx: Context) -> Evidence:
    """The same request with seed 1234 at temperature 0, twice."""
    body = ctx.body(RANDOM_WORDS, temperature=0, seed=1234)
    ev = Evidence(ctx, body, ctx.send(body)).gate("seed")
    ev.related["repeat"] = ctx.send(body)
    return ev


@scenario("gated", "seeded_sampling", requests=3)
def seed_sampling(ctx: Context) -> Evidence:
    """Seed 11 twice and seed 12 once, all at temperature 1: the same seed must reproduce the text."""
    body = ctx.body(RANDOM_WORDS, temperature=1, seed=11)
    ev = Evidence(ctx, body, ctx.send(body)).gate("seed")
    ev.related["same_seed"] = ctx.send(body)
    ev.related["other_seed"] = ctx.send(dict(body, seed=12))
    return ev


@scenario("variation", requests=2)
def temperature_variation(ctx: Context) -> Evidence:
    """A greedy answer (temperature 0), then samples at temperature 1.5 until one differs from it.
    Each sample reproduces the greedy text with probability <= 1/2 when temperature is honoured,
    so 7 reproductions in a row show it ignored at the 1 % false-alarm budget."""
    greedy = ctx.body(RANDOM_WORDS, temperature=0)
    ev = Evidence(ctx, greedy, ctx.send(greedy))
    reference = text_of(ev.exchange)
    hot = dict(greedy, temperature=1.5)

    def trial(i: int) -> Trial | None:
        sample = ctx.send(hot)
        ev.related[f"sample_{i}"] = sample
        text = text_of(sample)
        if text is None or reference is None:
            return None
        return Trial.SUSPICIOUS if text == reference else Trial.REASSURING

    _sequential(ctx, ev, P_GREEDY_REPEAT, trial)
    return ev


@scenario("nucleus", requests=2)
def top_p_tiny(ctx: Context) -> Evidence:
    """top_p 0.001 at temperature 1, twice: only the most likely token survives, so the texts agree."""
    body = ctx.body(RANDOM_WORDS, temperature=1, top_p=0.001)
    ev = Evidence(ctx, body, ctx.send(body))
    ev.related["repeat"] = ctx.send(body)
    return ev


@scenario("equivalence", requests=2)
def stream_equivalence(ctx: Context) -> Evidence:
    """A deterministic request (temperature 0, seed) sent non-stream and streamed with usage."""
    body = ctx.body(COUNT_TO_12, temperature=0, seed=7, max_tokens=40)
    return with_stream_twin(ctx, Evidence(ctx, body, ctx.send(body)))


def with_stream_twin(ctx: Context, ev: Evidence) -> Evidence:
    """Send ``ev``'s request again streamed with usage (``related["stream"]``); when the two answers
    differ, a second non-stream answer (``related["repeat"]``) shows whether the target is
    deterministic for the request, which SSE-18 needs before it blames the stream."""
    streamed = dict(ev.request, stream=True, stream_options={"include_usage": True})  # type: ignore[arg-type]
    ev.related["stream"] = ctx.send(streamed)
    try:
        differ = ev.answer() != ev.twin("stream").answer()  # type: ignore[union-attr]
    except Skip:
        differ = False  # no readable answer on one side: the stream rules judge that
    if differ:
        ev.related["repeat"] = ctx.send(ev.request)
    return ev


@scenario("gated", "logit_bias", requests=2)
def logit_bias_ban(ctx: Context) -> Evidence:
    """The manifest's logit_bias probe: its prompt at temperature 0 with logit_bias {token_id: -100},
    and again without the bias.  Token ids are tokenizer-specific, so without a probe in the
    manifest there is nothing to send and no result."""
    probe = ctx.capabilities.logit_bias_probe
    if probe is None:
        raise NotApplicable
    plain = ctx.body(probe.request_prompt, temperature=0)
    biased = dict(plain, logit_bias={str(probe.token_id): -100})
    ev = Evidence(ctx, biased, ctx.send(biased), data={"probe": probe}).gate("logit_bias")
    ev.related["unbiased"] = ctx.send(plain)
    return ev


@scenario("unknown_param")
def unknown_parameter(ctx: Context) -> Evidence:
    """A misspelt parameter (temperatur): OpenAI rejects it with 400 naming the parameter."""
    return _one(ctx, GREETING, temperatur=0.5)


# --- the seed vendor's parameters ------------------------------------------------------------------

@scenario("gated", "vendor_top_k", marks=("vendor",), requests=2)
def vendor_top_k(ctx: Context) -> Evidence:
    """top_k 1 at temperature 1.5, twice: greedy sampling, so the texts agree (top_k honoured)."""
    body = ctx.body(RANDOM_WORDS, temperature=1.5, top_k=1)
    ev = Evidence(ctx, body, ctx.send(body)).gate("vendor_params")
    ev.related["repeat"] = ctx.send(body)
    return ev


@scenario("gated", "vendor_repetition", marks=("vendor",), requests=2)
def vendor_repetition_penalty(ctx: Context) -> Evidence:
    """A greedy answer repeating one word, then the same request with repetition_penalty 2."""
    body = ctx.body(REPEAT_WORD, temperature=0, max_tokens=30, repetition_penalty=2)
    ev = Evidence(ctx, body, ctx.send(body)).gate("vendor_params")
    ev.related["baseline"] = ctx.send({k: v for k, v in body.items() if k != "repetition_penalty"})
    return ev
