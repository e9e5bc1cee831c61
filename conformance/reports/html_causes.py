"""The cause cards of report.html: findings grouped by root cause (`findings.causes`, the grouping
the console and summary.md use), one card per cause with its rule, what was expected and seen, and
links to the results of every scenario it was seen in."""

from __future__ import annotations

from typing import Any

from .markup import chip, esc

VERDICTS = ("FAIL", "ERROR", "WARN", "INCONCLUSIVE")
MAX_CARDS = 100  # a target broken everywhere must not make the page endless: the rest is in Results
MAX_LINKS = 40  # scenarios linked per card


def _card(group: list[dict[str, Any]], anchors: dict[int, str]) -> str:
    first = group[0]
    rows = [("rule", first["rule"] or first["title"])]
    rows += [(k, first[k]) for k in ("expected", "observed", "note") if first[k]]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    links = ", ".join(f'<a href="#{anchors[id(r)]}">{esc(r["scenario"])}</a>' for r in group[:MAX_LINKS])
    if len(group) > MAX_LINKS:
        links += f" and {len(group) - MAX_LINKS} more"
    same = " (shown: the first; the others differ only in numbers and ids)" if len(group) > 1 else ""
    count = f"{len(group)} result{'s' if len(group) != 1 else ''}"
    return (f'<article class="cause r-{esc(first["verdict"])}"><div class="head">{chip(first["verdict"])}'
            f'<span class="key">{esc(first["clause"])}</span><span class="meta">{esc(first["level"])} · '
            f'{esc(first["check"])} · {esc(first["title"])}</span><span class="count">{esc(count)}</span></div>'
            f'<dl>{dl}</dl><p class="seen">seen in{esc(same)}: {links}</p></article>')


def section(groups: list[list[dict[str, Any]]], anchors: dict[int, str]) -> str:
    """`groups`: `findings.causes(document, VERDICTS)`; `anchors`: result (by id()) -> its article id."""
    if not groups:
        body = f"<p>No {', '.join(VERDICTS[:-1])} or {VERDICTS[-1]} results.</p>"
    else:
        total = sum(len(g) for g in groups)
        body = (f"<p>{total} result{'s' if total != 1 else ''} from {len(groups)} "
                f"cause{'s' if len(groups) != 1 else ''}: results of one check with the same verdict and the "
                "same observation (numbers and ids aside) are one cause.</p>")
        body += "".join(_card(g, anchors) for g in groups[:MAX_CARDS])
        if len(groups) > MAX_CARDS:
            body += f'<p>… and {len(groups) - MAX_CARDS} more causes: see <a href="#results">Results</a>.</p>'
    return f'<section id="causes"><h2>Findings by cause</h2>{body}</section>'
