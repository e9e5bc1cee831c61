"""Benchmark (not a test): how long `conformance run` takes to stop after SIGTERM once its run is under way.

The CLI starts (not quiet: it says "running N checks over M scenarios" when the run begins, then
prints a character per result), gets SIGTERM at its first result, with other requests on their
way, and the time to its exit is measured: against the embedded server, and
against a reference server answering each request after --latency-ms (requests already on their
way finish, within their timeouts).  tests/test_interrupt.py proves the outcome (exit 1, partial
report, nothing sent after the interrupt); this measures the wait.

    .venv/bin/python bench/interrupt_latency.py [--latency-ms 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.servers.launcher import ReferenceServer

KEY = "sk-bench-interrupt-0123456789"


def measure(target: list[str]) -> tuple[float, int, bool]:
    """Seconds from SIGTERM to exit, the exit code, and whether the report says interrupted."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "conformance", "run", *target, "--reports-dir", tmp]
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   env=dict(os.environ, OPENAI_API_KEY=KEY))
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("running "):
                break
        process.stderr.read(1)  # the first result
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        process.stderr.read()
        code = process.wait()
        took = time.monotonic() - sent
        report = Path(tmp) / "latest" / "report.json"
        interrupted = report.exists() and json.loads(report.read_text())["run"]["interrupted"]
    return took, code, interrupted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| target | s from SIGTERM to exit | exit | partial report |")
    print("|---|---:|---:|---|")
    with ReferenceServer(api_key=KEY, latency_ms=args.latency_ms) as slow:
        targets = {"embedded server": [],
                   f"{args.latency_ms} ms per answer": ["--base-url", slow.base_url, "--model", "reference-model"]}
        for name, target in targets.items():
            for _ in range(args.repeat):
                took, code, interrupted = measure(target)
                print(f"| {name} | {took:.2f} | {code} | {'yes' if interrupted else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
