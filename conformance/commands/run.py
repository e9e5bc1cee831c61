"""`conformance run`: run the suite against a target, or the embedded reference server.

A thin front-end over the run service (conformance/service.py): it resolves the options, checks
the reports directory can be written before anything is sent, and subscribes the terminal's
handlers.  The service writes reports/<run-id>/ (report.json, junit.xml, report.html, summary.md,
transcripts/), points reports/latest at it and appends summary.md to $GITHUB_STEP_SUMMARY when set.
Exit codes: 0 the gate passed, 1 it did not (or the run was interrupted), 2 the run could not start
or nothing could be written.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .. import options, settings
from ..service import EXIT_CANNOT_RUN

if TYPE_CHECKING:
    from ..baseline import Baseline


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="run the suite against a target (default: the embedded reference server)")
    options.add_to_argparse(p, options.RUN)
    return p


def main(args: argparse.Namespace) -> int:
    from ..baseline import BaselineError, load
    from ..housekeeping import confine_hypothesis
    from ..service import Outputs, run_on_terminal, writable_error

    waivers: Baseline | None = None
    try:
        resolved = settings.from_cli(args, options.RUN)
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
    outputs = Outputs(resolved.reports_dir, resolved.fail_on, waivers,
                      str(resolved.baseline) if resolved.baseline else None, resolved.keep)
    finished = run_on_terminal(config, outputs, quiet=resolved.quiet, no_color=resolved.no_color)
    return finished if isinstance(finished, int) else finished.exit_code
