"""`conformance coverage`: which checks and probes exercise each field of the contract, per profile."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..coverage import ANSWER_KINDS, REQUEST_DIRECTIONS, SURFACES, Cell, Row, cell_text
from ..profiles import PROFILES, get_profile

EXIT_OK = 0
_SHOWN = 3  # labels shown per cell; the rest are counted (the JSON output has them all)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("coverage", help="which checks and probes exercise each request, response and chunk field")
    p.add_argument("--profile", choices=sorted(PROFILES), help="only what a run in this profile exercises (default: every profile)")
    p.add_argument("--json", action="store_true", help="machine-readable output: every field, direction, check and reason")
    return p


def main(args: argparse.Namespace) -> int:
    from .. import coverage  # imports the whole suite

    focus = get_profile(args.profile).name if args.profile else None
    table = coverage.rows(coverage.by_profile(), focus=focus)
    totals = coverage.totals(table)
    profiles = [focus] if focus else list(PROFILES)
    if args.json:
        print(json.dumps({"profiles": profiles, "fields": coverage.to_json(table), "totals": totals}, indent=2))
        return EXIT_OK
    print("\n".join(_text(table, totals, profiles)))
    return EXIT_OK


def _cell(cell: Cell, profiles: list[str]) -> str:
    if cell.state == "exempt":
        return "not probed*"
    return cell_text(cell, profiles, limit=_SHOWN)


def _text(table: list[Row], totals: list[dict[str, Any]], profiles: list[str]) -> list[str]:
    lines = [f"Coverage of the contract in {', '.join(profiles)}: each cell names the clauses (checks) and probes "
             "(scenarios) that exercise the field, and the profiles when not all of them.", ""]
    for surface in SURFACES:
        directions = REQUEST_DIRECTIONS if surface == "request" else ANSWER_KINDS
        rows = [r for r in table if r.field.surface == surface]
        cells = [[r.field.path + (" (vendor)" if r.field.vendor else "")] + [_cell(r.cells[d], profiles) for d in directions]
                 for r in rows]
        header = [f"{surface} field", *directions]
        widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
        lines += ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths)).rstrip()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        lines.append("")
    reasons = [(r.field.name, d, c.exempt) for r in table for d, c in r.cells.items() if c.state == "exempt"]
    lines.append("* not probed, with the reason (coverage_exemptions.yaml):")
    lines += [f"  {name}:{direction}  {reason}" for name, direction, reason in reasons]
    lines += ["", "Totals (covered; accounted for: covered, covered in other profiles or listed with a reason):"]
    lines += [f"  {t['surface']:8} {t['direction']:8} {t['covered']:3}/{t['total']:<3} {t['covered_percent']:5.1f} %   "
              f"{t['accounted_percent']:5.1f} %" + (f"   ({t['elsewhere']} in other profiles)" if t["elsewhere"] else "")
              + (f"   {t['missing']} MISSING" if t["missing"] else "") for t in totals]
    return lines
