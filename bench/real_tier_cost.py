"""Benchmark (not a test): what a default run costs on a real server, next to what the server
itself can do.  Starts llama-server with the tiny model (needs `scripts/real-servers`), measures
its throughput at the run's concurrency with requests shaped like the suite's (a short prompt,
max_tokens 16), then times a default-profile run and compares its wall time with
requests / throughput (the suite's own overhead and its sequential probes are the difference).

    .venv/bin/python bench/real_tier_cost.py [--combo llama-server-tiny] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.real.servers import Combo, RealServer  # noqa: E402

COMBOS = {c.name: c for c in (Combo("llama-server", "tiny"), Combo("llama-server", "smollm2"), Combo("llama-cpp-python", "tiny"))}


def throughput(base_url: str, model: str, concurrency: int, requests: int = 64) -> float:
    """Requests per second the server sustains at ``concurrency`` for suite-sized requests."""
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 16}
    with httpx.Client(timeout=120) as client:
        def one(_: int) -> None:
            client.post(f"{base_url}/chat/completions", json=body).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(requests)))
        return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--combo", default="llama-server-tiny", choices=sorted(COMBOS))
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    combo = COMBOS[args.combo]
    with RealServer(combo) as server, tempfile.TemporaryDirectory() as reports:
        rate = throughput(server.base_url, combo.model, args.concurrency)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        command = [str(Path(sys.executable).with_name("conformance")), "run", "--base-url", server.base_url,
                   "--model", combo.model, "--reports-dir", reports, "--quiet", "--concurrency", str(args.concurrency)]
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=False)
        wall = time.perf_counter() - started
        run = json.loads((Path(reports) / "latest" / "report.json").read_text())["run"]
    floor = run["requests"] / rate
    # The run's own duration (first request to last) apart from the command's wall time: the rest
    # is the interpreter, imports, preflight and report writing.
    print(f"| {combo.name} | {rate:.1f} req/s | {run['requests']} | {run['tokens']} | {wall:.1f} s "
          f"({run['duration_s']:.1f} s sending) | {floor:.1f} s | {wall / floor:.2f} |")


if __name__ == "__main__":
    main()
