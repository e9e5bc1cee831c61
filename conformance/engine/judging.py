"""Scenarios that judge their own cases: generated traffic, judged by the same checks.

A scenario registered with ``judges=True`` is called with a ``CaseJudge`` as well as the context:
it sends many requests (a fuzz run), judges each exchange with ``judge(evidence, tags)`` -- every
selected check whose ``on`` tags meet ``tags``, exactly as if a hand-written scenario had produced
that evidence -- and uses the verdicts as it likes (a fuzz driver shrinks on FAILs).  It returns
a ``Judged``: one outcome per check, which the runner records as that check's result for the
scenario.  So a clause has one implementation, whichever way its evidence was obtained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import Outcome

# (evidence, the tags this evidence carries) -> {check name: outcome}; checks that do not apply
# to the evidence (no shared tag, or NotApplicable) are absent.
CaseJudge = Callable[[Any, frozenset[str]], dict[str, Outcome]]


@dataclass
class Judged:
    """What a self-judging scenario returns: the outcome of each check over all its cases, and
    the evidence to show for checks whose outcome carries no artifact of its own."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    evidence: Any = None

    def artifacts(self) -> list[Any]:
        return list(getattr(self.evidence, "artifacts", lambda: [])())
