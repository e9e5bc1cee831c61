"""Serve an ASGI app on a loopback socket and announce it with a `READY http://HOST:PORT` line.

The launcher (`conformance.servers.launcher`) waits for that line; port 0 picks a free port.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp


def _ready(url: str) -> None:
    print(f"READY {url}", flush=True)


async def _serve(server: uvicorn.Server, sock: socket.socket, url: str, announce: Callable[[str], None]) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        announce(url)
    await task


def serve(app: ASGIApp, host: str, port: int, announce: Callable[[str], None] = _ready) -> None:
    """Run `app` until stopped; `announce(http://HOST:PORT)` once it accepts connections (by
    default the READY line).  OSError when the address cannot be bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it Nagle + delayed ACK add ~40 ms to every answer.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, backlog=2048)
    asyncio.run(_serve(uvicorn.Server(config), sock, f"http://{bound_host}:{bound_port}", announce))
