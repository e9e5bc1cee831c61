"""Wall time of the conformance suite under pytest: serial vs pytest-xdist, against a slow reference server.

    .venv/bin/python bench/pytest_xdist.py --latency-ms 50 --workers 0 2 4 --concurrency 8 1

Starts one reference server with the given per-response latency, then for every (concurrency,
workers) pair runs ``pytest --target-url ... -n WORKERS`` in a scratch directory and prints the
wall time, the requests the merged report counts and the speed-up over the serial run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.servers.launcher import ReferenceServer


def run_once(url: str, key: str, workers: int, concurrency: int, profile: str) -> tuple[float, int, str]:
    """One pytest run; returns (wall seconds, requests in the report, pytest's last line)."""
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "pytest.ini").write_text("[pytest]\n")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--target-url", url,
               "--target-model", "reference-model", "--conformance-profile", profile,
               "--conformance-concurrency", str(concurrency), "--conformance-reports-dir", "reports"]
        if workers:
            cmd += ["-n", str(workers)]
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=scratch, env=dict(os.environ, OPENAI_API_KEY=key), capture_output=True, text=True)
        wall = time.perf_counter() - started
        report = json.loads(Path(scratch, "reports", "latest", "report.json").read_text())
        return wall, report["run"]["requests"], done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 1])
    parser.add_argument("--profile", default="compatible")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; the fastest is kept")
    args = parser.parse_args()
    key = f"sk-bench-{secrets.token_hex(8)}"
    print(f"latency {args.latency_ms} ms per response, profile {args.profile}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'concurrency':>11} {'workers':>7} {'wall s':>7} {'requests':>8} {'speed-up':>8}  pytest")
    with ReferenceServer(api_key=key, latency_ms=args.latency_ms) as server:
        for concurrency in args.concurrency:
            serial: float | None = None
            for workers in args.workers:
                wall, requests, line = min(run_once(server.base_url, key, workers, concurrency, args.profile)
                                           for _ in range(args.repeat))
                serial = serial or wall
                print(f"{concurrency:>11} {workers:>7} {wall:>7.1f} {requests:>8} {serial / wall:>7.2f}x  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
