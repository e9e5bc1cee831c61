"""The Timing section of report.html: how long the recorded exchanges took (latency bars on one
scale, slowest first) and, for each streamed one, when its events arrived (one timeline each).

Only exchanges of non-passing results are recorded in report.json, so these are the exchanges
behind the findings, not a sample of the whole run."""

from __future__ import annotations

from typing import Any

from . import charts, timing
from .markup import esc, exchange_label, seconds

MAX_LATENCY_ROWS = 30
MAX_STREAMS = 60  # a run against a broken streamer records hundreds: the rest keep their transcripts

_LEGEND = ("grey band: waiting for the first byte · blue ticks: events · green tick: <code>[DONE]</code> · "
           "amber band: the longest gap between two events · dark tick on the axis: end of the exchange")


Timed = tuple[str, dict[str, Any], timing.Timing]  # artifact id, artifact, its timing


def _link(artifact_id: str, artifact: dict[str, Any], scenarios: list[str]) -> str:
    """`stream_basic, stream_n_two: primary → 200`, linking to the exchange."""
    status = (artifact.get("response") or {}).get("status")
    text = f"{', '.join(scenarios)}: {artifact.get('label', 'exchange')} → {status if status is not None else 'no response'}"
    return f'<a href="#x-{esc(artifact_id)}" title="{esc(exchange_label(artifact))}">{esc(text)}</a>'


def _latency(timed: list[Timed], scenarios: dict[str, list[str]]) -> str:
    slowest = sorted(timed, key=lambda x: -x[2].total)[:MAX_LATENCY_ROWS]
    longest = max(t.total for _, _, t in slowest)
    rows = "".join(f"<tr><td>{_link(i, a, scenarios[i])}</td><td>{charts.latency_bar(t, longest)}</td>"
                   f'<td class="n">{esc(seconds(t.ttfb) if t.ttfb is not None else "–")}</td>'
                   f'<td class="n">{esc(seconds(t.total))}</td></tr>' for i, a, t in slowest)
    shown = f"the {len(slowest)} slowest of {len(timed)}" if len(timed) > len(slowest) else f"all {len(timed)}"
    return (f"<h3>Latency</h3><p>{shown} recorded exchanges, slowest first, on one scale (0 to "
            f"{esc(seconds(longest))}); dark: waiting for the first byte.</p>"
            '<table class="latency"><thead><tr><th>exchange</th><th></th><th>ttfb</th><th>total</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _streams(streams: list[Timed], scenarios: dict[str, list[str]]) -> str:
    if not streams:
        return "<h3>Streams</h3><p>No streamed exchange recorded.</p>"
    figures = "".join(f'<figure class="stream"><figcaption>{_link(i, a, scenarios[i])}<br>{esc(charts.timeline_text(t))}'
                      f"</figcaption>{charts.timeline(t)}</figure>" for i, a, t in streams[:MAX_STREAMS])
    more = (f"<p>… and {len(streams) - MAX_STREAMS} more streamed exchanges: their transcripts in "
            '<a href="#exchanges">Exchanges</a> list every event with its arrival time.</p>'
            if len(streams) > MAX_STREAMS else "")
    return (f"<h3>Streams</h3><p>Each stream on its own time axis. {_LEGEND}.</p>"
            f"{figures}{more}")


def section(exchanges: dict[str, dict[str, Any]], scenarios: dict[str, list[str]]) -> str:
    """`exchanges`: artifact id -> artifact, in the order the page lists them; `scenarios`: artifact
    id -> the scenarios whose results point at it."""
    timed = [(i, a, timing.of(a)) for i, a in exchanges.items()]
    if not timed:
        body = "<p>No exchange recorded: passing checks keep none.</p>"
    else:
        body = ("<p>Exchanges are recorded for non-passing results only: these are the ones behind the "
                "findings. Times are from sending the request.</p>")
        body += _latency(timed, scenarios) + _streams([x for x in timed if x[2].streamed], scenarios)
    return f'<section id="timing"><h2>Timing</h2>{body}</section>'
