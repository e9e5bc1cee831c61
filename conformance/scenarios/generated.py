"""Generated traffic: seeded Hypothesis and schemathesis runs judged by the invariant oracles.

Each scenario hands its checks an ``Evidence`` whose ``data["fuzz"]`` is the list of
``FuzzReport``s it produced (findings carry the shrunk minimal failing request).  The example
count comes from the profile (``Profile.fuzz_examples``); ``--max-requests`` and
``--max-tokens-total`` stop a run cleanly, keeping what it found.  None of these scenarios is in
the smoke tier; ``schemathesis_phases`` (≈1000 coverage requests) is deep-tier only.
"""

from __future__ import annotations

import zlib
from typing import Any

from hypothesis import strategies as st

from ..engine import BudgetExhausted, Skip
from ..evidence import Evidence
from ..generation import oracles, schemathesis_run
from ..generation.fuzz import FuzzReport, Observation, fuzz
from ..generation.strategies import InvalidRequest, invalid_requests, valid_requests
from ..suite import SUITE
from ..target import Context
from .prompts import GREETING

# Requests of a failure-free compatible run (20 examples); shrinking a failure adds up to 50.
_ESTIMATE = 20


def scenario_seed(ctx: Context, name: str) -> int:
    """The Hypothesis seed of one scenario: derived from the run's seed, distinct per scenario."""
    return zlib.crc32(f"{ctx.seed}:{name}".encode())


def _examples(ctx: Context) -> int:
    if ctx.profile.fuzz_examples <= 0:
        raise Skip(f"the {ctx.profile.name} profile generates no requests (fuzz_examples = 0)")
    return ctx.profile.fuzz_examples


def _shrink_calls(examples: int) -> int:
    return max(50, 2 * examples)


def _evidence(ctx: Context, reports: list[FuzzReport[Any]], *, prefer_error: bool) -> Evidence:
    """Evidence for the checks; its primary exchange is a minimal failing one, else a typical one."""
    observed = [r for r in reports if r.last is not None]
    if not observed:
        stopped = "; ".join(r.stopped for r in reports if r.stopped) or "no case was generated"
        raise BudgetExhausted(stopped)
    findings = [f for r in observed for f in r.findings.values()]
    if findings:
        primary = min(findings, key=lambda f: f.size)
        return Evidence(ctx, primary.request, primary.exchange, data={"fuzz": reports})
    last = observed[-1].last
    assert last is not None
    if prefer_error:
        first = next((f for r in observed for f in [r.first_error] if f is not None), None)
        if first is not None:
            last = first
    return Evidence(ctx, last.request, last.exchange, data={"fuzz": reports})


def _valid_probe(ctx: Context) -> Any:
    """Judge each generated valid request; once the target refuses an optional capability (image
    input, a model-specific parameter) with a 4xx, requests using it are not sent again."""
    refused: set[str] = set()

    def probe(body: dict[str, Any]) -> Observation | None:
        used = oracles.capabilities_used(body)
        if used & refused:
            return None
        exchange = ctx.send(body)
        if exchange.status is not None and 400 <= exchange.status < 500:
            refused.update(used)
        return Observation(body, exchange, oracles.judge_valid(body, exchange, strict=ctx.profile.strict,
                                                               vendor=ctx.profile.vendor))

    return probe


def _invalid_probe(ctx: Context) -> Any:
    def probe(case: InvalidRequest) -> Observation:
        exchange = ctx.send(case.body)
        return Observation(case.body, exchange, oracles.judge_invalid(case.body, case.param, exchange,
                                                                      strict=ctx.profile.strict))

    return probe


def _health(ctx: Context, report: FuzzReport[Any]) -> None:
    """One plain request after the invalid ones: the target must still answer 200."""
    body = ctx.body(GREETING)
    try:
        exchange = ctx.send(body)
    except BudgetExhausted:
        return
    report.record(None, Observation(body, exchange, oracles.judge_health(exchange)), count=False)


@SUITE.scenario("fuzz", "fuzz_valid", requests=_ESTIMATE)
def fuzz_valid(ctx: Context) -> Evidence:
    """Generated valid requests over the whole parameter space (all roles, content parts, tools and
    tool round trips, stop, n, caps, logprobs, response_format, stream and stream_options, vendor
    fields in the vendor profile), each judged by the valid-request oracles and shrunk on failure."""
    examples = _examples(ctx)
    strategy = valid_requests(ctx.target.model, strict=ctx.profile.strict, vendor=ctx.profile.vendor,
                              max_tokens=ctx.max_tokens, multimodal=True)
    report = fuzz("fuzz_valid", strategy, _valid_probe(ctx), examples=examples,
                  seed_value=scenario_seed(ctx, "fuzz_valid"), shrink_calls=_shrink_calls(examples))
    return _evidence(ctx, [report], prefer_error=False)


def _fuzz_invalid(ctx: Context, name: str, stream: bool) -> Evidence:
    examples = _examples(ctx)
    strategy: st.SearchStrategy[InvalidRequest] = invalid_requests(
        ctx.target.model, strict=ctx.profile.strict, vendor=ctx.profile.vendor, stream=stream, max_tokens=ctx.max_tokens)
    report = fuzz(name, strategy, _invalid_probe(ctx), examples=examples, seed_value=scenario_seed(ctx, name),
                  shrink_calls=_shrink_calls(examples))
    _health(ctx, report)
    return _evidence(ctx, [report], prefer_error=True)


@SUITE.scenario("fuzz", "fuzz_invalid", requests=_ESTIMATE + 1)
def fuzz_invalid(ctx: Context) -> Evidence:
    """Generated requests that break exactly one rule (non-stream), each knowing the parameter the
    400 must name; then one plain request to see that the target is still healthy."""
    return _fuzz_invalid(ctx, "fuzz_invalid", stream=False)


@SUITE.scenario("fuzz", "fuzz_invalid", requests=_ESTIMATE + 1)
def fuzz_invalid_stream(ctx: Context) -> Evidence:
    """The same one-rule-broken requests with stream:true: the error must come as an HTTP 400
    before any stream starts; then one plain request to see that the target is still healthy."""
    return _fuzz_invalid(ctx, "fuzz_invalid_stream", stream=True)


@SUITE.scenario("fuzz", "fuzz_valid", "fuzz_invalid", "schemathesis", marks=("deep",), requests=1200)
def schemathesis_phases(ctx: Context) -> Evidence:
    """Schemathesis over the generated OpenAPI document: the coverage phase (deterministic boundary
    cases, positive and negative) and the fuzzing phase in both modes, each case classified
    against the full schema and judged by the oracles and schemathesis' own response checks."""
    examples = _examples(ctx)
    reports = schemathesis_run.run_phases(ctx, strict=ctx.profile.strict, vendor=ctx.profile.vendor,
                                          seed=scenario_seed(ctx, "schemathesis_phases"), examples=examples,
                                          shrink_calls=_shrink_calls(examples))
    return _evidence(ctx, reports, prefer_error=False)
