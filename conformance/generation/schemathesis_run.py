"""Schemathesis' coverage and fuzzing phases (positive and negative) against the target.

Generation comes from schemathesis over ``openapi.build_document(cross_field=False)``, loaded
with an explicit ``schemathesis.Config`` (never discovered from the working directory) and one
schema-local ``map_case`` hook (never a process-global one) that keeps requests cheap and
answerable: the target's model, a small token cap, ``n`` <= 2, integral floats written as
integers, and — for positive cases only — the cross-field prerequisites restored.

Each case is sent through the suite's own client (budget, limits, redaction, curl line) and
judged by the caller (the suite's checks; schemathesis' own response checks would be a second
implementation of the same clauses).  The ground truth for a case is ``classify.classify`` on the
body actually sent, not schemathesis' generation mode: a "positive" case can still break a rule
the document cannot express, and a "negative" one can mutate a field the contract does not
enforce.

Coverage cases are deterministic boundary values and are reported as generated (not shrunk);
fuzzing cases go through ``fuzz.fuzz`` and are shrunk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.core import NotSet
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override

from ..engine import BudgetExhausted
from ..target import Context
from .classify import Expectation, classify
from .determinism import seed_only
from .fuzz import FuzzReport, Observation, fuzz
from .openapi import CHAT_PATH, build_document

PHASES = ("coverage", "fuzzing")
_MAX_N = 2
# (what the body deserves, the body sent, the exchange) -> the checks' outcomes on it
CaseJudge = Callable[[Expectation, Any, Any], Observation]


@dataclass(frozen=True)
class Request:
    """What is sent for a case: the body (JSON value or raw bytes) and extra headers."""

    body: Any
    headers: dict[str, str]


def load_schema(*, strict: bool, vendor: bool, seed: int, examples: int, model: str, max_tokens: int,
                base_url: str = "http://127.0.0.1") -> schemathesis.BaseSchema:
    """The generation document as a schemathesis schema with an explicit config and a local hook."""
    config = schemathesis.Config.from_dict({
        "seed": seed,
        "max-stream-events": 100_000,
        "request-timeout": 60,
        "generation": {
            "database": "none",
            "max-examples": max(1, examples),
            "mode": "all",
            "with-security-parameters": False,
            "allow-x00": False,
        },
        "phases": {"coverage": {"unexpected-methods": []}},
        "output": {"sanitization": {"sensitive-markers": ["authorization", "api-key", "api_key", "secret", "password"]}},
    })
    loaded = schemathesis.openapi.from_dict(build_document(strict=strict, vendor=vendor, cross_field=False), config=config)
    loaded.config.update(base_url=base_url)
    loaded.hook("map_case")(_cheap_and_answerable(model, max_tokens))
    return loaded


def operation(loaded: schemathesis.BaseSchema) -> Any:
    return loaded[CHAT_PATH]["POST"]


def coverage_cases(loaded: schemathesis.BaseSchema) -> list[Case]:
    """The coverage phase's deterministic cases (positive and negative), hooks applied."""
    op = operation(loaded)
    generator = CoverageGenerator(
        operation=op,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=loaded.config.generation_for(operation=op, phase="coverage"),
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    return list(generator)


def _cheap_and_answerable(model: str, max_tokens: int) -> Callable[[Any, Case], Case]:
    def map_case(context: Any, case: Case) -> Case:
        body = case.body
        if not isinstance(body, dict):  # negative cases can be bytes, lists or scalars
            return case
        body = _integral_floats_as_ints(body)
        if isinstance(body.get("model"), str) and body["model"]:
            body["model"] = model
        for key in ("max_tokens", "max_completion_tokens"):
            if _is_int(body.get(key)) and body[key] >= 1:
                body[key] = min(body[key], max_tokens)
        if "max_tokens" not in body and "max_completion_tokens" not in body:
            body["max_tokens"] = max_tokens
        if _is_int(body.get("n")) and 1 <= body["n"] <= 128:
            body["n"] = min(body["n"], _MAX_N)
        if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
            _restore_prerequisites(body)
        case.body = body
        return case

    return map_case


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integral_floats_as_ints(node: Any) -> Any:
    # OpenAPI 3.1 lets schemathesis spell integers as 1.0; JSON Schema agrees but many servers
    # (and api.openai.com's own parser) do not, and that is not what these tests are about.
    if isinstance(node, float) and node.is_integer() and abs(node) < 2**53:
        return int(node)
    if isinstance(node, dict):
        return {k: _integral_floats_as_ints(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_integral_floats_as_ints(v) for v in node]
    return node


def _restore_prerequisites(body: dict[str, Any]) -> None:
    """Make a positive case satisfy the cross-field rules the generation document leaves out."""
    if isinstance(body.get("stream_options"), dict):
        body["stream"] = True
    if _is_int(body.get("top_logprobs")):
        body["logprobs"] = True
    has_tools = isinstance(body.get("tools"), list) and bool(body["tools"])
    if not has_tools:
        if body.get("tool_choice") not in (None, "none"):
            body.pop("tool_choice")
        body.pop("parallel_tool_calls", None)


def case_request(case: Case) -> Request:
    """The body and headers to send for a case (raw bytes for non-JSON media types and bodies)."""
    media = case.media_type or "application/json"
    headers = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if media != "application/json":
        headers["Content-Type"] = media
    body = case.body
    if isinstance(body, NotSet):
        return Request(b"", headers)
    if isinstance(body, (bytes, bytearray)):
        return Request(bytes(body), headers)
    if media != "application/json":
        return Request(body.encode() if isinstance(body, str) else json.dumps(body).encode(), headers)
    return Request(body, headers)


def make_probe(ctx: Context, judge: CaseJudge, *, strict: bool, vendor: bool) -> Callable[[Case], Observation]:
    """A probe that sends one schemathesis case and has ``judge`` judge it as what it is."""

    def probe(case: Case) -> Observation:
        request = case_request(case)
        exchange = ctx.send(request.body, headers=request.headers or None)
        sent_as_json = not any(k.lower() == "content-type" for k in request.headers)
        # A body sent under another media type is refused for that reason alone: no parameter to name.
        expectation = (classify(request.body, strict=strict, vendor=vendor) if sent_as_json
                       else Expectation("invalid", (), "the body is not sent as application/json"))
        return judge(expectation, request.body, exchange)

    return probe


def run_phases(
    ctx: Context, judge: CaseJudge, *, strict: bool, vendor: bool, seed: int, examples: int, shrink_calls: int,
    phases: tuple[str, ...] = PHASES,
) -> list[FuzzReport[Case]]:
    """Run the selected phases; one report per phase and mode, in order."""
    with seed_only():  # the coverage phase draws values with Hypothesis too
        loaded = load_schema(strict=strict, vendor=vendor, seed=seed, examples=examples, model=ctx.target.model,
                             max_tokens=ctx.max_tokens, base_url=ctx.client.base_url.partition("?")[0])
        probe = make_probe(ctx, judge, strict=strict, vendor=vendor)
        reports: list[FuzzReport[Case]] = []
        if "coverage" in phases:
            reports.append(run_coverage(coverage_cases(loaded), probe, seed))
            if reports[-1].stopped.startswith("budget"):
                return reports
        if "fuzzing" in phases:
            op = operation(loaded)
            for offset, mode in enumerate((GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
                report = fuzz(f"schemathesis fuzzing ({mode.value})", op.as_strategy(mode), probe, examples=examples,
                              seed_value=seed + offset, shrink_calls=shrink_calls)
                reports.append(report)
                if report.stopped.startswith("budget"):
                    break
        return reports


def run_coverage(cases: list[Case], probe: Callable[[Case], Observation], seed: int) -> FuzzReport[Case]:
    """Send every coverage case once (they are explicit boundary cases: nothing to shrink)."""
    report: FuzzReport[Case] = FuzzReport("schemathesis coverage", seed, len(cases))
    started = time.perf_counter()
    for case in cases:
        try:
            report.record(case, probe(case))
        except BudgetExhausted as exc:
            report.stopped = f"budget exhausted: {exc}"
            break
    report.elapsed = time.perf_counter() - started
    return report
