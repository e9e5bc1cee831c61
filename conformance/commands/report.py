"""`conformance report RUN_DIR`: re-render a run's outputs from its report.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="re-render junit.xml / report.html / summary.md / transcripts from report.json")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory, e.g. reports/latest")
    p.add_argument("--format", action="append", choices=("json", "junit", "html", "md", "transcripts", "all"),
                   help="repeatable; default all (json rewrites report.json canonically after validating it)")
    p.add_argument("--output", type=Path, metavar="DIR", help="write here instead of RUN_DIR")
    return p


def main(args: argparse.Namespace) -> int:
    from ..reports import render

    if not args.run_dir.is_dir():
        print(f"error: {args.run_dir}: no such run directory (e.g. reports/latest)", file=sys.stderr)
        return EXIT_CANNOT_RUN
    chosen = args.format or ["all"]
    formats = render.FORMATS if "all" in chosen else tuple(dict.fromkeys(chosen))
    try:
        written = render.render_run(args.run_dir, formats, args.output)
    except render.ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    for path in written:
        print(path)
    return EXIT_OK
