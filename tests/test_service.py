"""The run service: one run from options to written reports, its progress published as events."""

from __future__ import annotations

from pathlib import Path

from conformance.engine import PhaseChanged, ResultReady, RunFinished, RunStarted
from conformance.service import EXIT_CANNOT_RUN, EXIT_FAILURES, EXIT_OK, Finished, Outputs, Run
from conformance.session import RunConfig


def _run(tmp_path: Path, **config: object) -> tuple[Finished, list[object]]:
    events: list[object] = []
    run = Run(RunConfig(**{"profile": "smoke", "command": ["test"], **config}), Outputs(tmp_path / "reports"),  # type: ignore[arg-type]
              events.append)
    return run(), events


def test_events_come_in_order_and_the_run_is_written(tmp_path: Path) -> None:
    finished, events = _run(tmp_path)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "PhaseChanged" and kinds[-1] == "RunFinished"
    started = next(e for e in events if isinstance(e, RunStarted))
    results = [e.result for e in events if isinstance(e, ResultReady)]
    assert 0 < len(results) <= started.expected and len(results) == len(finished.report.results)
    phases = [e.phase for e in events if isinstance(e, PhaseChanged)]
    assert phases[0] == "preflight" and phases[-1] == "writing" and "scenarios" in phases
    assert kinds.index("RunStarted") < kinds.index("ResultReady") < len(kinds) - 2
    last = events[-1]
    assert isinstance(last, RunFinished) and last.outcome is finished
    assert finished.run_dir is not None and (finished.run_dir / "report.json").is_file()
    assert finished.exit_code == EXIT_OK and finished.document["summary"]["status"] == "conformant"


def test_a_failing_run_exits_1_and_never_gates_with_fail_on_never(tmp_path: Path) -> None:
    failing, _ = _run(tmp_path, defects=("error-flat-vllm",))
    assert failing.exit_code == EXIT_FAILURES
    failing.fail_on = "never"
    assert failing.exit_code == EXIT_OK
    failing.run_dir = None  # nothing could be written
    assert failing.exit_code == EXIT_CANNOT_RUN


def test_the_run_lasts_until_its_closing_probes_end(tmp_path: Path) -> None:
    """Scenarios run after the others (marked "after", e.g. the stream pacing probe) are part of
    the run: its finish time is not the end of the main phase."""
    finished, events = _run(tmp_path, profile="compatible", scenarios=("stream_pacing", "chat_basic"))
    assert "closing" in [e.phase for e in events if isinstance(e, PhaseChanged)]
    report = finished.report
    closing = [r for r in report.results if r.scenario == "stream_pacing"]
    assert closing and report.finished_at - report.started_at >= max(r.duration for r in closing)
