"""`conformance proxy`: the reference server's defects applied in front of a real upstream."""

from __future__ import annotations

import argparse
import errno
import sys

from .. import options

EXIT_OK, EXIT_CANNOT_RUN = 0, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("proxy", help="apply named defects in front of a real OpenAI-compatible upstream")
    p.add_argument("--upstream", metavar="URL", type=options.base_url, help="the upstream's base URL, ending in /v1")
    p.add_argument("--defect", action="append", default=[], metavar="NAME", help="apply this defect to every request (repeatable)")
    p.add_argument("--model", help="the upstream model the reference model name stands for in the defects' request rules "
                                   "(default: the model each request names)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=options.tcp_port, default=8100)
    p.add_argument("--timeout", type=options.seconds, default=120.0, help="seconds each upstream exchange may take (default 120)")
    p.add_argument("--list-defects", action="store_true", help="print which defects work in proxy mode and exit")
    return p


def main(args: argparse.Namespace) -> int:
    from ..servers.proxy.__main__ import list_defects
    from ..servers.proxy.app import create_proxy_app
    from ..servers.serving import serve

    if args.list_defects:
        list_defects()
        return EXIT_OK
    if not args.upstream:
        print("error: --upstream URL is required (or --list-defects)", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        app = create_proxy_app(args.upstream, args.defect, timeout=args.timeout, model=args.model)
    except ValueError as exc:  # an unknown defect, or one that cannot work in proxy mode
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN

    def announce(root: str) -> None:
        print(f"proxying {args.upstream} at {root}/v1 (defects per request: {root}/defects/NAME/v1)", flush=True)

    try:
        serve(app, args.host, args.port, announce)
    except OSError as exc:
        hint = " (in use: pick another --port, or 0 for a free one)" if exc.errno == errno.EADDRINUSE else ""
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}{hint}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        pass
    return EXIT_OK
