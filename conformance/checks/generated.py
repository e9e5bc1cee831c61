"""Verdicts over generated traffic: one check per clause the invariant oracles can break.

A check looks at the fuzz reports of its scenario and FAILs with the shrunk minimal failing
request for its clause (the request, the seed that reproduces the run, a curl line, and the
exchange as artifact); otherwise it PASSes, noting how many generated cases held.
"""

from __future__ import annotations

import json
from typing import Any

from ..engine import Outcome, Skip, fail, passed
from ..evidence import Evidence, ExchangeArtifact
from ..generation.fuzz import Finding, FuzzReport
from ..suite import SUITE

_VALID = ("fuzz_valid",)
_INVALID = ("fuzz_invalid",)
_ANY = ("fuzz",)

# (clause, scenario tags, rule stated in the check's docstring)
_CLAUSES: list[tuple[str, tuple[str, ...], str]] = [
    ("HTTP-01", _ANY, "Every generated request gets an HTTP response within the limits."),
    ("HTTP-02", _ANY, "Every generated JSON answer declares application/json and is one JSON value."),
    ("REQ-01", _ANY, "Every generated valid request is answered 200 (a 4xx with the envelope is allowed only for an optional capability such as image input); the target still answers 200 after the invalid ones."),
    ("REQ-02", _VALID, "Generated valid requests whose messages use text-part arrays are answered 200."),
    ("REQ-03", _VALID, "Generated valid requests replaying an assistant tool-call turn with content null are answered 200."),
    ("ENV-01", _VALID, "The answer to every generated valid non-stream request validates against the response schema."),
    ("CHO-01", _VALID, "The answer to every generated valid request has exactly n choices."),
    ("USE-02", _VALID, "In every generated answer's usage, total_tokens == prompt_tokens + completion_tokens."),
    ("FIN-02", _VALID, "When every choice of a generated answer finished 'length', completion_tokens equals n × the token cap."),
    ("SSE-01", _VALID, "Every generated stream request is answered with Content-Type text/event-stream."),
    ("SSE-03", _VALID, "Every generated stream ends with data: [DONE] and nothing after it."),
    ("SSE-15", _VALID, "Every generated non-stream request is answered with application/json, not SSE."),
    ("SSE-18", _VALID, "Every generated stream reassembles into a valid non-stream response."),
    ("SSE-19", _VALID, "Every chunk of every generated stream validates against the chunk schema."),
    ("ERR-01", _ANY, "Every error answer to generated traffic is the JSON envelope {error: {message, type, param, code}}."),
    ("ERR-02", _INVALID, "Every generated request breaking a rule is answered 400 (not 2xx or another 4xx; 422 only outside openai-strict)."),
    ("ERR-03", _ANY, "No generated request, valid or invalid, is answered 5xx."),
    ("ERR-04", _INVALID, "The error for a generated invalid request names the broken parameter in error.param."),
    ("SSE-13", _INVALID, "A generated invalid request with stream:true is refused with an HTTP error, not a 200 stream."),
    ("ERR-08", _INVALID, "Generated invalid requests are answered 400 rather than 422."),
]


def reports(ev: Evidence) -> list[FuzzReport[Any]]:
    value = ev.data.get("fuzz")
    if not isinstance(value, list):
        raise Skip("no generated traffic in this scenario")
    return value


def _curl(finding: Finding[Any]) -> str:
    return finding.exchange.request.curl()


def judge_clause(clause: str, ev: Evidence) -> Outcome:
    """FAIL with the minimal failing request for ``clause``, or PASS with the case count."""
    runs = reports(ev)
    found = [(r, r.findings[clause]) for r in runs if clause in r.findings]
    cases = sum(r.calls for r in runs)
    if not found:
        stopped = "; ".join(f"{r.name}: {r.stopped}" for r in runs if r.stopped)
        return passed(f"{cases} generated case(s) held" + (f" ({stopped})" if stopped else ""), cases=cases)
    report, finding = min(found, key=lambda item: item[1].size)
    request = finding.request if not isinstance(finding.request, bytes) else finding.request.decode("utf-8", "replace")
    rule = getattr(finding.case, "rule", None)
    note = (f"{report.name}: minimal failing request (shrunk) of {finding.occurrences} failing case(s) "
            f"in {cases}; reproduce with run seed {ev.ctx.seed} (--seed; Hypothesis seed {report.seed})"
            + (f"; broken rule: {rule}" if rule else ""))
    return fail(finding.expected, finding.observed, note=note,
                artifacts=[ExchangeArtifact("minimal failing request", finding.exchange)],
                request=json.loads(json.dumps(request, default=str)), seed=ev.ctx.seed, hypothesis_seed=report.seed,
                curl=_curl(finding),
                generator=report.name, occurrences=finding.occurrences, cases=cases)


def _register(clause: str, tags: tuple[str, ...], doc: str) -> None:
    def check(ev: Evidence) -> Outcome:
        return judge_clause(clause, ev)

    check.__name__ = f"fuzz_{clause.lower().replace('-', '_')}"
    check.__qualname__ = check.__name__
    check.__doc__ = doc
    SUITE.check(clause, on=tags)(check)


for _clause, _tags, _doc in _CLAUSES:
    _register(_clause, _tags, _doc)
