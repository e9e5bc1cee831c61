"""Cold vs warm: the same `conformance run` twice in a fresh directory (not a timed test).

The first run computes Hypothesis' caches (Unicode tables, constants of the suite's sources)
under <reports-dir>/.hypothesis; the second finds them there.  Prints wall time and peak RSS of
each run, and whatever either run wrote outside the reports directory (should be nothing).

    .venv/bin/python bench/first_contact.py [--profile compatible] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
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
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cwd = Path(scratch)
        for i in range(args.runs):
            wall, rss, code = run_once(cwd, args.profile)
            print(f"{'cold' if i == 0 else 'warm'}: {wall:.2f} s, peak RSS {rss:.0f} MB, exit {code}")
        litter = sorted(p.name for p in cwd.iterdir() if p.name != "reports")
        print(f"written outside reports/: {litter or 'nothing'}")


if __name__ == "__main__":
    main()
