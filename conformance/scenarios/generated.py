"""Generated traffic: seeded Hypothesis and schemathesis runs judged by the suite's own checks.

Each generated exchange becomes Evidence with the tags a hand-written scenario of its kind would
carry (``classify.case_tags``) and is judged by every selected check on those tags, through the
runner's ``CaseJudge``; the fuzz driver shrinks each check's FAILs to a minimal failing request.
The scenario's result for a check is that minimal failure, else the first ERROR / WARN, else a
PASS naming how many generated cases the check judged (a check that judged none has no result).

The example count comes from the profile (``Profile.fuzz_examples``); ``--max-requests`` and
``--max-tokens-total`` stop a run cleanly, keeping what it found.  None of these scenarios is in
the smoke tier; ``schemathesis_phases`` (≈1000 coverage requests) is deep-tier only.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..engine import BudgetExhausted, CaseJudge, Judged, Outcome, Skip, Verdict
from ..evidence import Evidence, ExchangeArtifact
from ..generation import classify
from ..generation.classify import Expectation
from ..suite import SUITE
from ..target import Context
from .prompts import GREETING

if TYPE_CHECKING:
    from ..generation.fuzz import FuzzReport, Observation
    from ..generation.strategies import InvalidRequest

# Hypothesis and schemathesis (~0.4 s of imports) are imported by the scenarios that use them,
# in their worker threads: a run's first requests do not wait for them.

# Requests of a failure-free compatible run (20 examples); shrinking a failure adds up to 40.
_ESTIMATE = 20
# Every tag a generated case may carry (classify.case_tags): the checks on them judge the cases.
_VALID_TAGS = ("fuzz", "chat", "stream", "valid", "content_parts", "null_content", "capped", "n_capped")
_INVALID_TAGS = ("fuzz", "invalid", "invalid_stream", "chat", "valid")  # the health request is a valid chat
# The order in which a check's verdicts over many cases decide its one result (after a FAIL).
# Cases that could not decide (INCONCLUSIVE) do not make the run inconclusive: the rule was not
# exercised by generated traffic, which is information; cases it SKIPped alone give no result.
_PRECEDENCE = (Verdict.ERROR, Verdict.WARN, Verdict.PASS, Verdict.INFO, Verdict.INCONCLUSIVE)


def scenario_seed(ctx: Context, name: str) -> int:
    """The Hypothesis seed of one scenario: derived from the run's seed, distinct per scenario."""
    return zlib.crc32(f"{ctx.seed}:{name}".encode())


def _examples(ctx: Context) -> int:
    if ctx.profile.fuzz_examples <= 0:
        raise Skip(f"the {ctx.profile.name} profile generates no requests (fuzz_examples = 0)")
    return ctx.profile.fuzz_examples


def _shrink_calls(ctx: Context, examples: int) -> int:
    """Requests a run may spend after its first failure (generating the rest, then shrinking).  On
    the serial replay of a scenario that concurrency broke, as many as it has examples: the whole
    generation still fits, but the failures, shrunk once already, are not shrunk as far again (a
    target that breaks under concurrency often serializes requests, and each step costs a whole
    generation: llama-cpp-python spent 28 s of a 42 s replay shrinking)."""
    return max(10, examples) if ctx.replaying else max(10, 2 * examples)


def _small_enough(ctx: Context) -> int:
    """Shrinking stops at a failing request at most this many bytes long: 64 more than the smallest
    chat request for the target's model is already a readable reproduction, and each further
    shrinking step costs a request (on a target failing most invalid requests, most of a run's
    generated traffic was shrinking steps)."""
    return len(json.dumps(ctx.body(" ", max_tokens=1), ensure_ascii=False)) + 64


def judge_exchange(ctx: Context, judge: CaseJudge, expectation: Expectation, body: Any, exchange: Any) -> Observation:
    """One generated exchange judged by every check its tags select."""
    from ..generation.fuzz import Observation

    params = expectation.params if expectation.kind == "invalid" else None
    evidence = Evidence(ctx, body, exchange, param=params or None)
    return Observation(body, exchange, judge(evidence, classify.case_tags(expectation, body, exchange)))


def _valid_probe(ctx: Context, judge: CaseJudge) -> Any:
    """Judge each generated valid request; once the target refuses an optional capability (image
    input, a model-specific parameter) with a 4xx, requests using it are not sent again."""
    refused: set[str] = set()
    valid = Expectation("valid")

    def probe(body: dict[str, Any]) -> Observation | None:
        used = classify.capabilities_used(body)
        if used & refused:
            return None
        exchange = ctx.send(body)
        if exchange.status is not None and 400 <= exchange.status < 500:
            refused.update(used)
        return judge_exchange(ctx, judge, valid, body, exchange)

    return probe


def _invalid_probe(ctx: Context, judge: CaseJudge) -> Any:
    def probe(case: InvalidRequest) -> Observation:
        params = (case.param,) if case.param else ()
        return judge_exchange(ctx, judge, Expectation("invalid", params), case.body, ctx.send(case.body))

    return probe


def _health(ctx: Context, judge: CaseJudge, report: FuzzReport[Any]) -> None:
    """One plain request after the invalid ones: the target must still answer it (REQ-01 and the
    rules on every answer judge it like any valid request)."""
    body = ctx.body(GREETING)
    try:
        exchange = ctx.send(body)
    except BudgetExhausted:
        return
    report.record(None, judge_exchange(ctx, judge, Expectation("valid"), body, exchange), count=False)


def _verdicts(ctx: Context, reports: list[FuzzReport[Any]]) -> Judged:
    """One outcome per check over every case of the scenario's runs."""
    observed = [r for r in reports if r.last is not None]
    if not observed:
        stopped = "; ".join(r.stopped for r in reports if r.stopped) or "no case was generated"
        raise BudgetExhausted(stopped)
    cases = sum(r.calls for r in reports)
    stopped = "; ".join(f"{r.name}: {r.stopped}" for r in reports if r.stopped)
    outcomes: dict[str, Outcome] = {}
    for name in dict.fromkeys(n for r in reports for n in r.tallies):
        found = [(r, r.findings[name]) for r in reports if name in r.findings]
        if found:
            outcomes[name] = _minimal_failure(ctx, found, cases)
            continue
        counts = {v: sum(r.tallies[name].counts.get(v, 0) for r in reports if name in r.tallies) for v in Verdict}
        verdict = next((v for v in _PRECEDENCE if counts[v]), None)
        if verdict is None:
            continue  # every case skipped the rule: another clause judges what it lacked
        outcome, request, exchange = next(r.tallies[name].first[verdict] for r in reports
                                          if name in r.tallies and verdict in r.tallies[name].first)
        if verdict is Verdict.PASS:
            note = f"held on {counts[verdict]} judged case(s) ({cases} generated)" + (f"; {stopped}" if stopped else "")
            outcomes[name] = replace(outcome, note=note, evidence=dict(outcome.evidence, cases=counts[verdict]))
            continue
        what = "could not decide (the rule was not exercised)" if verdict is Verdict.INCONCLUSIVE else verdict.value
        note = f"{counts[verdict]} of {cases} generated case(s): {what}" + (f"; first: {outcome.note}" if outcome.note else "")
        outcomes[name] = replace(outcome, note=note, artifacts=[ExchangeArtifact("generated case", exchange)],
                                 evidence=dict(outcome.evidence, request=_jsonable(request)),
                                 # undecided generated cases are information, not an undecided run
                                 verdict=Verdict.INFO if verdict is Verdict.INCONCLUSIVE else verdict)
    last = observed[-1].last
    assert last is not None
    return Judged(outcomes, Evidence(ctx, last.request, last.exchange))


def _minimal_failure(ctx: Context, found: list[tuple[FuzzReport[Any], Any]], cases: int) -> Outcome:
    report, finding = min(found, key=lambda item: item[1].size)
    rule = getattr(finding.case, "rule", None)
    failing = sum(f.occurrences for _, f in found)
    what = ("failing request, shrunk within a smaller budget on the serial replay of a scenario concurrency broke"
            if ctx.replaying else "minimal failing request (shrunk)")
    note = (f"{report.name}: {what} of {failing} failing case(s) in {cases}; reproduce "
            f"with run seed {ctx.seed} (--seed; Hypothesis seed {report.seed})" + (f"; broken rule: {rule}" if rule else "")
            + (f"; {finding.outcome.note}" if finding.outcome.note else ""))
    return replace(finding.outcome, note=note, artifacts=[ExchangeArtifact("minimal failing request", finding.exchange)],
                   evidence=dict(finding.outcome.evidence, request=_jsonable(finding.request), seed=ctx.seed,
                                 hypothesis_seed=report.seed, curl=finding.exchange.request.curl(),
                                 generator=report.name, occurrences=failing, cases=cases))


def _jsonable(request: Any) -> Any:
    if isinstance(request, bytes):
        request = request.decode("utf-8", "replace")
    return json.loads(json.dumps(request, default=str))


@SUITE.scenario(*_VALID_TAGS, "fuzz_valid", requests=_ESTIMATE, judges=True)
def fuzz_valid(ctx: Context, judge: CaseJudge) -> Judged:
    """Generated valid requests over the whole parameter space (all roles, content parts, tools and
    tool round trips, stop, n, caps, logprobs, response_format, stream and stream_options, vendor
    fields in the vendor profile), each judged by the checks of its kind and shrunk on failure."""
    from ..generation.fuzz import fuzz
    from ..generation.strategies import valid_requests

    examples = _examples(ctx)
    strategy = valid_requests(ctx.target.model, strict=ctx.profile.strict, vendor=ctx.profile.vendor,
                              max_tokens=ctx.max_tokens, multimodal=True)
    report = fuzz("fuzz_valid", strategy, _valid_probe(ctx, judge), examples=examples,
                  seed_value=scenario_seed(ctx, "fuzz_valid"), shrink_calls=_shrink_calls(ctx, examples),
                  small_enough=_small_enough(ctx))
    return _verdicts(ctx, [report])


def _fuzz_invalid(ctx: Context, judge: CaseJudge, name: str, stream: bool) -> Judged:
    from ..generation.fuzz import fuzz
    from ..generation.strategies import invalid_requests

    examples = _examples(ctx)
    strategy = invalid_requests(
        ctx.target.model, strict=ctx.profile.strict, vendor=ctx.profile.vendor, stream=stream, max_tokens=ctx.max_tokens)
    report = fuzz(name, strategy, _invalid_probe(ctx, judge), examples=examples, seed_value=scenario_seed(ctx, name),
                  shrink_calls=_shrink_calls(ctx, examples), small_enough=_small_enough(ctx))
    _health(ctx, judge, report)
    return _verdicts(ctx, [report])


@SUITE.scenario(*_INVALID_TAGS, "fuzz_invalid", requests=_ESTIMATE + 1, judges=True)
def fuzz_invalid(ctx: Context, judge: CaseJudge) -> Judged:
    """Generated requests that break exactly one rule (non-stream), each knowing the parameter the
    400 must name; then one plain request to see that the target is still healthy."""
    return _fuzz_invalid(ctx, judge, "fuzz_invalid", stream=False)


@SUITE.scenario(*_INVALID_TAGS, "fuzz_invalid", requests=_ESTIMATE + 1, judges=True)
def fuzz_invalid_stream(ctx: Context, judge: CaseJudge) -> Judged:
    """The same one-rule-broken requests with stream:true: the error must come as an HTTP 400
    before any stream starts; then one plain request to see that the target is still healthy."""
    return _fuzz_invalid(ctx, judge, "fuzz_invalid_stream", stream=True)


@SUITE.scenario(*_VALID_TAGS, *_INVALID_TAGS, "unsettled", "schemathesis", marks=("deep",), requests=1200, judges=True)
def schemathesis_phases(ctx: Context, judge: CaseJudge) -> Judged:
    """Schemathesis over the generated OpenAPI document: the coverage phase (deterministic boundary
    cases, positive and negative) and the fuzzing phase in both modes, each case classified
    against the full schema and judged by the checks of its kind."""
    from ..generation import schemathesis_run

    examples = _examples(ctx)

    def probe(expectation: Expectation, body: Any, exchange: Any) -> Observation:
        return judge_exchange(ctx, judge, expectation, body, exchange)

    reports = schemathesis_run.run_phases(ctx, probe, strict=ctx.profile.strict, vendor=ctx.profile.vendor,
                                          seed=scenario_seed(ctx, "schemathesis_phases"), examples=examples,
                                          shrink_calls=_shrink_calls(ctx, examples))
    return _verdicts(ctx, reports)
