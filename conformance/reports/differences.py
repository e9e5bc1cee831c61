"""The `differences` section of a run in differential mode (see conformance/differential.py), for
the terminal, summary.md and report.html: a generic table -- what differs, this target, the
comparison target, where -- that knows nothing of what was compared.  Differences are facts,
not verdicts."""

from __future__ import annotations

from typing import Any

from .markup import esc

SHOWN_PLACES = 5  # scenarios named per difference (report.json keeps them all)
MAX_ROWS = 100


def merged_sections(sections: list[dict[str, Any]], setup_requests: int = 0) -> dict[str, Any] | None:
    """One section from the sections of several shards of a run (None when there is none)."""
    if not sections:
        return None
    grouped: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for section in sections:
        for item in section["items"]:
            grouped.setdefault((item["aspect"], item["this"], item["comparison"]), []).extend(item["where"])
    return {
        "comparison": sections[0]["comparison"],
        "requests": setup_requests + sum(s["requests"] for s in sections),
        "tokens": sum(s["tokens"] for s in sections),
        "compared": sum(s["compared"] for s in sections),
        "not_compared": [n for s in sections for n in s["not_compared"]],
        "items": [{"aspect": a, "this": m, "comparison": t, "where": where} for (a, m, t), where in sorted(grouped.items())],
    }


def places(item: dict[str, Any]) -> str:
    """Where a difference was seen: the first scenarios and how many more."""
    names = list(dict.fromkeys(w["scenario"] for w in item["where"]))
    more = len(names) - SHOWN_PLACES
    return ", ".join(names[:SHOWN_PLACES]) + (f" and {more} more" if more > 0 else "")


def headline(section: dict[str, Any]) -> str:
    """How many differences, from what, over how many exchanges, at what cost."""
    target = section["comparison"]
    return (f"{len(section['items'])} structural difference(s) from {target['url']} (model {target['model']}) "
            f"over {section['compared']} exchanges; the comparison target got {section['requests']} requests, "
            f"{section['tokens']} tokens reported")


def console_line(section: dict[str, Any] | None) -> str | None:
    return None if section is None else f"differences: {headline(section)}"


def markdown(section: dict[str, Any], text: Any) -> list[str]:
    """summary.md lines; ``text`` escapes one value as inert Markdown."""
    out = ["", "### Differences from the comparison target", "", text(headline(section)) + "."]
    if section["not_compared"]:
        out.append(f"{len(section['not_compared'])} recorded scenario(s) or exchange(s) not compared (see report.json).")
    if not section["items"]:
        return out
    out += ["", "| what differs | this target | comparison | where |", "|---|---|---|---|"]
    out += [f"| {text(i['aspect'])} | {text(i['this'])} | {text(i['comparison'])} | {text(places(i))} |"
            for i in section["items"][:MAX_ROWS]]
    if len(section["items"]) > MAX_ROWS:
        out.append(f"\n… and {len(section['items']) - MAX_ROWS} more in report.html")
    return out


def html(section: dict[str, Any]) -> str:
    """report.html's section (every difference, every place)."""
    rows = []
    for item in section["items"]:
        where = "".join(f"<li>{esc(w['scenario'])} ({esc(w['exchange'])}: {esc(w['request'])})</li>" for w in item["where"])
        rows.append(f"<tr><th>{esc(item['aspect'])}</th><td>{esc(item['this'])}</td><td>{esc(item['comparison'])}</td>"
                    f"<td><ul>{where}</ul></td></tr>")
    table = ("<table><thead><tr><th>what differs</th><th>this target</th><th>comparison</th><th>where</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>") if rows else ""
    skipped = "".join(f"<li>{esc(n['scenario'])}{' (' + esc(n['exchange']) + ')' if n.get('exchange') else ''}: "
                      f"{esc(n['reason'])}</li>" for n in section["not_compared"])
    missing = f"<details><summary>not compared: {len(section['not_compared'])}</summary><ul>{skipped}</ul></details>" \
        if skipped else ""
    return (f'<section id="differences"><h2>Differences from the comparison target</h2><p>{esc(headline(section))}. '
            f"Facts, not verdicts: they change no exit code.</p>{table}{missing}</section>")
