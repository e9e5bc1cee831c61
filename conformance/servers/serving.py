"""Serve an ASGI app on a loopback socket and announce it with a `READY http://HOST:PORT` line.

The launcher (`conformance.servers.launcher`) waits for that line; port 0 picks a free port.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.types import ASGIApp


async def _serve(server: uvicorn.Server, sock: socket.socket, url: str) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print(f"READY {url}", flush=True)
    await task


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Run `app` until stopped; prints the READY line once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it Nagle + delayed ACK add ~40 ms to every answer.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2, backlog=2048)
    asyncio.run(_serve(uvicorn.Server(config), sock, f"http://{bound_host}:{bound_port}"))
