"""HTTP-level rules: an answer arrives, and JSON answers are labelled and parse."""

from __future__ import annotations

from ..engine import Outcome, fail, passed
from ..evidence import Evidence
from ..suite import SUITE
from .common import short

check = SUITE.check


@check("HTTP-01", on="any")
def answers_within_timeout(ev: Evidence) -> Outcome:
    """Every request gets a complete, well-formed HTTP response within the configured timeouts."""
    for label, ex in [("primary", ev.exchange), *ev.related.items()]:
        if ex.error is not None:
            return fail("a complete HTTP response", f"{label}: {ex.error.kind}: {ex.error.message}")
    return passed()


@check("HTTP-02", on="chat")
def json_answer_is_json(ev: Evidence) -> Outcome:
    """A non-stream answer declares Content-Type application/json and its body is a single JSON value."""
    ex = ev.require_ok()
    if ex.content_type == "text/event-stream":
        return passed("judged by SSE-15")
    if ex.content_type != "application/json":
        return fail("Content-Type: application/json", f"Content-Type: {ex.header('content-type') or '(none)'}")
    try:
        ex.json()
    except ValueError as exc:
        return fail("a body holding one JSON value", f"{exc}; body starts {short(ex.body[:80].decode('utf-8', 'replace'))}")
    return passed()


@check("SSE-15", on="chat")
def non_stream_not_sse(ev: Evidence) -> Outcome:
    """A request without stream:true is answered as plain JSON, never with SSE framing or [DONE]."""
    ex = ev.require_ok()
    if ex.content_type == "text/event-stream" or ex.body.lstrip().startswith(b"data:") or b"[DONE]" in ex.body:
        return fail("application/json body without SSE framing",
                    f"Content-Type {ex.content_type or '(none)'}, body starts {short(ex.body[:60].decode('utf-8', 'replace'))}")
    return passed()
