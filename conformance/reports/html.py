"""report.html: one self-contained page (inline CSS, SVG and JS, no network) rendered from report.json.

Status banner; verdict bars by area, level and clause (charts.py) and the area × level table; the
baseline outcome; findings grouped by root cause, one card per cause with its scenarios; every
result with clause, level, rule, expected/observed, note and evidence, and links to its exchanges;
the timing of the recorded exchanges (latency bars, one timeline per stream: timing.py); each
exchange once (the checks of a scenario share them), with its repro curl line, request and
transcript in collapsible blocks; filter buttons by verdict and a text filter; the provenance table.
Everything but the filters reads without JavaScript.

The target's bytes are hostile: every value is HTML-escaped, nothing from the report goes into
the script, and a Content-Security-Policy allows only this page's own style and script (by
hash), so even a missed escape could neither run code nor load anything.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from . import atomic, charts, differences, html_causes, html_timing, json_report
from .findings import LEVEL_ORDER, VERDICT_ORDER, causes, findings
from .markup import chip, details, esc, exchange_label, pre

_CSS = """
:root{--fail:#b42318;--error:#7a2e98;--warn:#b54708;--inconclusive:#475467;--skip:#667085;--info:#175cd3;--pass:#067647;
--bg:#f8f9fb;--fg:#101828;--line:#d0d5dd;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:var(--bg);color:var(--fg)}
[hidden]{display:none!important}
.banner{padding:18px 28px;color:#fff}
.banner h1{margin:0 0 4px;font-size:26px;letter-spacing:.5px}
.banner p{margin:0;opacity:.95;word-break:break-all}
.status-conformant{background:var(--pass)}.status-partial{background:var(--warn)}.status-non-conformant{background:var(--fail)}
main{padding:8px 28px 40px;max-width:1400px}
h2{margin:28px 0 10px;font-size:18px}
table{border-collapse:collapse;background:#fff;margin:0 16px 12px 0}
th,td{border:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td ul{margin:0;padding-left:18px}
.tables{display:flex;flex-wrap:wrap;align-items:flex-start}
.chip{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.v-FAIL{background:var(--fail)}.v-ERROR{background:var(--error)}.v-WARN{background:var(--warn)}
.v-INCONCLUSIVE{background:var(--inconclusive)}.v-SKIP{background:var(--skip)}.v-INFO{background:var(--info)}.v-PASS{background:var(--pass)}
.filters{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:10px}
.filters button{border:1px solid var(--line);background:#fff;border-radius:14px;padding:3px 12px;cursor:pointer;font:inherit}
.filters button[aria-pressed=true]{background:var(--fg);color:#fff;border-color:var(--fg)}
.filters input{padding:4px 8px;border:1px solid var(--line);border-radius:6px;min-width:260px;font:inherit}
article{background:#fff;border:1px solid var(--line);border-left:6px solid var(--line);border-radius:4px;margin:0 0 8px;padding:8px 12px}
article.r-FAIL{border-left-color:var(--fail)}article.r-ERROR{border-left-color:var(--error)}article.r-WARN{border-left-color:var(--warn)}
article.r-INCONCLUSIVE{border-left-color:var(--inconclusive)}article.r-SKIP{border-left-color:var(--skip)}
article.r-INFO{border-left-color:var(--info)}article.r-PASS{border-left-color:var(--pass)}
article .head{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
article .key{font-family:var(--mono);font-weight:600;word-break:break-all}
article .meta{color:#475467}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
dt{color:#475467}dd{margin:0;white-space:pre-wrap;word-break:break-word}
details{margin:4px 0}summary{cursor:pointer;color:#344054}
pre{background:#0c111d;color:#e4e7ec;padding:8px 10px;border-radius:4px;overflow:auto;max-height:480px;font:12px/1.4 var(--mono);white-space:pre-wrap;word-break:break-all}
ul.exchanges{margin:4px 0;padding-left:18px}
nav.toc{display:flex;flex-wrap:wrap;gap:14px;padding:8px 0 0}
h3{margin:18px 0 6px;font-size:15px}
table.bars td,table.latency td{vertical-align:middle}
table.bars tr.group th{background:#eaecf0;font-weight:600}
svg{display:block}
.s-FAIL{fill:var(--fail)}.s-ERROR{fill:var(--error)}.s-WARN{fill:var(--warn)}.s-INCONCLUSIVE{fill:var(--inconclusive)}
.s-SKIP{fill:var(--skip)}.s-INFO{fill:var(--info)}.s-PASS{fill:var(--pass)}
article.cause .count{margin-left:auto;color:#475467;font-variant-numeric:tabular-nums}
article.cause .seen{margin:4px 0 0;word-break:break-word}
figure.stream{margin:0 0 8px;background:#fff;border:1px solid var(--line);border-radius:4px;padding:6px 10px;max-width:680px}
figure.stream figcaption{font-size:12px;color:#344054;margin-bottom:4px;word-break:break-all}
.t-wait{fill:#d0d5dd}.t-gap{fill:#fec84b}.t-axis{stroke:#98a2b3;stroke-width:1}.t-event{stroke:var(--info);stroke-width:1}
.t-done{stroke:var(--pass);stroke-width:2}.t-end{stroke:var(--fg);stroke-width:2}.t-label{font:10px var(--mono);fill:#475467}
.l-wait{fill:#475467}.l-rest{fill:#84adff}
td.c-missing{background:#fee4e2}td.c-exempt,td.c-optional{color:#667085}td.c-elsewhere{color:#475467;font-style:italic}
footer{color:#667085;padding:0 28px 24px}
"""

_JS = """
(function () {
  var buttons = Array.prototype.slice.call(document.querySelectorAll('button[data-filter]'));
  var items = Array.prototype.slice.call(document.querySelectorAll('article[data-verdict]'));
  var query = document.getElementById('query');
  var shown = document.getElementById('shown');
  var current = 'findings';
  function visible(el) {
    var v = el.getAttribute('data-verdict');
    var byVerdict = current === 'all' || (current === 'findings' ? v !== 'PASS' : v === current);
    var needle = query.value.trim().toLowerCase();
    return byVerdict && (!needle || el.getAttribute('data-search').indexOf(needle) !== -1);
  }
  function apply() {
    var n = 0;
    items.forEach(function (el) { var ok = visible(el); el.hidden = !ok; if (ok) { n += 1; } });
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-filter') === current)); });
    shown.textContent = n + ' of ' + items.length + ' results shown';
  }
  buttons.forEach(function (b) {
    b.addEventListener('click', function () { current = b.getAttribute('data-filter'); apply(); });
  });
  query.addEventListener('input', apply);
  apply();
  document.body.setAttribute('data-ready', 'true');
})();
"""

_TOC = ('<nav class="toc" aria-label="sections"><a href="#summary">Summary</a><a href="#causes">Findings by cause</a>'
        '<a href="#results">Results</a><a href="#timing">Timing</a><a href="#coverage">Coverage</a>'
        '<a href="#exchanges">Exchanges</a><a href="#provenance">Provenance</a></nav>')


def _toc(differences: bool) -> str:
    """The section links; Differences only in differential mode."""
    return _TOC.replace('<a href="#results">', '<a href="#differences">Differences</a><a href="#results">') \
        if differences else _TOC


_STATUS_TEXT = {
    "conformant": "every MUST clause passed",
    "partial": "no MUST clause failed, but some were not judged (skipped, errored or inconclusive)",
    "non-conformant": "at least one check failed",
}


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def _bars(sections: list[tuple[str, dict[str, dict[str, int]], list[str]]]) -> str:
    """Sections of (title, group name -> verdict -> count, group order): one stacked verdict bar per
    group, its total and its counts in words, under a header row per section."""
    rows = []
    for title, groups, order in sections:
        rows.append(f'<tr class="group"><th colspan="4">by {esc(title)}</th></tr>')
        rows += [f'<tr><th>{esc(name)}</th><td>{charts.verdict_bar(groups[name])}</td>'
                 f'<td class="n">{sum(groups[name].values())}</td><td>{esc(charts.verdict_text(groups[name]))}</td></tr>'
                 for name in order]
    return ('<table class="bars"><thead><tr><th></th><th>verdicts (worst first)</th><th>total</th><th>counts</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def _by_clause(results: list[dict[str, Any]]) -> str:
    groups: dict[str, Counter[str]] = {}
    for r in results:
        groups.setdefault(r["clause"], Counter())[r["verdict"]] += 1
    counts = {clause: dict(c) for clause, c in groups.items()}
    return details(f"verdicts by clause ({len(counts)} clauses)", _bars([("clause", counts, sorted(counts))]))


def _area_levels(results: list[dict[str, Any]]) -> str:
    """Area × level: passed/judged, with the failures called out."""
    cells: dict[tuple[str, str], Counter[str]] = {}
    for r in results:
        cells.setdefault((r["area"], r["level"]), Counter())[r["verdict"]] += 1
    areas = sorted({a for a, _ in cells})
    levels = [lv for lv in LEVEL_ORDER if any(lv == level for _, level in cells)]
    rows = []
    for area in areas:
        tds = []
        for level in levels:
            c = cells.get((area, level), Counter())
            total = sum(c.values())
            bad = c["FAIL"] + c["ERROR"] + c["WARN"]
            text = f"{c['PASS']}/{total} pass" + (f", {bad} FAIL/ERROR/WARN" if bad else "") if total else "–"
            tds.append(f'<td class="n">{esc(text)}</td>')
        rows.append(f"<tr><th>{esc(area)}</th>{''.join(tds)}</tr>")
    head = "".join(f"<th>{esc(level)}</th>" for level in levels)
    return f"<table><thead><tr><th>area × level</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _artifact(artifact_id: str, a: dict[str, Any]) -> str:
    req = a.get("request", {})
    request = "\n".join(f"{k}: {v}" for k, v in req.get("headers", [])) + "\n\n" + str(req.get("body", ""))
    parts = [
        details("repro (curl)", pre(a.get("curl", ""))),
        details("request", pre(request)),
        details("transcript (response; SSE events with arrival times)", pre(a.get("transcript", ""))),
    ]
    return (f'<div class="artifact" id="x-{esc(artifact_id)}"><div class="meta">exchange {esc(artifact_id)}: '
            f'{esc(exchange_label(a))}</div>{"".join(parts)}</div>')


class _Exchanges:
    """Each exchange rendered once, in the Exchanges section; results link to it (the checks of one
    scenario share its exchanges, so inlining them would repeat each transcript per failing check)."""

    def __init__(self) -> None:
        self.order: dict[str, dict[str, Any]] = {}
        self.scenarios: dict[str, list[str]] = {}  # artifact id -> the scenarios of the results using it
        self._ids: dict[int, str] = {}

    def link(self, a: dict[str, Any], scenario: str) -> str:
        artifact_id = self._ids.get(id(a))
        if artifact_id is None:
            artifact_id = self._ids[id(a)] = json_report.artifact_id(a)
        self.order.setdefault(artifact_id, a)
        seen = self.scenarios.setdefault(artifact_id, [])
        if scenario not in seen:
            seen.append(scenario)
        return f'<li><a href="#x-{esc(artifact_id)}">{esc(exchange_label(a))}</a></li>'

    def section(self) -> str:
        body = "".join(_artifact(i, a) for i, a in self.order.items())
        return f'<section id="exchanges"><h2>Exchanges</h2>{body or "<p>none recorded</p>"}</section>'


def _result(anchor: str, r: dict[str, Any], exchanges: _Exchanges) -> str:
    search = " ".join(str(r[k]) for k in ("key", "clause", "level", "area", "verdict", "title")).lower()
    rows = [("rule", r["rule"] or r["title"])]
    rows += [(k, r[k]) for k in ("expected", "observed", "note") if r[k]]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    links = "".join(exchanges.link(a, r["scenario"]) for a in r["artifacts"])
    extra = f'<ul class="exchanges">{links}</ul>' if links else ""
    if r["evidence"]:
        extra += details("evidence", pre(json.dumps(r["evidence"], indent=2, ensure_ascii=False, default=str)))
    return (
        f'<article id="{anchor}" class="r-{esc(r["verdict"])}" data-verdict="{esc(r["verdict"])}" data-search="{esc(search)}">'
        f'<div class="head">{chip(r["verdict"])}<span class="key">{esc(r["key"])}</span>'
        f'<span class="meta">{esc(r["clause"])} · {esc(r["level"])} · {esc(r["area"])} · {esc(r["title"])}</span></div>'
        f"<dl>{dl}</dl>{extra}</article>"
    )


def _filters(results: list[dict[str, Any]]) -> str:
    counts = Counter(r["verdict"] for r in results)
    buttons = [f'<button type="button" data-filter="findings">findings ({len(results) - counts["PASS"]})</button>']
    buttons += [f'<button type="button" data-filter="{v}">{v} ({counts[v]})</button>' for v in VERDICT_ORDER if counts[v]]
    buttons.append(f'<button type="button" data-filter="all">all ({len(results)})</button>')
    return (f'<div class="filters" role="toolbar" aria-label="filter by verdict">{"".join(buttons)}'
            '<input id="query" type="search" placeholder="filter: clause, check, scenario, area" aria-label="text filter">'
            '<span id="shown"></span></div>')


def _baseline(gate: dict[str, Any]) -> str:
    head = "the build fails" if gate["failed"] else "no new failures"
    rows = []
    for key, label in (("new", "new failures"), ("expired", "expired waivers (failing again)"), ("waived", "waived"),
                       ("fixed", "fixed: can be removed from the baseline"), ("not_run", "not run (kept)")):
        items = "".join(f"<li>{esc(k)}</li>" for k in gate[key])
        rows.append(f"<tr><th>{esc(label)}</th><td class=\"n\">{len(gate[key])}</td><td><ul>{items}</ul></td></tr>")
    return (f'<section id="baseline"><h2>Baseline {esc(gate["file"])}: {esc(head)}</h2>'
            f"<table><tbody>{''.join(rows)}</tbody></table></section>")


def _coverage(section: dict[str, Any] | None) -> str:
    """The run's coverage tables as given (reports render them without knowing what they list)."""
    if not section:
        return '<section id="coverage"><h2>Coverage</h2><p>not recorded for this run</p></section>'
    head = "".join(f"<th>{esc(k)}</th>" for k in ("", "total", "covered", "other profiles", "with a reason", "missing",
                                                   "covered %", "accounted %"))
    totals = "".join(
        f"<tr><th>{esc(t['label'])}</th>" + "".join(f'<td class="n">{esc(t[k])}</td>' for k in (
            "total", "covered", "elsewhere", "exempt", "missing", "covered_percent", "accounted_percent")) + "</tr>"
        for t in section["totals"])
    tables = []
    for table in section["tables"]:
        columns = "".join(f"<th>{esc(c)}</th>" for c in table["columns"])
        rows = "".join("<tr>" + "".join(f'<td class="c-{esc(cell["state"])}">{esc(cell["text"])}</td>' for cell in row)
                       + "</tr>" for row in table["rows"])
        tables.append(details(table["title"], f"<table><thead><tr>{columns}</tr></thead><tbody>{rows}</tbody></table>"))
    return (f'<section id="coverage"><h2>Coverage</h2><table><thead><tr>{head}</tr></thead><tbody>{totals}</tbody></table>'
            f'{"".join(tables)}</section>')


def _provenance(document: dict[str, Any]) -> str:
    run = document["run"]
    keys = ("id", "profile", "started_at", "finished_at", "duration_s", "requests", "tokens", "interrupted")
    rows = [(k, run[k]) for k in keys]
    rows += list(document["provenance"].items())
    cells = []
    for key, value in rows:
        shown = esc(value) if isinstance(value, (str, int, float, bool)) else pre(json.dumps(value, indent=2, ensure_ascii=False))
        cells.append(f"<tr><th>{esc(key)}</th><td>{shown}</td></tr>")
    return f'<section id="provenance"><h2>Provenance</h2><table><tbody>{"".join(cells)}</tbody></table></section>'


def build(document: dict[str, Any]) -> str:
    """The report.html text for one report.json document."""
    run, summary, prov = document["run"], document["summary"], document["provenance"]
    results = document["results"]
    status = summary["status"]
    csp = f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; img-src data:"
    totals = " ".join(chip(v, f"{v} {summary['verdicts'][v]}") for v in VERDICT_ORDER if summary["verdicts"].get(v))
    levels = [lv for lv in LEVEL_ORDER if lv in summary["by_level"]]
    interrupted = "<p><strong>Interrupted: this is a partial report.</strong></p>" if run["interrupted"] else ""
    body = [
        f'<header class="banner status-{esc(status)}"><h1 id="status">{esc(status.upper())}</h1>'
        f"<p>{esc(_STATUS_TEXT.get(status, ''))}. Profile {esc(run['profile'])} · target {esc(prov['target_url'])}"
        f" · model {esc(prov['model'])} · run {esc(run['id'])} · {esc(run['started_at'])}</p></header><main>"
        f"{_toc(bool(document.get('differences')))}",
        f'<section id="summary"><h2>Summary</h2>{interrupted}<p>{summary["total"]} results, {run["requests"]} requests, '
        f'{run["tokens"]} tokens, {run["duration_s"]} s. {totals}</p><div class="tables">'
        f'{_bars([("level", summary["by_level"], levels), ("area", summary["by_area"], sorted(summary["by_area"]))])}'
        f'{_area_levels(results)}</div>{_by_clause(results)}</section>',
    ]
    if document.get("baseline"):
        body.append(_baseline(document["baseline"]))
    ordered = findings(document, VERDICT_ORDER)
    anchors = {id(r): f"r{i}" for i, r in enumerate(ordered)}
    body.append(html_causes.section(causes(document, html_causes.VERDICTS), anchors))
    if document.get("differences"):
        body.append(differences.html(document["differences"]))
    exchanges = _Exchanges()
    body.append(f'<section id="results"><h2>Results</h2>{_filters(results)}'
                f'{"".join(_result(anchors[id(r)], r, exchanges) for r in ordered)}</section>')
    body.append(html_timing.section(exchanges.order, exchanges.scenarios))
    body.append(_coverage(document.get("coverage")))
    body.append(exchanges.section())
    body.append(_provenance(document))
    body.append(f"</main><footer>oai-conformance {esc(prov['suite_version'])} · report.json format "
                f"{esc(document['format'])} v{esc(document['version'])} · rendered offline, no network</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(status.upper())}: conformance of {esc(prov['target_url'])} ({esc(run['profile'])})</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}<script>{_JS}</script></body></html>\n"
    )


def write(document: dict[str, Any], path: Path) -> Path:
    return atomic.write_text(path, build(document))
