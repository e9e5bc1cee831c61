"""Benchmark (not a test): what a default run costs on a real server, next to what the server
itself can do with the same work.  Starts a real-tier server (needs `scripts/real-servers`), then:

1. times a default-profile run of the suite (a subprocess, as a user runs it);
2. runs the suite once more in this process with every HTTP request it sends captured (method, URL,
   headers, body: httpx's `Client.send` is wrapped, nothing of the suite's own code);
3. replays the captured requests against the server with `--concurrency` workers and nothing else
   to do: that rate is the server's throughput for exactly this mix of requests (long tool-call
   answers, grammar-constrained JSON, refused probes), so the floor is `requests / rate`;
4. prints the ratio wall time / floor, and the ratio for the sending phase alone (first request to
   last answer, from report.json) beside it.

The earlier floor, 64 copies of one short request (`max_tokens` 16), is printed too: it
understates the work, because the suite's requests are longer on average (tool calls, JSON
answers, counts), which the replay accounts for.

    .venv/bin/python bench/real_tier_cost.py [--combo llama-server-tiny] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.real.servers import Combo, RealServer  # noqa: E402

COMBOS = {c.name: c for c in (Combo("llama-server", "tiny"), Combo("llama-server", "smollm2"), Combo("llama-cpp-python", "tiny"))}
_KEPT_HEADERS = ("content-type", "accept")


@dataclass(frozen=True)
class Captured:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def short_request_rate(base_url: str, model: str, concurrency: int, requests: int = 64) -> float:
    """Requests per second for one short request (max_tokens 16) sent ``requests`` times."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 16}
    with httpx.Client(timeout=120) as client:
        def one(_: int) -> None:
            client.post(f"{base_url}/chat/completions", json=body).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(requests)))
        return requests / (time.perf_counter() - started)


def run_command(server: RealServer, reports: str, concurrency: int) -> list[str]:
    return ["run", "--base-url", server.base_url, "--model", server.combo.model, "--reports-dir", reports,
            "--quiet", "--concurrency", str(concurrency)]


def timed_run(server: RealServer, concurrency: int) -> tuple[float, dict[str, Any]]:
    """Wall time of `conformance run` as a subprocess, and report.json's `run` section."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with tempfile.TemporaryDirectory() as reports:
        command = [str(Path(sys.executable).with_name("conformance")), *run_command(server, reports, concurrency)]
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=False)
        wall = time.perf_counter() - started
        run: dict[str, Any] = json.loads((Path(reports) / "latest" / "report.json").read_text())["run"]
    return wall, run


@contextlib.contextmanager
def capturing() -> Iterator[list[Captured]]:
    """Every request any httpx.Client sends while inside, in the order sent."""
    captured: list[Captured] = []
    lock = threading.Lock()
    original = httpx.Client.send

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in _KEPT_HEADERS}
        with lock:
            captured.append(Captured(request.method, str(request.url), headers, request.content))
        return original(self, request, **kwargs)

    httpx.Client.send = send  # type: ignore[method-assign]
    try:
        yield captured
    finally:
        httpx.Client.send = original  # type: ignore[method-assign]


def captured_run(server: RealServer, concurrency: int) -> list[Captured]:
    """The requests a default run sends (the suite run in this process, its output discarded)."""
    from conformance.cli import main

    env_keys = [k for k in os.environ if k.startswith("OPENAI_")]
    saved = {k: os.environ.pop(k) for k in env_keys}
    try:
        with tempfile.TemporaryDirectory() as reports, open(os.devnull, "w") as quiet, capturing() as captured, \
                contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            main(run_command(server, reports, concurrency))
    finally:
        os.environ.update(saved)
    return [c for c in captured if c.url.startswith(server.base_url)]


def replay_rate(requests: list[Captured], concurrency: int) -> float:
    """Requests per second when ``requests`` are sent by ``concurrency`` workers, each answer read
    to its end.  A request that meets a transport error (a kept-alive connection the server had
    closed or reset) is sent once more; a second error counts it as done, as the suite's run did."""
    with httpx.Client(timeout=300, limits=httpx.Limits(max_connections=concurrency)) as client:
        def send(request: Captured) -> None:
            for attempt in (1, 2):
                try:
                    with client.stream(request.method, request.url, content=request.body or None,
                                       headers=request.headers) as response:
                        for _ in response.iter_raw():
                            pass
                    return
                except httpx.TransportError:
                    if attempt == 2:
                        return

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(send, requests))
        return len(requests) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--combo", default="llama-server-tiny", choices=sorted(COMBOS))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="timed runs (the median is reported)")
    args = parser.parse_args()
    combo = COMBOS[args.combo]
    with RealServer(combo) as server:
        short_rate = short_request_rate(server.base_url, combo.model, args.concurrency)
        timed = [timed_run(server, args.concurrency) for _ in range(args.runs)]
        requests = captured_run(server, args.concurrency)
        rate = replay_rate(requests, args.concurrency)
    wall = statistics.median(w for w, _ in timed)
    sending = statistics.median(r["duration_s"] for _, r in timed)
    count = statistics.median(r["requests"] for _, r in timed)
    tokens = statistics.median(r["tokens"] for _, r in timed)
    floor = count / rate
    print(f"| combo | requests | tokens | wall (median of {args.runs}) | sending | replay rate | floor | "
          "wall ÷ floor | sending ÷ floor | short-request floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    walls = sorted(w for w, _ in timed)
    print(f"| {combo.name} | {count:g} | {tokens:g} | {wall:.2f} s ({walls[0]:.2f}–{walls[-1]:.2f}) | {sending:.2f} s | {rate:.1f} req/s "
          f"({len(requests)} replayed) | {floor:.2f} s | {wall / floor:.2f} | {sending / floor:.2f} | "
          f"{count / short_rate:.2f} s at {short_rate:.0f} req/s ({wall * short_rate / count:.2f}×) |")


if __name__ == "__main__":
    main()
