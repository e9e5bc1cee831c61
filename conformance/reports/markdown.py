"""summary.md: a short Markdown summary for PR comments and $GITHUB_STEP_SUMMARY.

Status line, counts by area and by level, the baseline outcome when the run was gated by one,
the worst findings (capped: the full list is in report.html), and the provenance.  Every value
that came from the target or the command line is escaped so it renders as plain text.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from . import atomic, differences
from .findings import FINDING_ORDER, LEVEL_ORDER, VERDICT_ORDER, causes, printable

MAX_FINDINGS = 50
_CELL_CAP = 300
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BADGE = {"conformant": "✅ CONFORMANT", "partial": "⚠️ PARTIAL", "non-conformant": "❌ NON-CONFORMANT"}


def text(value: object, cap: int = _CELL_CAP) -> str:
    """One line of inert Markdown: HTML-escaped, Markdown punctuation backslash-escaped, capped."""
    flat = " ".join(printable(value).split())
    if len(flat) > cap:
        flat = flat[: cap - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _counts_table(title: str, groups: dict[str, dict[str, int]], order: tuple[str, ...] | None = None) -> list[str]:
    columns = [v for v in VERDICT_ORDER if any(g.get(v) for g in groups.values())] or ["PASS"]
    names = [n for n in order if n in groups] if order else sorted(groups)
    rows = [[text(name)] + [str(groups[name].get(v, 0)) for v in columns] for name in names]
    return _table([title] + columns, rows)


def _baseline(gate: dict[str, Any]) -> list[str]:
    out = ["", f"### Baseline {text(gate['file'])}", ""]
    verdict = "the build fails" if gate["failed"] else "no new failures"
    out.append(f"**{verdict}**: {len(gate['new'])} new, {len(gate['expired'])} expired, "
               f"{len(gate['waived'])} waived, {len(gate['fixed'])} fixed, {len(gate['not_run'])} not run")
    sections = (
        ("new", "New failures (not in the baseline)"),
        ("expired", "Expired waivers (failing again)"),
        ("fixed", "Fixed: these entries can be removed from the baseline"),
        ("not_run", "Not run in this run (entries kept)"),
    )
    for key, heading in sections:
        if gate[key]:
            out += ["", f"{heading}:", ""] + [f"- {text(k)}" for k in gate[key][:MAX_FINDINGS]]
            if len(gate[key]) > MAX_FINDINGS:
                out.append(f"- … and {len(gate[key]) - MAX_FINDINGS} more")
    return out


def _findings(document: dict[str, Any]) -> list[str]:
    groups = causes(document, tuple(v for v in FINDING_ORDER if v not in ("SKIP", "INFO")))
    if not groups:
        return ["", "No FAIL, ERROR, WARN or INCONCLUSIVE results."]
    header = ["verdict", "clause", "level", "check", "scenarios", "expected / note", "observed"]
    rows = [[g[0]["verdict"], text(g[0]["clause"]), g[0]["level"], text(g[0]["check"]),
             text(f"{len(g)}: " + ", ".join(r["scenario"] for r in g)), text(g[0]["expected"] or g[0]["note"]),
             text(g[0]["observed"])] for g in groups[:MAX_FINDINGS]]
    gate = document.get("baseline")
    if gate:
        standing = {key: label for label in ("new", "expired", "waived") for key in gate[label]}
        header.append("baseline")
        for row, group in zip(rows, groups[:MAX_FINDINGS], strict=True):
            row.append(", ".join(sorted({standing[r["key"]] for r in group if r["key"] in standing})))
    out = ["", "### Findings by cause", ""] + _table(header, rows)
    if len(groups) > MAX_FINDINGS:
        out.append(f"\n… and {len(groups) - MAX_FINDINGS} more causes in report.html")
    return out


def _provenance(document: dict[str, Any]) -> list[str]:
    run = document["run"]
    rows = [["started", text(run["started_at"])], ["finished", text(run["finished_at"])]]
    for key, value in document["provenance"].items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
        rows.append([text(key), text(shown, cap=600)])
    return ["", "<details><summary>Provenance</summary>", ""] + _table(["", ""], rows) + ["", "</details>"]


def build(document: dict[str, Any]) -> str:
    """The summary.md text for one report.json document."""
    run, summary, provenance = document["run"], document["summary"], document["provenance"]
    verdicts = summary["verdicts"]
    lines = [
        f"## {_BADGE[summary['status']]}: OpenAI-compatible conformance, profile {text(run['profile'])}",
        "",
        f"Target {text(provenance['target_url'])}, model {text(provenance['model'])}; "
        f"run {text(run['id'])}: {summary['total']} results, {run['requests']} requests, {run['duration_s']} s"
        + (" (**interrupted: partial report**)" if run["interrupted"] else ""),
        "",
        " · ".join(f"**{v}** {verdicts[v]}" for v in VERDICT_ORDER if verdicts.get(v)) or "no results",
        "",
    ]
    lines += _counts_table("area", summary["by_area"])
    lines.append("")
    lines += _counts_table("level", summary["by_level"], LEVEL_ORDER)
    if document.get("baseline"):
        lines += _baseline(document["baseline"])
    lines += _findings(document)
    if document.get("differences"):
        lines += differences.markdown(document["differences"], text)
    lines += _provenance(document)
    return "\n".join(lines) + "\n"


def write(document: dict[str, Any], path: Path) -> Path:
    return atomic.write_text(path, build(document))
