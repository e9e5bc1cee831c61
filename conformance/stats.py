"""Sequential decisions for sampled evidence: when may a run of samples turn into a FAIL?

A sampled check states a null hypothesis H0 that a conforming server satisfies ("n choices are
drawn independently", "temperature 1.5 is honoured") and a per-trial bound: under H0 a
*suspicious* trial happens with probability at most ``p_null``.  Trials are drawn one at a time:

* one *reassuring* trial ends the test in favour of H0 (a conforming server usually costs one);
* ``k`` suspicious trials in a row reject H0, where ``k`` is the smallest count with
  ``p_null ** k <= alpha``: the chance of a false FAIL is at most ``alpha`` (the false-alarm
  budget, 1 % by default);
* *neutral* trials (no information either way) only spend the trial cap; reaching it without a
  decision is INCONCLUSIVE, never FAIL.

Because a reassuring trial stops the test, the suspicious trials that reject are necessarily the
first ``k`` informative ones, so the bound holds without any correction for optional stopping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

DEFAULT_FALSE_ALARM = 0.01


class Trial(str, Enum):
    SUSPICIOUS = "suspicious"
    REASSURING = "reassuring"
    NEUTRAL = "neutral"


class Decision(str, Enum):
    CONTINUE = "continue"
    ACCEPT = "accept"  # H0 holds: the control is honoured
    REJECT = "reject"  # H0 rejected at the false-alarm budget: the control is not honoured
    UNDECIDED = "undecided"  # the trial cap was reached first: INCONCLUSIVE


def runs_needed(p_null: float, alpha: float) -> int:
    """The smallest k with p_null ** k <= alpha (suspicious trials needed to reject H0)."""
    if not 0 < p_null < 1 or not 0 < alpha < 1:
        raise ValueError(f"p_null and alpha must lie in (0, 1): {p_null}, {alpha}")
    return max(1, math.ceil(math.log(alpha) / math.log(p_null) - 1e-9))


@dataclass
class SequentialTest:
    """One sequential test; feed it trials with ``record`` until ``decision`` is final."""

    p_null: float
    alpha: float = DEFAULT_FALSE_ALARM
    max_trials: int = 12
    suspicious: int = 0
    neutral: int = 0
    reassured: bool = False

    def __post_init__(self) -> None:
        self.needed = runs_needed(self.p_null, self.alpha)
        if self.max_trials < self.needed:
            raise ValueError(f"max_trials {self.max_trials} < {self.needed} trials needed to reach alpha {self.alpha}")

    @property
    def trials(self) -> int:
        return self.suspicious + self.neutral + int(self.reassured)

    @property
    def decision(self) -> Decision:
        if self.reassured:
            return Decision.ACCEPT
        if self.suspicious >= self.needed:
            return Decision.REJECT
        if self.trials >= self.max_trials:
            return Decision.UNDECIDED
        return Decision.CONTINUE

    @property
    def p_value(self) -> float:
        """Upper bound on the probability, under H0, of the suspicious run seen so far."""
        return self.p_null ** self.suspicious

    def record(self, trial: Trial) -> Decision:
        if self.decision is not Decision.CONTINUE:
            raise RuntimeError(f"the test is already decided: {self.decision.value}")
        if trial is Trial.REASSURING:
            self.reassured = True
        elif trial is Trial.SUSPICIOUS:
            self.suspicious += 1
        else:
            self.neutral += 1
        return self.decision

    def evidence(self) -> dict[str, Any]:
        """What the report shows: the method, the budget and how the trials fell."""
        return {
            "method": "sequential run test: reject after k suspicious trials with p_null**k <= alpha",
            "false_alarm_budget": self.alpha,
            "p_null": self.p_null,
            "suspicious_needed": self.needed,
            "trials": self.trials,
            "suspicious": self.suspicious,
            "neutral": self.neutral,
            "reassured": self.reassured,
            "p_value_bound": round(self.p_value, 6),
            "decision": self.decision.value,
        }
