"""`conformance diff RUN_A RUN_B`: what changed between two runs (new failures, fixed, changed
verdicts), grouped by root cause; for the terminal, a PR comment (Markdown) or machines (JSON).

Exit codes: 0 no new failure, 1 RUN_B fails where RUN_A did not, 2 a run cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_REGRESSED, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("diff", help="compare two runs: new failures, fixed, changed verdicts, by root cause")
    p.add_argument("before", type=Path, metavar="RUN_A", help="the earlier (or reference) run: a run directory or report.json")
    p.add_argument("after", type=Path, metavar="RUN_B", help="the later (or other) run")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text (default), markdown (PR comments) or json (schemas/diff.schema.json)")
    p.add_argument("--fail-on", choices=("fail", "warn"), default="fail",
                   help="which verdicts count as failures: fail (FAIL, ERROR; default) or warn (also WARN)")
    p.add_argument("--output", type=Path, metavar="FILE", help="write the diff here instead of printing it")
    return p


def main(args: argparse.Namespace) -> int:
    from ..baseline import gated_verdicts
    from ..reports import atomic, compare, diff_view, runs

    try:
        before, after = runs.read(args.before), runs.read(args.after)
    except runs.RunInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    diff = compare.compare(before, after, gated_verdicts(args.fail_on), before_source=str(args.before),
                           after_source=str(args.after))
    if args.format == "json":
        text = json.dumps(diff, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "markdown":
        text = diff_view.markdown(diff)
    else:
        text = diff_view.console(diff) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            atomic.write_text(args.output, text)
        except OSError as exc:
            print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        print(f"{args.output}: {diff_view.counts_line(diff)}")
    return EXIT_REGRESSED if diff["regressed"] else EXIT_OK
