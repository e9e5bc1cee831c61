"""Benchmark (not a test): the reference server under hostile load.

1. 10 000 Hypothesis-generated invalid requests (the ten categories of
   tests/test_reference_hardening.py), sent by 8 concurrent clients: requests/s, the status
   histogram per category, and every answer that breaks the rule (5xx, 4xx without envelope,
   a 2xx for a request that must be refused).
2. 200 concurrent streaming clients on raw sockets, every fourth one a slow reader (tiny receive
   buffer, 64-byte reads): how many streams completed, wall time.
3. The server's resident memory from /proc (VmRSS now, VmHWM peak) after each phase.

    .venv/bin/python bench/reference_hardening.py [--requests 10000] [--streams 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conformance.servers.launcher import ReferenceServer  # noqa: E402
from tests.test_reference_hardening import STRATEGIES, RawRequest, _stream, judge, send  # noqa: E402


def generate(count: int) -> list[RawRequest]:
    """``count`` requests, an equal share per category, drawn with a fixed seed; a category with
    fewer distinct cases than its share (empty bodies, oversized ones) repeats them."""
    share = count // len(STRATEGIES)
    drawn: list[RawRequest] = []
    for strategy in STRATEGIES.values():
        cases: list[RawRequest] = []

        @seed(2024)
        @settings(max_examples=share, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def collect(request: RawRequest) -> None:
            cases.append(request)  # noqa: B023  (called at once, inside this iteration)

        collect()
        drawn += [cases[i % len(cases)] for i in range(share)]
    random.Random(2024).shuffle(drawn)
    return drawn


def memory(pid: int) -> str:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = value.strip()
    return f"RSS {fields.get('VmRSS')}, peak {fields.get('VmHWM')}"


def invalid_phase(server: ReferenceServer, requests: list[RawRequest], workers: int) -> None:
    statuses: Counter[tuple[str, int]] = Counter()
    problems: Counter[str] = Counter()
    local = threading.local()

    def one(request: RawRequest) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=server.root_url, timeout=30.0, trust_env=False)
        try:
            response = send(local.client, request)
        except httpx.HTTPError as exc:
            statuses[(request.category, -1)] += 1
            problems[f"{request.category}: {type(exc).__name__}"] += 1
            return
        statuses[(request.category, response.status_code)] += 1
        problem = judge(request, response)
        if problem:
            problems[f"{request.category}: {problem[:60]}"] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, requests))
    took = time.perf_counter() - started
    print(f"{len(requests)} invalid requests in {took:.1f} s: {len(requests) / took:.0f} requests/s ({workers} clients)")
    by_status = Counter()
    for (category, status), n in sorted(statuses.items()):
        by_status[status] += n
        print(f"  {category:20} {status:4} {n:6}")
    print(f"  status histogram: {dict(sorted(by_status.items()))}")
    print(f"  problems: {dict(problems) or 'none'}")
    with httpx.Client(base_url=server.root_url, trust_env=False) as client:
        print(f"  /healthz afterwards: {client.get('/healthz').json()}")


def stream_phase(server: ReferenceServer, count: int) -> None:
    results: list[str] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_stream, args=(server.root_url, i % 4 == 0, results, lock)) for i in range(count)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    took = time.perf_counter() - started
    outcomes = Counter("ok" if r == "ok" else r.split(":")[0] for r in results)
    print(f"{count} concurrent streams ({count // 4} slow readers) in {took:.1f} s: {dict(outcomes)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    requests = generate(args.requests)
    print(f"generated {len(requests)} requests in {time.perf_counter() - started:.1f} s")
    with ReferenceServer() as server:
        assert server.pid is not None
        print(f"server idle: {memory(server.pid)}")
        invalid_phase(server, requests, args.workers)
        print(f"server after invalid requests: {memory(server.pid)}")
        stream_phase(server, args.streams)
        print(f"server after streams: {memory(server.pid)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
