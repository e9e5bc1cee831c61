"""Benchmark (not a test): the CLI with default options against every hostile server kind.

For each kind of tests/hostile/servers.py: `conformance run --base-url … --model m` in its own
process (default profile, timeouts and caps), and its wall time, exit code, peak RSS (the
process's own, from wait4) and the size of report.json, report.html and transcripts/.  Prints a
Markdown table; targets: peak RSS <= 250 MB and report.html <= 5 MB for every kind.

    .venv/bin/python bench/hostile_targets.py [--kinds huge-json gzip-bomb …] [-- extra run options]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.hostile.servers import KINDS, start_hostile  # noqa: E402

RSS_LIMIT_MB, HTML_LIMIT_MB = 250, 5
# Kinds that echo the key for the secret tests; they behave like a plain (if odd) server here.
SKIPPED = ("echo-key-encoded",)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def measure(kind: str, extra: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, start_hostile(kind) as srv:
        reports = Path(tmp)
        cmd = [sys.executable, "-m", "conformance.cli", "run", "--base-url", srv.base_url, "--model", "m",
               "--reports-dir", str(reports), "--quiet", *extra]
        env = dict(os.environ, BENCH_KEY="sk-bench-0123456789", OPENAI_API_KEY="sk-bench-0123456789")
        started = time.monotonic()
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        took = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        run = reports / "latest"
        return {
            "kind": kind, "seconds": took, "exit": process.returncode, "rss_mb": usage.ru_maxrss / 1024,
            "json_mb": _size(run / "report.json") / 1e6, "html_mb": _size(run / "report.html") / 1e6,
            "transcripts_mb": _size(run / "transcripts") / 1e6,
            "error": [line for line in stderr.splitlines() if "Fatal" in line or "Error" in line][:3] or stderr.splitlines()[-1:] or [""],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="*", default=[k for k in KINDS if k not in SKIPPED])
    parser.add_argument("extra", nargs="*", help="extra `conformance run` options (after --)")
    args = parser.parse_args()
    print("| kind | wall s | exit | peak RSS MB | report.json MB | report.html MB | transcripts/ MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    worst_rss = worst_html = 0.0
    for kind in args.kinds:
        m = measure(kind, args.extra)
        worst_rss, worst_html = max(worst_rss, m["rss_mb"]), max(worst_html, m["html_mb"])  # type: ignore[type-var]
        print(f"| {kind} | {m['seconds']:.1f} | {m['exit']} | {m['rss_mb']:.0f} | {m['json_mb']:.2f} | "
              f"{m['html_mb']:.2f} | {m['transcripts_mb']:.2f} |", flush=True)
        if m["exit"] not in (1, 2):
            print(f"<!-- {kind}: unexpected exit {m['exit']}: {' / '.join(m['error'])} -->", flush=True)
    verdict = "within" if worst_rss <= RSS_LIMIT_MB and worst_html <= HTML_LIMIT_MB else "OVER"
    print(f"\nworst peak RSS {worst_rss:.0f} MB, worst report.html {worst_html:.2f} MB: {verdict} the targets "
          f"({RSS_LIMIT_MB} MB, {HTML_LIMIT_MB} MB)")


if __name__ == "__main__":
    main()
