"""Reading a response body within its caps: Content-Encoding decoding that never inflates more than a
piece at a time (decompression bombs), the body and event caps, SSE event parsing, the grace
period after ``[DONE]``, the total deadline between chunks and a slow reader's pause."""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Iterator

import httpx

from conformance.wire.model import Limits, TransportError
from conformance.wire.sse import SSEEvent, SSEParser
from conformance.wire.transport import move_deadline

__all__ = ["ResponseRead", "read_body"]

_PIECE = 64 * 1024  # decoded bytes per step when inflating a compressed body


class _Decoder:
    """Content-Encoding decoder whose output per call is bounded (decompression bombs)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate_tried = False
        if encoding == "gzip":
            self._z: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            self._z = None
        self._produced = False

    def decode(self, data: bytes, max_out: int) -> bytes:
        """Decode ``data``, returning at most ``max_out`` bytes (more input may then be left unused)."""
        if self._z is None:
            return data[:max_out]
        try:
            out = self._z.decompress(data, max_out)
        except zlib.error:
            # Some servers send raw deflate (no zlib header) as "deflate".
            if self.encoding != "deflate" or self._produced or self._raw_deflate_tried:
                raise
            self._raw_deflate_tried = True
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, max_out)
        self._produced = self._produced or bool(out)
        return out

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data`` in pieces of at most :data:`_PIECE` bytes: a compressed chunk that inflates
        to megabytes never exists decoded in one piece (the caller stops at its cap)."""
        if self._z is None:
            yield data
            return
        out = self.decode(data, _PIECE)
        yield out
        while self._z.unconsumed_tail:
            yield self.decode(self._z.unconsumed_tail, _PIECE)

    def flush(self) -> bytes:
        return b"" if self._z is None else self._z.flush()


def _decoder_for(content_encoding: str | None) -> _Decoder | None:
    """Decoder for the header value; ``None`` when the encoding is unsupported."""
    tokens = [t.strip().lower() for t in (content_encoding or "").split(",") if t.strip()]
    tokens = [t for t in tokens if t != "identity"]
    if not tokens:
        return _Decoder("identity")
    if len(tokens) == 1 and tokens[0] in ("gzip", "x-gzip", "deflate"):
        return _Decoder("gzip" if tokens[0] == "x-gzip" else tokens[0])
    return None


def _media_type(value: str | None) -> str:
    return "" if value is None else value.split(";", 1)[0].strip().lower()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class ResponseRead:
    """Mutable state of one attempt while its response is read."""

    def __init__(self, t0: float, limits: Limits) -> None:
        self.t0 = t0
        self.limits = limits
        self.total_deadline = t0 + limits.total_timeout
        self.status: int | None = None
        self.reason = ""
        self.http_version = ""
        self.headers: list[tuple[str, str]] = []
        self.ttfb: float | None = None
        # BytesIO hands over its buffer without a copy (getvalue): a capped body is held once, not twice.
        self.body = io.BytesIO()
        self.parser: SSEParser | None = None
        self.events: list[SSEEvent] = []
        self.done_event: SSEEvent | None = None
        self.done_deadline = self.total_deadline
        self.open_after_done = False
        self.error: TransportError | None = None
        self.truncated = False
        self.stopped_reading = False
        self.paused = False  # a slow reader took its pause (Limits.read_pause)
        self.closed_after_response: bool | None = None

    def progress(self) -> str:
        """How far the read got, for error messages."""
        if self.status is None:
            return "before the response headers"
        if self.parser is not None:
            return f"after {_plural(len(self.events), 'event')} ({_plural(self.body.tell(), 'byte')})"
        return f"after {_plural(self.body.tell(), 'body byte')}"

    def take(self, data: bytes, at: float) -> bool:
        """Append decoded ``data`` that arrived ``at`` seconds in; returns True when a cap, or
        ``Limits.stop_after_events``, stops the read."""
        limits = self.limits
        room = limits.max_body_bytes - self.body.tell()
        over = len(data) > room
        if over:
            data = data[:room]
        self.body.write(data)
        if self.parser is not None and data:
            for ev in self.parser.feed(data, at):
                if len(self.events) >= limits.max_stream_events:
                    self.truncated = True
                    self.error = TransportError(
                        "too-many-events", f"more than {limits.max_stream_events} SSE events; stopped reading"
                    )
                    return True
                self.events.append(ev)
                if limits.stop_after_events is not None and len(self.events) >= limits.stop_after_events:
                    self.stopped_reading = True
                    return True
                if self.done_event is None and ev.data.startswith("[DONE]"):
                    self.done_event = ev
                    self.done_deadline = min(self.total_deadline, time.monotonic() + limits.done_grace)
                    move_deadline(self.done_deadline)
        if over:
            self.truncated = True
            self.error = TransportError(
                "body-too-large", f"body exceeds {limits.max_body_bytes} bytes (decoded); stopped reading"
            )
            return True
        return False


def read_body(response: httpx.Response, read: ResponseRead) -> None:
    """Read ``response``'s body into ``read`` until the server ends it or a cap, the grace after
    ``[DONE]`` or the total deadline stops it.  Wire failures other than a timeout after ``[DONE]``
    propagate as httpx exceptions."""
    limits = read.limits
    decoder = _decoder_for(response.headers.get("content-encoding"))
    if decoder is None:
        read.error = TransportError(
            "decode",
            f"unsupported Content-Encoding {response.headers.get('content-encoding')!r}; body kept encoded",
        )
        decoder = _Decoder("identity")
    elif _media_type(response.headers.get("content-type")) == "text/event-stream":
        read.parser = SSEParser()
    ended_by_server = False
    try:
        for chunk in response.iter_raw():
            now = time.monotonic()
            if any(read.take(piece, now - read.t0) for piece in decoder.pieces(chunk)):
                return
            if read.done_event is not None and now >= read.done_deadline:
                read.open_after_done = True
                return
            if limits.read_pause is not None and not read.paused:
                read.paused = True
                time.sleep(max(0.0, min(now + limits.read_pause, read.total_deadline) - time.monotonic()))
                now = time.monotonic()
            if now >= read.total_deadline:
                read.truncated = True
                read.error = TransportError(
                    "total-timeout",
                    f"exchange still running after the {limits.total_timeout} s total timeout, {read.progress()}",
                )
                return
        if read.take(decoder.flush(), time.monotonic() - read.t0):
            return
        ended_by_server = True
    except (httpx.ReadError, httpx.RemoteProtocolError):
        ended_by_server = True
        raise
    except httpx.TimeoutException:
        if read.done_event is None:
            raise
        read.open_after_done = True
    except zlib.error as exc:
        read.error = TransportError("decode", f"{decoder.encoding} body could not be decoded: {exc}")
    finally:
        if ended_by_server and read.parser is not None:
            read.parser.close()
