"""`conformance serve`: the reference server by itself, optionally with named defects."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="run the reference server by itself")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--defect", action="append", default=[], help="inject a named defect (repeatable)")
    p.add_argument("--api-key", help="require this API key")
    p.add_argument("--latency-ms", type=int, default=0)
    return p


def main(args: argparse.Namespace) -> int:
    from ..servers.reference.__main__ import main as serve_main

    argv = ["--host", args.host, "--port", str(args.port), "--latency-ms", str(args.latency_ms)]
    for name in args.defect:
        argv += ["--defect", name]
    if args.api_key:
        argv += ["--api-key", args.api_key]
    return serve_main(argv) or 0


