"""HTTP-level rules: an answer arrives, and JSON answers are labelled and parse."""

from __future__ import annotations

from ..engine import NotApplicable, Outcome, Skip, fail, passed, warn
from ..evidence import SUITE_LIMITS, Evidence
from ..suite import SUITE
from ..target import capped_stream_events
from .common import short

check = SUITE.check


@check("HTTP-01", on="any")
def answers_within_timeout(ev: Evidence) -> Outcome:
    """Every request gets a complete, well-formed HTTP response within the configured timeouts."""
    for label, ex in [("primary", ev.exchange), *ev.related.items()]:
        if ex.error is None:
            continue
        bound = capped_stream_events(ev.request) if label == "primary" and isinstance(ev.request, dict) else None
        events = len(ex.events or [])
        if ex.error.kind in SUITE_LIMITS and bound is not None and events > bound:
            # The same cause as the cap rule's finding: the answer did not stop at its cap.
            raise Skip(f"{label}: the answer ran past its token cap ({events} events, more than any "
                       f"capped answer needs) until the suite's {ex.error.kind} ended it; judged by PAR-01 / PAR-02")
        return fail("a complete HTTP response", f"{label}: {ex.error.kind}: {ex.error.message}")
    return passed()


# A server may close a kept-alive connection that sat idle (uvicorn after 5 s, nginx after 75 s);
# one reused within this many seconds of its last bytes was closed right after its response.
KEEPALIVE_GRACE_S = 1.0


@check("HTTP-04", on="any")
def kept_alive_connection_usable(ev: Evidence) -> Outcome:
    """A connection the server leaves open after a response (no Connection: close) takes the next request: a server that closes it must say Connection: close, or clients that reuse it fail.  Seen two ways: the suite looked after a response and found the connection closed (the connection scenario), or a request met such a dead connection within a second of its last bytes and was resent on a new one (any scenario; the finding names the exchange after which the connection died; a connection closed after sitting idle longer is the server's keep-alive timeout, which is legal).  A WARN either way."""
    watched = False
    for label, ex in [("primary", ev.exchange), *ev.related.items()]:
        idle = ex.dead_connection_idle
        if ex.dead_connection is not None and idle is not None and idle >= KEEPALIVE_GRACE_S:
            continue  # closed after sitting idle that long: the server's keep-alive timeout, which is legal
        if ex.dead_connection is not None:
            return fail("Connection: close on a response after which the server closes the connection",
                        f"{label}: the kept-alive connection died after {short(ex.dead_connection, 300)}; the request "
                        "was answered when resent on a new connection")
        if ex.closed_after_response is None:
            continue
        watched = True
        said_close = "close" in (ex.header("connection") or "").lower() or ex.http_version == "HTTP/1.0"
        if ex.closed_after_response and not said_close:
            return fail("Connection: close on a response after which the server closes the connection",
                        f"{label}: HTTP {ex.status} without Connection: close, then the server closed the connection",
                        note="clients that reuse kept-alive connections (most SDKs) get errors on their next request")
    if watched:
        return passed("the connection stayed usable (or was announced as closing) after each response")
    raise NotApplicable  # no connection was watched and no request met a dead one


@check("HTTP-05", on="interference")
def concurrent_requests_independent(ev: Evidence) -> Outcome:
    """Requests in flight at the same time do not disturb each other (a server may queue them, never cut or break one).  A scenario whose exchanges broke or whose stream was cut short (no [DONE], no finish_reason) while others ran, but that answered cleanly when replayed alone, shows interference: one finding listing those scenarios, with their concurrent exchanges; their own rules are judged on the replay.  When the only symptom is a timeout, a saturated server could explain it: a WARN."""
    cases = ev.data.get("interference") or []
    if not cases:
        return passed(f"no exchange broke with up to {ev.data.get('concurrency')} requests in flight")
    listed = "; ".join(f"[{scenario}] {observed}" for scenario, observed in cases)
    if all("timeout" in observed for _, observed in cases):
        # Waiting past the suite's timeout is what a saturated server does too: not provable.
        return warn("every request answered within the timeout while others run",
                    f"{len(cases)} scenario(s) timed out only under concurrency: {short(listed, 600)}",
                    note="the server starves some requests while others run (or is saturated at this concurrency); "
                         "replayed alone they answered; lower --concurrency or raise --read-timeout if that is expected")
    return fail("every request answered as if it were alone",
                f"{len(cases)} scenario(s) broke only under concurrency: {short(listed, 600)}",
                note="the target serializes requests or cuts one off when another arrives; replayed one at a time, "
                     "these scenarios answered cleanly and are judged on that replay")


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


@check("SSE-15", on="chat", covers=("request.stream:off",))
def non_stream_not_sse(ev: Evidence) -> Outcome:
    """A request without stream:true is answered as plain JSON, never with SSE framing or [DONE]."""
    ex = ev.require_ok()
    if ex.content_type == "text/event-stream" or ex.body.lstrip().startswith(b"data:") or b"[DONE]" in ex.body:
        return fail("application/json body without SSE framing",
                    f"Content-Type {ex.content_type or '(none)'}, body starts {short(ex.body[:60].decode('utf-8', 'replace'))}")
    return passed()
