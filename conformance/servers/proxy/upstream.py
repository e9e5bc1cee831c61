"""Forwarding to the upstream: one shared pooled ``httpx.AsyncClient``, header filtering both
ways and size-capped, fully buffered answers.

Requests keep every end-to-end header of the client (``Authorization`` included, so the upstream
judges the key) minus hop-by-hop headers, ``Host``, ``Content-Length`` and ``Accept-Encoding``:
httpx negotiates and decodes the content coding itself, so answers arrive as plain bytes.
Redirects are not followed and proxy settings from the environment are ignored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

MAX_BODY_BYTES = 8 * 1024 * 1024
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade",
})
# Never forwarded upstream: recomputed by httpx for the new connection and body.
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
# Never passed back: the answer is re-encoded, and uvicorn writes its own date and server.
_NOT_RETURNED = _HOP_BY_HOP | {"content-length", "content-type", "content-encoding", "date", "server"}


class UpstreamError(Exception):
    """The upstream could not be used: unreachable, timed out, or an answer over the size cap."""


@dataclass
class UpstreamReply:
    """The upstream's answer: status, the headers worth passing back (lower-case names), its
    media type (``text/event-stream``, no parameters, lower-case) and the decoded body."""

    status: int
    headers: dict[str, str]
    content_type: str
    media_type: str
    body: bytes

    def json_or_text(self) -> Any:
        """The body as JSON when it parses, else as text (invalid UTF-8 replaced)."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return self.body.decode("utf-8", errors="replace")


class Upstream:
    """The upstream at ``base_url`` (ending in ``/v1``); every exchange must finish within
    ``timeout`` seconds."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"upstream {base_url!r} is not an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def send(self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes = b"", query: str = "") -> UpstreamReply:
        """Forward one request to ``{base_url}/{path}`` and buffer the answer; UpstreamError when
        the upstream is unreachable, too slow or answers more than 8 MiB."""
        url = f"{self.base_url}/{path}" + (f"?{query}" if query else "")
        try:
            async with asyncio.timeout(self.timeout):
                request = self.client.build_request(method, url, headers=forwarded(headers), content=body or None)
                response = await self.client.send(request, stream=True)
                try:
                    content = await _read_capped(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise UpstreamError(f"the upstream did not answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"the upstream could not be reached: {type(exc).__name__}: {exc}") from None
        content_type = response.headers.get("content-type", "")
        return UpstreamReply(
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items() if name.lower() not in _NOT_RETURNED},
            content_type=content_type,
            media_type=content_type.split(";")[0].strip().lower(),
            body=content,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def forwarded(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The client's request headers worth sending upstream (see the module docstring)."""
    pairs = [(name.lower(), value) for name, value in headers]
    # RFC 9110: headers named in Connection are hop-by-hop for this connection only.
    listed = {token.strip().lower() for name, value in pairs if name == "connection" for token in value.split(",")}
    return [(name, value) for name, value in pairs if name not in _NOT_FORWARDED and name not in listed]


async def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    async for part in response.aiter_bytes():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise UpstreamError(f"the upstream's answer is larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)
