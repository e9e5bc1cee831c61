"""No two checks may demand contradictory things of one exchange: for every non-stream answer the
hand-written scenarios get from the reference server, at least one legal finish_reason satisfies
every check at once (e.g. FIN-02 wanting "length" and FIN-03 wanting "tool_calls" for an answer
cut by the cap was such a pair)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator

import pytest

from conformance.checks.common import FINISH_REASONS
from conformance.engine import Budget, NotApplicable, Skip, Verdict
from conformance.evidence import Evidence
from conformance.profiles import get_profile
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL
from conformance.suite import load_suite
from conformance.target import Context, Target
from conformance.wire.client import RawClient

SUITE = load_suite()
# finish_reason values a right server may send; "function_call" is the deprecated spelling.
LEGAL = [f for f in FINISH_REASONS if f != "function_call"]


@pytest.fixture(scope="module")
def ctx() -> Iterator[Context]:
    with ReferenceServer() as server, RawClient(server.base_url) as client:
        yield Context(client, Target(server.base_url, EMBEDDED_MODEL), get_profile("compatible"), Budget())


def _with_finish(ev: Evidence, reason: str) -> Evidence:
    body = json.loads(ev.exchange.body)
    for choice in body.get("choices") or ():
        choice["finish_reason"] = reason
    exchange = dataclasses.replace(ev.exchange, body=json.dumps(body).encode())
    return dataclasses.replace(ev, exchange=exchange, related=dict(ev.related), data=copy.copy(ev.data))


def _fails(ev: Evidence, scenario: str) -> set[str]:
    spec = SUITE.scenarios[scenario]
    failed = set()
    for check in SUITE.checks.values():
        if not check.applies_to(spec) or check.rule.id == "FIN-01":  # FIN-01 judges the value itself
            continue
        try:
            outcome = check.func(ev)
        except (NotApplicable, Skip):
            continue
        if outcome.verdict is Verdict.FAIL:
            failed.add(check.name)
    return failed


JSON_SCENARIOS = sorted(name for name, s in SUITE.scenarios.items()
                        if "chat" in s.tags and "stream" not in s.tags and "fuzz" not in s.tags and "after" not in s.marks)


@pytest.mark.parametrize("scenario", JSON_SCENARIOS)
def test_some_finish_reason_satisfies_every_check(ctx: Context, scenario: str) -> None:
    ev = SUITE.scenarios[scenario].func(ctx)
    if not isinstance(ev, Evidence) or ev.exchange.status != 200 or ev.exchange.events is not None:
        pytest.skip("no JSON answer to vary")
    verdicts = {reason: _fails(_with_finish(ev, reason), scenario) for reason in LEGAL}
    assert any(not failed for failed in verdicts.values()), f"{scenario}: every finish_reason fails some check: {verdicts}"


def test_a_tool_call_cut_by_the_cap_has_a_consistent_reading(ctx: Context) -> None:
    """A required tool call whose arguments the cap cut (as real models' long arguments are): with
    finish_reason "length" no rule may FAIL it, and with "tool_calls" TOOL-04 does (broken JSON)."""
    ev = SUITE.scenarios["tools_required"].func(ctx)
    body = json.loads(ev.exchange.body)
    call = body["choices"][0]["message"]["tool_calls"][0]["function"]
    call["arguments"] = call["arguments"][: len(call["arguments"]) // 2]
    usage = body["usage"]
    usage["completion_tokens"] = ev.request["max_tokens"]
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    cut = dataclasses.replace(ev, exchange=dataclasses.replace(ev.exchange, body=json.dumps(body).encode()))
    assert _fails(_with_finish(cut, "length"), "tools_required") == set()
    assert "tools.arguments_are_json_text" in _fails(_with_finish(cut, "tool_calls"), "tools_required")
