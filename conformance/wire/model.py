"""The wire layer's vocabulary: the limits of an exchange, the request as sent, the exchange as
read, and what went wrong on the wire.  Plain data: nothing here touches the network."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.wire.render import curl_command, one_line, transcript
from conformance.wire.sse import FramingFacts, SSEEvent

__all__ = ["Budget", "Exchange", "Limits", "RecordedRequest", "TransportError"]


@dataclass(frozen=True)
class Limits:
    """Per-exchange limits.  ``done_grace``: how long to keep reading after a ``[DONE]`` event."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_body_bytes: int = 8 * 1024 * 1024
    max_stream_events: int = 4096
    done_grace: float = 2.0
    # A probe that only needs the start of a long stream stops reading after this many events, on
    # purpose: the exchange ends cleanly with ``stopped_reading`` set (not an error).
    stop_after_events: int | None = None
    # A slow reader: after the first piece of the body, take nothing more for this many seconds,
    # then read on (the total timeout still bounds the exchange).  None: read as it comes.
    read_pause: float | None = None
    # Seconds to wait after a complete response before looking whether the server closed the
    # connection (``Exchange.closed_after_response``); None: do not look.
    watch_close: float | None = None


@dataclass
class TransportError:
    """What went wrong on the wire.

    ``kind`` is one of "connect", "connect-timeout", "read-timeout",
    "total-timeout", "body-too-large", "too-many-events", "protocol", "reset",
    "redirect", "decode"; ``message`` is one redacted, human-readable line.
    """

    kind: str
    message: str


class Budget(Protocol):
    """Request budget; ``charge_request`` is called before every attempt (429 retries included)
    and may raise to refuse it — the exception propagates out of ``post_json``/``get``."""

    def charge_request(self) -> None: ...


@dataclass
class RecordedRequest:
    """The request as sent, redacted.

    ``key_header``/``key_prefix`` name the header that carried the API key and the
    text before the key (e.g. ``"Bearer "``); ``key_env`` is the environment
    variable :meth:`curl` uses for the key, or ``None`` when the key was a per-call
    override (then :data:`REDACTED` is sent, which reproduces a wrong-key request).
    """

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    json: object | None
    key_header: str | None = None
    key_prefix: str = ""
    key_env: str | None = None

    def curl(self) -> str:
        """A one-line POSIX shell command reproducing the request (``-N`` for streaming requests).

        The key is written as ``"$OPENAI_API_KEY"`` (never literally); bodies that are
        not printable UTF-8 are piped in through ``printf`` with octal escapes.
        """
        return curl_command(self)

    def is_streaming(self) -> bool:
        """Whether the request asks for a stream (``"stream": true`` or an SSE ``Accept``)."""
        if isinstance(self.json, dict) and self.json.get("stream") is True:
            return True
        return any(n.lower() == "accept" and "text/event-stream" in v for n, v in self.headers)


@dataclass
class Exchange:
    """One request/response exchange, fully redacted.

    Times are seconds from the start of the (final) attempt; SSE event ``at``
    values use the same origin.  Additions beyond the core fields:

    - ``after_done_bytes``: bytes received after the ``[DONE]`` event's blank line
      (``None`` when no ``[DONE]`` event arrived).
    - ``open_after_done``: the server kept the connection open ``Limits.done_grace``
      seconds after ``[DONE]``, so the suite stopped reading (not an error, and
      ``truncated`` stays False).
    - ``retry_wait``: total seconds slept on 429 ``Retry-After`` before the final attempt.
    - ``http_version``/``reason``: from the status line.

    ``events``/``framing`` are set whenever the response is ``text/event-stream``.
    ``framing.unterminated_tail`` is only evaluated when the server ended the body
    (EOF, reset or protocol error), not when the suite stopped reading.
    """

    request: RecordedRequest
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    events: list[SSEEvent] | None = None
    framing: FramingFacts | None = None
    error: TransportError | None = None
    truncated: bool = False
    elapsed: float = 0.0
    ttfb: float | None = None
    attempts: int = 1
    after_done_bytes: int | None = None
    open_after_done: bool = False
    retry_wait: float = 0.0
    http_version: str = ""
    reason: str = ""
    # Set when the pooled connection this request first went out on had been closed by the server
    # without notice after the exchange described here; the request was resent on a new connection.
    dead_connection: str | None = None
    dead_connection_idle: float | None = None  # how long that connection had been idle when this request met it
    stopped_reading: bool = False  # the suite stopped reading on purpose (Limits.stop_after_events)
    closed_after_response: bool | None = None  # the server closed the connection (Limits.watch_close); None: not looked

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), or ``None``."""
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None

    @property
    def content_type(self) -> str:
        """Lower-cased media type without parameters; ``""`` when there is no Content-Type."""
        value = self.header("content-type")
        return "" if value is None else value.split(";", 1)[0].strip().lower()

    def json(self) -> Any:  # a JSON value: its shape is the checks' to judge
        """``json.loads(body)``; raises ``ValueError`` with a one-line message when the body is not
        JSON, or was cut at the body cap (not parsed: it cannot be whole, and parsing megabytes of
        it in every check would multiply the memory the cap bounds)."""
        if self.error is not None and self.error.kind == "body-too-large":
            raise ValueError(f"body not parsed: cut at the body cap after {len(self.body)} bytes")
        try:
            return json.loads(self.body)
        except RecursionError:
            raise ValueError("body is JSON nested too deeply to parse") from None
        except ValueError as exc:
            snippet = self.body[:60].decode("utf-8", errors="replace")
            raise ValueError(f"body is not JSON ({one_line(str(exc))}); starts with {snippet!r}") from None

    def transcript(self) -> str:
        """Human-readable record: request line, status line, headers, then the body or the SSE
        events with ``+0.012s`` arrival times, then the transport error; at most 16 KiB of a body,
        ~64 KiB in all."""
        return transcript(self)
