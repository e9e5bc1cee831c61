"""Terminal output: live progress while the run goes, then a summary table per area."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ..engine import Result, Verdict
from .findings import causes, transcript_name

# A repro line longer than this (a context-overflow probe's prompt is tens of kilobytes) is cut
# on the terminal; the transcript file and report.json keep it whole.
REPRO_SHOWN = 400

_COLUMNS = ("PASS", "FAIL", "WARN", "SKIP", "ERROR", "INCONCLUSIVE", "INFO")
_MARK = {Verdict.PASS: ".", Verdict.FAIL: "F", Verdict.WARN: "W", Verdict.SKIP: "s", Verdict.ERROR: "E",
         Verdict.INCONCLUSIVE: "?", Verdict.INFO: "i"}


class Progress:
    """One character per result, like pytest; a newline every 80."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr  # looked up now: the CLI may have wrapped it to escape control characters
        self.count = 0

    def start(self, checks: int, scenarios: int, expected: int = 0) -> None:
        self.out.write(f"running {checks} checks over {scenarios} scenarios\n")
        self.out.flush()

    def __call__(self, result: Result) -> None:
        self.out.write(_MARK[result.verdict])
        self.count += 1
        if self.count % 80 == 0:
            self.out.write("\n")
        self.out.flush()

    def finish(self) -> None:
        if self.count % 80:
            self.out.write("\n")


def summary_table(document: dict[str, Any]) -> str:
    summary = document["summary"]
    rows = [("area", *_COLUMNS)]
    for area, counts in summary["by_area"].items():
        rows.append((area, *(str(counts.get(c, 0)) for c in _COLUMNS)))
    totals = summary["verdicts"]
    rows.append(("total", *(str(totals.get(c, 0)) for c in _COLUMNS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def findings(document: dict[str, Any], verdicts: tuple[str, ...] = ("FAIL", "ERROR", "WARN")) -> str:
    """One block per root cause: clause, level, check and the scenarios it was seen in, expected vs
    observed and a curl line of the first of them (report.json keeps every result)."""
    out = []
    for group in causes(document, verdicts):
        r = group[0]
        scenarios = ", ".join(g["scenario"] for g in group)
        out.append(f"{r['verdict']:5} {r['clause']} ({r['level']}) {r['check']} [{scenarios}]")
        out.append(f"      rule:     {r['title']}")
        if r["expected"] or r["observed"]:
            out.append(f"      expected: {r['expected']}")
            out.append(f"      observed: {r['observed']}")
        if r["note"]:
            out.append(f"      note:     {r['note']}")
        if r["artifacts"]:
            out.append(f"      repro:    {_repro(r)}")
    return "\n".join(out)


def _repro(result: dict[str, Any]) -> str:
    curl = str(result["artifacts"][0]["curl"])
    if len(curl) <= REPRO_SHOWN:
        return curl
    return (f"{curl[:REPRO_SHOWN]}… [cut: {len(curl)} characters in all; the whole command is in "
            f"transcripts/{transcript_name(result['key'])} and report.json]")
