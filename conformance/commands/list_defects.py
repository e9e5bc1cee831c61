"""`conformance list-defects`: the reference server's named defects and benign variants."""

from __future__ import annotations

import argparse

EXIT_OK = 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    return sub.add_parser("list-defects", help="list the reference server's named defects and benign variants")


def main(args: argparse.Namespace) -> int:
    from ..servers.defects.registry import DEFECTS

    for d in sorted(DEFECTS.values(), key=lambda d: (d.benign, d.clause, d.name)):
        kind = "variant" if d.benign else "defect"
        print(f"{kind:7} {d.name:42} {d.clause:8} {d.verdict:5} {','.join(d.deviations):10} {d.summary}")
    return EXIT_OK


