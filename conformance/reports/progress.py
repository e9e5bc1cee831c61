"""What the operator sees of a run: its progress while it goes, then its findings and summary.

On a terminal: one live line (rich) with the phase, results done of expected, elapsed time and
the FAIL/ERROR counts so far.  Not a terminal (CI logs, pipes): the plain one-character-per-result
line of `console.Progress`.  `--quiet`: nothing.  Colour follows NO_COLOR and `--no-color`.
Only the suite's own words go into the live line, never a target's text, so it may write to
the raw stream (the CLI escapes everything else, see `conformance.terminal`).  Both are event
handlers (engine/events.py): ``watching(display)`` and ``print_closing``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol, TextIO

from ..engine import Event, Handler, PhaseChanged, Result, ResultReady, RunFinished, RunStarted, Verdict
from .console import Progress as PlainProgress


class RunProgress(Protocol):
    def start(self, checks: int, scenarios: int, expected: int) -> None: ...
    def __call__(self, result: Result) -> None: ...
    def finish(self) -> None: ...


class Silent:
    def start(self, checks: int, scenarios: int, expected: int) -> None:
        pass

    def __call__(self, result: Result) -> None:
        pass

    def finish(self) -> None:
        pass


class LiveProgress:
    """A rich progress line; results arrive from the runner's threads (rich's Progress locks)."""

    def __init__(self, out: TextIO, color: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(file=out, no_color=not color, highlight=False)
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("{task.fields[verdicts]}"), console=console, transient=True,
                            # Other output keeps going through sys.stderr, and so through the escaping.
                            redirect_stdout=False, redirect_stderr=False)
        self.task = self.bar.add_task("preflight", total=None, verdicts="")
        self.counts = {Verdict.FAIL: 0, Verdict.ERROR: 0}
        self.color = color
        self.bar.start()

    def start(self, checks: int, scenarios: int, expected: int) -> None:
        self.bar.update(self.task, description=f"running {checks} checks over {scenarios} scenarios", total=expected)

    def phase(self, name: str) -> None:
        if name in ("preflight", "closing", "writing"):
            self.bar.update(self.task, description=name)

    def __call__(self, result: Result) -> None:
        if result.verdict in self.counts:
            self.counts[result.verdict] += 1
        self.bar.update(self.task, advance=1, verdicts=self._verdicts())

    def _verdicts(self) -> str:
        fails, errors = self.counts[Verdict.FAIL], self.counts[Verdict.ERROR]
        text = f"FAIL {fails}  ERROR {errors}"
        return f"[bold red]{text}[/]" if self.color and (fails or errors) else text

    def finish(self) -> None:
        task = self.bar.tasks[0]
        self.bar.update(self.task, description="done", total=task.completed)
        self.bar.stop()


def for_run(*, quiet: bool, no_color: bool, out: Any = None) -> RunProgress:
    """The progress display that fits where stderr goes."""
    if quiet:
        return Silent()
    raw = out if out is not None else getattr(sys.stderr, "inner", sys.stderr)  # below conformance.terminal's escaping
    if raw.isatty():
        return LiveProgress(raw, color=not no_color and not os.environ.get("NO_COLOR"))
    return PlainProgress()


def watching(display: RunProgress) -> Handler:
    """The events of a run shown on ``display``; it is finished when the run starts writing."""

    def handle(event: Event) -> None:
        if isinstance(event, RunStarted):
            display.start(event.checks, event.scenarios, event.expected)
        elif isinstance(event, ResultReady):
            display(event.result)
        elif isinstance(event, PhaseChanged):
            if event.phase == "writing":
                display.finish()
            elif isinstance(display, LiveProgress):
                display.phase(event.phase)

    return handle


def print_closing(event: Event) -> None:
    """When a run is finished: its findings, the summary table, the status line, where the reports
    are and, with a baseline, the gate; problems on the way go to stderr."""
    if not isinstance(event, RunFinished):
        return
    from .. import latency
    from ..baseline import describe
    from . import console, differences

    finished = event.outcome
    document = finished.document
    details = console.findings(document)
    if details:
        print(details)
    print(console.summary_table(document))
    timing = latency.console_line(document.get("timing"))
    if timing:
        print(timing)
    compared = differences.console_line(document.get("differences"))
    if compared:
        print(compared)
    run = document["run"]
    print(f"\n{document['summary']['status'].upper()}: profile {run['profile']}, {run['requests']} requests, "
          f"{run['tokens']} tokens reported by the target, "
          f"{run['duration_s']} s{' (INTERRUPTED: partial report)' if finished.report.interrupted else ''}")
    if finished.run_dir is not None:
        print(f"report: {finished.run_dir / 'report.json'}\nhtml:   {finished.run_dir / 'report.html'}")
    for problem in finished.problems:
        print(f"error: {problem}", file=sys.stderr)
    if finished.gate is not None:
        print(describe(finished.gate))
    for path in finished.removed:
        print(f"removed old run {path}", file=sys.stderr)
