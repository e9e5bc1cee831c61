"""When the bytes of a recorded exchange arrived, read back from report.json.

An artifact stores the total time (`response.elapsed`) as a number and the rest in its transcript
(`Exchange.transcript()` in conformance/wire/client.py): the status line ends in
`(ttfb 0.012s, total 0.310s)`, and each SSE event starts a line `+0.015s <first line of the event>`
whose further lines are indented by 8 spaces.  The target controls what follows those prefixes,
never the prefixes: the timing suffix ends a line the suite wrote (a reason phrase holds no line
break), and an event's own line breaks become indented continuation lines, so no event text can
pose as another event.  Only responses labelled `text/event-stream` have events (their body is not
printed as such), and a transcript cut at its cap lists the events that arrived before the cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STATUS_TIMING = re.compile(r"\((?:ttfb (\d+\.\d+)s, )?total (\d+\.\d+)s\)$")
_EVENT = re.compile(r"\+(\d+\.\d+)s (.*)")
_CONTINUATION = " " * 8
_DONE = re.compile(r"data: ?\[DONE\]")
_CUT = re.compile(r"… \(\d+ more characters not shown\)")


@dataclass(frozen=True)
class Timing:
    """Seconds from the start of the exchange's (final) attempt."""

    total: float
    ttfb: float | None = None
    streamed: bool = False  # a text/event-stream response: `events` are its SSE events
    events: tuple[float, ...] = ()  # arrival time of each event, in order
    done_at: float | None = None  # arrival of the first `data: [DONE]` event
    cut: bool = False  # the transcript was cut at its cap: later events are not listed

    @property
    def span(self) -> float:
        """The time axis a chart needs: the total, or later if an event was stamped after it."""
        return max(self.total, self.ttfb or 0.0, self.events[-1] if self.events else 0.0)

    def longest_gap(self) -> tuple[int, float] | None:
        """(index of the event after the gap, seconds) of the longest wait between two events; None
        when fewer than two events arrived, or all at once."""
        gaps = [(i, self.events[i] - self.events[i - 1]) for i in range(1, len(self.events))]
        longest = max(gaps, key=lambda g: g[1], default=None)
        return longest if longest and longest[1] > 0 else None


def _media_type(headers: list[list[str]]) -> str:
    # As httpx reads it: repeated Content-Type headers are joined with ", ".
    value = ", ".join(v for n, v in headers if n.lower() == "content-type")
    return value.split(";", 1)[0].strip().lower()


def of(artifact: dict[str, Any]) -> Timing:
    """The timing of one artifact (an `artifacts` entry of report.json)."""
    response = artifact.get("response") or {}
    lines = str(artifact.get("transcript", "")).split("\n")
    status = _STATUS_TIMING.search(lines[1]) if len(lines) > 1 and lines[1].startswith("< ") else None
    total = float(response.get("elapsed") or (status.group(2) if status else 0.0))
    # The transcript rounds to milliseconds, `elapsed` to 0.1 ms: a ttfb past the total is rounding.
    ttfb = min(float(status.group(1)), total) if status and status.group(1) else None
    if _media_type(response.get("headers") or []) != "text/event-stream":
        return Timing(total, ttfb)
    events: list[float] = []
    done_at = None
    position = 2
    while position < len(lines) and lines[position].startswith("< "):  # the headers
        position += 1
    for line in lines[position + 1:]:  # after the blank line that ends the headers
        event = _EVENT.fullmatch(line)
        if event:
            events.append(float(event.group(1)))
            text = event.group(2)
        elif line.startswith(_CONTINUATION) and events:
            text = line[len(_CONTINUATION):]
        else:
            break  # the notes after the events: tail bytes, errors, the cut
        if done_at is None and _DONE.fullmatch(text):
            done_at = events[-1]
    return Timing(total, ttfb, True, tuple(events), done_at, bool(_CUT.fullmatch(lines[-1])))
