"""Serve an ASGI app on a loopback socket and announce it with a `READY http://HOST:PORT` line.

The launcher (`conformance.servers.launcher`) waits for that line; port 0 picks a free port.
A connection whose request head (request line and headers) has not fully arrived
`HEADER_TIMEOUT_S` after it opened, or after the previous answer, is closed: slowloris clients
cannot hold connections open forever (uvicorn itself only times out idle keep-alive connections).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0


class _HeaderDeadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request head."""

    header_timeout_s = HEADER_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request's head must arrive in time too

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE and self._head_deadline is not None:
            self._head_deadline.cancel()  # the head is in: the body and the answer have their own limits
            self._head_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._expire)

    def _expire(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def header_deadline_protocol(seconds: float) -> type[H11Protocol]:
    """The protocol class to give uvicorn (``http=``) for a head deadline of ``seconds``."""
    return type("HeaderDeadline", (_HeaderDeadline,), {"header_timeout_s": seconds})


def _ready(url: str) -> None:
    print(f"READY {url}", flush=True)


async def _serve(server: uvicorn.Server, sock: socket.socket, url: str, announce: Callable[[str], None]) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        announce(url)
    await task


def serve(app: ASGIApp, host: str, port: int, announce: Callable[[str], None] = _ready,
          header_timeout_s: float = HEADER_TIMEOUT_S) -> None:
    """Run `app` until stopped; `announce(http://HOST:PORT)` once it accepts connections (by
    default the READY line).  A request head must arrive within `header_timeout_s`.  OSError when
    the address cannot be bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it Nagle + delayed ACK add ~40 ms to every answer.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, backlog=2048,
                            http=header_deadline_protocol(header_timeout_s))
    asyncio.run(_serve(uvicorn.Server(config), sock, f"http://{bound_host}:{bound_port}", announce))
