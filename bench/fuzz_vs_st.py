"""Benchmark: cases per second of the suite's fuzz runs vs schemathesis' own CLI (`st run`).

All runs target one embedded reference server (127.0.0.1) and the same generated OpenAPI
document (`conformance openapi --no-cross-field`, strict reading).  Measured, in one process:

* ours/strategies: `generation.fuzz` over `valid_requests` and `invalid_requests`, every case
  judged by the suite's registered checks of its kind (~40 checks per case);
* ours/schemathesis: `generation.schemathesis_run` fuzzing phase (positive + negative), every
  case judged the same way;
* st run: `st run <doc> --phases fuzzing -n N --continue-on-failure` in a temporary directory
  (no schemathesis.toml discovery), all of its default checks; its own "Fuzzing (in X s)" time is
  used, so process start-up and schema loading are not counted against it.

Usage: python bench/fuzz_vs_st.py [--examples 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conformance.engine import Budget, Runner
from conformance.generation import schemathesis_run
from conformance.generation.classify import Expectation
from conformance.generation.fuzz import Observation, fuzz
from conformance.generation.openapi import build_document
from conformance.generation.strategies import invalid_requests, valid_requests
from conformance.profiles import get_profile
from conformance.scenarios.generated import judge_exchange
from conformance.servers.launcher import ReferenceServer
from conformance.suite import load_suite
from conformance.target import Context, Target
from conformance.wire.client import RawClient

KEY = "sk-bench-0123456789"
MODEL = "reference-model"


def _judge(ctx: Context):  # type: ignore[no-untyped-def]
    runner = Runner(load_suite().checks.values(), [], ctx)
    return lambda expectation, body, exchange: judge_exchange(ctx, runner.judge_case, expectation, body, exchange)


def ours_strategies(ctx: Context, examples: int, seed: int) -> dict[str, float]:
    judge = _judge(ctx)

    def valid(body: dict) -> Observation:
        return judge(Expectation("valid"), body, ctx.send(body))

    def invalid(case: tuple) -> Observation:
        return judge(Expectation("invalid", (case.param,) if case.param else ()), case.body, ctx.send(case.body))

    started = time.perf_counter()
    runs = [fuzz("valid", valid_requests(MODEL, multimodal=True), valid, examples=examples, seed_value=seed, shrink_calls=0),
            fuzz("invalid", invalid_requests(MODEL), invalid, examples=examples, seed_value=seed, shrink_calls=0)]
    elapsed = time.perf_counter() - started
    cases = sum(r.calls for r in runs)
    return {"cases": cases, "seconds": round(elapsed, 2), "cases_per_s": round(cases / elapsed, 1),
            "findings": sum(len(r.findings) for r in runs)}


def ours_schemathesis(ctx: Context, examples: int, seed: int) -> dict[str, float]:
    started = time.perf_counter()
    # Shrinking requests are generated, sent and judged like any other case, so they count.
    runs = schemathesis_run.run_phases(ctx, _judge(ctx), strict=True, vendor=False, seed=seed, examples=examples, shrink_calls=examples,
                                       phases=("fuzzing",))
    elapsed = time.perf_counter() - started
    cases = sum(r.calls for r in runs)
    return {"cases": cases, "seconds": round(elapsed, 2), "cases_per_s": round(cases / elapsed, 1),
            "findings": sum(len(r.findings) for r in runs)}


def st_run(url: str, examples: int, seed: int) -> dict[str, float]:
    st = Path(sys.executable).with_name("st")
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp, "openapi.json")
        doc.write_text(json.dumps(build_document(strict=True, cross_field=False)))
        started = time.perf_counter()
        out = subprocess.run([str(st), "run", str(doc), "--url", url, "-H", f"Authorization: Bearer {KEY}",
                              "--phases", "fuzzing", "-n", str(examples), "--seed", str(seed), "--continue-on-failure",
                              "--no-color"], cwd=tmp, capture_output=True, text=True, timeout=900).stdout
        wall = time.perf_counter() - started
    cases = int(re.search(r"(\d+) generated", out).group(1))  # type: ignore[union-attr]
    phase = float(re.search(r"Fuzzing \(in ([0-9.]+)s\)", out).group(1))  # type: ignore[union-attr]
    return {"cases": cases, "seconds": phase, "wall_seconds": round(wall, 2), "cases_per_s": round(cases / phase, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with ReferenceServer(api_key=KEY) as server:
        budget = Budget()
        with RawClient(server.base_url, api_key=KEY, budget=budget) as client:
            ctx = Context(client, Target(server.base_url, MODEL, KEY), get_profile("compatible"), budget)
            results = {
                "ours/strategies": ours_strategies(ctx, args.examples, args.seed),
                "ours/schemathesis": ours_schemathesis(ctx, args.examples, args.seed),
                "st run": st_run(server.base_url, args.examples, args.seed),
            }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
