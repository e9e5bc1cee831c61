"""Benchmark (not a test): default-profile wall time against the reference server, and the suite's
per-request overhead next to a bare pooled-httpx loop sending the very same requests.

Overhead is measured on the hand-written scenarios (generation off), where one scenario request
is one wire request; generated traffic adds Hypothesis' own cost (~5-10 ms per case), reported
separately as the full profile's wall time.

    .venv/bin/python bench/engine_overhead.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute
from conformance.target import Context

KEY = "sk-bench-0123456789"


def record_bodies(base_url: str) -> list[object]:
    """The request bodies one default-profile run without generated traffic sends, in order."""
    sent: list[object] = []
    original = Context.send

    def spy(self: Context, body: object, **kwargs: object):  # type: ignore[no-untyped-def]
        sent.append(body)
        return original(self, body, **kwargs)

    Context.send = spy  # type: ignore[method-assign]
    try:
        execute(RunConfig(base_url=base_url, model=EMBEDDED_MODEL, api_key=KEY, concurrency=1, fuzz_examples=0,
                          command=["bench"]))
    finally:
        Context.send = original  # type: ignore[method-assign]
    return sent


def bare_loop(base_url: str, bodies: list[object]) -> float:
    """Send every body with one pooled httpx.Client, reading each answer fully; seconds."""
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        started = time.perf_counter()
        for body in bodies:
            kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
            with client.stream("POST", "/chat/completions", **kwargs) as response:
                for _ in response.iter_raw():
                    pass
        return time.perf_counter() - started


def suite_run(base_url: str, concurrency: int, fuzz_examples: int | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    report = execute(RunConfig(base_url=base_url, model=EMBEDDED_MODEL, api_key=KEY, concurrency=concurrency,
                               fuzz_examples=fuzz_examples, command=["bench"]))
    return time.perf_counter() - started, report.requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with ReferenceServer(api_key=KEY) as server:
        bodies = record_bodies(server.base_url)
        bare = [bare_loop(server.base_url, bodies) for _ in range(args.repeat)]
        serial = [suite_run(server.base_url, 1, fuzz_examples=0) for _ in range(args.repeat)]
        full = [suite_run(server.base_url, 8) for _ in range(args.repeat)]
    n = len(bodies)
    bare_ms = statistics.median(bare) / n * 1000
    serial_ms = statistics.median(t for t, _ in serial) / serial[0][1] * 1000
    print(f"hand-written scenarios: {serial[0][1]} requests (bodies recorded: {n}, plus the preflight)")
    print(f"bare pooled httpx loop:        {bare_ms:.2f} ms/request")
    print(f"suite, concurrency 1:          {serial_ms:.2f} ms/request (incl. every check, preflight) -> {serial_ms / bare_ms:.2f}x")
    print(f"full default profile (with generated traffic), concurrency 8: {statistics.median(t for t, _ in full):.3f} s "
          f"for {full[0][1]} requests")


if __name__ == "__main__":
    main()
