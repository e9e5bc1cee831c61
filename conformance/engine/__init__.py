"""The protocol-agnostic engine: verdicts, the scenario/check registry and the concurrent runner."""

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
from .budget import Budget
from .events import Event, Handler, PhaseChanged, ResultReady, RunFinished, RunStarted
from .judging import CaseJudge, Judged
from .registry import CheckSpec, Rule, ScenarioSpec, Suite
from .runner import RunOutcome, Runner

__all__ = [
    "SEVERITY",
    "Budget", "BudgetExhausted", "Event", "Handler", "PhaseChanged", "ResultReady", "RunFinished", "RunStarted", "CannotJudge", "CaseJudge", "CheckSpec", "Judged", "NotApplicable", "Outcome", "Result", "Rule", "RunOutcome", "Runner",
    "ScenarioSpec", "Skip", "Suite", "Verdict", "fail", "inconclusive", "info", "passed", "warn",
]
