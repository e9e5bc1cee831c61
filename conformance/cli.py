"""The `conformance` command: a thin dispatcher over the modules in `conformance.commands`.

Exit codes everywhere: 0 success (conformant), 1 the gate failed (or a bundle is invalid),
2 the command could not do its job (bad options, set-up mistakes, missing files).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import NoReturn

from . import __version__, interrupts
from .terminal import install as escape_terminal_output

EXIT_USAGE = 2
# Subcommand name -> module in conformance.commands (each has add_parser() and main()).
COMMANDS = {
    "run": "run",
    "serve": "serve",
    "list-checks": "list_checks",
    "list-defects": "list_defects",
    "coverage": "coverage",
    "openapi": "openapi",
    "selftest": "selftest",
    "report": "report",
    "baseline": "baseline",
    "certify": "certify",
    "verify": "verify",
    "proxy": "proxy",
    "diff": "diff",
    "merge": "merge",
    "replay": "replay",
    "matrix": "matrix",
}
# Subcommands that execute a run: interrupts stay held until the run's guard delivers them.
RUNS = frozenset({"run", "certify"})


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, and where to look) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """The parser, with every subcommand, or with only the one ``argv`` names: each subcommand's
    module imports what it needs, and a run should not wait for what `coverage` or `proxy` import."""
    parser = Parser(prog="conformance", description="Conformance suite for OpenAI-compatible Chat Completions servers")
    parser.add_argument("--version", action="version", version=f"conformance {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    named = _command_named(argv)
    modules = {}
    for name, module in COMMANDS.items():
        if named is None or name == named:
            modules[name] = importlib.import_module(f"conformance.commands.{module}")
            modules[name].add_parser(sub)
    return parser, modules


def _command_named(argv: list[str] | None) -> str | None:
    """The subcommand ``argv`` names (its first word that is not an option), when it is one;
    None otherwise (no command, --help or --version first, a typo), so that the parser built
    knows every command and says so."""
    words = sys.argv[1:] if argv is None else argv
    if not words or words[0].startswith("-"):
        return None
    return words[0] if words[0] in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand.  Ctrl-C and SIGTERM are held from the first moment until a run's
    guard can turn them into a partial report (see `conformance.interrupts`); one that still ends
    the command before a run started gives one line and exit 130, not a traceback."""
    escape_terminal_output()
    interrupts.defer()
    try:
        parser, modules = build_parser(argv)
        args = parser.parse_args(argv)
        if args.command not in RUNS:
            interrupts.deliver()
        return modules[args.command].main(args)
    except KeyboardInterrupt:  # before a run started (a started run writes its partial report and returns)
        print("interrupted: stopped before a report could be written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`conformance list-checks | head`): stop quietly.  Python would
        # complain again when flushing stdout at exit, so point it at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        interrupts.release()


if __name__ == "__main__":
    sys.exit(main())
