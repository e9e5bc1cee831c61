"""The collection tree ``conformance::<clause>::<check>[<scenario>]`` and how a Result becomes an outcome.

Verdict -> pytest outcome: PASS and INFO pass; WARN passes and emits a ``ConformanceWarning``;
FAIL fails with expected/observed/curl; ERROR is an error at setup (the suite could not judge);
SKIP skips; INCONCLUSIVE is an xfail (judged, but the evidence did not settle it).  Every item
carries markers ``conformance``, its area and its level, and junit properties clause/level/verdict.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from ..engine import CheckSpec, Result, ScenarioSpec, Verdict
from ..terminal import printable
from . import STATE, ConformanceWarning
from .shards import ROOT


class ConformanceRoot(pytest.Collector):
    """The suite's root node; one child per clause id."""

    def collect(self) -> Iterator[pytest.Collector]:
        pairs = self.config.stash[STATE].pairs()
        by_clause: dict[str, list[tuple[CheckSpec, ScenarioSpec]]] = {}
        for check, scenario in pairs:
            by_clause.setdefault(check.rule.id, []).append((check, scenario))
        for clause, members in by_clause.items():
            yield ClauseNode.from_parent(self, name=clause, nodeid=f"{ROOT}::{clause}", pairs=members)


class ClauseNode(pytest.Collector):
    def __init__(self, *, pairs: list[tuple[CheckSpec, ScenarioSpec]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pairs = pairs

    def collect(self) -> Iterator[pytest.Item]:
        for check, scenario in self.pairs:
            yield ConformanceItem.from_parent(
                self, name=f"{check.name}[{scenario.name}]", nodeid=f"{self.nodeid}::{check.name}[{scenario.name}]",
                check=check, scenario=scenario,
            )


class ConformanceItem(pytest.Item):
    """One check judged on one scenario; the result comes from the engine run of its shard."""

    def __init__(self, *, check: CheckSpec, scenario: ScenarioSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.scenario = scenario
        self.key = f"{check.name}[{scenario.name}]"
        self.result: Result | None = None
        self.add_marker(pytest.mark.conformance)
        self.add_marker(getattr(pytest.mark, check.rule.area))
        self.add_marker(getattr(pytest.mark, check.rule.level.lower()))
        self.user_properties += [("clause", check.rule.id), ("level", check.rule.level), ("scenario", scenario.name)]

    def setup(self) -> None:
        state = self.config.stash[STATE]
        self.result = state.result_for(self.key)
        if self.result is None:
            if state.interrupted():
                pytest.fail("no result: the run was interrupted before this scenario ran", pytrace=False)
            pytest.skip("no result recorded: the check does not apply to what this scenario produced")
        self.user_properties.append(("verdict", self.result.verdict.value))
        if self.result.verdict is Verdict.ERROR:
            _not_gated(self.result, state.options)
            pytest.fail(f"the suite could not judge: {describe(self.result)}", pytrace=False)

    def runtest(self) -> None:
        result = self.result
        assert result is not None  # setup() skipped or failed otherwise
        options = self.config.stash[STATE].options
        if result.verdict in (Verdict.FAIL, Verdict.WARN):
            _not_gated(result, options)
        if result.verdict is Verdict.FAIL:
            pytest.fail(describe(result), pytrace=False)
        if result.verdict is Verdict.WARN and options.fail_on == "warn":
            pytest.fail(f"WARN fails the run (--conformance-fail-on warn): {describe(result)}", pytrace=False)
        if result.verdict is Verdict.SKIP:
            pytest.skip(result.note or "not applicable")
        if result.verdict is Verdict.INCONCLUSIVE:
            pytest.xfail(f"INCONCLUSIVE: {result.note}")
        if result.verdict is Verdict.WARN:
            warnings.warn(ConformanceWarning(describe(result)), stacklevel=1)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{self.check.rule.id} {self.key}"


def _not_gated(result: Result, options: Any) -> None:
    """xfail a FAIL/WARN/ERROR that --conformance-fail-on or a baseline waiver lets through."""
    from ..baseline import today_utc

    if options.fail_on == "never" or (options.fail_on == "fail" and result.verdict is Verdict.WARN):
        if result.verdict is not Verdict.WARN:
            pytest.xfail(f"{result.verdict.value}, not gated (--conformance-fail-on never): {describe(result)}")
        return
    waiver = options.waivers.entries.get(result.key) if options.waivers is not None else None
    if waiver is not None and not waiver.expired(today_utc()):
        pytest.xfail(f"{result.verdict.value}, waived until {waiver.expires} ({printable(waiver.reason)}): {describe(result)}")


def describe(result: Result) -> str:
    """A multi-line finding: clause and title, rule, expected/observed, note, and a curl reproducer."""
    lines = [f"{result.clause} {result.level} ({result.area}): {result.title}", f"rule: {result.rule}"]
    if result.expected or result.observed:
        lines += [f"expected: {result.expected}", f"observed: {result.observed}"]
    if result.note:
        lines.append(f"note: {result.note}")
    curls = [a["curl"] for a in result.artifacts if isinstance(a, dict) and a.get("curl")]
    if curls:
        lines.append(f"reproduce: {curls[0]}")
    return printable("\n".join(lines))  # a target's bytes must not drive the terminal
