"""`conformance serve`: the reference server by itself, optionally with named defects."""

from __future__ import annotations

import argparse
import errno
import sys

from .. import options

EXIT_OK, EXIT_CANNOT_RUN = 0, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="run the reference server by itself")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=options.tcp_port, default=8000, help="port to listen on; 0 picks a free one (default %(default)s)")
    p.add_argument("--defect", action="append", default=[], metavar="NAME", help="inject a named defect (repeatable)")
    p.add_argument("--api-key", help="require this API key")
    p.add_argument("--latency-ms", type=options.whole, default=0, help="delay before each chat answer starts")
    return p


def main(args: argparse.Namespace) -> int:
    from ..selection import check_filters
    from ..servers.reference.app import create_app
    from ..servers.serving import serve
    from ..session import EMBEDDED_MODEL, SetupError

    try:
        check_filters(defects=args.defect)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    app = create_app(defects=args.defect, api_key=args.api_key, latency_ms=args.latency_ms)

    def announce(root: str) -> None:
        key = "the key given with --api-key" if args.api_key else "no key (open)"
        print(f"serving {root}/v1  model {EMBEDDED_MODEL}  auth: {key}\n"
              f"try:    conformance run --base-url {root}/v1 --model {EMBEDDED_MODEL}  (Ctrl-C stops the server)",
              flush=True)

    try:
        serve(app, args.host, args.port, announce)
    except OSError as exc:
        hint = " (another server is using it: pick another --port, or 0 for a free one)" if exc.errno == errno.EADDRINUSE else ""
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}{hint}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        pass
    return EXIT_OK
