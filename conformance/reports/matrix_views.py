"""The compatibility matrix (reports/matrix.py) for people: one self-contained HTML page, and
Markdown (a table per area) for READMEs, wikis and PR comments.

Column names, model ids, URLs and error messages come from the matrix file and from targets:
everything is escaped, the page has no script, and its Content-Security-Policy allows only its
own inline style.  Links are relative to the matrix directory (each cell's run lives below it).
"""

from __future__ import annotations

import html as _html
from typing import Any

from .findings import printable
from .markdown import text as md

_MARK = {"PASS": "✅", "FAIL": "❌", "ERROR": "💥", "WARN": "⚠️", "INCONCLUSIVE": "❔", "INFO": "ℹ️", "SKIP": "⏭️"}
_CSS = """
body{margin:0;font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f8f9fb;color:#101828}
header{padding:16px 24px;background:#101828;color:#fff}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;opacity:.9}
main{padding:8px 24px 32px}h2{font-size:17px;margin:24px 0 8px;text-transform:capitalize}
table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d0d5dd;padding:3px 8px;text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:#eef0f4;font-weight:600}td.v{text-align:center;white-space:nowrap}
td.PASS{background:#ecfdf3}td.FAIL{background:#fef3f2}td.ERROR{background:#f9f0ff}td.WARN{background:#fffaeb}
td.INCONCLUSIVE,td.SKIP,td.INFO{background:#f2f4f7}td.none{color:#98a2b3}
a{color:inherit}.muted{color:#475467;font-size:12px}.conformant{color:#067647}.partial{color:#b54708}
.non-conformant,.not-run{color:#b42318}
"""


def _e(value: object) -> str:
    return _html.escape(printable(value), quote=True)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))


def html(document: dict[str, Any]) -> str:
    columns = document["columns"]
    head = "".join(f'<th>{_e(c["id"])}<div class="muted">{_e(c["base_url"])}</div>'
                   f'<div class="{_e(c["status"].replace(" ", "-"))}">{_e(c["status"])}</div>'
                   + (f'<div class="muted">{_e(c["error"])}</div>' if c["error"] else "")
                   + (f'<div><a href="{_e(c["directory"])}/report.html">report</a></div>' if c["directory"] else "")
                   + "</th>" for c in columns)
    sections = []
    for area in document["areas"]:
        rows = []
        for row in area["rows"]:
            cells = "".join(_html_cell(cell) for cell in row["cells"])
            rows.append(f'<tr><td><b>{_e(row["clause"])}</b> <span class="muted">{_e(row["level"])}</span>'
                        f'<div class="muted">{_e(row["title"])}</div></td>{cells}</tr>')
        sections.append(f'<h2>{_e(area["area"])}</h2><table><thead><tr><th>clause</th>{head}</tr></thead>'
                        f'<tbody>{"".join(rows)}</tbody></table>')
    interrupted = " (interrupted: partial)" if document["interrupted"] else ""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Compatibility matrix {_e(document['id'])}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>Compatibility matrix{interrupted}</h1><p>{len(columns)} runs from {_e(document['source'])}, "
            f"suite {_e(document['suite_version'])}, {_e(document['started_at'])} to {_e(document['finished_at'])}</p>"
            f"</header><main>{''.join(sections) or '<p>no results</p>'}</main></body></html>\n")


def _html_cell(cell: dict[str, Any]) -> str:
    verdict = cell["verdict"]
    if verdict is None:
        return '<td class="v none">–</td>'
    label = f"{_MARK.get(verdict, '')} {verdict}"
    return (f'<td class="v {_e(verdict)}" title="{_e(_counts(cell["counts"]))}">'
            f'<a href="{_e(cell["link"])}">{_e(label)}</a></td>')


def markdown(document: dict[str, Any]) -> str:
    columns = document["columns"]
    out = [f"# Compatibility matrix{' (interrupted: partial)' if document['interrupted'] else ''}", "",
           f"{len(columns)} runs from {md(document['source'])}, suite {md(document['suite_version'])}, "
           f"{md(document['started_at'])}.", "",
           "| run | target URL | status | requests |", "|---|---|---|---:|"]
    for c in columns:
        status = md(c["status"]) + (f": {md(c['error'], 200)}" if c["error"] else "")
        name = f"[{md(c['id'])}]({c['directory']}/report.html)" if c["directory"] else md(c["id"])
        out.append(f"| {name} | {md(c['base_url'])} | {status} | {c['requests']} |")
    header = "| clause | " + " | ".join(md(c["id"]) for c in columns) + " |"
    for area in document["areas"]:
        out += ["", f"## {md(area['area'])}", "", header, "|---|" + "---|" * len(columns)]
        for row in area["rows"]:
            cells = " | ".join(_md_cell(cell) for cell in row["cells"])
            out.append(f"| {md(row['clause'])} ({row['level']}) {md(row['title'], 120)} | {cells} |")
    return "\n".join(out) + "\n"


def _md_cell(cell: dict[str, Any]) -> str:
    if cell["verdict"] is None:
        return "–"
    return f"[{_MARK.get(cell['verdict'], '')} {cell['verdict']}]({cell['link']})"
