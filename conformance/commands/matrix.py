"""`conformance matrix targets.toml`: targets x models x profiles from one file (see
conformance/matrix_file.py), each cell a normal run with its own full report, and one
compatibility table of them all (matrix.html, matrix.md, matrix.json).

Writes reports/matrix-<id>/ (cells/<target>--<model>--<profile>/ holds each run) and points
reports/latest-matrix at it.  Exit codes: 0 every cell ran and passes --fail-on, 1 a cell failed,
could not run or was interrupted, 2 the matrix file or the reports directory cannot be used.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .. import options

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("matrix", help="run many targets x models x profiles from one file: one compatibility table")
    p.add_argument("file", type=Path, metavar="TARGETS_TOML", help="the matrix file (see README: Many targets)")
    p.add_argument("--reports-dir", type=Path, default=Path("reports"), metavar="DIR",
                   help="where matrix-<id>/ goes (default %(default)s)")
    p.add_argument("--parallel", type=options.count, metavar="N", help="targets run at once (default: the file's parallel, else 2)")
    p.add_argument("--fail-on", choices=("fail", "warn", "never"), default="fail",
                   help="what in any cell makes the exit code 1 (default: FAIL or ERROR)")
    p.add_argument("--quiet", action="store_true", help="no line per finished cell")
    return p


def main(args: argparse.Namespace) -> int:
    from ..housekeeping import confine_hypothesis
    from ..matrix_file import MatrixFileError, load
    from ..matrix_run import new_id, run_matrix, write
    from ..service import writable_error

    try:
        spec = load(args.file, list(sys.argv))
    except MatrixFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    problem = writable_error(args.reports_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    confine_hypothesis(args.reports_dir)
    out_dir = args.reports_dir / new_id()
    total, done = len(spec.cells), [0]

    def progress(cell: Any, column: dict[str, Any]) -> None:
        done[0] += 1
        if not args.quiet:
            outcome = column["error"] or f"{column['status']}, {column['requests']} requests"
            print(f"[{done[0]}/{total}] {column['id']}: {outcome}", file=sys.stderr, flush=True)

    started = time.time()
    columns, interrupted = run_matrix(spec, out_dir, args.parallel or spec.parallel, progress)
    document = write(columns, out_dir, source=str(args.file), started=started, interrupted=interrupted)
    print(summary(document))
    print(f"matrix: {out_dir / 'matrix.html'}\n        {out_dir / 'matrix.md'}\n        {out_dir / 'matrix.json'}")
    return exit_code(document, args.fail_on)


def summary(document: dict[str, Any]) -> str:
    """One line per column: status, verdict counts, requests."""
    width = max((len(c["id"]) for c in document["columns"]), default=0)
    lines = []
    for c in document["columns"]:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(c["verdicts"].items()))
        lines.append(f"{c['id']:{width}}  {c['status'].upper():14}  {c['error'] or counts}")
    if document["interrupted"]:
        lines.append("INTERRUPTED: the matrix shows what ran")
    return "\n".join(lines)


def exit_code(document: dict[str, Any], fail_on: str) -> int:
    from ..baseline import gated_verdicts

    failing = gated_verdicts(fail_on)
    columns = document["columns"]
    if document["interrupted"] or any(c["error"] for c in columns):
        return EXIT_FAILURES
    return EXIT_FAILURES if any(c["verdicts"].get(v) for c in columns for v in failing) else EXIT_OK
