"""`conformance baseline create|update`: manage the file of known failures a CI gate waives."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_ERROR = 0, 2
DEFAULT_FILE = Path("conformance-baseline.yml")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("baseline", help="create or update a baseline of known failures (waivers with expiry)")
    actions = p.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="waive every FAIL/ERROR of a run")
    create.add_argument("--from", dest="run_dir", type=Path, required=True, metavar="RUN_DIR", help="e.g. reports/latest")
    create.add_argument("--reason", required=True, help="why these failures are accepted (ticket, vendor answer)")
    create.add_argument("--expires", required=True, metavar="YYYY-MM-DD", help="last day the waivers hold")
    create.add_argument("--output", type=Path, default=DEFAULT_FILE, help="default %(default)s (.json: JSON)")
    create.add_argument("--include-warn", action="store_true", help="also waive WARN (for --fail-on warn)")
    create.add_argument("--force", action="store_true", help="overwrite an existing file")
    update = actions.add_parser("update", help="drop fixed entries, keep (and optionally refresh) the others")
    update.add_argument("file", type=Path, metavar="FILE", help="the baseline to rewrite in place")
    update.add_argument("--from", dest="run_dir", type=Path, required=True, metavar="RUN_DIR",
                        help="a newer run, e.g. reports/latest")
    update.add_argument("--expires", metavar="YYYY-MM-DD", help="new last day for the entries still failing")
    update.add_argument("--add-new", action="store_true", help="also waive this run's new failures (needs --reason, --expires)")
    update.add_argument("--reason", help="reason for the entries added by --add-new")
    update.add_argument("--include-warn", action="store_true", help="with --add-new, also waive new WARN results")
    return p


def main(args: argparse.Namespace) -> int:
    from ..baseline import BaselineError, create, load, parse_date, update
    from ..reports import render

    try:
        document = render.load(args.run_dir)
        if args.action == "create":
            if args.output.exists() and not args.force:
                raise BaselineError(f"{args.output} exists (use --force, or `baseline update`)")
            baseline = create(document, args.reason, parse_date(args.expires), include_warn=args.include_warn)
            baseline.save(args.output)
            print(f"{args.output}: {len(baseline.entries)} waiver(s) until {args.expires}")
            return EXIT_OK
        expires = parse_date(args.expires) if args.expires else None
        baseline, summary = update(load(args.file), document, expires=expires, reason=args.reason,
                                   add_new=args.add_new, include_warn=args.include_warn)
    except (BaselineError, render.ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    baseline.save(args.file)
    for label, keys in (("removed (fixed)", summary.removed), ("kept", summary.kept),
                        ("kept (not run)", summary.not_run), ("added", summary.added)):
        for key in keys:
            print(f"{label:16} {key}")
    print(f"{args.file}: {len(baseline.entries)} waiver(s); {len(summary.removed)} removed, {len(summary.added)} added")
    return EXIT_OK
