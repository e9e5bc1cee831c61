"""The `conformance` command: run, serve, list-checks."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from .engine import Verdict
from .profiles import DEFAULT_PROFILE, PROFILES

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2


def _add_target_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("target")
    g.add_argument("--base-url", help="target base URL ending in /v1; omit to certify the embedded reference server")
    g.add_argument("--model", help="model id to request (required with --base-url)")
    g.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key (default %(default)s)")
    g.add_argument("--auth-header", default="Authorization", help="header carrying the key (default %(default)s)")
    g.add_argument("--no-bearer", action="store_true", help="send the bare key, without the 'Bearer ' prefix")


def _add_run_options(p: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description="Conformance suite for OpenAI-compatible Chat Completions servers")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the suite against a target (default: the embedded reference server)")
    _add_target_options(run)
    _add_run_options(run)
    serve = sub.add_parser("serve", help="run the reference server by itself")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--defect", action="append", default=[], help="inject a named defect (repeatable)")
    serve.add_argument("--api-key", help="require this API key")
    serve.add_argument("--latency-ms", type=int, default=0)
    lc = sub.add_parser("list-checks", help="list every check with clause, level, area and scenarios")
    lc.add_argument("--profile", choices=sorted(PROFILES), help="only checks enabled in this profile")
    sub.add_parser("list-defects", help="list the reference server's named defects and benign variants")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"run": cmd_run, "serve": cmd_serve, "list-checks": cmd_list_checks, "list-defects": cmd_list_defects}
    return handlers[args.command](args)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    from .reports import console, json_report
    from .session import RunConfig, TargetUnreachable, execute
    from .wire.client import Limits

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


def cmd_serve(args: argparse.Namespace) -> int:
    from .servers.reference.__main__ import main as serve_main

    argv = ["--host", args.host, "--port", str(args.port), "--latency-ms", str(args.latency_ms)]
    for name in args.defect:
        argv += ["--defect", name]
    if args.api_key:
        argv += ["--api-key", args.api_key]
    return serve_main(argv) or 0


def cmd_list_checks(args: argparse.Namespace) -> int:
    from .profiles import get_profile
    from .suite import load_suite

    suite = load_suite()
    profile = get_profile(args.profile) if args.profile else None
    rows = []
    for c in sorted(suite.checks.values(), key=lambda c: (c.rule.area, c.rule.id, c.name)):
        if profile and not profile.enables(c.marks):
            continue
        scenarios = sorted(s.name for s in suite.scenarios.values() if c.applies_to(s))
        profiles = [p.name for p in PROFILES.values() if p.enables(c.marks)]
        rows.append(f"{c.rule.id:8} {c.rule.level:6} {c.rule.area:13} {c.name:45} profiles={','.join(profiles)}  scenarios={len(scenarios)}")
        rows.append(f"{'':29}{c.doc.splitlines()[0]}")
    print("\n".join(rows))
    return EXIT_OK


def cmd_list_defects(args: argparse.Namespace) -> int:
    from .servers.defects.registry import DEFECTS

    for d in sorted(DEFECTS.values(), key=lambda d: (d.benign, d.clause, d.name)):
        kind = "variant" if d.benign else "defect"
        print(f"{kind:7} {d.name:42} {d.clause:8} {d.verdict:5} {','.join(d.deviations):10} {d.summary}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
