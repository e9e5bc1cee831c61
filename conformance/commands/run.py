"""`conformance run`: run the suite against a target, or the embedded reference server.

Writes reports/<run-id>/ (report.json, junit.xml, report.html, summary.md, transcripts/) and
points reports/latest at it; appends summary.md to $GITHUB_STEP_SUMMARY when that is set.
Exit codes: 0 the gate passed, 1 it did not (or the run was interrupted), 2 the run could not start
(the reports directory is checked for writing before anything is sent) or nothing could be written.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine import Verdict
from ..profiles import DEFAULT_PROFILE, PROFILES

if TYPE_CHECKING:
    from ..baseline import Baseline, Gate
    from ..session import RunConfig, RunReport

EXIT_OK, EXIT_FAILURES, EXIT_CANNOT_RUN = 0, 1, 2
CERTIFY_PROFILE = "certify"


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
    g.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="extra header sent with every request (repeatable)")
    g.add_argument("--secret-header", action="append", default=[], metavar="NAME",
                   help="the values of this request header are secrets: redacted everywhere, like the key (repeatable)")


def add_execution_options(g: argparse._ArgumentGroup) -> None:
    """Options every front-end that executes a run shares (`run`, `certify`)."""
    g.add_argument("--concurrency", type=int, default=8, help="scenarios in flight at once (default %(default)s)")
    g.add_argument("--max-requests", type=int, help="stop sending after this many requests (rest SKIP)")
    g.add_argument("--max-tokens-total", type=int, help="stop sending once the target reports this many tokens used")
    g.add_argument("--timeout", type=float, default=60.0, help="total seconds per exchange (default %(default)s)")
    g.add_argument("--read-timeout", type=float, default=30.0, help="max seconds between bytes (default %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="seed for generated requests (default %(default)s)")
    g.add_argument("--max-tokens", type=int, default=16, dest="probe_max_tokens",
                   help="max_tokens of probes that do not test a cap; raise it for reasoning models (default %(default)s)")
    g.add_argument("--reports-dir", default="reports", type=Path, help="where reports go (default %(default)s)")
    g.add_argument("--quiet", action="store_true", help="no progress line, summary only")


def add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    described = "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values())
    g.add_argument("--profile", default=DEFAULT_PROFILE, choices=sorted(PROFILES),
                   help=f"default %(default)s. {described.replace('%', '%%')}")
    add_execution_options(g)
    g.add_argument("--clause", action="append", default=[], help="only clauses starting with this id (repeatable), e.g. SSE")
    g.add_argument("--scenario", action="append", default=[], help="only this scenario (repeatable)")
    g.add_argument("--defect", action="append", default=[], help="embedded server only: inject this named defect")
    g.add_argument("--capabilities", metavar="FILE",
                   help="capability manifest (YAML/TOML, see examples/capabilities.yaml): refusals of unclaimed features SKIP")
    g.add_argument("--fail-on", choices=("fail", "warn", "never"), default="fail",
                   help="exit 1 on FAIL/ERROR (fail), also on WARN (warn), or never (default %(default)s)")
    g.add_argument("--baseline", type=Path, metavar="FILE",
                   help="known failures (YAML/JSON, see `conformance baseline`): only new ones and expired waivers fail")


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_headers(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`--header "Name: value"` arguments as (name, value) pairs; ValueError names a malformed one."""
    headers = []
    for position, raw in enumerate(values, 1):
        name, sep, value = raw.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _HEADER_NAME.match(name) or any(c in value for c in "\r\n\0"):
            # The argument itself is not repeated: it may hold a secret.
            raise ValueError(f"--header #{position} is not 'Name: value' (a token name, a colon, a one-line value)")
        headers.append((name, value))
    return tuple(headers)


def target_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the target options, if anything."""
    if args.base_url and not args.model:
        return "--model is required with --base-url"
    if getattr(args, "defect", None) and args.base_url:
        return "--defect applies to the embedded server only (use `conformance proxy` for a real upstream)"
    try:
        parse_headers(args.header)
    except ValueError as exc:
        return str(exc)
    return None


def build_config(args: argparse.Namespace, profile: str) -> RunConfig:
    from ..session import RunConfig
    from ..wire.client import Limits

    return RunConfig(
        base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, auth_header=args.auth_header,
        auth_scheme=None if args.no_bearer else "Bearer", profile=profile, concurrency=args.concurrency,
        max_requests=args.max_requests, max_tokens_total=args.max_tokens_total,
        limits=Limits(read_timeout=args.read_timeout, total_timeout=args.timeout), seed=args.seed, max_tokens=args.probe_max_tokens,
        clauses=tuple(getattr(args, "clause", ())), scenarios=tuple(getattr(args, "scenario", ())),
        defects=tuple(getattr(args, "defect", ())), headers=parse_headers(args.header),
        secret_headers=tuple(args.secret_header), capabilities=getattr(args, "capabilities", None),
    )


def execute_with_progress(config: RunConfig, quiet: bool) -> RunReport | int:
    """Run with a progress line (unless quiet); an exit code when the run could not start."""
    from ..reports import console
    from ..session import TargetUnreachable, execute

    progress = console.Progress()
    try:
        report = execute(config, on_result=(lambda r: None) if quiet else progress,
                         on_start=(lambda c, s: None) if quiet else progress.start)
    except TargetUnreachable as exc:
        print(f"error: target unreachable: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if not quiet:
        progress.finish()
    return report


def writable_error(reports_dir: Path) -> str | None:
    """Why reports cannot be written to reports_dir (checked before anything is sent), or None."""
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=reports_dir) as probe:
            probe.write(b"0")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return f"cannot write reports to {reports_dir}: {exc.strerror or exc}"
    return None


def write_outputs(report: RunReport, reports_dir: Path, document: dict[str, Any]) -> Path:
    """report.json, then every format rendered from it; returns the run directory.  Raises
    OSError when report.json cannot be written; trouble with the other formats is printed."""
    from ..reports import json_report, render

    run_dir = json_report.write(report, reports_dir, document)
    try:
        render.render_run(run_dir)
    except render.ReportError as exc:  # a suite bug: keep report.json, say why the rest is missing
        print(f"error: cannot render reports: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: report.json written, the other formats could not be: {exc}", file=sys.stderr)
    return run_dir


def write_or_explain(report: RunReport, reports_dir: Path, document: dict[str, Any]) -> Path | None:
    """write_outputs; when nothing could be written, the summary and where it failed go to the
    terminal instead (returns None)."""
    try:
        return write_outputs(report, reports_dir, document)
    except OSError as exc:
        print_outcome(document, None, report.interrupted)
        print(f"error: nothing could be written to {reports_dir}: {exc.strerror or exc}"
              f"{f' ({exc.filename})' if exc.filename else ''}", file=sys.stderr)
        return None


def print_outcome(document: dict[str, Any], run_dir: Path | None, interrupted: bool) -> None:
    from ..reports import console

    details = console.findings(document)
    if details:
        print(details)
    print(console.summary_table(document))
    run = document["run"]
    print(f"\n{document['summary']['status'].upper()}: profile {run['profile']}, {run['requests']} requests, "
          f"{run['duration_s']} s{' (INTERRUPTED: partial report)' if interrupted else ''}")
    if run_dir is not None:
        print(f"report: {run_dir / 'report.json'}\nhtml:   {run_dir / 'report.html'}")


def append_step_summary(run_dir: Path) -> None:
    """Append summary.md to the file named by $GITHUB_STEP_SUMMARY, when set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    summary = run_dir / "summary.md"
    if not target or not summary.exists():
        return
    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(summary.read_text(encoding="utf-8") + "\n")
    except OSError as exc:
        print(f"warning: cannot append to $GITHUB_STEP_SUMMARY: {exc}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from ..baseline import BaselineError, describe, evaluate, load
    from ..reports import json_report

    problem = target_error(args)
    if args.baseline is not None and args.profile == CERTIFY_PROFILE:
        problem = "waivers are refused in certification runs: drop --baseline (or use `conformance certify`)"
    waivers: Baseline | None = None
    if problem is None and args.baseline is not None:
        try:
            waivers = load(args.baseline)
        except BaselineError as exc:
            problem = str(exc)
    problem = problem or writable_error(args.reports_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    report = execute_with_progress(build_config(args, args.profile), args.quiet)
    if isinstance(report, int):
        return report
    document = json_report.build(report)
    gate: Gate | None = None
    if waivers is not None:
        gate = evaluate(document, waivers, file=str(args.baseline), fail_on=args.fail_on)
        document["baseline"] = gate.to_dict()
    run_dir = write_or_explain(report, args.reports_dir, document)
    if run_dir is None:
        return EXIT_CANNOT_RUN
    print_outcome(document, run_dir, report.interrupted)
    if gate is not None:
        print(describe(gate))
    append_step_summary(run_dir)
    return _exit_code(document, args.fail_on, report.interrupted, gate)


def _exit_code(document: dict[str, Any], fail_on: str, interrupted: bool, gate: Gate | None = None) -> int:
    verdicts = document["summary"]["verdicts"]
    if interrupted:
        return EXIT_FAILURES
    if fail_on == "never":
        return EXIT_OK
    if gate is not None:
        return EXIT_FAILURES if gate.failed else EXIT_OK
    bad = [Verdict.FAIL.value, Verdict.ERROR.value] + ([Verdict.WARN.value] if fail_on == "warn" else [])
    return EXIT_FAILURES if any(verdicts.get(v) for v in bad) else EXIT_OK
