"""Command line: ``python -m conformance.servers.reference [--host H] [--port P] [--defect NAME]...``

Prints ``READY http://HOST:PORT`` on stdout once it accepts connections (port 0 picks a free
port); access logs are off.  ``--list-defects`` prints the defect table and exits.
"""

from __future__ import annotations

import argparse
import sys

from conformance.servers.defects import DEFECTS
from conformance.servers.serving import HEADER_TIMEOUT_S, serve

from .app import create_app


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance.servers.reference", description="The conformance suite's reference Chat Completions server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)")
    parser.add_argument("--defect", action="append", default=[], metavar="NAME", help="apply this defect to every request (repeatable)")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' (default: no auth)")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay before each chat answer starts (default 0)")
    parser.add_argument("--chunk-delay-ms", type=int, default=0, help="delay between stream chunks (default 0)")
    parser.add_argument("--header-timeout", type=float, default=HEADER_TIMEOUT_S, metavar="S",
                        help="close a connection whose request head has not arrived within S seconds (default %(default)s)")
    parser.add_argument("--list-defects", action="store_true", help="print the defects (name, clause, verdict, summary) and exit")
    return parser


def _list_defects() -> None:
    for d in sorted(DEFECTS.values(), key=lambda d: d.name):
        kind = "benign" if d.benign else "defect"
        print(f"{d.name:42} {d.clause:8} {d.verdict:4} {kind:6} {','.join(d.deviations):12} {d.summary}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_defects:
        _list_defects()
        return 0
    unknown = [name for name in args.defect if name not in DEFECTS]
    if unknown:
        print(f"unknown defect(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    app = create_app(defects=args.defect, api_key=args.api_key, latency_ms=args.latency_ms, chunk_delay_ms=args.chunk_delay_ms)
    serve(app, args.host, args.port, header_timeout_s=args.header_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
