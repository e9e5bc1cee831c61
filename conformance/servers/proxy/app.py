"""The proxy's HTTP layer: named defects applied to the answers of a real upstream.

Routes (each also exists under ``/defects/NAME1+NAME2/``, which applies those defects to that
request on top of the server-wide ones, exactly like the reference server):

* ``POST /v1/chat/completions`` -- forwarded to ``{upstream}/chat/completions``.
* ``GET /v1/models`` -- forwarded to ``{upstream}/models``.

A chat request flows through the reference server's pipeline stages, minus COMPLETION and AUTH
(see ``capability``): a body the reference server would read as a JSON object goes through the
REQUEST hooks (an ``ApiError`` there is the answer, and the upstream is not asked) and is sent
re-encoded only if a hook changed it, else byte for byte; any other body is forwarded untouched.
While the REQUEST hooks run, the upstream model under test is shown to them as the reference
model (see ``aliasing``); hooks that read ``ctx.request`` get the reference validator's reading of
the payload (None when the reference would refuse it).  The upstream's answer is then

* non-2xx: ``ErrorReply(status, JSON body or text, headers)`` -> ERROR hooks -> ``error_wire``;
* ``text/event-stream``: its JSON ``data`` events (``[DONE]``, non-JSON data, event names,
  ids and comments dropped) -> CHUNKS hooks -> ``sse_wire`` (``data: <chunk>\\n\\n`` ...
  ``data: [DONE]\\n\\n``); ``ctx.usage`` is the last chunk's usage, None when none had one;
* a JSON object: ``ctx.usage`` from it -> BODY hooks -> ``json_wire``;
* anything else: passed back as it came;

and every answer, errors included, goes through the WIRE hooks.  The upstream's answer is
buffered whole (at most 8 MiB) before it is re-emitted, so a stream arrives in one burst, and it
is re-encoded with the reference server's encoders: the proxy tests clients against defects on
top of a good upstream; it does not preserve the upstream's own framing quirks.  An unreachable
or too slow upstream is a 502 ``upstream_error``; a hook that fails on an answer it was not
written for is a 502 ``proxy_error`` naming the defect.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.servers.defects import DEFECTS
from conformance.servers.reference.app import respond
from conformance.servers.reference.errors import ApiError
from conformance.servers.reference.pipeline import Context, ErrorReply, Stage, Wire
from conformance.servers.reference.validation import ChatRequest, parse_body, validate
from conformance.servers.reference.wire import dumps, error_wire, json_wire, sse_wire
from conformance.wire.sse import parse_sse

from . import aliasing
from .capability import refused
from .hooks import HookFailed, Hooks
from .upstream import MAX_BODY_BYTES, Upstream, UpstreamError, UpstreamReply

_log = logging.getLogger("conformance.proxy")
Produce = Callable[[Request, Hooks, Context], Awaitable[Wire]]


class ProxyApp:
    """Request handling in front of ``upstream`` with the server-wide ``defects``; ``model`` is the
    upstream model under test (see ``aliasing``)."""

    def __init__(self, upstream: str, defects: Sequence[str], *, timeout: float, model: str | None) -> None:
        reason = refused(defects)
        if reason:
            raise ValueError(reason)
        self.defects = tuple(defects)
        self.model = model
        self.upstream = Upstream(upstream, timeout=timeout)

    async def chat(self, request: Request) -> Response:
        return await self._answer(request, "chat", self._chat)

    async def models(self, request: Request) -> Response:
        return await self._answer(request, "models", self._models)

    def _hooks(self, request: Request) -> Hooks:
        names = request.path_params.get("names")
        extra = tuple(names.split("+")) if names else ()
        reason = refused(extra)
        if reason:
            code = "unknown_defect" if any(name not in DEFECTS for name in extra) else "defect_not_proxy_capable"
            raise ApiError(404, reason, code=code)
        return Hooks(self.defects + extra)

    async def _answer(self, request: Request, route: str, produce: Produce) -> Response:
        ctx = Context(route=route, headers=request.headers)
        hooks = Hooks(())
        try:
            try:
                hooks = self._hooks(request)
                wire = await produce(request, hooks, ctx)
            except ApiError as exc:
                wire = error_wire(hooks.run(Stage.ERROR, ErrorReply(exc.status, exc.envelope()), ctx))
            return respond(hooks.run(Stage.WIRE, wire, ctx))
        except HookFailed as exc:
            _log.exception("defect hook failed")
            return respond(error_wire(ErrorReply(502, ApiError(502, str(exc), type="proxy_error", code="defect_failed").envelope())))

    async def _chat(self, request: Request, hooks: Hooks, ctx: Context) -> Wire:
        raw = await _read_body(request)
        body = raw
        try:
            payload = parse_body(raw, request.headers.get("content-type"))
        except ApiError:
            payload = None  # not what the reference would read: the upstream judges it as sent
        if payload is not None:
            original = copy.deepcopy(payload)
            stands_for = aliasing.hide(payload, self.model)
            ctx.payload = payload
            payload = hooks.run(Stage.REQUEST, payload, ctx)
            ctx.payload = payload
            ctx.request = reference_reading(payload)
            aliasing.restore(payload, stands_for)
            if payload != original:
                body = dumps(payload)
        reply = await self._send(request, "POST", "chat/completions", body)
        if not 200 <= reply.status < 300:
            return error_wire(hooks.run(Stage.ERROR, ErrorReply(reply.status, reply.json_or_text(), reply.headers), ctx))
        if reply.media_type == "text/event-stream":
            chunks = stream_chunks(reply.body)
            usages = [chunk["usage"] for chunk in chunks if isinstance(chunk.get("usage"), dict)]
            ctx.usage = usages[-1] if usages else None
            return _with_headers(sse_wire(hooks.run(Stage.CHUNKS, chunks, ctx)), reply)
        try:
            value = json.loads(reply.body)
        except (ValueError, RecursionError):
            return _verbatim(reply)
        if not isinstance(value, dict):
            return _verbatim(reply)
        ctx.usage = value["usage"] if isinstance(value.get("usage"), dict) else None
        return _with_headers(json_wire(reply.status, hooks.run(Stage.BODY, value, ctx)), reply)

    async def _models(self, request: Request, hooks: Hooks, ctx: Context) -> Wire:
        reply = await self._send(request, "GET", "models")
        if not 200 <= reply.status < 300:
            return error_wire(hooks.run(Stage.ERROR, ErrorReply(reply.status, reply.json_or_text(), reply.headers), ctx))
        try:
            return _with_headers(json_wire(reply.status, json.loads(reply.body)), reply)
        except (ValueError, RecursionError):
            return _verbatim(reply)

    async def _send(self, request: Request, method: str, path: str, body: bytes = b"") -> UpstreamReply:
        try:
            return await self.upstream.send(method, path, request.headers.items(), body, request.url.query)
        except UpstreamError as exc:
            raise ApiError(502, str(exc), type="upstream_error", code="upstream_unavailable") from None


def reference_reading(payload: dict[str, Any]) -> ChatRequest | None:
    """The reference validator's reading of ``payload``, or None when it refuses it."""
    try:
        return validate(copy.deepcopy(payload))
    except ApiError:
        return None


def stream_chunks(body: bytes) -> list[dict[str, Any]]:
    """The JSON object ``data`` of every event of an SSE body, in order; ``[DONE]`` and any other
    data are dropped."""
    events, _ = parse_sse(body)
    chunks: list[dict[str, Any]] = []
    for event in events:
        try:
            chunk = json.loads(event.data)
        except (ValueError, RecursionError):
            continue
        if isinstance(chunk, dict):
            chunks.append(chunk)
    return chunks


def _with_headers(wire: Wire, reply: UpstreamReply) -> Wire:
    """``wire`` with the upstream's own headers (request ids, rate limits ...) under its own."""
    wire.headers = {**reply.headers, **wire.headers}
    return wire


def _verbatim(reply: UpstreamReply) -> Wire:
    headers = dict(reply.headers)
    if reply.content_type:
        headers["content-type"] = reply.content_type
    return Wire(status=reply.status, headers=headers, pieces=[reply.body])


async def _read_body(request: Request) -> bytes:
    """The request body, refusing (413) to buffer more than 8 MiB."""
    message = f"Request body too large: the proxy's limit is {MAX_BODY_BYTES} bytes."
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, message, code="request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, message, code="request_too_large")
    return bytes(body)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"Unknown route: {request.method} {request.url.path}", 405: f"Method {request.method} is not allowed here."}
    error = ApiError(exc.status_code, message.get(exc.status_code, str(exc.detail)))
    return respond(error_wire(ErrorReply(exc.status_code, error.envelope())))


def create_proxy_app(upstream: str, defects: Sequence[str], *, timeout: float = 120.0, model: str | None = None) -> Starlette:
    """The proxy as an ASGI app in front of ``upstream`` (a base URL ending in ``/v1``), applying
    ``defects`` to every request; each upstream exchange must finish within ``timeout`` seconds;
    ``model`` is the upstream model the reference model stands for (None: each request's own).
    ValueError when a defect is unknown or cannot apply in proxy mode, or ``upstream`` is not an
    http(s) URL."""
    handler = ProxyApp(upstream, defects, timeout=timeout, model=model)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await handler.upstream.aclose()

    routes = []
    for prefix in ("", "/defects/{names}"):
        routes += [
            Route(prefix + "/v1/chat/completions", handler.chat, methods=["POST"]),
            Route(prefix + "/v1/models", handler.models, methods=["GET"]),
        ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=lifespan)
