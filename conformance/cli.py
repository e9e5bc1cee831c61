"""The `conformance` command: a thin dispatcher over the modules in `conformance.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import interrupts

# Subcommand name -> module in conformance.commands (each has add_parser() and main()).
COMMANDS = {
    "run": "run",
    "serve": "serve",
    "list-checks": "list_checks",
    "list-defects": "list_defects",
    "openapi": "openapi",
    "selftest": "selftest",
    "report": "report",
    "baseline": "baseline",
    "certify": "certify",
    "verify": "verify",
    "proxy": "proxy",
}
# Subcommands that execute a run: interrupts stay held until the run's guard delivers them.
RUNS = frozenset({"run", "certify"})


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="conformance",
                                     description="Conformance suite for OpenAI-compatible Chat Completions servers")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module in COMMANDS.items():
        modules[name] = importlib.import_module(f"conformance.commands.{module}")
        modules[name].add_parser(sub)
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand.  Ctrl-C and SIGTERM are held from the first moment until a run's
    guard can turn them into a partial report (see `conformance.interrupts`); one that still ends
    the command outside a run gives one line, not a traceback."""
    interrupts.defer()
    try:
        parser, modules = build_parser()
        args = parser.parse_args(argv)
        if args.command not in RUNS:
            interrupts.deliver()
        return modules[args.command].main(args)
    except KeyboardInterrupt:
        print("interrupted: stopped before a report could be written", file=sys.stderr)
        return 1
    finally:
        interrupts.deliver()


if __name__ == "__main__":
    sys.exit(main())
