"""Incremental Server-Sent Events parser following the WHATWG event-stream rules.

The parser is byte-oriented: CR and LF never occur inside a multi-byte UTF-8
sequence, so lines are split on bytes and each complete line is decoded on its
own (invalid UTF-8 becomes U+FFFD).  Besides the events it records
:class:`FramingFacts` — how the server framed the stream — because SSE-valid but
unusual framing (``data:`` without a space, CRLF, comments) breaks naive clients
and is reported as a warning (SSE-04, deviations D01–D03).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["FACT_CAP", "FramingFacts", "SSEEvent", "SSEParser", "parse_sse"]

#: Maximum number of entries kept in each list of :class:`FramingFacts`.
FACT_CAP = 100

_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass
class SSEEvent:
    """One dispatched event.

    ``data`` is the event's ``data`` lines joined with ``"\\n"``; ``event`` the value
    of its last ``event:`` field (``None`` when it had none); ``id`` the last event
    ID in effect when it was dispatched (WHATWG: an ``id:`` field persists for later
    events until another ``id:`` replaces it); ``at`` the arrival time of the chunk
    holding the blank line that dispatched it; ``raw`` the exact bytes of the lines
    since the previous blank line, including comments and the terminating blank
    line (a leading BOM is not part of any event); ``end`` the stream offset just
    past that blank line (BOM included in the count).
    """

    data: str
    event: str | None
    id: str | None
    at: float
    raw: bytes
    end: int = 0


@dataclass
class FramingFacts:
    """How the stream was framed, for SSE-04 style warnings.

    ``comments`` holds the text after the ``:`` of comment lines with one leading
    space stripped.  ``unterminated_tail`` is set by :meth:`SSEParser.close` when the
    stream ended inside an event — pending ``data`` lines or a partial non-comment
    line without a line ending — which WHATWG discards.  Lists keep at most
    :data:`FACT_CAP` entries; counters are exact.
    """

    line_endings: set[str] = field(default_factory=set)
    data_without_space: int = 0
    comments: list[str] = field(default_factory=list)
    event_fields: list[str] = field(default_factory=list)
    multi_line_data_events: int = 0
    other_fields: list[str] = field(default_factory=list)
    bom: bool = False
    invalid_utf8: bool = False
    unterminated_tail: bool = False
    bytes_total: int = 0


def _capped_append(items: list[str], value: str) -> None:
    if len(items) < FACT_CAP:
        items.append(value)


class SSEParser:
    """Feed bytes as they arrive; get events as they are dispatched.

    A CR at the end of one chunk followed by an LF at the start of the next is a
    single CRLF: the line is processed at the CR (so dispatch time is not delayed
    by a slow next chunk) and the LF is attributed to it when it arrives.
    """

    def __init__(self) -> None:
        self.facts = FramingFacts()
        self._head = b""  # first bytes while a BOM is still possible
        self._bom_checked = False
        self._partial = bytearray()  # current line without its terminator
        self._raw = bytearray()  # bytes of the event being built
        self._data: list[str] = []
        self._event_type: str | None = None
        self._last_id: str | None = None
        self._after_cr = False  # the last chunk ended with a CR that ended a line
        self._cr_line_was_blank = False
        self._cr_event: SSEEvent | None = None  # event dispatched by that CR, if any
        self._offset = 0  # stream bytes consumed so far
        self._closed = False

    def feed(self, chunk: bytes, at: float) -> list[SSEEvent]:
        """Consume ``chunk`` (received at ``at`` seconds) and return the events it completed."""
        if self._closed:
            raise ValueError("SSEParser.feed() after close()")
        self.facts.bytes_total += len(chunk)
        if not self._bom_checked:
            self._head += chunk
            if len(self._head) < len(_BOM) and _BOM.startswith(self._head):
                return []
            chunk = self._take_head()
        return self._consume(chunk, at)

    def close(self) -> list[SSEEvent]:
        """Signal end of stream.  Sets ``facts.unterminated_tail``; never dispatches (returns ``[]``)."""
        if self._closed:
            return []
        if not self._bom_checked:
            self._consume(self._take_head(), 0.0)
        if self._after_cr:
            self._note_ending("CR")
            self._after_cr = False
        partial_is_field = bool(self._partial) and not self._partial.startswith(b":")
        self.facts.unterminated_tail = bool(self._data) or partial_is_field
        self._closed = True
        return []

    def _consume(self, chunk: bytes, at: float) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if not chunk:
            return events
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                self._note_ending("CRLF")
                self._attach_split_lf()
                chunk = chunk[1:]
            else:
                self._note_ending("CR")
        pos = 0
        for m in _EOL.finditer(chunk):
            terminator = m.group()
            end = m.end()
            split_cr = terminator == b"\r" and end == len(chunk)
            if not split_cr:
                self._note_ending(_ENDING_NAMES[terminator])
            if self._partial:
                self._partial += chunk[pos : m.start()]
                line = bytes(self._partial)
                self._partial.clear()
            else:
                line = chunk[pos : m.start()]
            self._raw += chunk[pos:end]
            self._offset += end - pos
            pos = end
            event = self._process_line(line, at)
            if event is not None:
                events.append(event)
            if split_cr:
                # An LF at the start of the next chunk completes this CRLF.
                self._after_cr = True
                self._cr_line_was_blank = not line
                self._cr_event = event
        if pos < len(chunk):
            self._partial += chunk[pos:]
            self._raw += chunk[pos:]
            self._offset += len(chunk) - pos
        return events

    def _attach_split_lf(self) -> None:
        self._offset += 1
        if self._cr_event is not None:
            self._cr_event.raw += b"\n"
            self._cr_event.end += 1
        elif not self._cr_line_was_blank:
            self._raw += b"\n"
        self._cr_event = None

    def _take_head(self) -> bytes:
        head, self._head = self._head, b""
        self._bom_checked = True
        if head.startswith(_BOM):
            self.facts.bom = True
            self._offset += len(_BOM)
            return head[len(_BOM) :]
        return head

    def _note_ending(self, name: str) -> None:
        self.facts.line_endings.add(name)

    def _decode(self, b: bytes) -> str:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            self.facts.invalid_utf8 = True
            return b.decode("utf-8", errors="replace")

    def _process_line(self, line: bytes, at: float) -> SSEEvent | None:
        if not line:
            return self._dispatch(at)
        text = self._decode(line)
        if text.startswith(":"):
            value = text[1:]
            _capped_append(self.facts.comments, value[1:] if value.startswith(" ") else value)
            return None
        name, colon, value = text.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            if colon and not text.startswith("data: "):
                self.facts.data_without_space += 1
            self._data.append(value)
        elif name == "event":
            self._event_type = value
            _capped_append(self.facts.event_fields, value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            pass  # reconnection delay: meaningless for a single request
        else:
            _capped_append(self.facts.other_fields, name)
        return None

    def _dispatch(self, at: float) -> SSEEvent | None:
        raw = bytes(self._raw)
        self._raw.clear()
        data, self._data = self._data, []
        event_type, self._event_type = self._event_type, None
        if not data:
            return None
        if len(data) > 1:
            self.facts.multi_line_data_events += 1
        event = SSEEvent(data="\n".join(data), event=event_type, id=self._last_id, at=at, raw=raw, end=self._offset)
        return event


_ENDING_NAMES = {b"\n": "LF", b"\r\n": "CRLF", b"\r": "CR"}


def parse_sse(body: bytes) -> tuple[list[SSEEvent], FramingFacts]:
    """Parse a complete body (every event gets ``at=0.0``) and return its events and framing facts."""
    parser = SSEParser()
    events = parser.feed(body, 0.0)
    parser.close()
    return events, parser.facts
