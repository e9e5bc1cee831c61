"""A suite is a set of scenarios (how to obtain evidence) and checks (rules judged on it).

A scenario is a function `ctx -> evidence` that talks to the target.  A check is a function
`evidence -> Outcome` that states one rule in its docstring.  Checks attach to scenarios by tag,
so one request can feed many rules (requests cost money on real targets).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .model import Outcome


@dataclass(frozen=True)
class Rule:
    """The clause a check enforces: an id, an RFC 2119 level, an area and a one-line title."""

    id: str
    level: str
    area: str
    title: str


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    func: Callable[..., Any]
    tags: frozenset[str]
    marks: frozenset[str]  # free-form labels a profile selects on (e.g. "smoke", "deep", "vendor")
    requests: int  # how many requests it sends, for budgeting and docs
    doc: str
    judges: bool = False  # called as func(ctx, judge) and returns a Judged (see judging.py)
    covers: frozenset[str] = frozenset()  # what its requests probe, as data for coverage reports
    # How long it takes, in plain short requests sent one after the other (default: ``requests``).
    # The runner starts the costliest first, so that a long scenario does not start last and
    # keep the run going after everything else has finished.
    cost: float = 1.0


@dataclass(frozen=True)
class CheckSpec:
    name: str
    rule: Rule
    func: Callable[[Any], Outcome]
    on: frozenset[str]  # scenario tags (a scenario's own name is one of its tags)
    marks: frozenset[str]
    doc: str
    # What the rule exercises, as opaque "<surface>.<field>:<direction>" strings the engine never
    # interprets (conformance/coverage.py does); "*" as the field matches every field.
    covers: frozenset[str] = frozenset()

    def applies_to(self, scenario: ScenarioSpec) -> bool:
        return bool(self.on & scenario.tags)


@dataclass
class Suite:
    """Registry of scenarios and checks; decorators fill it at import time."""

    rule_lookup: Callable[[str], Rule]
    scenarios: dict[str, ScenarioSpec] = field(default_factory=dict)
    checks: dict[str, CheckSpec] = field(default_factory=dict)

    def scenario(
        self, *tags: str, marks: Iterable[str] = (), requests: int = 1, judges: bool = False,
        covers: Iterable[str] = (), cost: float | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a scenario.  ``tags`` name the evidence it produces (checks attach by tag); a
        scenario that ``judges`` its own cases lists every tag its cases may carry; ``covers`` says
        what its requests probe (see CheckSpec.covers), for probes whose checks are generic;
        ``cost`` how long it takes (see ScenarioSpec.cost) when that is not ``requests``."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            name = func.__name__
            if name in self.scenarios:
                raise ValueError(f"duplicate scenario {name}")
            # A scenario run after the others ("after") judges the run itself, not one exchange:
            # the rules on every exchange ("any") do not apply to it.
            universal = () if "after" in marks else ("any",)
            self.scenarios[name] = ScenarioSpec(
                name, func, frozenset((name, *universal, *tags)), frozenset(marks), requests, _doc(func), judges,
                frozenset(covers), float(requests if cost is None else cost),
            )
            return func

        return register

    def check(
        self, clause_id: str, *, on: str | Iterable[str], marks: Iterable[str] = (), covers: Iterable[str] = ()
    ) -> Callable[[Callable[[Any], Outcome]], Callable[[Any], Outcome]]:
        tags = frozenset([on] if isinstance(on, str) else on)

        def register(func: Callable[[Any], Outcome]) -> Callable[[Any], Outcome]:
            name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
            if name in self.checks:
                raise ValueError(f"duplicate check {name}")
            doc = _doc(func)
            if not doc:
                raise ValueError(f"check {name} must state its rule in a docstring")
            self.checks[name] = CheckSpec(name, self.rule_lookup(clause_id), func, tags, frozenset(marks), doc,
                                          frozenset(covers))
            return func

        return register

    def validate(self) -> None:
        """The tag wiring holds: every tag a check waits for is produced by some scenario, and every
        scenario feeds some check.  Raises ValueError naming each broken link."""
        produced = set().union(*(s.tags for s in self.scenarios.values()))
        problems = [f"check {c.name} waits for tag(s) {sorted(c.on - produced)} that no scenario produces"
                    for c in self.checks.values() if c.on - produced]
        problems += [f"scenario {s.name} feeds no check" for s in self.scenarios.values()
                     if not any(c.applies_to(s) for c in self.checks.values())]
        if problems:
            raise ValueError("; ".join(problems))

    def select(
        self,
        include_check: Callable[[CheckSpec], bool],
        include_scenario: Callable[[ScenarioSpec], bool],
    ) -> tuple[list[CheckSpec], list[ScenarioSpec]]:
        """The checks a caller wants, and the wanted scenarios that feed at least one of them."""
        checks = [c for c in self.checks.values() if include_check(c)]
        scenarios = [s for s in self.scenarios.values() if include_scenario(s) and any(c.applies_to(s) for c in checks)]
        checks = [c for c in checks if any(c.applies_to(s) for s in scenarios)]
        return checks, scenarios


def _doc(func: Callable[..., Any]) -> str:
    return inspect.cleandoc(func.__doc__ or "")
