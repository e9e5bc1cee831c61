"""`conformance run`: run the suite against a target, or the embedded reference server."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from ..engine import Verdict
from ..profiles import DEFAULT_PROFILE, PROFILES

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("run", help="run the suite against a target (default: the embedded reference server)")
    add_target_options(p)
    add_run_options(p)
    return p


def add_target_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("target")
    g.add_argument("--base-url", help="target base URL ending in /v1; omit to certify the embedded reference server")
    g.add_argument("--model", help="model id to request (required with --base-url)")
    g.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key (default %(default)s)")
    g.add_argument("--auth-header", default="Authorization", help="header carrying the key (default %(default)s)")
    g.add_argument("--no-bearer", action="store_true", help="send the bare key, without the 'Bearer ' prefix")


def add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES), help="default %(default)s")
    g.add_argument("--concurrency", type=int, default=8, help="scenarios in flight at once (default %(default)s)")
    g.add_argument("--max-requests", type=int, help="stop sending after this many requests (rest SKIP)")
    g.add_argument("--max-tokens-total", type=int, help="stop sending once the target reports this many tokens used")
    g.add_argument("--timeout", type=float, default=60.0, help="total seconds per exchange (default %(default)s)")
    g.add_argument("--read-timeout", type=float, default=30.0, help="max seconds between bytes (default %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="seed for generated requests (default %(default)s)")
    g.add_argument("--clause", action="append", default=[], help="only clauses starting with this id (repeatable), e.g. SSE")
    g.add_argument("--scenario", action="append", default=[], help="only this scenario (repeatable)")
    g.add_argument("--defect", action="append", default=[], help="embedded server only: inject this named defect")
    g.add_argument("--reports-dir", default="reports", type=Path, help="where reports go (default %(default)s)")
    g.add_argument("--fail-on", choices=("fail", "warn", "never"), default="fail",
                   help="exit 1 on FAIL/ERROR (fail), also on WARN (warn), or never (default %(default)s)")
    g.add_argument("--quiet", action="store_true", help="no progress line, summary only")


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(args: argparse.Namespace) -> int:
    from ..reports import console, json_report
    from ..session import RunConfig, TargetUnreachable, execute
    from ..wire.client import Limits

    if args.base_url and not args.model:
        print("error: --model is required with --base-url", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.defect and args.base_url:
        print("error: --defect applies to the embedded server only (use `conformance proxy` for a real upstream)", file=sys.stderr)
        return EXIT_CANNOT_RUN
    config = RunConfig(
        base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, auth_header=args.auth_header,
        auth_scheme=None if args.no_bearer else "Bearer", profile=args.profile, concurrency=args.concurrency,
        max_requests=args.max_requests, max_tokens_total=args.max_tokens_total,
        limits=Limits(read_timeout=args.read_timeout, total_timeout=args.timeout), seed=args.seed,
        clauses=tuple(args.clause), scenarios=tuple(args.scenario), defects=tuple(args.defect),
    )
    progress = console.Progress()
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        report = execute(config, on_result=(lambda r: None) if args.quiet else progress,
                         on_start=(lambda c, s: None) if args.quiet else progress.start)
    except TargetUnreachable as exc:
        print(f"error: target unreachable: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if not args.quiet:
        progress.finish()
    document = json_report.build(report)
    run_dir = json_report.write(report, args.reports_dir)
    details = console.findings(document)
    if details:
        print(details)
    print(console.summary_table(document))
    status = document["summary"]["status"]
    run = document["run"]
    print(f"\n{status.upper()}: profile {run['profile']}, {run['requests']} requests, {run['duration_s']} s"
          f"{' (INTERRUPTED: partial report)' if report.interrupted else ''}")
    print(f"report: {run_dir / 'report.json'}")
    return _exit_code(document, args.fail_on, report.interrupted)


def _exit_code(document: dict[str, Any], fail_on: str, interrupted: bool) -> int:
    verdicts = document["summary"]["verdicts"]
    if interrupted:
        return EXIT_FAILURES
    if fail_on == "never":
        return EXIT_OK
    bad = [Verdict.FAIL.value, Verdict.ERROR.value] + ([Verdict.WARN.value] if fail_on == "warn" else [])
    return EXIT_FAILURES if any(verdicts.get(v) for v in bad) else EXIT_OK


