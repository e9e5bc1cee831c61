"""Command line: ``python -m conformance.servers.proxy --upstream URL [--defect NAME]... [--model M] [--host H] [--port P]``

Prints ``READY http://HOST:PORT`` on stdout once it accepts connections (port 0 picks a free
port); access logs are off.  A defect that cannot apply in proxy mode is refused (exit 2, the
reason on stderr).  ``--list-defects`` prints every defect with whether it works in proxy mode.
"""

from __future__ import annotations

import argparse
import sys

from conformance.servers.defects import DEFECTS
from conformance.servers.defects.registry import stages_of
from conformance.servers.serving import serve

from .app import create_proxy_app
from .capability import proxy_capable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance.servers.proxy",
                                     description="Apply the reference server's named defects in front of a real upstream.")
    parser.add_argument("--upstream", metavar="URL", help="the upstream's base URL, ending in /v1")
    parser.add_argument("--defect", action="append", default=[], metavar="NAME", help="apply this defect to every request (repeatable)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)")
    parser.add_argument("--model", help="the upstream model the reference model name stands for in the defects' request rules "
                                            "(default: the model each request names)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each upstream exchange may take (default 120)")
    parser.add_argument("--list-defects", action="store_true", help="print which defects work in proxy mode and exit")
    return parser


def list_defects() -> None:
    """One line per defect (proxy-capable first), then how many work in proxy mode."""
    defects = sorted(DEFECTS.values(), key=lambda d: (not proxy_capable(d.name), d.clause, d.name))
    for d in defects:
        mode = "proxy" if proxy_capable(d.name) else "no"
        hooks = "+".join(stage.name for stage in stages_of(d.name))
        print(f"{mode:5} {d.name:42} {hooks:18} {d.clause:8} {d.verdict:4} {d.summary}")
    capable = sum(proxy_capable(d.name) for d in defects)
    print(f"{capable} of {len(defects)} defects work in proxy mode; the others act on the reference server's "
          "toy model (COMPLETION) or its own key check (AUTH)")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list_defects:
        list_defects()
        return 0
    if not args.upstream:
        parser.error("--upstream URL is required")
    try:
        app = create_proxy_app(args.upstream, args.defect, timeout=args.timeout, model=args.model)
    except ValueError as exc:
        print(f"conformance proxy: {exc}", file=sys.stderr)
        return 2
    serve(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
