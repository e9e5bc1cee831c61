"""Bounded, recording HTTP client for talking to the server under test.

Every exchange is read incrementally with hard limits (connect/read/total
timeouts, body size, SSE event count), never follows redirects, retries 429s,
and returns an :class:`Exchange` in which everything — request and response
headers, bodies, SSE events, error messages — is already redacted.  Wire
failures never raise: they are recorded as a :class:`TransportError`.

This module sends and classifies; the data it returns is in :mod:`.model`, the
socket-level total deadline in :mod:`.transport`, body decoding and caps in
:mod:`.decode`, retries in :mod:`.retry` and the stall breaker in :mod:`.stall`.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Iterable, Iterator, Mapping

import httpx

from conformance import __version__
from conformance.wire import transport
from conformance.wire.decode import ResponseRead, read_body
from conformance.wire.model import Budget, Exchange, Limits, RecordedRequest, TransportError
from conformance.wire.record import record_exchange, record_request
from conformance.wire.redact import Redactor, url_secrets
from conformance.wire.render import describe
from conformance.wire.retry import parse_retry_after, send_with_retries
from conformance.wire.stall import STALL_KINDS, StallBreaker, TargetStalled

__all__ = [
    "STALL_KINDS",
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
        self._stall_breaker = StallBreaker()
        self._closed = False
        self.redactor = Redactor([*secrets, *url_secrets(base_url)], extra_sensitive_headers=secret_headers)
        if api_key:
            self.redactor.add_secret(api_key)
        for name, value in self.extra_headers.items():
            if name.lower() in self.redactor.sensitive_headers:
                self.redactor.add_secret(value)
                self.redactor.add_secret(value.split(" ", 1)[-1])
        self._client = self._http_client({"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})

    def _http_client(self, headers: Mapping[str, str], small_window: bool = False) -> httpx.Client:
        # Redirects are not followed: a plain-HTTP target never needs the TLS context (~30 ms to load).
        tls = self.base_url.lower().startswith("https:")
        return httpx.Client(transport=transport.DeadlineTransport(small_window, tls=tls), follow_redirects=False,
                            trust_env=False, headers=headers)

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
    def private_pool(self, *, small_window: bool = False) -> Iterator[RawClient]:
        """The same client over a connection pool of its own, closed afterwards: no other thread's
        request can take its connections (``Limits.watch_close`` needs that, since httpcore hands a
        connection back to the pool as soon as a body has been read).  ``small_window``: its
        connections have a small receive window, so a slow reader (``Limits.read_pause``) makes the
        server wait after a few hundred KiB."""
        twin = copy.copy(self)
        twin._client = self._http_client(self._client.headers, small_window)
        # The twin's streak starts from this client's and goes on apart from it.
        twin._stall_breaker = copy.copy(self._stall_breaker)
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
        chosen = limits or self.limits
        if self._closed:
            raise TargetStalled("not sent: the run was stopped")
        self._stall_breaker.check(self.stall_limit)
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

        def build() -> httpx.Request:  # one request per attempt: an attempt's extensions are its own
            return self._client.build_request(method, url, headers=merged, content=content)

        recorded = record_request(build(), content, self.redactor, key_header=self.auth_header if sent_key else None,
                                  key_prefix=key_prefix, key_env=self.key_env if api_key is None else None)
        exchange = send_with_retries(
            lambda: self._attempt(build(), recorded, chosen),
            max_429_retries=self.max_429_retries,
            max_retry_wait=self.max_retry_wait,
            before_attempt=self._before_attempt,
        )
        self._stall_breaker.count(exchange)
        return exchange

    def _before_attempt(self) -> None:
        """Every attempt, resends included: none once the client is closed (the run was stopped: a
        resend would never be sent, so it must not be counted), and each is charged to the budget."""
        if self._closed:
            raise TargetStalled("not sent: the run was stopped")
        if self.budget is not None:
            self.budget.charge_request()

    def _attempt(self, request: httpx.Request, recorded: RecordedRequest, limits: Limits) -> Exchange:
        """Send ``request`` once and read its answer within ``limits``; ``dead_connection`` is set
        on the result when the request met a kept-alive connection the server had closed."""
        t0 = time.monotonic()
        read = ResponseRead(t0, limits)
        request.extensions["timeout"] = httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.connect_timeout,
        ).as_dict()
        transport.start_deadline(read.total_deadline)
        try:
            self._send_and_read(request, read, recorded)
        except httpx.HTTPError as exc:
            read.error = _classify(exc, read)
            read.truncated = read.status is not None and read.error.kind in ("read-timeout", "total-timeout")
        except Exception as exc:
            read.error = TransportError("protocol", f"{type(exc).__name__}: {exc}")
        finally:
            transport.clear_deadline()
        exchange = record_exchange(recorded, read, time.monotonic() - t0, self.redactor)
        connection = transport.request_connection()
        if connection is not None and read.status is None and read.error is not None and read.error.kind == "reset":
            exchange.dead_connection = connection.last_exchange
            exchange.dead_connection_idle = connection.idle_before(t0)
        return exchange

    def _send_and_read(self, request: httpx.Request, read: ResponseRead, recorded: RecordedRequest) -> None:
        response = self._client.send(request, stream=True)
        try:
            read.ttfb = time.monotonic() - read.t0
            read.status = response.status_code
            read.reason = response.reason_phrase
            read.http_version = response.http_version
            read.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
            # Named now, while the connection is still ours: httpcore hands it back to the pool as
            # soon as the body is read, and the next request on it must know what came before.
            connection = transport.request_connection()
            if connection is not None:
                connection.last_exchange = describe(recorded, read.status)
            read_body(response, read)
            if read.limits.watch_close is not None and read.error is None:
                read.closed_after_response = transport.closed_within(response, read.limits.watch_close)
        finally:
            response.close()
        if 300 <= response.status_code < 400 and read.error is None:
            read.error = TransportError("redirect", f"HTTP {response.status_code} redirect {_where(request, response)} "
                                                    "(not followed)")


def _where(request: httpx.Request, redirect: httpx.Response) -> str:
    """Where a redirect points: its host, or what is wrong with its Location."""
    location = redirect.headers.get("location")
    if location is None:
        return "without a Location header"
    try:
        return f"to host {request.url.join(location).host or '?'}"
    except httpx.InvalidURL:
        return "to an invalid Location"


def _classify(exc: httpx.HTTPError, read: ResponseRead) -> TransportError:
    """The :class:`TransportError` for an httpx exception raised while sending or reading."""
    limits = read.limits
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return TransportError("connect-timeout", f"no connection within {limits.connect_timeout} s ({text})")
    if isinstance(exc, httpx.TimeoutException):
        if transport.deadline_was_binding():
            return TransportError(
                "total-timeout", f"exchange exceeded the {limits.total_timeout} s total timeout {read.progress()}"
            )
        return TransportError("read-timeout", f"no byte for {limits.read_timeout} s {read.progress()} (read timeout)")
    if isinstance(exc, httpx.ConnectError):
        return TransportError("connect", f"cannot connect: {text}")
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending a response" in text:
            return TransportError("reset", f"server closed the connection without a response ({text})")
        return TransportError("protocol", f"invalid HTTP from server {read.progress()}: {text}")
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return TransportError("reset", f"connection broken {read.progress()}: {text}")
    if isinstance(exc, httpx.LocalProtocolError):
        return TransportError("protocol", f"request not sendable (rejected by the HTTP library): {text}")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return TransportError("connect", f"bad URL: {text}")
    return TransportError("protocol", f"{type(exc).__name__} {read.progress()}: {text}")
