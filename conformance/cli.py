"""The `conformance` command: a thin dispatcher over the modules in `conformance.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys

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
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    return modules[args.command].main(args)


if __name__ == "__main__":
    sys.exit(main())
