"""Cold vs warm: `conformance run` in a fresh directory, then again there (not a timed test).

A cold run starts with an empty Hypothesis storage directory (<reports-dir>/.hypothesis); the warm
run after it finds whatever the cold one stored there.  The pairs alternate, so a load change on a
shared machine hits both sides; medians are printed with their differences, what Hypothesis stored
(`unicode_data/` would mean its Unicode tables were built: seconds and hundreds of MB) and whatever
any run wrote outside the reports directory (should be nothing).

    .venv/bin/python bench/first_contact.py [--profile compatible] [--pairs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(cwd: Path, profile: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one CLI run in `cwd`."""
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--profile", profile, "--quiet",
                              "--reports-dir", "reports"], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - started, usage.ru_maxrss / 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="compatible")
    parser.add_argument("--pairs", type=int, default=3, help="cold+warm pairs, each cold one in a new directory")
    args = parser.parse_args()
    measured: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
    stored: set[str] = set()
    litter: set[str] = set()
    for _ in range(args.pairs):
        with tempfile.TemporaryDirectory() as scratch:
            cwd = Path(scratch)
            for kind in ("cold", "warm"):
                wall, rss, code = run_once(cwd, args.profile)
                measured[kind].append((wall, rss))
                print(f"{kind}: {wall:.2f} s, peak RSS {rss:.0f} MB, exit {code}", flush=True)
            storage = cwd / "reports" / ".hypothesis"
            stored |= {p.name for p in storage.iterdir()} if storage.is_dir() else set()
            litter |= {p.name for p in cwd.iterdir() if p.name != "reports"}
    medians = {kind: (statistics.median(w for w, _ in runs), statistics.median(r for _, r in runs))
               for kind, runs in measured.items()}
    for kind, (wall, rss) in medians.items():
        print(f"median {kind}: {wall:.2f} s, peak RSS {rss:.0f} MB")
    print(f"cold - warm: {medians['cold'][0] - medians['warm'][0]:+.2f} s, {medians['cold'][1] - medians['warm'][1]:+.0f} MB")
    print(f"Hypothesis stored: {', '.join(sorted(stored)) or 'nothing'}")
    print(f"written outside reports/: {', '.join(sorted(litter)) or 'nothing'}")


if __name__ == "__main__":
    main()
