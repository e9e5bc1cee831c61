"""Schemathesis' coverage and fuzzing phases (positive and negative) against the target.

Generation comes from schemathesis over ``openapi.build_document(cross_field=False)``, loaded
with an explicit ``schemathesis.Config`` (never discovered from the working directory) and one
schema-local ``map_case`` hook (never a process-global one) that keeps requests cheap and
answerable: the target's model, a small token cap, ``n`` <= 2, integral floats written as
integers, and — for positive cases only — the cross-field prerequisites restored.

Each case is sent through the suite's own client (budget, limits, redaction, curl line) and
judged twice: by schemathesis' ``validate_response`` with the built-in ``not_a_server_error``,
``content_type_conformance`` and ``response_schema_conformance`` checks, and by the suite's
oracles plugged in as an ``additional_checks`` function.  The ground truth for a case is
``oracles.classify`` on the body actually sent, not schemathesis' generation mode: a "positive"
case can still break a rule the document cannot express, and a "negative" one can mutate a field
the contract does not enforce.

Coverage cases are deterministic boundary values and are reported as generated (not shrunk);
fuzzing cases go through ``fuzz.fuzz`` and are shrunk.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.transport import Response
from schemathesis.errors import FailureGroup
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from ..engine import BudgetExhausted
from ..target import Context
from . import oracles
from .fuzz import FuzzReport, Observation, fuzz
from .openapi import CHAT_PATH, build_document
from .oracles import Violation
from ..wire.redact import cut

PHASES = ("coverage", "fuzzing")
_MAX_N = 2
_BUILTIN_CHECKS = (not_a_server_error, content_type_conformance, response_schema_conformance)


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


def _as_schemathesis_response(exchange: Any, url: str, request: Request) -> Response:
    headers: dict[str, list[str]] = {}
    for name, value in exchange.headers:
        headers.setdefault(name.lower(), []).append(value)
    content = request.body if isinstance(request.body, bytes) else json.dumps(request.body).encode()
    prepared = requests.Request("POST", url, headers=request.headers, data=content).prepare()
    return Response(exchange.status, headers, exchange.body, prepared, exchange.elapsed, True)


def make_probe(ctx: Context, *, strict: bool, vendor: bool) -> Callable[[Case], Observation]:
    """A probe that sends one schemathesis case and judges it with the built-ins and the oracles."""
    url = ctx.client.url(CHAT_PATH)
    auth = {ctx.target.auth_header: "[redacted]"}

    def probe(case: Case) -> Observation:
        request = case_request(case)
        exchange = ctx.send(request.body, headers=request.headers or None)
        sent_as_json = not any(k.lower() == "content-type" for k in request.headers)
        # A body sent under another media type is refused for that reason alone: no parameter to name.
        expectation = (oracles.classify(request.body, strict=strict, vendor=vendor) if sent_as_json
                       else oracles.Expectation("invalid", (), "the body is not sent as application/json"))
        found = oracles.judge(expectation, request.body, exchange, strict=strict, vendor=vendor)
        if exchange.status is None:
            return Observation(request.body, exchange, found)

        def conformance_oracles(check_ctx: CheckContext, response: Response, checked: Case) -> bool:
            """The suite's invariant oracles (status, envelope, schemas, SSE framing) as a schemathesis check."""
            if found:
                raise AssertionError("; ".join(f"{v.clause}: {v.observed}" for v in found))
            return True

        response = _as_schemathesis_response(exchange, url, request)
        try:
            case.validate_response(response, checks=list(_BUILTIN_CHECKS), additional_checks=[conformance_oracles],
                                   headers=auth)
        except FailureGroup as group:
            seen = {v.clause for v in found}
            for failure in group.exceptions:
                clause = _builtin_clause_for(failure, exchange, expectation)
                if clause is not None and clause not in seen:
                    seen.add(clause)
                    found.append(Violation(clause, "schemathesis check passes", cut(f"{failure.title}: {failure.message}", 400)))
        return Observation(request.body, exchange, found)

    return probe


def _builtin_clause_for(failure: Any, exchange: Any, expectation: oracles.Expectation) -> str | None:
    """The clause a schemathesis built-in failure belongs to (None: it is our own check's failure)."""
    title = getattr(failure, "title", "")
    if "Custom check failed" in title or "conformance_oracles" in str(failure):
        return None
    if expectation.kind == "either" and exchange.status is not None and exchange.status < 500 and "schema" not in title.lower():
        return None
    if "Server error" in title:
        return "REQ-01" if expectation.kind == "valid" else "ERR-03"
    if "content type" in title.lower() or "Content-Type" in title:
        return "HTTP-02"
    if exchange.status is not None and exchange.status >= 400:
        return "ERR-01"
    return "SSE-19" if exchange.events is not None else "ENV-01"


def run_phases(
    ctx: Context, *, strict: bool, vendor: bool, seed: int, examples: int, shrink_calls: int,
    phases: tuple[str, ...] = PHASES,
) -> list[FuzzReport[Case]]:
    """Run the selected phases; one report per phase and mode, in order."""
    loaded = load_schema(strict=strict, vendor=vendor, seed=seed, examples=examples, model=ctx.target.model,
                         max_tokens=ctx.max_tokens, base_url=ctx.client.base_url.partition("?")[0])
    probe = make_probe(ctx, strict=strict, vendor=vendor)
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
