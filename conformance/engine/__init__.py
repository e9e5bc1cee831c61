"""The protocol-agnostic engine: verdicts, the scenario/check registry and the concurrent runner."""

from .budget import Budget
from .events import Event, Handler, PhaseChanged, ResultReady, RunFinished, RunStarted
from .judging import CaseJudge, Judged
from .model import (
    SEVERITY,
    BudgetExhausted,
    CannotJudge,
    NotApplicable,
    Outcome,
    Result,
    Skip,
    Verdict,
    fail,
    inconclusive,
    info,
    passed,
    warn,
)
from .registry import CheckSpec, Rule, ScenarioSpec, Suite
from .runner import Runner, RunOutcome

__all__ = [
    "SEVERITY",
    "Budget", "BudgetExhausted", "Event", "Handler", "PhaseChanged", "ResultReady", "RunFinished", "RunStarted", "CannotJudge", "CaseJudge", "CheckSpec", "Judged", "NotApplicable", "Outcome", "Result", "Rule", "RunOutcome", "Runner",
    "ScenarioSpec", "Skip", "Suite", "Verdict", "fail", "inconclusive", "info", "passed", "warn",
]
