"""Bounded, recording HTTP client for talking to the server under test.

Every exchange is read incrementally with hard limits (connect/read/total
timeouts, body size, SSE event count), never follows redirects, retries 429s,
and returns an :class:`Exchange` in which everything — request and response
headers, bodies, SSE events, error messages — is already redacted.  Wire
failures never raise: they are recorded as a :class:`TransportError`.

The total deadline is enforced at the socket level: a thin httpcore network
backend shortens every connect/read/write timeout to the time left before the
calling thread's deadline, so a 1-byte-per-second drip cannot outlive it.
"""

from __future__ import annotations

import contextlib
import copy
import email.utils
import functools
import io
import json
import shlex
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import httpcore
import httpx

from conformance import __version__
from conformance.engine.model import CannotJudge
from conformance.wire.redact import Redactor, cut, url_secrets
from conformance.wire.redact_stream import redact_split_secrets
from conformance.wire.sse import FramingFacts, SSEEvent, SSEParser

__all__ = [
    "Budget",
    "Exchange",
    "Limits",
    "RawClient",
    "RecordedRequest",
    "TargetStalled",
    "TransportError",
    "parse_retry_after",
]

USER_AGENT = f"oai-conformance/{__version__}"
TRANSCRIPT_CAP = 64 * 1024
# Body bytes a transcript shows: every distinct exchange is kept in the report, so a hostile
# target answering each request with a long body must not cost TRANSCRIPT_CAP per exchange.
_BODY_SHOWN = 16 * 1024
_MESSAGE_CAP = 300
_PIECE = 64 * 1024  # decoded bytes per step when inflating a compressed body
# Sized for the runner's ~8 worker threads with headroom; idle sockets expire quickly.
_POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=5.0)
# Request headers curl sets itself or that would make the output unreadable.
_CURL_SKIP_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent"})


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


#: Error kinds that mean a deadline or a cap, not the server, ended the exchange: the target kept
#: the suite waiting, or would have sent without end.
STALL_KINDS = frozenset({"connect-timeout", "read-timeout", "total-timeout", "too-many-events", "body-too-large"})
_MAX_DEAD_RESENDS = 3  # resends of a request that met a kept-alive connection the server had closed


class TargetStalled(CannotJudge):
    """Raised instead of sending when ``RawClient.stall_limit`` exchanges in a row were ended by a
    deadline or a cap (every further request would only run into it too), or after ``close()``."""


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
        parts = ["curl", "-sS"]
        if self._is_stream():
            parts.append("-N")
        if self.method != "GET" or self.body:
            parts += ["-X", shlex.quote(self.method)]
        parts.append(shlex.quote(self.url))
        for name, value in self.headers:
            lname = name.lower()
            if lname in _CURL_SKIP_HEADERS or (lname == "accept" and value == "*/*"):
                continue
            if self.key_header is not None and lname == self.key_header.lower() and self.key_env:
                parts += ["-H", shlex.quote(f"{name}: {self.key_prefix}") + f'"${self.key_env}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if not self.body:
            return " ".join(parts)
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\0" not in text:
            return " ".join([*parts, "--data-raw", shlex.quote(text)])
        return f"printf {_printf_escape(self.body)} | " + " ".join([*parts, "--data-binary", "@-"])

    def _is_stream(self) -> bool:
        if isinstance(self.json, dict) and self.json.get("stream") is True:
            return True
        return any(n.lower() == "accept" and "text/event-stream" in v for n, v in self.headers)


def _printf_escape(data: bytes) -> str:
    out = []
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in b"%\\'":
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return "'" + "".join(out) + "'"


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

    def json(self) -> object:
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
            raise ValueError(f"body is not JSON ({_one_line(str(exc))}); starts with {snippet!r}") from None

    def transcript(self) -> str:
        """Human-readable record: request line, status line, headers, then the body or the SSE
        events with ``+0.012s`` arrival times, then the transport error; at most 16 KiB of a body,
        ~64 KiB in all."""
        out = _CappedText(TRANSCRIPT_CAP)
        out.add(f"> {self.request.method} {self.request.url}")
        if self.status is None:
            out.add("< (no response)")
        else:
            timing = f"ttfb {self.ttfb:.3f}s, " if self.ttfb is not None else ""
            version = self.http_version or "HTTP"
            out.add(f"< {version} {self.status} {self.reason}".rstrip() + f"  ({timing}total {self.elapsed:.3f}s)")
            for name, value in self.headers:
                out.add(f"< {name}: {value}")
            out.add("")
            if self.events is not None:
                for ev in self.events:
                    lines = ev.raw.decode("utf-8", errors="replace").splitlines() or [""]
                    out.add(f"+{ev.at:.3f}s {lines[0]}")
                    for line in lines[1:]:
                        out.add(f"{'':8}{line}")
                tail = self.body[self.events[-1].end :] if self.events else self.body
                if tail and not self.truncated:
                    out.add(f"(not part of any event: {tail[:_BODY_SHOWN].decode('utf-8', errors='replace')!r}"
                            f"{f' and {len(tail) - _BODY_SHOWN} more bytes' if len(tail) > _BODY_SHOWN else ''})")
                if self.after_done_bytes:
                    out.add(f"({self.after_done_bytes} bytes after [DONE])")
                if self.open_after_done:
                    out.add("(connection still open after [DONE]; stopped reading)")
            else:  # the body is already redacted: cutting it cannot expose part of a secret
                out.add(self.body[:_BODY_SHOWN].decode("utf-8", errors="replace"))
                if len(self.body) > _BODY_SHOWN:
                    out.add(f"(… {len(self.body) - _BODY_SHOWN} more body bytes not shown)")
        if self.truncated:
            out.add("(the suite stopped reading before the end of the body)")
        if self.error is not None:
            out.add(f"!! {self.error.kind}: {self.error.message}")
        if self.attempts > 1:
            out.add(f"({self.attempts} attempts, {self.retry_wait:.1f}s waited on 429)")
        return out.text()


class _CappedText:
    def __init__(self, cap: int) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._cap = cap
        self._dropped = 0

    def add(self, line: str) -> None:
        room = self._cap - self._size - 1
        if len(line) > room:  # keep what fits of the line that crosses the cap, drop the rest
            kept = line[: max(room, 0)]
            self._dropped += len(line) - len(kept) + (0 if kept else 1)
            if not kept:
                return
            line = kept
        self._parts.append(line)
        self._size += len(line) + 1

    def text(self) -> str:
        if self._dropped:
            self._parts.append(f"… ({self._dropped} more characters not shown)")
        return "\n".join(self._parts)


def _closed_within(response: httpx.Response, seconds: float) -> bool | None:
    """Whether the server closed the response's connection within ``seconds`` after it (EOF, not
    merely unread bytes); None when the wait overran so far that an idle timeout could explain it.
    Only safe on a pool no other thread uses (``RawClient.private_pool``)."""
    started = time.monotonic()
    time.sleep(seconds)
    network = response.extensions.get("network_stream")
    if network is None or time.monotonic() - started > 3 * seconds:
        return None
    if not network.get_extra_info("is_readable"):
        return False
    try:
        return network.read(1, timeout=seconds) == b""
    except (httpcore.ReadError, OSError):  # a reset counts as closed
        return True
    except httpcore.TimeoutException:
        return None


def _describe(recorded: RecordedRequest, status: int) -> str:
    """A one-line name of a finished exchange, to say which one left a connection broken."""
    streamed = " (streamed)" if recorded._is_stream() else ""
    preview = recorded.body[:120].decode("utf-8", "replace")
    return f"{recorded.method} {recorded.url}{streamed} -> HTTP {status}, request body {preview}"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _one_line(text: str) -> str:
    return cut(_flat(text), _MESSAGE_CAP)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds, decimals tolerated, or an
    HTTP-date; a date in the past gives 0); ``None`` when absent or unparseable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


# --- socket-level deadline -------------------------------------------------

_deadline = threading.local()  # .at: monotonic deadline or None; .cause: which limit bound the last I/O


def _clamp(timeout: float | None, exc_type: type[Exception]) -> float | None:
    at = getattr(_deadline, "at", None)
    if at is None:
        return timeout
    remaining = at - time.monotonic()
    if remaining <= 0:
        _deadline.cause = "deadline"
        raise exc_type("deadline reached")
    if timeout is None or remaining < timeout:
        _deadline.cause = "deadline"
        return remaining
    _deadline.cause = "timeout"
    return timeout


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.last_exchange: str | None = None  # the last exchange completed on this connection

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _deadline.stream = self  # which connection this thread's request went out on
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # type: ignore[no-untyped-def]
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # type: ignore[no-untyped-def]
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~15 ms; one context serves every client of the process."""
    return httpx.create_ssl_context(trust_env=False)


class _Transport(httpx.HTTPTransport):
    """httpx's transport (and its exception mapping) over a pool using :class:`_DeadlineBackend`."""

    def __init__(self) -> None:
        # httpx 0.28 keeps its pool in ``_pool`` and offers no network_backend option.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=_POOL_LIMITS.max_connections,
            max_keepalive_connections=_POOL_LIMITS.max_keepalive_connections,
            keepalive_expiry=_POOL_LIMITS.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            # httpx writes headers and body separately; with Nagle on, the body waits
            # for the server's delayed ACK (~40 ms per request on loopback).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            network_backend=_DeadlineBackend(),
        )


# --- content decoding --------------------------------------------------------


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


# --- the client ----------------------------------------------------------------


def _media_type(value: str | None) -> str:
    return "" if value is None else value.split(";", 1)[0].strip().lower()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Read:
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
        self.closed_after_response: bool | None = None

    def progress(self) -> str:
        if self.status is None:
            return "before the response headers"
        if self.parser is not None:
            return f"after {_plural(len(self.events), 'event')} ({_plural(self.body.tell(), 'byte')})"
        return f"after {_plural(self.body.tell(), 'body byte')}"


class RawClient:
    """Client for one server under test; thread-safe, one pooled HTTP/1.1 connection pool.

    Never follows redirects and ignores proxy environment variables, so the key
    only ever goes to ``base_url``'s host.  ``secret_headers`` are redacted like
    ``Authorization`` wherever they appear, and their values in ``extra_headers``
    are registered as secrets.  With ``stall_limit`` set, once that many exchanges
    in a row have been ended by a deadline or a cap (:data:`STALL_KINDS`), requests
    raise :class:`TargetStalled` instead of being sent (any exchange that ends otherwise resets the count).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        auth_header: str = "Authorization",
        auth_scheme: str | None = "Bearer",
        extra_headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        limits: Limits = Limits(),
        max_429_retries: int = 2,
        max_retry_wait: float = 20.0,
        budget: Budget | None = None,
        key_env: str = "OPENAI_API_KEY",
        secret_headers: Iterable[str] = (),
        stall_limit: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")  # may end in a query: see url()
        self.api_key = api_key
        self.auth_header = auth_header
        self.auth_scheme = auth_scheme
        self.extra_headers = dict(extra_headers or {})
        self.limits = limits
        self.max_429_retries = max_429_retries
        self.max_retry_wait = max_retry_wait
        self.budget = budget
        self.key_env = key_env
        self.stall_limit = stall_limit
        self._stalls = 0  # consecutive exchanges ended by a deadline or a cap
        self._stall_kinds: set[str] = set()
        self._stall_lock = threading.Lock()
        self._closed = False
        self.redactor = Redactor([*secrets, *url_secrets(base_url)], extra_sensitive_headers=secret_headers)
        if api_key:
            self.redactor.add_secret(api_key)
        for name, value in self.extra_headers.items():
            if name.lower() in self.redactor.sensitive_headers:
                self.redactor.add_secret(value)
                self.redactor.add_secret(value.split(" ", 1)[-1])
        self._client = httpx.Client(
            transport=_Transport(),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections; later requests raise :class:`TargetStalled` (scenario
        threads still running after an interrupt stop at their next request)."""
        self._closed = True
        self._client.close()

    @contextlib.contextmanager
    def private_pool(self) -> Iterator[RawClient]:
        """The same client over a connection pool of its own, closed afterwards: no other thread's
        request can take its connections (``Limits.watch_close`` needs that, since httpcore hands a
        connection back to the pool as soon as a body has been read)."""
        twin = copy.copy(self)
        twin._client = httpx.Client(transport=_Transport(), follow_redirects=False, trust_env=False,
                                    headers=self._client.headers)
        try:
            yield twin
        finally:
            twin._client.close()

    def url(self, path: str) -> str:
        """``base_url`` joined with ``path`` (a leading slash on ``path`` is optional); a query on
        the base URL (Azure's ``?api-version=…``) is kept on every request."""
        base, has_query, query = self.base_url.partition("?")
        url = f"{base.rstrip('/')}/{path.lstrip('/')}"
        return f"{url}{'&' if '?' in url else '?'}{query}" if has_query else url

    def post_json(
        self,
        path: str,
        body: object | bytes,
        *,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        api_key: str | None = None,
        limits: Limits | None = None,
    ) -> Exchange:
        """POST ``body`` (compact JSON, or ``bytes`` sent verbatim) to ``path``.

        ``headers`` override the defaults (Content-Type, auth, ``extra_headers``);
        ``auth=False`` sends no auth header; ``api_key`` replaces the configured key
        for this call (and is registered as a secret too).  Never raises for wire
        problems; 429s are retried as configured.
        """
        if isinstance(body, (bytes, bytearray)):
            content = bytes(body)
        else:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return self._request("POST", path, content, headers, auth, api_key, limits)

    def get(self, path: str, *, limits: Limits | None = None) -> Exchange:
        """GET ``path`` with the configured auth; never raises for wire problems."""
        return self._request("GET", path, None, None, True, None, limits)

    def _request(
        self,
        method: str,
        path: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        auth: bool,
        api_key: str | None,
        limits: Limits | None,
    ) -> Exchange:
        limits = limits or self.limits
        self._check_stalled()
        url = self.url(path)
        key = api_key if api_key is not None else self.api_key
        if api_key is not None:
            self.redactor.add_secret(api_key)
        merged = httpx.Headers()
        if content is not None:
            merged["Content-Type"] = "application/json"
        key_prefix = f"{self.auth_scheme} " if self.auth_scheme else ""
        key_value = (key_prefix + key).strip() if key is not None else None  # "" key -> plain "Bearer"
        if auth and key_value is not None:
            merged[self.auth_header] = key_value
        merged.update(self.extra_headers)
        merged.update(headers or {})
        sent_key = auth and bool(key) and merged.get(self.auth_header) == key_value
        recorded: RecordedRequest | None = None
        attempts = 0
        waited = 0.0
        dead_connection: str | None = None
        dead_resends = 0
        while True:
            if self.budget is not None:
                self.budget.charge_request()
            attempts += 1
            request = self._client.build_request(method, url, headers=merged, content=content)
            if recorded is None:
                recorded = self._record(request, content, sent_key, key_prefix, api_key is None)
            exchange = self._attempt(request, recorded, limits)
            dead = getattr(_deadline, "dead_reuse", None)
            if dead is not None and dead_resends < _MAX_DEAD_RESENDS:
                # A kept-alive connection the server had closed: resend (the pool may hold several
                # such connections) and say which exchange left one broken instead of blaming this request.
                dead_connection = dead_connection or dead
                dead_resends += 1
                continue
            if exchange.status != 429 or attempts > self.max_429_retries:
                break
            wait = self._retry_wait(exchange)
            time.sleep(wait)
            waited += wait
        exchange.attempts = attempts
        exchange.retry_wait = waited
        exchange.dead_connection = dead_connection
        self._count_stall(exchange)
        return exchange

    def _check_stalled(self) -> None:
        if self._closed:
            raise TargetStalled("not sent: the run was stopped")
        if self.stall_limit is not None and self._stalls >= self.stall_limit:
            kinds = ", ".join(sorted(self._stall_kinds))
            raise TargetStalled(f"target stalled: the last {self._stalls} exchanges were all ended by a deadline "
                                f"or a cap ({kinds}); no further requests sent")

    def _count_stall(self, exchange: Exchange) -> None:
        if exchange.stopped_reading:
            return  # the suite stopped on purpose: says nothing about whether the target would have ended
        stalled = exchange.error is not None and exchange.error.kind in STALL_KINDS
        with self._stall_lock:
            self._stalls = self._stalls + 1 if stalled else 0
            if stalled and exchange.error is not None:
                self._stall_kinds.add(exchange.error.kind)
            elif not stalled:
                self._stall_kinds.clear()

    def _retry_wait(self, exchange: Exchange) -> float:
        ms = exchange.header("retry-after-ms")
        wait = None
        if ms is not None:
            try:
                wait = max(0.0, float(ms) / 1000)
            except ValueError:
                wait = None
        if wait is None:
            wait = parse_retry_after(exchange.header("retry-after"))
        if wait is None:
            wait = 1.0
        return min(wait, self.max_retry_wait)

    def _record(
        self, request: httpx.Request, content: bytes | None, sent_key: bool, key_prefix: str, configured_key: bool
    ) -> RecordedRequest:
        r = self.redactor
        body = r.bytes(content or b"")
        parsed: object | None = None
        if content:
            try:
                parsed = r.obj(json.loads(content))
            except (ValueError, RecursionError):
                parsed = None
        headers = r.headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)
        return RecordedRequest(
            method=request.method,
            url=r.text(str(request.url)),
            headers=headers,
            body=body,
            json=parsed,
            key_header=self.auth_header if sent_key else None,
            key_prefix=key_prefix,
            key_env=self.key_env if configured_key else None,
        )

    def _attempt(self, request: httpx.Request, recorded: RecordedRequest, limits: Limits) -> Exchange:
        t0 = time.monotonic()
        st = _Read(t0, limits)
        request.extensions["timeout"] = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.connect_timeout,
        ).as_dict()
        _deadline.at = st.total_deadline
        _deadline.cause = "timeout"
        _deadline.stream = None
        _deadline.dead_reuse = None
        try:
            self._send_and_read(request, st, recorded)
        except httpx.HTTPError as exc:
            st.error = self._map_error(exc, st)
            st.truncated = st.status is not None and st.error.kind in ("read-timeout", "total-timeout")
        except Exception as exc:
            st.error = TransportError("protocol", f"{type(exc).__name__}: {exc}")
        finally:
            _deadline.at = None
        stream: _DeadlineStream | None = _deadline.stream
        if stream is not None and st.status is None and st.error is not None and st.error.kind == "reset" \
                and stream.last_exchange:
            _deadline.dead_reuse = stream.last_exchange
        elapsed = time.monotonic() - t0
        return self._finish(recorded, st, elapsed)

    def _send_and_read(self, request: httpx.Request, st: _Read, recorded: RecordedRequest) -> None:
        response = self._client.send(request, stream=True)
        try:
            st.ttfb = time.monotonic() - st.t0
            st.status = response.status_code
            st.reason = response.reason_phrase
            st.http_version = response.http_version
            st.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
            # Named now, while the connection is still ours: httpcore hands it back to the pool as
            # soon as the body is read, and the next request on it must know what came before.
            stream = _deadline.stream
            if stream is not None:
                stream.last_exchange = _describe(recorded, st.status)
            self._read_body(response, st)
            if st.limits.watch_close is not None and st.error is None:
                st.closed_after_response = _closed_within(response, st.limits.watch_close)
        finally:
            response.close()
        if 300 <= response.status_code < 400 and st.error is None:
            location = response.headers.get("location")
            if location is None:
                where = "without a Location header"
            else:
                try:
                    target = request.url.join(location)
                    where = f"to host {target.host or '?'}"
                except httpx.InvalidURL:
                    where = "to an invalid Location"
            st.error = TransportError("redirect", f"HTTP {response.status_code} redirect {where} (not followed)")

    def _read_body(self, response: httpx.Response, st: _Read) -> None:
        limits = st.limits
        decoder = _decoder_for(response.headers.get("content-encoding"))
        if decoder is None:
            st.error = TransportError(
                "decode",
                f"unsupported Content-Encoding {response.headers.get('content-encoding')!r}; body kept encoded",
            )
            decoder = _Decoder("identity")
        elif _media_type(response.headers.get("content-type")) == "text/event-stream":
            st.parser = SSEParser()
        ended_by_server = False
        try:
            for chunk in response.iter_raw():
                now = time.monotonic()
                if any(self._take(piece, now - st.t0, st) for piece in decoder.pieces(chunk)):
                    return
                if st.done_event is not None and now >= st.done_deadline:
                    st.open_after_done = True
                    return
                if now >= st.total_deadline:
                    st.truncated = True
                    st.error = TransportError(
                        "total-timeout",
                        f"exchange still running after the {limits.total_timeout} s total timeout, {st.progress()}",
                    )
                    return
            if self._take(decoder.flush(), time.monotonic() - st.t0, st):
                return
            ended_by_server = True
        except (httpx.ReadError, httpx.RemoteProtocolError):
            ended_by_server = True
            raise
        except httpx.TimeoutException:
            if st.done_event is None:
                raise
            st.open_after_done = True
        except zlib.error as exc:
            st.error = TransportError("decode", f"{decoder.encoding} body could not be decoded: {exc}")
        finally:
            if ended_by_server and st.parser is not None:
                st.parser.close()

    def _take(self, data: bytes, at: float, st: _Read) -> bool:
        """Append decoded ``data``; returns True when a cap stops the read."""
        limits = st.limits
        room = limits.max_body_bytes - st.body.tell()
        over = len(data) > room
        if over:
            data = data[:room]
        st.body.write(data)
        if st.parser is not None and data:
            for ev in st.parser.feed(data, at):
                if len(st.events) >= limits.max_stream_events:
                    st.truncated = True
                    st.error = TransportError(
                        "too-many-events", f"more than {limits.max_stream_events} SSE events; stopped reading"
                    )
                    return True
                st.events.append(ev)
                if limits.stop_after_events is not None and len(st.events) >= limits.stop_after_events:
                    st.stopped_reading = True
                    return True
                if st.done_event is None and ev.data.startswith("[DONE]"):
                    st.done_event = ev
                    st.done_deadline = min(st.total_deadline, time.monotonic() + limits.done_grace)
                    _deadline.at = st.done_deadline
        if over:
            st.truncated = True
            st.error = TransportError(
                "body-too-large", f"body exceeds {limits.max_body_bytes} bytes (decoded); stopped reading"
            )
            return True
        return False

    def _map_error(self, exc: httpx.HTTPError, st: _Read) -> TransportError:
        limits = st.limits
        text = str(exc) or type(exc).__name__
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return TransportError("connect-timeout", f"no connection within {limits.connect_timeout} s ({text})")
        if isinstance(exc, httpx.TimeoutException):
            if getattr(_deadline, "cause", "timeout") == "deadline":
                return TransportError(
                    "total-timeout", f"exchange exceeded the {limits.total_timeout} s total timeout {st.progress()}"
                )
            return TransportError("read-timeout", f"no byte for {limits.read_timeout} s {st.progress()} (read timeout)")
        if isinstance(exc, httpx.ConnectError):
            return TransportError("connect", f"cannot connect: {text}")
        if isinstance(exc, httpx.RemoteProtocolError):
            if "without sending a response" in text:
                return TransportError("reset", f"server closed the connection without a response ({text})")
            return TransportError("protocol", f"invalid HTTP from server {st.progress()}: {text}")
        if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.CloseError)):
            return TransportError("reset", f"connection broken {st.progress()}: {text}")
        if isinstance(exc, httpx.LocalProtocolError):
            return TransportError("protocol", f"request not sendable (rejected by the HTTP library): {text}")
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return TransportError("connect", f"bad URL: {text}")
        return TransportError("protocol", f"{type(exc).__name__} {st.progress()}: {text}")

    def _finish(self, recorded: RecordedRequest, st: _Read, elapsed: float) -> Exchange:
        r = self.redactor
        events: list[SSEEvent] | None = None
        framing: FramingFacts | None = None
        if st.parser is not None:
            events = [
                SSEEvent(
                    data=r.text(e.data),
                    event=_opt(r, e.event),
                    id=_opt(r, e.id),
                    at=e.at,
                    raw=r.bytes(e.raw),
                    end=e.end,
                )
                for e in st.events
            ]
            events = redact_split_secrets(events, r)
            framing = st.parser.facts
            framing.comments = [r.text(c) for c in framing.comments]
            framing.event_fields = [r.text(c) for c in framing.event_fields]
            framing.other_fields = [r.text(c) for c in framing.other_fields]
        # Redact, then cut: a message quoting a header line may hold the key at any position.
        error = None if st.error is None else TransportError(st.error.kind, r.cut(_flat(st.error.message), _MESSAGE_CAP))
        body = r.bytes(st.body.getvalue())
        if st.truncated or st.error is not None:  # the body ends where it was cut, maybe mid-secret
            body = r.edges_bytes(body)
        after_done = None
        if st.done_event is not None and st.parser is not None:
            after_done = st.parser.facts.bytes_total - st.done_event.end
        return Exchange(
            request=recorded,
            status=st.status,
            headers=r.headers(st.headers),
            body=body,
            events=events,
            framing=framing,
            error=error,
            truncated=st.truncated,
            stopped_reading=st.stopped_reading,
            closed_after_response=st.closed_after_response,
            elapsed=elapsed,
            ttfb=st.ttfb,
            after_done_bytes=after_done,
            open_after_done=st.open_after_done,
            http_version=st.http_version,
            reason=r.text(st.reason),
        )


def _opt(r: Redactor, value: str | None) -> str | None:
    return None if value is None else r.text(value)
