"""`conformance run`: run the suite against a target, or the embedded reference server.

Writes reports/<run-id>/ (report.json, junit.xml, report.html, summary.md, transcripts/) and
points reports/latest at it; appends summary.md to $GITHUB_STEP_SUMMARY when that is set.
Exit codes: 0 the gate passed, 1 it did not (or the run was interrupted), 2 the run could not start
(the reports directory is checked for writing before anything is sent) or nothing could be written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import options, settings
from ..engine import Verdict
from ..settings import Resolved

if TYPE_CHECKING:
    from ..baseline import Baseline, Gate
    from ..session import RunConfig, RunReport

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2
CERTIFY_PROFILE = "certify"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="run the suite against a target (default: the embedded reference server)")
    options.add_to_argparse(p, options.RUN)
    return p


def resolve(args: argparse.Namespace, command: str) -> Resolved:
    """The run options from config file, environment and flags, checked; OptionError otherwise."""
    names = [o.name for o in options.for_command(command)]
    resolved = settings.resolve({n: getattr(args, n) for n in names if hasattr(args, n)}, cwd=Path.cwd(), names=names)
    settings.check(resolved, "cli", profile=CERTIFY_PROFILE if command == options.CERTIFY else None)
    return resolved


def execute_with_progress(config: RunConfig, quiet: bool, no_color: bool = False) -> RunReport | int:
    """Run with a progress display (unless quiet); an exit code when the run could not start."""
    from ..reports.progress import for_run
    from ..session import SetupError, TargetUnreachable, execute

    progress = for_run(quiet=quiet, no_color=no_color)
    try:
        report = execute(config, on_result=progress, on_start=progress.start)
    except (SetupError, ValueError, RuntimeError) as exc:
        progress.finish()
        print(f"error: {'target unreachable: ' if isinstance(exc, TargetUnreachable) else ''}{exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    progress.finish()
    return report


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


def write_outputs(report: RunReport, reports_dir: Path, document: dict[str, Any]) -> Path:
    """report.json, then every format rendered from it; returns the run directory.  Raises
    OSError when report.json cannot be written; trouble with the other formats is printed."""
    from ..reports import json_report, render

    run_dir = json_report.write(report, reports_dir, document)
    try:
        render.render_run(run_dir)
    except render.ReportError as exc:  # a suite bug: keep report.json, say why the rest is missing
        print(f"error: cannot render reports: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: report.json written, the other formats could not be: {exc}", file=sys.stderr)
    return run_dir


def write_or_explain(report: RunReport, reports_dir: Path, document: dict[str, Any]) -> Path | None:
    """write_outputs; when nothing could be written, the summary and where it failed go to the
    terminal instead (returns None)."""
    try:
        return write_outputs(report, reports_dir, document)
    except OSError as exc:
        print_outcome(document, None, report.interrupted)
        print(f"error: nothing could be written to {reports_dir}: {exc.strerror or exc}"
              f"{f' ({exc.filename})' if exc.filename else ''}", file=sys.stderr)
        return None


def print_outcome(document: dict[str, Any], run_dir: Path | None, interrupted: bool) -> None:
    from ..reports import console

    details = console.findings(document)
    if details:
        print(details)
    print(console.summary_table(document))
    run = document["run"]
    print(f"\n{document['summary']['status'].upper()}: profile {run['profile']}, {run['requests']} requests, "
          f"{run['tokens']} tokens reported by the target, "
          f"{run['duration_s']} s{' (INTERRUPTED: partial report)' if interrupted else ''}")
    if run_dir is not None:
        print(f"report: {run_dir / 'report.json'}\nhtml:   {run_dir / 'report.html'}")


def append_step_summary(run_dir: Path) -> None:
    """Append summary.md to the file named by $GITHUB_STEP_SUMMARY, when set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    summary = run_dir / "summary.md"
    if not target or not summary.exists():
        return
    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(summary.read_text(encoding="utf-8") + "\n")
    except OSError as exc:
        print(f"warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from ..baseline import BaselineError, describe, evaluate, load
    from ..housekeeping import confine_hypothesis
    from ..reports import json_report

    waivers: Baseline | None = None
    try:
        resolved = resolve(args, options.RUN)
        if resolved.baseline is not None:
            waivers = load(resolved.baseline)
    except (settings.OptionError, BaselineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    problem = writable_error(resolved.reports_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    config = settings.run_config(resolved, resolved.profile, list(sys.argv))
    confine_hypothesis(resolved.reports_dir)
    report = execute_with_progress(config, resolved.quiet, resolved.no_color)
    if isinstance(report, int):
        return report
    document = json_report.build(report)
    gate: Gate | None = None
    if waivers is not None:
        gate = evaluate(document, waivers, file=str(resolved.baseline), fail_on=resolved.fail_on)
        document["baseline"] = gate.to_dict()
    run_dir = write_or_explain(report, resolved.reports_dir, document)
    if run_dir is None:
        return EXIT_CANNOT_RUN
    print_outcome(document, run_dir, report.interrupted)
    if gate is not None:
        print(describe(gate))
    append_step_summary(run_dir)
    prune_runs(resolved)
    return _exit_code(document, resolved.fail_on, report.interrupted, gate)


def prune_runs(resolved: Resolved) -> None:
    """--keep N: drop the oldest run directories."""
    if resolved.keep is None:
        return
    from ..housekeeping import prune

    for path in prune(resolved.reports_dir, resolved.keep):
        print(f"removed old run {path}", file=sys.stderr)


def _exit_code(document: dict[str, Any], fail_on: str, interrupted: bool, gate: Gate | None = None) -> int:
    verdicts = document["summary"]["verdicts"]
    if interrupted:
        return EXIT_FAILURES
    if fail_on == "never":
        return EXIT_OK
    if gate is not None:
        return EXIT_FAILURES if gate.failed else EXIT_OK
    bad = [Verdict.FAIL.value, Verdict.ERROR.value] + ([Verdict.WARN.value] if fail_on == "warn" else [])
    return EXIT_FAILURES if any(verdicts.get(v) for v in bad) else EXIT_OK
