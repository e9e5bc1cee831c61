"""Verdicts, outcomes and results: the vocabulary shared by runner, checks and reports.

Nothing here knows about HTTP or OpenAI.  A check returns an `Outcome`; the runner turns it
into a `Result` by adding who (check, clause, level) and where (scenario).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class Verdict(str, Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    WARN = "WARN"
    SKIP = "SKIP"
    ERROR = "ERROR"
    INCONCLUSIVE = "INCONCLUSIVE"
    INFO = "INFO"


# Severity order used for "worst verdict" summaries and for --fail-on.
SEVERITY: dict[Verdict, int] = {
    Verdict.PASS: 0,
    Verdict.INFO: 0,
    Verdict.SKIP: 1,
    Verdict.INCONCLUSIVE: 2,
    Verdict.WARN: 3,
    Verdict.ERROR: 4,
    Verdict.FAIL: 5,
}


class Artifact(Protocol):
    """Something a finding can point at to be reproduced (an HTTP exchange, in practice)."""

    def to_dict(self) -> dict[str, Any]: ...


class Skip(Exception):
    """Raised by a scenario or check: the rule does not apply here (capability refused, option absent)."""


class NotApplicable(Exception):
    """Raised by a check: the rule does not concern this scenario at all; no result is recorded."""


class CannotJudge(Exception):
    """Raised by a check: the evidence needed to judge is missing (e.g. the body was not JSON)."""


class BudgetExhausted(Exception):
    """Raised when the request or token budget of the run is spent."""


@dataclass
class Outcome:
    """What one check concluded about one scenario."""

    verdict: Verdict
    expected: str = ""
    observed: str = ""
    note: str = ""
    artifacts: list[Artifact] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def passed(note: str = "", **evidence: Any) -> Outcome:
    return Outcome(Verdict.PASS, note=note, evidence=evidence)


def fail(expected: str, observed: str, *, note: str = "", artifacts: list[Artifact] | None = None, **evidence: Any) -> Outcome:
    """The clause is violated.  The runner lowers this to WARN for SHOULD clauses."""
    return Outcome(Verdict.FAIL, expected, observed, note, list(artifacts or []), evidence)


def warn(expected: str, observed: str, *, note: str = "", artifacts: list[Artifact] | None = None, **evidence: Any) -> Outcome:
    """Legal, but known to break some clients."""
    return Outcome(Verdict.WARN, expected, observed, note, list(artifacts or []), evidence)


def info(note: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.INFO, note=note, evidence=evidence)


def inconclusive(note: str, **evidence: Any) -> Outcome:
    return Outcome(Verdict.INCONCLUSIVE, note=note, evidence=evidence)


@dataclass
class Result:
    """One row of a report: check x scenario."""

    check: str
    clause: str
    level: str
    area: str
    title: str
    rule: str
    scenario: str
    verdict: Verdict
    expected: str = ""
    observed: str = ""
    note: str = ""
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0

    @property
    def key(self) -> str:
        """Stable identity across runs, used by baselines and pytest node ids."""
        return f"{self.check}[{self.scenario}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "check": self.check,
            "clause": self.clause,
            "level": self.level,
            "area": self.area,
            "title": self.title,
            "rule": self.rule,
            "scenario": self.scenario,
            "verdict": self.verdict.value,
            "expected": self.expected,
            "observed": self.observed,
            "note": self.note,
            "artifacts": self.artifacts,
            "evidence": self.evidence,
            "duration": round(self.duration, 4),
        }
