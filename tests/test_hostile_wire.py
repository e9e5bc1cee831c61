"""RawClient against hostile servers: every exchange ends the one way its server and limits leave
(the server, a cap, or a single possible deadline, so the result is the same on a loaded machine),
with the right TransportError kind, bounded memory, and what arrived so far still recorded."""

from __future__ import annotations

import socket
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from conformance.wire.client import Exchange, Limits, RawClient
from tests.hostile.servers import KINDS, start_hostile

CAP = 1024 * 1024
# Deadlines far beyond any answer, however loaded the machine: only the server or a cap ends an exchange.
LIMITS = Limits(
    connect_timeout=30.0, read_timeout=30.0, total_timeout=60.0, max_body_bytes=CAP, max_stream_events=500, done_grace=0.5
)
# Servers that only a deadline stops: the total one while bytes keep coming (a read timeout as long
# as the total can never fire first), the read one when no byte ever comes.
TOTAL_ONLY = Limits(read_timeout=2.0, total_timeout=2.0, max_body_bytes=CAP, max_stream_events=500)
READ_ONLY = Limits(read_timeout=1.0, total_timeout=60.0, max_body_bytes=CAP)
KEY = "sk-hostile-SECRET-42424242"


def _not_json(ex: Exchange) -> None:
    with pytest.raises(ValueError) as info:
        ex.json()
    assert "\n" not in str(info.value)


def _html(ex: Exchange) -> None:
    assert ex.content_type == "text/html" and ex.error is None
    _not_json(ex)


def _retried(ex: Exchange) -> None:
    assert ex.attempts == 3  # the first try and the client's two retries, honouring Retry-After


def _capped(ex: Exchange) -> None:
    assert ex.truncated and len(ex.body) == CAP


@dataclass
class Expect:
    kind: str | None  # expected TransportError kind, None for no error
    status: int | None
    check: Callable[[Exchange], None] = lambda ex: None
    limits: Limits = LIMITS
    stream: bool = False


def _stream_capped(ex: Exchange) -> None:
    assert ex.truncated and ex.events is not None and len(ex.events) == LIMITS.max_stream_events
    assert len(ex.body) <= CAP


def _comments_only(ex: Exchange) -> None:
    assert ex.truncated and ex.events == [] and ex.framing is not None
    assert ex.framing.comments[:2] == ["keep-alive", "keep-alive"]


def _reset(ex: Exchange) -> None:
    assert ex.events is not None and len(ex.events) == 2 and not ex.truncated


def _bad_utf8_sse(ex: Exchange) -> None:
    assert ex.events is not None and ex.framing is not None and ex.framing.invalid_utf8
    assert "\ufffd" in ex.events[0].data and ex.events[-1].data == "[DONE]"


def _open_after_done(ex: Exchange) -> None:
    assert ex.open_after_done and not ex.truncated and ex.after_done_bytes == 0
    assert ex.events is not None and ex.events[-1].data == "[DONE]"


def _events_after_done(ex: Exchange) -> None:
    assert ex.events is not None and [e.data for e in ex.events][1] == "[DONE]" and len(ex.events) == 3
    assert ex.after_done_bytes is not None and ex.after_done_bytes > 0 and not ex.open_after_done


def _escapes_redacted(ex: Exchange) -> None:
    # the body holds the key as "\/"-escaped, "\u"-escaped and percent-encoded: three times "***"
    assert ex.body.count(b"***") == 3 and b"\\u" not in ex.body and ex.header("x-echo") == "***"


EXPECT: dict[str, Expect] = {
    "garbage": Expect("protocol", None),
    "html": Expect(None, 200, _html),
    "endless-body": Expect("body-too-large", 200, _capped),
    "endless-stream": Expect("too-many-events", 200, _stream_capped, stream=True),
    "keepalive": Expect("total-timeout", 200, _comments_only, TOTAL_ONLY, stream=True),
    "huge-json": Expect("body-too-large", 200, _capped),
    "drip": Expect("total-timeout", 200, lambda ex: None, TOTAL_ONLY),
    "reset": Expect("reset", 200, _reset, stream=True),
    "invalid-utf8-json": Expect(None, 200, _not_json),
    "invalid-utf8-sse": Expect(None, 200, _bad_utf8_sse, stream=True),
    "deep-json": Expect(None, 200, _not_json),
    "redirect": Expect("redirect", 302, lambda ex: None),
    "short-body": Expect("protocol", 200, lambda ex: None),
    "silent": Expect("read-timeout", None, limits=READ_ONLY),
    "close-after-headers": Expect("protocol", 200),
    "close-immediately": Expect("reset", None),
    "done-then-open": Expect(None, 200, _open_after_done, stream=True),
    "events-after-done": Expect(None, 200, _events_after_done, stream=True),
    "gzip-bomb": Expect("body-too-large", 200, _capped),
    "echo-key": Expect(None, 200),
    "echo-key-encoded": Expect(None, 200, _escapes_redacted),
    "rate-limited": Expect(None, 429, _retried),  # the echoed key must not survive: asserted for every kind below
}


def test_every_hostile_kind_has_an_expectation() -> None:
    assert set(EXPECT) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(EXPECT))
def test_hostile_server(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expect = EXPECT[kind]
    contacted: list[tuple[str, int]] = []
    real_connect = socket.create_connection

    def spy(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        contacted.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    with start_hostile(kind) as srv, RawClient(srv.base_url, api_key=KEY, limits=expect.limits) as client:
        tracemalloc.start()
        ex = client.post_json("chat/completions", {"model": "m", "stream": expect.stream})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert (ex.error.kind if ex.error else None) == expect.kind, ex.transcript()
    assert ex.status == expect.status
    if ex.error is not None:
        assert "\n" not in ex.error.message and ex.error.message
    assert len(ex.body) <= CAP
    # The body is held once (no decoded or redacted copy of it), plus a fixed overhead.
    assert peak < CAP + 2 * 1024 * 1024, f"peak traced memory {peak} bytes"
    assert {host for host, _ in contacted} == {"127.0.0.1"}
    assert KEY not in repr(ex) and KEY not in ex.transcript()
    expect.check(ex)


def test_redirect_target_never_contacted(monkeypatch: pytest.MonkeyPatch) -> None:
    contacted: list[tuple[str, int]] = []
    real_connect = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda a, *x, **k: contacted.append(a) or real_connect(a, *x, **k))
    with start_hostile("redirect") as srv, RawClient(srv.base_url, api_key=KEY, limits=LIMITS) as client:
        ex = client.post_json("chat/completions", {})
        assert srv.connections == 1
    assert ex.error is not None and "169.254.1.1" in ex.error.message
    assert contacted == [("127.0.0.1", srv.port)]


def test_stop_ends_endless_connections() -> None:
    """stop() closes a connection whose handler would otherwise wait forever, and joins its thread."""
    srv = start_hostile("silent")
    with socket.create_connection((srv.host, srv.port)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 60  # liveness bounds, not timing assertions
        while srv.connections == 0 and time.monotonic() < deadline:  # accepted: one still queued would be reset
            time.sleep(0.01)
        srv.stop()
        s.settimeout(60.0)
        assert s.recv(10) == b""
    for thread in srv._threads:
        thread.join(60.0)
    assert not any(t.is_alive() for t in srv._threads)
    host, port, stop = start_hostile("html")
    assert host == "127.0.0.1" and isinstance(port, int)
    stop()  # type: ignore[operator]
