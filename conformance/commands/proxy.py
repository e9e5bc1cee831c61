"""`conformance proxy`: the reference server's defects applied in front of a real upstream."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("proxy", help="apply named defects in front of a real OpenAI-compatible upstream")
    p.add_argument("--upstream", metavar="URL", help="the upstream's base URL, ending in /v1")
    p.add_argument("--defect", action="append", default=[], metavar="NAME", help="apply this defect to every request (repeatable)")
    p.add_argument("--model", help="the upstream model the reference model name stands for in the defects' request rules "
                                   "(default: the model each request names)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds each upstream exchange may take (default 120)")
    p.add_argument("--list-defects", action="store_true", help="print which defects work in proxy mode and exit")
    return p


def main(args: argparse.Namespace) -> int:
    from ..servers.proxy.__main__ import main as proxy_main

    if args.list_defects:
        return proxy_main(["--list-defects"])
    if not args.upstream:
        print("conformance proxy: --upstream URL is required (or --list-defects)", file=sys.stderr)
        return 2
    argv = ["--upstream", args.upstream, "--host", args.host, "--port", str(args.port), "--timeout", str(args.timeout)]
    if args.model:
        argv += ["--model", args.model]
    for name in args.defect:
        argv += ["--defect", name]
    return proxy_main(argv)
