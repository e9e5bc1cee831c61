"""Deadlines at the socket: every connect, TLS handshake, read and write of a thread's request ends
by the deadline that thread set, so a server dripping a byte a second cannot outlive the exchange's
total timeout.

Built on public extension points only: an httpcore network backend whose streams shorten each
operation's timeout to the time left, under an httpcore connection pool, behind an httpx transport
(``httpx.Client(transport=...)``).  The deadline is per thread because httpcore calls the backend
from the thread that sends the request and reads its body.
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator

import httpcore
import httpx

__all__ = [
    "DeadlineStream",
    "DeadlineTransport",
    "clear_deadline",
    "closed_within",
    "deadline_was_binding",
    "move_deadline",
    "request_connection",
    "start_deadline",
]

# Sized for the runner's ~8 worker threads with headroom; idle sockets expire quickly.
_MAX_CONNECTIONS = 32
_KEEPALIVE_EXPIRY = 5.0

# The socket option tuples httpcore's backends accept.
_SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class _ThreadDeadline(threading.local):
    at: float | None = None  # monotonic time every socket operation must end by; None: no deadline
    binding = False  # the deadline, not the operation's own timeout, bounded the last operation
    connection: DeadlineStream | None = None  # where this thread's current request was written


_this_thread = _ThreadDeadline()


def start_deadline(at: float) -> None:
    """From now on this thread's socket operations end by ``at`` (``time.monotonic()`` clock), until
    :func:`clear_deadline`; a new request: which connection the previous one used is forgotten."""
    _this_thread.at = at
    _this_thread.binding = False
    _this_thread.connection = None


def move_deadline(at: float) -> None:
    """Change this thread's deadline to ``at`` (a ``[DONE]`` event brings it forward)."""
    _this_thread.at = at


def clear_deadline() -> None:
    _this_thread.at = None


def deadline_was_binding() -> bool:
    """Whether this thread's deadline, not the operation's own timeout, bounded its last socket
    operation: a timeout then means the total timeout ran out, not the read timeout."""
    return _this_thread.binding


def request_connection() -> DeadlineStream | None:
    """The connection this thread's current request was written to; None before the first write."""
    return _this_thread.connection


def _clamp(timeout: float | None, timeout_error: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` shortened to the time left before this thread's deadline; raises
    ``timeout_error`` when the deadline has passed."""
    at = _this_thread.at
    if at is None:
        return timeout
    remaining = at - time.monotonic()
    if remaining <= 0:
        _this_thread.binding = True
        raise timeout_error("deadline reached")
    _this_thread.binding = timeout is None or remaining < timeout
    return remaining if _this_thread.binding else timeout


class DeadlineStream(httpcore.NetworkStream):
    """One connection's socket, every operation bounded by the calling thread's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.last_exchange: str | None = None  # the last exchange completed on this connection
        self.last_used = time.monotonic()  # when bytes last went either way: the connection is idle since

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))
        self.last_used = time.monotonic()
        return data

    def idle_before(self, moment: float) -> float:
        """Seconds the connection had been idle at ``moment`` (when a request started on it)."""
        return max(0.0, moment - self.last_used)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _this_thread.connection = self
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(inner)

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


# A slow reader's connection: a small receive buffer and segment size, set before connecting (the
# sender sizes its own buffers from the segment size), so that a few hundred KiB the reader has not
# taken yet fill the sender's buffers and make it wait, instead of megabytes on loopback.
SMALL_RECEIVE_BUFFER = 4096
SMALL_SEGMENT = 536


class _SmallWindowStream(httpcore.NetworkStream):
    """A socket opened with a small receive window, for :class:`DeadlineStream` to wrap."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def connect(cls, host: str, port: int, timeout: float | None) -> _SmallWindowStream:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, SMALL_SEGMENT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(timeout)
            sock.connect(address)
        except TimeoutError as exc:
            sock.close()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return cls(sock)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._sock.settimeout(timeout)
        try:
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._sock.settimeout(timeout)
        try:
            self._sock.sendall(buffer)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._sock.settimeout(timeout)
        try:
            return _SmallWindowStream(ssl_context.wrap_socket(self._sock, server_hostname=server_hostname))
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc

    def get_extra_info(self, info: str) -> object:
        if info == "ssl_object":
            return self._sock if isinstance(self._sock, ssl.SSLSocket) else None
        if info == "is_readable":  # an idle kept-alive connection the server closed reads as EOF
            return bool(select.select([self._sock], [], [], 0)[0])
        if info == "socket":
            return self._sock
        return None


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous sockets (or, for a slow reader, sockets with a small receive window),
    wrapped in :class:`DeadlineStream`."""

    def __init__(self, small_window: bool = False) -> None:
        self._inner = httpcore.SyncBackend()
        self._small_window = small_window

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        if self._small_window:
            return DeadlineStream(_SmallWindowStream.connect(host, port, timeout))
        return DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[_SocketOption] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~15 ms; one context serves every client of the process."""
    return httpx.create_ssl_context(trust_env=False)


class DeadlineTransport(httpx.BaseTransport):
    """HTTP/1.1 over a connection pool of its own whose sockets keep the calling thread's deadline;
    ``small_window``: every connection has a small receive window (a slow reader's); ``tls``:
    the pool opens HTTPS connections (without it the CA bundle is not loaded: a plain-HTTP target's
    pool never needs it, redirects being refused)."""

    def __init__(self, small_window: bool = False, *, tls: bool = True) -> None:
        self._connections = httpcore.ConnectionPool(
            ssl_context=_ssl_context() if tls else None,
            max_connections=_MAX_CONNECTIONS,
            max_keepalive_connections=_MAX_CONNECTIONS,
            keepalive_expiry=_KEEPALIVE_EXPIRY,
            http1=True,
            http2=False,
            retries=0,
            # httpx writes headers and body separately; with Nagle on, the body waits
            # for the server's delayed ACK (~40 ms per request on loopback).
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            network_backend=_DeadlineBackend(small_window),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("DeadlineTransport sends synchronous request bodies only")
        url = request.url
        sent = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            answer = self._connections.handle_request(sent)
        return httpx.Response(answer.status, headers=answer.headers, stream=_Body(answer),
                              extensions=answer.extensions)

    def close(self) -> None:
        self._connections.close()


class _Body(httpx.SyncByteStream):
    """A response body read from the pool, its failures raised as httpx exceptions."""

    def __init__(self, answer: httpcore.Response) -> None:
        self._answer = answer

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._answer.iter_stream()

    def close(self) -> None:
        self._answer.close()


# Each httpcore exception with the httpx exception the client handles for it, most specific first.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """Re-raise httpcore's exceptions as httpx's (same message), the family an httpx client handles."""
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _HTTPX_ERRORS:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from exc
        raise


def closed_within(response: httpx.Response, seconds: float) -> bool | None:
    """Whether the server closed the response's connection within ``seconds`` after it (EOF, not
    merely unread bytes); None when the wait overran so far that an idle timeout could explain it.
    Only safe on a pool no other thread uses (``RawClient.private_pool``)."""
    started = time.monotonic()
    time.sleep(seconds)
    network = response.extensions.get("network_stream")
    if not isinstance(network, httpcore.NetworkStream) or time.monotonic() - started > 3 * seconds:
        return None
    if not network.get_extra_info("is_readable"):
        return False
    try:
        return network.read(1, timeout=seconds) == b""
    except (httpcore.ReadError, OSError):  # a reset counts as closed
        return True
    except httpcore.TimeoutException:
        return None
