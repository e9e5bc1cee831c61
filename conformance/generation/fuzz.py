"""The fuzz driver: a seeded Hypothesis run over one strategy, judged by the checks, failures shrunk.

``fuzz`` runs a ``@given`` test programmatically with the caller's seed, ``max_examples``,
``deadline=None``, no example database and shrinking on.  The test sends one case through
``probe`` (which returns the exchange and the outcome of every check that judged it) and raises
when a check FAILed.  Each check raises its own exception class, so Hypothesis treats the checks
as distinct bugs and shrinks each to its own minimal failing case; the driver records, per check,
the smallest failing request seen (the last replay Hypothesis makes is the minimal one) and
tallies every other verdict, so a check that never saw a case it could judge is told apart from
one that held.

Cost control: ``shrink_calls`` caps the requests spent after the first failure, shrinking ends
once ``examples`` cases were sent and every failure found is at most ``small_enough`` bytes (already a readable reproduction; each
further step costs a request), and a ``BudgetExhausted`` from the probe (the run's ``--max-requests`` / ``--max-tokens-total``) stops
the run cleanly.  Both keep everything found so far.  A ``CannotJudge`` from the probe (the target
stalled, or the run was stopped) ends the run at once, without shrinking; it is raised again
unless something was found.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, Phase, Verbosity, example, given, reject, seed, settings
from hypothesis import strategies as st

from ..engine import BudgetExhausted, CannotJudge, Outcome, Verdict
from ..wire.client import Exchange
from .determinism import seed_only

T = TypeVar("T")


@dataclass
class Observation:
    """What one probe saw: the body sent, its exchange and each check's outcome on it."""

    request: Any
    exchange: Exchange
    outcomes: dict[str, Outcome]

    @property
    def failures(self) -> list[tuple[str, Outcome]]:
        return [(name, o) for name, o in self.outcomes.items() if o.verdict is Verdict.FAIL]


@dataclass
class Finding(Generic[T]):
    """The smallest failing case seen for one check."""

    check: str
    outcome: Outcome
    case: T | None
    request: Any
    exchange: Exchange
    size: int
    occurrences: int = 1


@dataclass
class Tally:
    """How one check judged the cases of a run: a count per verdict, and the first outcome of each
    verdict with the request and exchange it came from."""

    counts: dict[Verdict, int] = field(default_factory=dict)
    first: dict[Verdict, tuple[Outcome, Any, Exchange]] = field(default_factory=dict)

    def add(self, outcome: Outcome, request: Any, exchange: Exchange) -> None:
        self.counts[outcome.verdict] = self.counts.get(outcome.verdict, 0) + 1
        self.first.setdefault(outcome.verdict, (outcome, request, exchange))


@dataclass
class FuzzReport(Generic[T]):
    """The outcome of one fuzz run; ``stopped`` says why it ended early ('' when it completed)."""

    name: str
    seed: int
    examples: int
    calls: int = 0
    findings: dict[str, Finding[T]] = field(default_factory=dict)  # by check name
    tallies: dict[str, Tally] = field(default_factory=dict)  # by check name
    stopped: str = ""
    elapsed: float = 0.0
    last: Observation | None = None
    first_error: Observation | None = None  # the first exchange answered >= 400

    def record(self, case: T | None, observation: Observation, *, count: bool = True) -> None:
        """Count one probe (unless ``count`` is false: a probe outside the generated cases), tally
        each check's verdict and keep, per check, the smallest failing request."""
        self.calls += count
        self.last = observation
        status = observation.exchange.status if observation.exchange is not None else None
        if self.first_error is None and status is not None and status >= 400:
            self.first_error = observation
        size = _size(observation.request)
        for name, outcome in observation.outcomes.items():
            self.tallies.setdefault(name, Tally()).add(outcome, observation.request, observation.exchange)
        for name, outcome in observation.failures:
            known = self.findings.get(name)
            if known is None:
                self.findings[name] = Finding(name, outcome, case, observation.request, observation.exchange, size)
                continue
            known.occurrences += 1
            if size <= known.size:
                known.outcome, known.case = outcome, case
                known.request, known.exchange, known.size = observation.request, observation.exchange, size


class _Stop(BaseException):
    """Ends a Hypothesis run from inside the test; a BaseException so Hypothesis does not treat it as a failure."""


class CheckFailed(AssertionError):
    """A check FAILed on a case; one subclass per check so Hypothesis shrinks each check separately."""


_CLASSES: dict[str, type[CheckFailed]] = {}
_CLASSES_LOCK = threading.Lock()


def _failure_class(check: str) -> type[CheckFailed]:
    with _CLASSES_LOCK:
        if check not in _CLASSES:
            _CLASSES[check] = type("Failed_" + "".join(c if c.isalnum() else "_" for c in check), (CheckFailed,), {})
        return _CLASSES[check]


def _size(request: Any) -> int:
    if isinstance(request, (bytes, bytearray)):
        return len(request)
    return len(json.dumps(request, default=str, ensure_ascii=False))


def fuzz(
    name: str,
    strategy: st.SearchStrategy[T],
    probe: Callable[[T], Observation | None],
    *,
    examples: int,
    seed_value: int,
    shrink_calls: int,
    small_enough: int = 0,
    explicit: Iterable[T] = (),
) -> FuzzReport[T]:
    """Run ``examples`` generated cases (plus ``explicit`` ones first) through ``probe``.

    Reproducible: the same seed draws the same cases, and against a deterministic target the
    same shrinking path.  Never raises for test failures; they are in the report's findings.
    A probe returning None did not send the case (e.g. it uses a capability the target refused):
    Hypothesis draws another.
    """
    report: FuzzReport[T] = FuzzReport(name, seed_value, examples)
    first_failure_at: list[int] = []
    halted: list[CannotJudge] = []
    started = time.perf_counter()

    def test(case: T) -> None:
        if first_failure_at and report.calls - first_failure_at[0] >= shrink_calls:
            report.stopped = f"shrink limit of {shrink_calls} requests reached"
            raise _Stop
        if (report.findings and report.calls >= examples
                and all(f.size <= small_enough for f in report.findings.values())):
            # Every failure is already small: shrinking further would only cost requests.  Not
            # before ``examples`` cases were sent: an early small failure must not end generation
            # (llama-server's first generated case failed, and 3 cases were judged instead of 20).
            raise _Stop
        try:
            observation = probe(case)
        except BudgetExhausted as exc:
            report.stopped = f"budget exhausted: {exc}"
            raise _Stop from None
        except CannotJudge as exc:  # the target stalled or the run stopped: nothing more can be sent
            halted.append(exc)
            raise _Stop from None
        if observation is None:
            reject()
        report.record(case, observation)
        failures = observation.failures
        if failures:
            if not first_failure_at:
                first_failure_at.append(report.calls)
            name, outcome = failures[0]
            raise _failure_class(name)(f"{name}: expected {outcome.expected}; observed {outcome.observed}")

    wrapped: Callable[..., None] = given(strategy)(test)
    for case in reversed(list(explicit)):  # Hypothesis runs explicit examples in reverse order of attachment
        wrapped = example(case)(wrapped)
    wrapped = settings(
        max_examples=max(1, examples),
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
        print_blob=False,
        verbosity=Verbosity.quiet,
    )(wrapped)
    wrapped = seed(seed_value)(wrapped)
    try:
        with seed_only():
            wrapped()
    except _Stop:
        pass
    except (Exception, BaseExceptionGroup):  # the failures themselves; their cases are in the report
        pass
    report.elapsed = time.perf_counter() - started
    if halted:
        if not report.findings:  # what was generated so far proves nothing by itself
            raise halted[0]
        report.stopped = f"could not judge further: {halted[0]}"
    return report
