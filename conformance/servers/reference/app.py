"""The HTTP layer: routes, auth, body limits, and the request pipeline with its defect hooks.

Routes (each chat/models route also exists under ``/defects/NAME1+NAME2/``, which applies those
defects to that request on top of the server-wide ones; an unknown name is a 404):

* ``POST /v1/chat/completions`` -- the Chat Completions endpoint.
* ``GET /v1/models`` -- ``{"object": "list", "data": [...]}`` of the known model ids, each with
  its ``context_length`` (prompt tokens; a longer prompt is a 400 ``context_length_exceeded``).
* ``GET /healthz`` -- ``{"status": "ok"}``.

Every error is an OpenAI envelope with ``Content-Type: application/json``: 400 for invalid
requests (never 422 or 5xx), 401 ``invalid_api_key``, 404 ``model_not_found``, 413 for a body
over 2 MiB, and 404/405 for unknown routes and methods (a 405 names the allowed ones in ``Allow``).
The toy model's output is bounded per request (see ``model.CONTEXT_OUTPUT_TOKENS``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.servers.defects import pipeline_for

from . import render
from .errors import ApiError
from .model import generate
from .pipeline import Context, ErrorReply, Pipeline, Stage, Wire
from .validation import CONTEXT_TOKENS, MAX_BODY_BYTES, MODELS, parse_body, validate
from .wire import JSON_TYPE, dumps, error_wire, json_wire, sse_wire

_log = logging.getLogger("conformance.reference")
MODELS_CREATED = 1_700_000_000


class ReferenceApp:
    """Request handling with the server-wide options; per-request state lives in ``Context``."""

    def __init__(self, *, defects: Sequence[str] = (), api_key: str | None = None, latency_ms: int = 0, chunk_delay_ms: int = 0) -> None:
        pipeline_for(defects)  # unknown names fail at start-up
        self.defects = tuple(defects)
        self.api_key = api_key
        self.latency_s = latency_ms / 1000
        self.chunk_delay_s = chunk_delay_ms / 1000

    def _pipeline(self, request: Request) -> Pipeline:
        names = request.path_params.get("names")
        extra = tuple(names.split("+")) if names else ()
        try:
            return pipeline_for(self.defects + extra)
        except KeyError as exc:
            raise ApiError(404, f"Unknown defect {exc.args[0]!r}.", code="unknown_defect") from None

    def _authorize(self, request: Request, pipeline: Pipeline, ctx: Context) -> None:
        authorized = self.api_key is None or request.headers.get("authorization") == f"Bearer {self.api_key}"
        if not pipeline.run(Stage.AUTH, authorized, ctx):
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")

    async def chat(self, request: Request) -> Response:
        ctx = Context(route="chat", headers=request.headers)
        pipeline = Pipeline()
        try:
            pipeline = self._pipeline(request)
            self._authorize(request, pipeline, ctx)
            payload = parse_body(await _read_body(request), request.headers.get("content-type"))
            ctx.payload = payload
            payload = pipeline.run(Stage.REQUEST, payload, ctx)
            ctx.payload = payload
            chat = validate(payload)
            ctx.request = chat
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            completion = pipeline.run(Stage.COMPLETION, generate(chat), ctx)
            ctx.usage = render.usage(completion)
            meta = render.Meta.new(chat.model)
            if chat.stream:
                wire = sse_wire(pipeline.run(Stage.CHUNKS, render.chunks(completion, meta, chat), ctx))
            else:
                wire = json_wire(200, pipeline.run(Stage.BODY, render.body(completion, meta), ctx))
        except ApiError as exc:
            wire = self._error(exc, pipeline, ctx)
        except Exception:  # a bug must still answer with the envelope
            _log.exception("internal error")
            wire = self._error(ApiError(500, "The server had an error while processing your request.", type="server_error"), pipeline, ctx)
        return respond(pipeline.run(Stage.WIRE, wire, ctx), self.chunk_delay_s)

    async def models(self, request: Request) -> Response:
        ctx = Context(route="models", headers=request.headers)
        pipeline = Pipeline()
        try:
            pipeline = self._pipeline(request)
            self._authorize(request, pipeline, ctx)
            data = [{"id": model, "object": "model", "created": MODELS_CREATED, "owned_by": "conformance",
                     "context_length": CONTEXT_TOKENS} for model in MODELS]
            wire = json_wire(200, {"object": "list", "data": data})
        except ApiError as exc:
            wire = self._error(exc, pipeline, ctx)
        return respond(pipeline.run(Stage.WIRE, wire, ctx), self.chunk_delay_s)

    @staticmethod
    def _error(exc: ApiError, pipeline: Pipeline, ctx: Context) -> Wire:
        return error_wire(pipeline.run(Stage.ERROR, ErrorReply(exc.status, exc.envelope()), ctx))


def respond(wire: Wire, chunk_delay_s: float = 0.0) -> Response:
    """Send ``wire``: one body with Content-Length, or -- when chunked, SSE, held open or relayed -- its
    pieces in order without Content-Length, ``chunk_delay_s`` apart between SSE pieces, then the
    connection held open ``hold_open_s``; through ``wire.relay`` when one is given."""
    if not (wire.chunked or wire.sse or wire.hold_open_s or wire.relay):
        return Response(b"".join(wire.pieces), status_code=wire.status, headers=wire.headers)
    pieces = _pieces(wire, chunk_delay_s)
    return StreamingResponse(wire.relay(pieces) if wire.relay else pieces, status_code=wire.status, headers=wire.headers)


async def _pieces(wire: Wire, chunk_delay_s: float) -> AsyncIterator[bytes]:
    for position, piece in enumerate(wire.pieces):
        await asyncio.sleep(wire.pauses[position] if wire.pauses else chunk_delay_s if position and wire.sse else 0)
        yield piece
    if wire.hold_open_s:
        await asyncio.sleep(wire.hold_open_s)


async def _read_body(request: Request) -> bytes:
    """The request body, refusing (413) to buffer more than the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"Request body too large: the limit is {MAX_BODY_BYTES} bytes.", code="request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"Request body too large: the limit is {MAX_BODY_BYTES} bytes.", code="request_too_large")
    return bytes(body)


async def _healthz(request: Request) -> Response:
    return Response(dumps({"status": "ok"}), headers={"content-type": JSON_TYPE})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: f"Unknown route: {request.method} {request.url.path}", 405: f"Method {request.method} is not allowed here."}
    code = {404: "unknown_route", 405: "method_not_allowed"}.get(exc.status_code)
    error = ApiError(exc.status_code, messages.get(exc.status_code, str(exc.detail)), code=code)
    headers = {**(exc.headers or {}), "content-type": JSON_TYPE}  # a 405 keeps Starlette's Allow header
    return Response(dumps(error.envelope()), status_code=exc.status_code, headers=headers)


def create_app(*, defects: Sequence[str] = (), api_key: str | None = None, latency_ms: int = 0, chunk_delay_ms: int = 0) -> Starlette:
    """The reference server as an ASGI app; ``defects`` apply to every request."""
    handler = ReferenceApp(defects=defects, api_key=api_key, latency_ms=latency_ms, chunk_delay_ms=chunk_delay_ms)
    routes = [Route("/healthz", _healthz, methods=["GET"])]
    for prefix in ("", "/defects/{names}"):
        routes += [
            Route(prefix + "/v1/chat/completions", handler.chat, methods=["POST"]),
            Route(prefix + "/v1/models", handler.models, methods=["GET"]),
        ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
