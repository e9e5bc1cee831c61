"""`conformance merge DIR...`: one report from the shard runs of one target (CI jobs or hosts that
each ran part of the scenarios), with each shard's provenance; overlapping or missing shards and
runs of different targets are refused.  With --matrix, runs of many targets (one CI job per target
or model): the runs of each target, model and profile are merged as above, and one compatibility
table shows them side by side, as `conformance matrix` writes it.

Writes reports/<run-id>/ like `conformance run` (report.json, then the formats rendered from it)
and points reports/latest at it; with --matrix, reports/matrix-<id>/ and reports/latest-matrix.
Exit codes: 0 the merged run(s) pass the gate, 1 they do not (or a shard was interrupted), 2 the
inputs cannot be merged or read.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("merge", help="merge shard runs of one target into one report")
    p.add_argument("runs", type=Path, nargs="+", metavar="DIR", help="the shards' run directories (or report.json files)")
    p.add_argument("--reports-dir", type=Path, default=Path("reports"), metavar="DIR",
                   help="where the merged <run-id>/ goes (default %(default)s)")
    p.add_argument("--format", action="append", choices=("json", "junit", "html", "md", "transcripts", "all"),
                   help="repeatable; default all (report.json is always written)")
    p.add_argument("--fail-on", choices=("fail", "warn", "never"), default="fail",
                   help="what makes the exit code 1 (default: FAIL or ERROR)")
    p.add_argument("--baseline", type=Path, metavar="FILE", help="gate the merged run with a baseline, as `run --baseline` does")
    p.add_argument("--matrix", action="store_true",
                   help="the runs are of several targets/models/profiles: merge each one's shards and write one compatibility table")
    return p


def main(args: argparse.Namespace) -> int:
    from ..baseline import Baseline, BaselineError, Gate, describe, evaluate, gated_verdicts, load
    from ..reports import console, json_report, merge, render, runs

    chosen = args.format or ["all"]
    formats = render.DERIVED if "all" in chosen else tuple(f for f in dict.fromkeys(chosen) if f != "json")
    if args.matrix:
        return merge_matrix(args, formats)
    gate: Gate | None = None

    def gated(document: dict[str, object]) -> None:
        nonlocal gate
        gate = evaluate(document, waivers, file=str(args.baseline), fail_on=args.fail_on)
        document["baseline"] = gate.to_dict()

    try:
        waivers: Baseline | None = load(args.baseline) if args.baseline is not None else None
        document, run_dir = merge.merge(args.runs, args.reports_dir, shlex.join(["conformance", *sys.argv[1:]]),
                                        annotate=gated if waivers is not None else None)
    except (runs.RunInputError, merge.MergeError, BaselineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except OSError as exc:
        print(f"error: cannot write to {args.reports_dir}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    problem = json_report.point_latest(args.reports_dir, run_dir)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    if formats:
        render.render_run(run_dir, formats)
    shards = document["provenance"]["shards"]
    print(f"merged {len(shards)} shard(s): " + ", ".join(s["shard"] or s["source"] for s in shards))
    print(console.summary_table(document))
    run = document["run"]
    print(f"\n{document['summary']['status'].upper()}: profile {run['profile']}, {run['requests']} requests, "
          f"{run['tokens']} tokens{' (a shard was INTERRUPTED: partial report)' if run['interrupted'] else ''}")
    print(f"report: {run_dir / render.REPORT_JSON}")
    if gate is not None:
        print(describe(gate))
    if run["interrupted"]:
        return EXIT_FAILURES
    if gate is not None:
        return EXIT_FAILURES if gate.failed else EXIT_OK
    failing = gated_verdicts(args.fail_on)
    return EXIT_FAILURES if any(document["summary"]["verdicts"].get(v) for v in failing) else EXIT_OK


def merge_matrix(args: argparse.Namespace, formats: tuple[str, ...]) -> int:
    """`merge --matrix`: each (target, model, profile) merged into cells/<slug>/, then the table."""
    from ..matrix_run import CELLS, new_id, write
    from ..reports import matrix, merge, render, runs
    from .matrix import exit_code, summary

    if args.baseline is not None:
        print("error: --baseline gates one run; with --matrix, gate each target's run by itself", file=sys.stderr)
        return EXIT_CANNOT_RUN
    started = time.time()
    out_dir = args.reports_dir / new_id()
    try:
        groups = merge.by_target(args.runs)
        columns = []
        for (target, model, profile), paths in groups:
            directory = f"{CELLS}/{matrix.slug(target, model, profile)}"
            document, run_dir = merge.merge(paths, out_dir / directory, shlex.join(["conformance", *sys.argv[1:]]))
            if formats:
                render.render_run(run_dir, formats)
            columns.append(matrix.column(document, target=target, model=model, profile=profile,
                                         directory=f"{directory}/{run_dir.name}"))
    except (runs.RunInputError, merge.MergeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except OSError as exc:
        print(f"error: cannot write to {args.reports_dir}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    interrupted = any(c["interrupted"] for c in columns)
    table = write(columns, out_dir, source=" ".join(map(str, args.runs)), started=started, interrupted=interrupted)
    print(summary(table))
    print(f"matrix: {out_dir / 'matrix.html'}\n        {out_dir / 'matrix.md'}\n        {out_dir / 'matrix.json'}")
    return exit_code(table, args.fail_on)
