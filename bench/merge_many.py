"""Merging 50 shard runs: wall time and peak RSS of `conformance merge` (not a timed test).

One real run of the default profile against the embedded reference server (with defects, so
results carry artifacts) is cut into N shards by the pytest plugin's partition, each written as
its own run directory labelled K/N, as N CI jobs would upload them.  Each shard also gets
--pad-kb KiB of extra exchanges (unique transcripts, like a hostile target's) so the inputs are
large.  Measured, each in its own process (peak RSS from wait4):

- `conformance merge --format json`: the merge itself (artifacts streamed through a scratch file)
- `conformance merge` with every format: the merge plus rendering HTML, JUnit, Markdown and
  transcripts from the merged report (the renderers load the merged report whole)
- for scale: a process that only json.loads every input and keeps them (what a merge holding
  every shard at once would need at least), and one that only imports the CLI

A child's peak RSS on Linux includes its parent's at the moment it starts (fork/exec keep the
high-water mark), so this script only orchestrates: the shards are written by a child process.

    .venv/bin/python bench/merge_many.py [--shards 50] [--pad-kb 1024] [--no-render]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFECTS = ("body-object-wrong", "sse-no-done", "error-string")


def real_run(root: Path) -> dict[str, Any]:
    reports = root / "source"
    args = ["run", "--quiet", "--reports-dir", str(reports)] + [a for d in DEFECTS for a in ("--defect", d)]
    subprocess.run([sys.executable, "-m", "conformance", *args], check=False, stdout=subprocess.DEVNULL)
    return json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))


def write_shards(document: dict[str, Any], root: Path, count: int, pad_kb: int) -> list[Path]:
    """The run cut into `count` shard runs (compact report.json each), each padded with pad_kb KiB of exchanges."""
    from conformance.pytest_plugin.shards import partition
    from conformance.reports import json_report
    from conformance.suite import load_suite

    scenarios = sorted({r["scenario"] for r in document["results"]})
    weights = {name: spec.requests for name, spec in load_suite().scenarios.items()}
    shard_of = partition(scenarios, weights, count)
    table = document["artifacts"]
    paths = []
    for k in range(count):
        results = [dict(r) for r in document["results"] if shard_of[r["scenario"]] == k]
        padding = _padding(k, pad_kb)
        if results and padding:
            results[0]["artifacts"] = results[0]["artifacts"] + list(padding)
        ids = {i for r in results for i in r["artifacts"]}
        shard = {**document, "run": dict(document["run"], id=f"{document['run']['id']}-{k}"),
                 "provenance": dict(document["provenance"], shard=f"{k + 1}/{count}"),
                 "summary": json_report.summarize(results, False), "results": results,
                 "artifacts": {i: table.get(i) or padding[i] for i in ids}}
        if "recordings" in document:
            shard["recordings"] = {s: v for s, v in document["recordings"].items() if shard_of.get(s) == k}
        path = root / "shards" / f"shard-{k + 1:02d}"
        path.mkdir(parents=True)
        (path / "report.json").write_text(json.dumps(shard, indent=2, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def _padding(k: int, pad_kb: int) -> dict[str, Any]:
    """pad_kb KiB of synthetic exchanges unique to shard k, in 64 KiB transcripts."""
    from conformance.reports import json_report

    out = {}
    for n in range(pad_kb // 64):
        transcript = f"shard {k} exchange {n}\n" + ("x" * 1023 + "\n") * 64
        artifact = {"label": "primary", "request": {"method": "POST", "url": "http://127.0.0.1:9/v1/chat/completions",
                                                    "headers": [], "body": "{}"},
                    "curl": "curl -sS http://127.0.0.1:9/v1/chat/completions", "transcript": transcript,
                    "response": {"status": 200, "headers": [], "body": "", "body_bytes": 0, "error": None,
                                 "truncated": False, "elapsed": 0.001}}
        out[json_report.artifact_id(artifact)] = artifact
    return out


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one process."""
    started = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    return time.monotonic() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


HOLD_ALL = "import json, sys; docs = [json.load(open(p + '/report.json')) for p in sys.argv[1:]]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=50)
    parser.add_argument("--pad-kb", type=int, default=1024, help="extra exchanges per shard, KiB (default %(default)s)")
    parser.add_argument("--no-render", action="store_true", help="measure the merge alone (large --pad-kb)")
    parser.add_argument("--write-shards", type=Path, metavar="DIR", help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.write_shards is not None:
        write_shards(real_run(args.write_shards), args.write_shards, args.shards, args.pad_kb)
        return
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        subprocess.run([sys.executable, __file__, "--write-shards", str(root), "--shards", str(args.shards),
                        "--pad-kb", str(args.pad_kb)], check=True)
        paths = sorted((root / "shards").iterdir())
        size = sum((p / "report.json").stat().st_size for p in paths) / 2**20
        print(f"{len(paths)} shards, {size:.1f} MB of report.json in all")
        merge = [sys.executable, "-m", "conformance", "merge", *map(str, paths)]
        runs = [("conformance --version (imports)", [sys.executable, "-m", "conformance", "--version"]),
                ("merge --format json", [*merge, "--reports-dir", str(root / "a"), "--format", "json"]),
                ("json.load of every input, held", [sys.executable, "-c", HOLD_ALL, *map(str, paths)])]
        if not args.no_render:
            runs.append(("merge, every format", [*merge, "--reports-dir", str(root / "b")]))
        for label, argv in runs:
            wall, rss, code = measure(argv)
            print(f"{label:32} {wall:6.2f} s  peak RSS {rss:5.0f} MB  exit {code}")
        merged = root / "a" / "latest" / "report.json"
        print(f"merged report.json: {merged.stat().st_size / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
