"""A server that silently closes a kept-alive connection: the request that meets the dead
connection is resent once on a new one, and the finding (HTTP-04) names the exchange after which
the connection died, instead of blaming the unlucky request (HTTP-01)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from conformance.wire.client import RawClient

_ANSWER = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
}).encode()


def _serve(listener: socket.socket, stop: threading.Event) -> None:
    """Answer the first request of each connection (advertising keep-alive); on the second request
    on the same connection, close it without a response."""
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            for request_number in (1, 2):
                data = b""
                while b"\r\n\r\n" not in data:
                    part = conn.recv(65536)
                    if not part:
                        break
                    data += part
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                if request_number == 2 or not data:
                    break  # closed with no answer: what a server closing kept-alive connections does
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                             b"Content-Length: " + str(len(_ANSWER)).encode() + b"\r\n\r\n" + _ANSWER)


@pytest.fixture
def base_url() -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, stop), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_dead_kept_alive_connection_is_resent_and_attributed(base_url: str) -> None:
    with RawClient(base_url) as client:
        first = client.post_json("/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "first"}]})
        second = client.post_json("/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "second"}]})
    assert first.status == 200 and first.dead_connection is None
    assert second.status == 200 and second.error is None
    assert second.attempts == 2
    assert second.dead_connection is not None and '"first"' in second.dead_connection


def test_the_finding_lands_on_http_04_not_http_01(base_url: str) -> None:
    from conformance.engine import Verdict
    from conformance.session import RunConfig, execute

    report = execute(RunConfig(base_url=base_url, model="m", api_key="sk-test", scenarios=("chat_basic", "stream_basic"),
                               concurrency=1, fuzz_examples=0))
    by_clause = {(r.clause, r.verdict) for r in report.results}
    assert ("HTTP-04", Verdict.WARN) in by_clause
    assert ("HTTP-01", Verdict.FAIL) not in by_clause
