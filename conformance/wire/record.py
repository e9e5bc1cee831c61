"""What the client keeps of an exchange: the request as sent and the response as read, redacted
(the SSE events too, secrets split across events included) and with error messages on one line."""

from __future__ import annotations

import json

import httpx

from conformance.wire.decode import ResponseRead
from conformance.wire.model import Exchange, RecordedRequest, TransportError
from conformance.wire.redact import Redactor
from conformance.wire.redact_stream import redact_split_secrets
from conformance.wire.render import MESSAGE_CAP, flat
from conformance.wire.sse import FramingFacts, SSEEvent

__all__ = ["record_exchange", "record_request"]


def record_request(
    request: httpx.Request,
    content: bytes | None,
    redactor: Redactor,
    *,
    key_header: str | None,
    key_prefix: str,
    key_env: str | None,
) -> RecordedRequest:
    """``request`` as sent, redacted; ``key_header``/``key_prefix``/``key_env`` as in
    :class:`RecordedRequest`."""
    body = redactor.bytes(content or b"")
    parsed: object | None = None
    if content:
        try:
            parsed = redactor.obj(json.loads(content))
        except (ValueError, RecursionError):
            parsed = None
    headers = redactor.headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw)
    return RecordedRequest(
        method=request.method,
        url=redactor.text(str(request.url)),
        headers=headers,
        body=body,
        json=parsed,
        key_header=key_header,
        key_prefix=key_prefix,
        key_env=key_env,
    )


def record_exchange(recorded: RecordedRequest, read: ResponseRead, elapsed: float, redactor: Redactor) -> Exchange:
    """The exchange ``read`` describes, redacted."""
    r = redactor
    events: list[SSEEvent] | None = None
    framing: FramingFacts | None = None
    if read.parser is not None:
        events = [
            SSEEvent(
                data=r.text(e.data),
                event=_redacted_or_none(r, e.event),
                id=_redacted_or_none(r, e.id),
                at=e.at,
                raw=r.bytes(e.raw),
                end=e.end,
            )
            for e in read.events
        ]
        events = redact_split_secrets(events, r)
        framing = read.parser.facts
        framing.comments = [r.text(c) for c in framing.comments]
        framing.event_fields = [r.text(c) for c in framing.event_fields]
        framing.other_fields = [r.text(c) for c in framing.other_fields]
    # Redact, then cut: a message quoting a header line may hold the key at any position.
    error = None if read.error is None else TransportError(read.error.kind, r.cut(flat(read.error.message), MESSAGE_CAP))
    body = r.bytes(read.body.getvalue())
    if read.truncated or read.error is not None:  # the body ends where it was cut, maybe mid-secret
        body = r.edges_bytes(body)
    after_done = None
    if read.done_event is not None and read.parser is not None:
        after_done = read.parser.facts.bytes_total - read.done_event.end
    return Exchange(
        request=recorded,
        status=read.status,
        headers=r.headers(read.headers),
        body=body,
        events=events,
        framing=framing,
        error=error,
        truncated=read.truncated,
        stopped_reading=read.stopped_reading,
        closed_after_response=read.closed_after_response,
        elapsed=elapsed,
        ttfb=read.ttfb,
        after_done_bytes=after_done,
        open_after_done=read.open_after_done,
        http_version=read.http_version,
        reason=r.text(read.reason),
    )


def _redacted_or_none(r: Redactor, value: str | None) -> str | None:
    return None if value is None else r.text(value)
