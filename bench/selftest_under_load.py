"""Benchmark (not a test): scripts/selftest, N times in a row, while a CPU hog runs on every core.

The suite's own tests must not depend on timing; this is the proof.  One busy-loop process per
core (os.cpu_count(), or --hogs) runs for the whole benchmark and is stopped by its PID whatever
happens (a failure, Ctrl-C, SIGTERM).  Each run's output goes to reports/selftest-under-load/run-N.log;
the benchmark prints each run's outcome, duration and pytest summary line, and exits 1 if any run failed.

    scripts/selftest-under-load [--runs N] [--hogs K] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "reports" / "selftest-under-load"
_SUMMARY = re.compile(r"\b(passed|failed|errors?|no tests ran)\b.* in [\d.]+s")


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that the hogs are stopped on the way out


def _die_with_parent() -> None:
    # Linux: a hog must not outlive the benchmark, even one killed by SIGKILL (PR_SET_PDEATHSIG).
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=_die_with_parent)
            for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


def run_selftest(number: int, pytest_args: list[str]) -> tuple[bool, float, str]:
    """One scripts/selftest run: (passed, seconds, pytest's summary line)."""
    log = LOGS / f"run-{number}.log"
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(["bash", str(ROOT / "scripts" / "selftest"), *pytest_args], cwd=ROOT, stdout=out,
                               stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    lines = [line.strip(" =") for line in log.read_text(errors="replace").splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if _SUMMARY.search(line)), lines[-1] if lines else "(no output)")
    return code == 0, seconds, f"{summary}  [{log.relative_to(ROOT)}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="scripts/selftest runs in a row (default 3)")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1, help="busy-loop processes (default: one per core)")
    parser.add_argument("pytest_args", nargs="*", help="passed to scripts/selftest (after --)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _sigterm)
    LOGS.mkdir(parents=True, exist_ok=True)
    results: list[bool] = []
    hogs = start_hogs(args.hogs)
    try:
        print(f"{args.hogs} CPU hogs running (PIDs {' '.join(str(h.pid) for h in hogs)}); "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        for number in range(1, args.runs + 1):
            passed, seconds, summary = run_selftest(number, args.pytest_args)
            results.append(passed)
            print(f"run {number}/{args.runs}: {'PASS' if passed else 'FAIL'} in {seconds:.0f} s, "
                  f"load average {os.getloadavg()[0]:.1f}: {summary}", flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        stop_hogs(hogs)
    print(f"{results.count(True)} of {args.runs} runs passed under load")
    return 0 if all(results) and len(results) == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
