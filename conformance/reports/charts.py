"""Inline SVG charts of report.html: verdict bars, stream timelines, latency bars.

Plain SVG elements sized by attributes and coloured by the page's stylesheet (classes), so the
page's Content-Security-Policy needs no inline style and no script; every chart carries its
numbers as text too (`aria-label`, `<title>` tooltips), so it reads without colour or a mouse.
"""

from __future__ import annotations

from .findings import VERDICT_ORDER
from .markup import esc, seconds
from .timing import Timing

BAR_WIDTH, BAR_HEIGHT = 240, 14
TIMELINE_WIDTH, TIMELINE_HEIGHT = 640, 34
LATENCY_WIDTH = 420
_PAD = 6  # left and right of a timeline's axis, so the first and last ticks stay visible
_MIN_SEGMENT = 2.0  # px: one FAIL among a thousand PASS must still show


def _widths(values: list[int], width: float) -> list[float]:
    """Proportional widths summing to `width`, none of a non-zero value below _MIN_SEGMENT."""
    total = sum(values)
    small = [width * v / total < _MIN_SEGMENT for v in values]
    spare = width - _MIN_SEGMENT * sum(small)
    rest = sum(v for v, s in zip(values, small, strict=True) if not s)
    return [_MIN_SEGMENT if s else spare * v / rest for v, s in zip(values, small, strict=True)]


def verdict_text(counts: dict[str, int]) -> str:
    """`3 FAIL, 240 PASS`: the bar's numbers, worst verdict first."""
    return ", ".join(f"{counts[v]} {v}" for v in VERDICT_ORDER if counts.get(v))


def verdict_bar(counts: dict[str, int]) -> str:
    """One stacked bar of verdict counts, worst verdict at the left."""
    shown = [(v, counts[v]) for v in VERDICT_ORDER if counts.get(v)]
    if not shown:
        return ""
    x, rects = 0.0, []
    for (verdict, n), w in zip(shown, _widths([n for _, n in shown], BAR_WIDTH), strict=True):
        rects.append(f'<rect class="s-{verdict}" x="{x:.1f}" y="0" width="{w:.1f}" height="{BAR_HEIGHT}">'
                     f"<title>{n} {verdict}</title></rect>")
        x += w
    return (f'<svg class="bar" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" '
            f'role="img" aria-label="{esc(verdict_text(counts))}">{"".join(rects)}</svg>')


def _ticks(times: list[float], scale: float, css: str, top: int, bottom: int) -> str:
    """One path of vertical ticks, at most one per pixel (a long stream stays small)."""
    xs = sorted({round(_PAD + t * scale) for t in times})
    if not xs:
        return ""
    return f'<path class="{css}" d="{"".join(f"M{x} {top}V{bottom}" for x in xs)}"/>'


def timeline_text(t: Timing) -> str:
    """What the timeline shows, in words."""
    parts = [f"ttfb {seconds(t.ttfb)}" if t.ttfb is not None else "ttfb not recorded"]
    if t.events:
        parts.append(f"first event {seconds(t.events[0])}")
    parts.append(f"{len(t.events)} event{'s' if len(t.events) != 1 else ''}" + (" listed (transcript cut)" if t.cut else ""))
    gap = t.longest_gap()
    if gap:
        parts.append(f"longest gap {seconds(gap[1])} before event {gap[0] + 1}")
    parts.append(f"[DONE] at {seconds(t.done_at)}" if t.done_at is not None else "no [DONE]")
    parts.append(f"total {seconds(t.total)}")
    return " · ".join(parts)


def timeline(t: Timing) -> str:
    """A stream on its own time axis: waiting for the first byte (shaded), one tick per event,
    [DONE] in its own colour, the longest gap between two events marked, the end of the exchange."""
    scale = (TIMELINE_WIDTH - 2 * _PAD) / (t.span or 1.0)
    top, axis, bottom = 12, 23, 32
    parts = [f'<text class="t-label" x="{_PAD}" y="9">0</text>',
             f'<text class="t-label" x="{TIMELINE_WIDTH - _PAD}" y="9" text-anchor="end">{esc(seconds(t.span))}</text>']
    if t.ttfb:
        parts.append(f'<rect class="t-wait" x="{_PAD}" y="{top}" width="{t.ttfb * scale:.1f}" height="{bottom - top}">'
                     f"<title>waiting for the first byte: {esc(seconds(t.ttfb))}</title></rect>")
    gap = t.longest_gap()
    if gap:
        start = t.events[gap[0] - 1]
        parts.append(f'<rect class="t-gap" x="{_PAD + start * scale:.1f}" y="{top + 3}" width="{gap[1] * scale:.1f}" '
                     f'height="{bottom - top - 6}"><title>longest gap: {esc(seconds(gap[1]))}</title></rect>')
    parts.append(f'<line class="t-axis" x1="{_PAD}" y1="{axis}" x2="{_PAD + t.total * scale:.1f}" y2="{axis}"/>')
    events = [at for at in t.events if at != t.done_at]
    parts.append(_ticks(events, scale, "t-event", top, bottom))
    if t.done_at is not None:
        parts.append(_ticks([t.done_at], scale, "t-done", top - 2, bottom))
    parts.append(_ticks([t.total], scale, "t-end", axis - 4, axis + 4))
    return (f'<svg class="timeline" width="{TIMELINE_WIDTH}" height="{TIMELINE_HEIGHT}" '
            f'viewBox="0 0 {TIMELINE_WIDTH} {TIMELINE_HEIGHT}" role="img" aria-label="{esc(timeline_text(t))}">'
            f'{"".join(parts)}</svg>')


def latency_bar(t: Timing, longest: float) -> str:
    """One exchange on a scale shared with others (`longest` seconds = full width): time to the
    first byte, then the rest of the exchange."""
    scale = LATENCY_WIDTH / (longest or 1.0)
    wait = min(t.ttfb or 0.0, t.total) * scale
    rest = max(t.total * scale - wait, 0.0)
    label = f"ttfb {seconds(t.ttfb)}, total {seconds(t.total)}" if t.ttfb is not None else f"total {seconds(t.total)}"
    return (f'<svg class="bar" width="{LATENCY_WIDTH}" height="{BAR_HEIGHT}" viewBox="0 0 {LATENCY_WIDTH} {BAR_HEIGHT}" '
            f'role="img" aria-label="{esc(label)}"><rect class="l-wait" x="0" y="0" width="{wait:.1f}" height="{BAR_HEIGHT}"/>'
            f'<rect class="l-rest" x="{wait:.1f}" y="0" width="{rest:.1f}" height="{BAR_HEIGHT}"/></svg>')
