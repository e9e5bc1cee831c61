"""Run scenarios concurrently and judge each with the checks attached to it.

The runner is protocol-agnostic: it calls scenario functions with an opaque context and check
functions with whatever evidence the scenario returned.  Everything that goes wrong inside a
scenario or a check becomes a verdict (SKIP / ERROR), never an exception out of `run`; a scenario
or check raising `NotApplicable` yields no result at all.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from .judging import Judged
from .model import BudgetExhausted, CannotJudge, NotApplicable, Outcome, Result, Skip, Verdict
from .registry import CheckSpec, ScenarioSpec

Redact = Callable[[str], str]
_REPLAY_MISSES = 2  # serial replays in a row that fail again end the replay phase
_KEPT_EVIDENCE = 4  # concurrent evidence kept for the interference finding (bodies can be MiBs each)


@dataclass
class Replay:
    """A scenario whose concurrent run tripped ``replay_if``, run again alone."""

    scenario: str
    concurrent: list[Result]
    evidence: Any  # what the concurrent run returned (its exchanges show the interference)
    serial: list[Result]
    cleared: bool  # the serial run no longer trips replay_if: the trouble came from concurrency


@dataclass
class RunOutcome:
    results: list[Result] = field(default_factory=list)
    replays: list[Replay] = field(default_factory=list)
    interrupted: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at


def _lower_by_level(outcome: Outcome, level: str) -> Verdict:
    """A violated SHOULD is a warning and a violated MAY is information, whatever the check said."""
    if outcome.verdict is Verdict.FAIL and level == "SHOULD":
        return Verdict.WARN
    if outcome.verdict in (Verdict.FAIL, Verdict.WARN) and level == "MAY":
        return Verdict.INFO
    return outcome.verdict


def _single_line(text: str) -> str:
    """Reasons are one line: line breaks quoted from a target's bytes are shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _SharedArtifacts:
    """The evidence's own artifacts, rendered once per scenario: every failing check of a scenario
    points at the same transcripts instead of holding its own copy (up to 64 KiB each)."""

    def __init__(self, evidence: Any) -> None:
        self._evidence = evidence
        self._rendered: list[dict[str, Any]] | None = None

    def get(self) -> list[dict[str, Any]]:
        if self._rendered is None:
            self._rendered = [a.to_dict() for a in getattr(self._evidence, "artifacts", lambda: [])()]
        return list(self._rendered)

    def for_result(self, verdict: Verdict, outcome: Outcome) -> list[dict[str, Any]]:
        """What a result shows: nothing for a PASS, the outcome's own artifacts, else the evidence's."""
        if verdict is Verdict.PASS:
            return []
        return [a.to_dict() for a in outcome.artifacts] or self.get()


class Runner:
    def __init__(
        self,
        checks: Iterable[CheckSpec],
        scenarios: Iterable[ScenarioSpec],
        context: Any,
        *,
        concurrency: int = 4,
        redact: Redact = lambda s: s,
        on_result: Callable[[Result], None] = lambda r: None,
        replay_if: Callable[[list[Result]], bool] | None = None,
        on_evidence: Callable[[str, Any], None] = lambda scenario, evidence: None,
        replay_context: Callable[[Any], Any] = lambda context: context,
    ) -> None:
        self.checks = list(checks)
        self.scenarios = list(scenarios)
        self.context = context
        self.concurrency = max(1, concurrency)
        self.redact = redact
        self.on_result = on_result
        self.replay_if = replay_if
        self.on_evidence = on_evidence  # each scenario's evidence, e.g. to record it for an offline replay
        self.replay_context = replay_context  # the context a serial replay runs with
        self._evidence: dict[str, Any] = {}  # of scenarios that tripped replay_if
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Ask the run to stop: scenarios not started yet are not started."""
        self._cancelled.set()

    def run(self) -> RunOutcome:
        outcome = RunOutcome(started_at=time.time())
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="scenario")
        pending: set[Future[list[Result]]] = set()
        try:
            # Costliest first (longest processing time first; ties keep their order): the run ends
            # when its last scenario does, and a long one started last would run nearly alone.
            ordered = sorted(self.scenarios, key=lambda s: -s.cost)
            pending = {pool.submit(self._run_scenario, s) for s in ordered}
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    for result in future.result():
                        outcome.results.append(result)
                        self.on_result(result)
                if self._cancelled.is_set():
                    outcome.interrupted = True
                    break
            if not outcome.interrupted:
                self._replay_serially(outcome)
        except KeyboardInterrupt:
            outcome.interrupted = True
            self._cancelled.set()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            outcome.finished_at = time.time()
        return outcome

    def _replay_serially(self, outcome: RunOutcome) -> None:
        """Scenarios whose results trip ``replay_if`` under concurrency run again one at a time, and
        their serial results replace the concurrent ones: a failure that only concurrency causes
        is one finding about concurrency, not one per scenario it happened to hit."""
        if self.replay_if is None or self.concurrency == 1:
            return
        by_scenario: dict[str, list[Result]] = {}
        for result in outcome.results:
            by_scenario.setdefault(result.scenario, []).append(result)
        tripped = [s for s in self.scenarios if by_scenario.get(s.name) and self.replay_if(by_scenario[s.name])]
        if not tripped or len(tripped) == len(by_scenario):
            return  # nothing to replay, or nothing worked at all: a broken target, not interference
        misses = 0
        for scenario in tripped:
            if self._cancelled.is_set() or misses >= _REPLAY_MISSES:
                return  # the failures reproduce alone: replaying the rest would only cost time
            concurrent = by_scenario[scenario.name]
            serial = self._run_scenario(scenario, keep=False, context=self.replay_context(self.context))
            cleared = not self.replay_if(serial)
            misses = 0 if cleared else misses + 1
            outcome.replays.append(Replay(scenario.name, concurrent, self._evidence.get(scenario.name), serial, cleared))
            outcome.results = [r for r in outcome.results if r.scenario != scenario.name] + serial

    def _run_scenario(self, scenario: ScenarioSpec, keep: bool = True, context: Any = None) -> list[Result]:
        checks = [c for c in self.checks if c.applies_to(scenario)]
        if self._cancelled.is_set():
            return []
        context = self.context if context is None else context
        started = time.perf_counter()
        try:
            evidence = scenario.func(context, self.judge_case) if scenario.judges else scenario.func(context)
        except NotApplicable:  # the target offers nothing this scenario could probe (e.g. no manifest probe)
            return []
        except Skip as exc:
            return [self._bare(c, scenario, Verdict.SKIP, self.redact(str(exc))) for c in checks]
        except BudgetExhausted as exc:
            return [self._bare(c, scenario, Verdict.SKIP, f"budget exhausted: {self.redact(str(exc))}") for c in checks]
        except CannotJudge as exc:
            return [self._bare(c, scenario, Verdict.ERROR, f"could not judge: {self.redact(str(exc))}") for c in checks]
        except Exception as exc:  # a harness bug must not stop other scenarios
            note = f"scenario {scenario.name} crashed: {self.redact(_one_line(exc))}"
            return [self._bare(c, scenario, Verdict.ERROR, note, trace=self.redact(traceback.format_exc())) for c in checks]
        scenario_time = time.perf_counter() - started
        self.on_evidence(scenario.name, evidence)
        if isinstance(evidence, Judged):
            judged = self._prejudged(checks, scenario, evidence, scenario_time)
        else:
            shared = _SharedArtifacts(evidence)
            judged = [r for r in (self._judge(c, scenario, evidence, scenario_time, shared) for c in checks) if r is not None]
        if keep and self.replay_if is not None and len(self._evidence) < _KEPT_EVIDENCE and self.replay_if(judged):
            self._evidence[scenario.name] = evidence
        return judged

    def judge_case(self, evidence: Any, tags: frozenset[str]) -> dict[str, Outcome]:
        """Judge one case of a self-judging scenario with every selected check that applies to
        ``tags`` (see judging.py); verdicts are the checks' own, before lowering by level."""
        outcomes: dict[str, Outcome] = {}
        for check in self.checks:
            if check.on & tags:
                outcome = self._outcome(check, evidence)
                if outcome is not None:
                    outcomes[check.name] = outcome
        return outcomes

    def _outcome(self, check: CheckSpec, evidence: Any) -> Outcome | None:
        """What ``check`` concludes on ``evidence``; None when it does not apply."""
        try:
            return check.func(evidence)
        except NotApplicable:
            return None
        except Skip as exc:
            return Outcome(Verdict.SKIP, note=str(exc))
        except CannotJudge as exc:
            return Outcome(Verdict.ERROR, note=f"could not judge: {exc}")
        except Exception as exc:
            return Outcome(
                Verdict.ERROR,
                note=f"check crashed: {_one_line(exc)}",
                evidence={"traceback": self.redact(traceback.format_exc())},
            )

    def _judge(self, check: CheckSpec, scenario: ScenarioSpec, evidence: Any, scenario_time: float,
               shared: _SharedArtifacts) -> Result | None:
        started = time.perf_counter()
        outcome = self._outcome(check, evidence)
        if outcome is None:
            return None
        verdict = _lower_by_level(outcome, check.rule.level)
        return self._result(check, scenario, outcome, verdict, shared.for_result(verdict, outcome),
                            scenario_time + time.perf_counter() - started)

    def _prejudged(self, checks: list[CheckSpec], scenario: ScenarioSpec, judged: Judged,
                   scenario_time: float) -> list[Result]:
        """The results of a scenario that judged its own cases: one per check it has an outcome for."""
        shared = _SharedArtifacts(judged)
        results = []
        for check in checks:
            outcome = judged.outcomes.get(check.name)
            if outcome is None:
                continue
            verdict = _lower_by_level(outcome, check.rule.level)
            results.append(self._result(check, scenario, outcome, verdict, shared.for_result(verdict, outcome), scenario_time))
        return results

    def _result(self, check: CheckSpec, scenario: ScenarioSpec, outcome: Outcome, verdict: Verdict,
                artifacts: list[dict[str, Any]], duration: float) -> Result:
        return Result(
            check=check.name,
            clause=check.rule.id,
            level=check.rule.level,
            area=check.rule.area,
            title=check.rule.title,
            rule=check.doc,
            scenario=scenario.name,
            verdict=verdict,
            expected=_single_line(self.redact(outcome.expected)),
            observed=_single_line(self.redact(outcome.observed)),
            note=_single_line(self.redact(outcome.note)),
            artifacts=artifacts,
            evidence=outcome.evidence,
            duration=duration,
        )

    def _bare(self, check: CheckSpec, scenario: ScenarioSpec, verdict: Verdict, note: str, trace: str = "") -> Result:
        """A result for a check whose scenario produced no evidence."""
        outcome = Outcome(verdict, note=note, evidence={"traceback": trace} if trace else {})
        return self._result(check, scenario, outcome, verdict, [], 0.0)
