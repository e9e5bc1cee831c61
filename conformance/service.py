"""The run service: one run from its options to its written reports, the same for every front-end.

``Run`` owns the steps: select and execute (``session.execute``), then document → gate → write →
prune (``conclude``).  It publishes typed events (engine/events.py) to the handlers a front-end
subscribes, and returns a ``Finished`` run whose exit code every front-end uses.  The CLI's `run`
and `certify` and the pytest plugin differ only in their handlers (progress display, closing
summary, pytest items) and in what they do afterwards (certify seals the bundle).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import Event, Handler, PhaseChanged, RunFinished, Verdict
from .engine.events import ignore

if TYPE_CHECKING:
    from .baseline import Baseline, Gate
    from .session import RunConfig, RunReport

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


@dataclass(frozen=True)
class Outputs:
    """Where and how a finished run is kept: the reports directory, the gate (--fail-on and an
    optional baseline of waivers) and how many old runs to keep."""

    reports_dir: Path
    fail_on: str = "fail"
    waivers: Baseline | None = None
    baseline_file: str | None = None
    keep: int | None = None


@dataclass
class Finished:
    """A concluded run: its report, the report.json document, the baseline gate, where it was
    written (None: nothing could be written) and what went wrong on the way."""

    report: RunReport
    document: dict[str, Any]
    gate: Gate | None
    run_dir: Path | None
    fail_on: str = "fail"
    problems: list[str] = field(default_factory=list)  # one line each, for the terminal
    removed: list[Path] = field(default_factory=list)  # old runs dropped by --keep

    @property
    def exit_code(self) -> int:
        """0 the gate passed, 1 it did not (or the run was interrupted), 2 nothing could be written."""
        if self.run_dir is None:
            return EXIT_CANNOT_RUN
        if self.report.interrupted:
            return EXIT_FAILURES
        if self.fail_on == "never":
            return EXIT_OK
        if self.gate is not None:
            return EXIT_FAILURES if self.gate.failed else EXIT_OK
        verdicts = self.document["summary"]["verdicts"]
        bad = [Verdict.FAIL.value, Verdict.ERROR.value] + ([Verdict.WARN.value] if self.fail_on == "warn" else [])
        return EXIT_FAILURES if any(verdicts.get(v) for v in bad) else EXIT_OK


class Run:
    """One run of the suite with the given options, its progress published to ``handler``."""

    def __init__(self, config: RunConfig, outputs: Outputs, handler: Handler = ignore) -> None:
        self.config = config
        self.outputs = outputs
        self.emit = handler

    def __call__(self) -> Finished:
        """Execute and conclude.  Raises SetupError / ValueError / RuntimeError when the run cannot
        start (see session.execute); an interrupt gives a concluded partial run."""
        return self.conclude(self.execute())

    def execute(self) -> RunReport:
        from .session import execute

        return execute(self.config, self.emit)

    def conclude(self, report: RunReport) -> Finished:
        return conclude(report, self.outputs, self.emit)


def conclude(report: RunReport, outputs: Outputs, emit: Handler = ignore) -> Finished:
    """Document, gate, write and prune a run's report; publishes RunFinished with the result.  Also
    how the pytest plugin concludes the report it merged from its shards."""
    from .reports import json_report

    emit(PhaseChanged("writing"))
    document = json_report.build(report)
    gate = _gate(document, outputs)
    finished = Finished(report, document, gate, None, outputs.fail_on)
    finished.run_dir = write(report, outputs.reports_dir, document, finished.problems)
    if finished.run_dir is not None and outputs.keep is not None:
        from .housekeeping import prune

        finished.removed = prune(outputs.reports_dir, outputs.keep)
    emit(RunFinished(finished))
    return finished


def _gate(document: dict[str, Any], outputs: Outputs) -> Gate | None:
    """The baseline gate, recorded in the document, when waivers were given."""
    if outputs.waivers is None:
        return None
    from .baseline import evaluate

    gate = evaluate(document, outputs.waivers, file=str(outputs.baseline_file), fail_on=outputs.fail_on)
    document["baseline"] = gate.to_dict()
    return gate


def run_on_terminal(config: RunConfig, outputs: Outputs, *, quiet: bool, no_color: bool = False) -> Finished | int:
    """The CLI's run: shown on the terminal while it goes (unless quiet), summed up at the end,
    summary.md appended for GitHub Actions; EXIT_CANNOT_RUN (after one line) when it cannot start."""
    from .engine.events import fan_out
    from .reports.progress import for_run, print_closing, watching
    from .session import SetupError, TargetUnreachable

    display = for_run(quiet=quiet, no_color=no_color)
    try:
        return Run(config, outputs, fan_out(watching(display), print_closing, github_step_summary))()
    except (SetupError, ValueError, RuntimeError) as exc:
        display.finish()
        print(f"error: {'target unreachable: ' if isinstance(exc, TargetUnreachable) else ''}{exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN


def write(report: RunReport, reports_dir: Path, document: dict[str, Any], problems: list[str]) -> Path | None:
    """report.json, then every format rendered from it; returns the run directory, or None when
    report.json could not be written.  Trouble with the other formats is added to ``problems``."""
    from .reports import json_report, render

    try:
        run_dir = json_report.write(report, reports_dir, document)
    except OSError as exc:
        problems.append(f"nothing could be written to {reports_dir}: {exc.strerror or exc}"
                        f"{f' ({exc.filename})' if exc.filename else ''}")
        return None
    try:
        # Written a moment ago by this suite, whose tests prove its reports follow the schema:
        # checking it again would cost a run about a second.
        render.render_run(run_dir, checked=False)
    except render.ReportError as exc:  # a suite bug: keep report.json, say why the rest is missing
        problems.append(f"cannot render reports: {exc}")
    except OSError as exc:
        problems.append(f"report.json written, the other formats could not be: {exc}")
    return run_dir


def writable_error(reports_dir: Path) -> str | None:
    """Why reports cannot be written to reports_dir (checked before anything is sent), or None.
    Nothing is created: a directory that does not exist yet is judged by its nearest existing
    ancestor (the probe is an unnamed temporary file)."""
    existing = reports_dir
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot write reports to {reports_dir}: {existing} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=existing) as probe:
            probe.write(b"0")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return f"cannot write reports to {reports_dir}: {exc.strerror or exc}"
    return None


def github_step_summary(event: Event) -> None:
    """When a run is written: summary.md appended to the file $GITHUB_STEP_SUMMARY names (GitHub Actions)."""
    if not isinstance(event, RunFinished) or event.outcome.run_dir is None:
        return
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    summary = event.outcome.run_dir / "summary.md"
    if not target or not summary.exists():
        return
    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(summary.read_text(encoding="utf-8") + "\n")
    except OSError as exc:
        print(f"warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}", file=sys.stderr)
