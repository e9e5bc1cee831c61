"""`conformance replay RUN_DIR`: judge the exchanges a run recorded again with today's suite,
offline (no target), and say what changed, as `conformance diff` does.

Writes the replay as a run of its own, reports/<run-id>/ (provenance.replay names the recorded
run and each scenario that needs a live target).  Exit codes: 0 no new failure, 1 today's checks
fail what the recorded run did not, 2 the run cannot be read or the replay cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_REGRESSED, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("replay", help="judge a recorded run again with today's checks, offline, and show what changed")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory or its report.json, e.g. reports/latest")
    p.add_argument("--reports-dir", type=Path, default=Path("reports"), metavar="DIR",
                   help="where the replay's <run-id>/ goes (default %(default)s)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="how to show the changes: text (default), markdown (PR comments), json (schemas/diff.schema.json)")
    p.add_argument("--fail-on", choices=("fail", "warn"), default="fail",
                   help="which verdicts count as failures in the comparison (default: FAIL, ERROR)")
    return p


def main(args: argparse.Namespace) -> int:
    from ..baseline import gated_verdicts
    from ..replay import NEEDS_TARGET, replay
    from ..reports import compare, diff_view, json_report, render, runs

    try:
        recorded = runs.load(args.run_dir)
    except runs.RunInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    report = replay(recorded, str(args.run_dir))
    document = json_report.build(report)
    try:
        run_dir = json_report.write(report, args.reports_dir, document)
        render.render_run(run_dir)
    except OSError as exc:
        print(f"error: cannot write the replay to {args.reports_dir}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    diff = compare.compare(recorded, document, gated_verdicts(args.fail_on), before_source=str(args.run_dir),
                           after_source=str(run_dir))
    if args.format == "json":
        print(json.dumps(diff, indent=2, ensure_ascii=False))
    else:
        print(fidelity(document))
        # what needs a live target is listed above, once per scenario rather than once per check
        offline = {r["key"] for r in document["results"] if r["verdict"] == "SKIP" and r["note"].startswith(NEEDS_TARGET)}
        shown = dict(diff, causes=[c for c in diff["causes"] if not offline.issuperset(c["keys"])])
        print(diff_view.markdown(shown) if args.format == "markdown" else diff_view.console(shown))
        print(f"replay: {run_dir / render.REPORT_JSON}")
    return EXIT_REGRESSED if diff["regressed"] else EXIT_OK


def fidelity(document: dict[str, object]) -> str:
    """Which scenarios were judged again and which need a live target, grouped by why."""
    replay = document["provenance"]["replay"]  # type: ignore[index]
    scenarios = {r["scenario"] for r in document["results"]}  # type: ignore[attr-defined]
    skipped: dict[str, list[str]] = {}
    for scenario, reason in sorted(replay["not_replayed"].items()):
        skipped.setdefault(reason, []).append(scenario)
    lines = [f"replay of run {replay['of']} (recorded with suite {replay['recorded_with']}): "
             f"{len(scenarios) - len(replay['not_replayed'])} of {len(scenarios)} scenarios judged again offline"]
    lines += [f"  needs a live target: {', '.join(names)}: {reason}" for reason, names in skipped.items()]
    return "\n".join(lines)
