"""`conformance selftest`: show what the suite can catch — the kill matrix over every named defect."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("selftest", help="run the suite against every named defect of the reference server (kill matrix)")
    p.add_argument("defects", nargs="*", help="only these defects (default: all)")
    p.add_argument("--output", type=Path, default=Path("reports/kill-matrix.md"), help="default %(default)s")
    return p


def main(args: argparse.Namespace) -> int:
    from ..reports import atomic
    from ..selection import check_filters
    from ..selftest import render_markdown, run_matrix
    from ..session import SetupError

    try:
        check_filters(defects=args.defects, flag=lambda name: "defect")
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN

    def show(row) -> None:  # type: ignore[no-untyped-def]
        mark = "ok  " if row.killed else "MISS"
        extra = f"  unexpected: {', '.join(row.unexpected)}" if row.unexpected else ""
        print(f"{mark} {row.defect.name:42} {row.defect.clause:8} expected {row.expected:5} observed {row.observed}{extra}",
              flush=True)

    rows = [r.to_dict() for r in run_matrix(args.defects or None, on_row=show)]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.output, render_markdown(rows))
    atomic.write_text(args.output.with_suffix(".json"), json.dumps(rows, indent=2) + "\n")
    missed = [r["defect"] for r in rows if not r["killed"]]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} as expected; matrix written to {args.output}", file=sys.stderr)
    return EXIT_FAILURES if missed else EXIT_OK
