"""RawClient against a local Starlette server: JSON, SSE timing, gzip, 429 retries,
redirects, redaction, curl reproduction, concurrency."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shlex
import shutil
import socket
import subprocess
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conformance.wire.client import Exchange, Limits, RawClient, RecordedRequest, parse_retry_after
from conformance.wire.redact import REDACTED, Redactor
from conformance.wire.retry import retry_wait

KEY = "sk-test-SECRET-0123456789abcdef"
EXTRA_SECRET = "hunter2-org-password"

_counters: dict[str, int] = {}
# X-Test-Id -> monotonic times at which the stream route got the request and sent each event
# (the server runs in this process: the client's clock is the same).
_sent: dict[str, list[float]] = {}


async def json_echo(request: Request) -> Response:
    body = await request.body()
    try:
        received = json.loads(body) if body else None
    except ValueError:
        return JSONResponse({"error": {"message": "invalid JSON"}}, 400)
    return JSONResponse({"received": received, "auth": request.headers.get("authorization")})


async def stream(request: Request) -> Response:
    times = _sent.setdefault(request.headers.get("x-test-id", ""), [])
    times.append(time.monotonic())

    async def gen() -> AsyncIterator[bytes]:
        for word in ("Hel", "lo", "!"):
            times.append(time.monotonic())
            yield f'data: {{"choices":[{{"delta":{{"content":"{word}"}}}}]}}\n\n'.encode()
            await asyncio.sleep(0.1)
        times.append(time.monotonic())
        yield b"data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


async def gzipped(request: Request) -> Response:
    payload = json.dumps({"object": "chat.completion", "content": "z" * 5000}).encode()
    if request.query_params.get("enc") == "deflate":
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, as some servers send
        encoded, encoding = raw.compress(payload) + raw.flush(), "deflate"
    else:
        encoded, encoding = gzip.compress(payload), "gzip"
    return Response(encoded, media_type="application/json", headers={"Content-Encoding": encoding})


async def ratelimited(request: Request) -> Response:
    test_id = request.headers["x-test-id"]
    fail_times = int(request.headers["x-fail-times"])
    _counters[test_id] = _counters.get(test_id, 0) + 1
    if _counters[test_id] <= fail_times:
        headers = {}
        if "x-retry-after" in request.headers:
            headers["Retry-After"] = request.headers["x-retry-after"]
        return JSONResponse({"error": {"message": "slow down", "type": "rate_limit"}}, 429, headers=headers)
    return JSONResponse({"ok": True, "calls": _counters[test_id]})


async def redirect(request: Request) -> Response:
    return Response(status_code=307, headers={"Location": "http://169.254.1.1/v1/chat/completions"})


async def echo_key(request: Request) -> Response:
    auth = request.headers.get("authorization", "")
    body = await request.body()
    echoed = f"Incorrect API key provided: {auth} (org {EXTRA_SECRET})"
    headers = {"X-Echo-Auth": auth, "Set-Cookie": "session=abc123def"}
    if json.loads(body).get("stream"):

        async def gen() -> AsyncIterator[bytes]:
            yield f": echo {auth}\n\n".encode()
            yield ("data: " + json.dumps({"error": {"message": echoed}}) + "\n\n").encode()
            yield b"data: [DONE]\n\n"

        return StreamingResponse(gen(), media_type="text/event-stream", headers=headers)
    return JSONResponse({"error": {"message": echoed}}, 401, headers=headers)


async def html(request: Request) -> Response:
    return Response("<html><body>nope</body></html>", media_type="text/html")


async def models(request: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model"}]})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", json_echo, methods=["POST"]),
        Route("/v1/stream", stream, methods=["POST"]),
        Route("/v1/gzip", gzipped, methods=["POST"]),
        Route("/v1/ratelimited", ratelimited, methods=["POST"]),
        Route("/v1/redirect", redirect, methods=["POST"]),
        Route("/v1/echo-key", echo_key, methods=["POST"]),
        Route("/v1/html", html, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Accepted sockets inherit this; without it every response waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a liveness bound
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def client(base_url: str) -> Iterator[RawClient]:
    with RawClient(base_url, api_key=KEY, secrets=[EXTRA_SECRET], limits=Limits(total_timeout=10)) as c:
        yield c


def assert_no_secret(ex: Exchange) -> None:
    for text in (repr(ex), ex.transcript(), ex.request.curl()):
        assert KEY not in text
        assert EXTRA_SECRET not in text


def test_json_roundtrip_and_recorded_request(client: RawClient) -> None:
    ex = client.post_json("chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hé"}]})
    assert ex.status == 200 and ex.error is None and not ex.truncated
    assert ex.content_type == "application/json"
    assert ex.events is None and ex.framing is None
    assert ex.json() == {
        "received": {"model": "m", "messages": [{"role": "user", "content": "hé"}]},
        "auth": f"Bearer {REDACTED}",
    }
    assert ex.request.body == '{"model":"m","messages":[{"role":"user","content":"hé"}]}'.encode()
    assert ex.request.url.endswith("/v1/chat/completions")
    assert dict((k.lower(), v) for k, v in ex.request.headers)["authorization"] == f"Bearer {REDACTED}"
    assert ex.ttfb is not None and 0 < ex.ttfb <= ex.elapsed
    assert ex.attempts == 1 and ex.header("CONTENT-TYPE") == "application/json"
    assert_no_secret(ex)


def test_path_join_variants_and_get(client: RawClient) -> None:
    assert client.post_json("/chat/completions", {}).status == 200
    ex = client.get("models")
    assert ex.status == 200 and ex.json()["object"] == "list"  # type: ignore[index]
    assert ex.request.method == "GET" and ex.request.body == b""


def test_bytes_body_sent_verbatim_and_auth_off(client: RawClient) -> None:
    ex = client.post_json("chat/completions", b'{"model": "m",}', auth=False)
    assert ex.status == 400
    assert ex.request.body == b'{"model": "m",}' and ex.request.json is None
    assert not any(k.lower() == "authorization" for k, _ in ex.request.headers)
    assert "$OPENAI_API_KEY" not in ex.request.curl()


def test_stream_events_with_arrival_times(client: RawClient) -> None:
    ex = client.post_json("stream", {"stream": True}, headers={"X-Test-Id": "arrivals"})
    assert ex.error is None and ex.content_type == "text/event-stream"
    assert ex.events is not None and ex.framing is not None
    assert [e.data for e in ex.events][-1] == "[DONE]"
    times = [e.at for e in ex.events]
    assert ex.ttfb is not None and ex.ttfb <= times[0] and times == sorted(times) and times[-1] <= ex.elapsed
    # Arrival times, not parse times: no event arrives before the server sent it, and the client's
    # clock started before the server got the request (a bound load cannot break, only widen).
    received, *sent = _sent["arrivals"]
    assert len(sent) == len(times) and all(at >= s - received for at, s in zip(times, sent, strict=True))
    assert ex.after_done_bytes == 0 and not ex.open_after_done
    assert ex.framing.line_endings == {"LF"} and not ex.framing.unterminated_tail
    assert ex.body == b"".join(e.raw for e in ex.events)
    transcript = ex.transcript()
    assert all(f"+{at:.3f}s" in transcript for at in times)
    assert "data: [DONE]" in transcript and "200 OK" in transcript


@pytest.mark.parametrize("enc", ["gzip", "deflate"])
def test_compressed_body_is_decoded(client: RawClient, enc: str) -> None:
    ex = client.post_json(f"gzip?enc={enc}", {})
    assert ex.error is None and ex.header("content-encoding") == enc
    assert ex.json() == {"object": "chat.completion", "content": "z" * 5000}


def test_decoded_size_is_capped(client: RawClient) -> None:
    ex = client.post_json("gzip", {}, limits=Limits(max_body_bytes=1000))
    assert ex.error is not None and ex.error.kind == "body-too-large"
    assert ex.truncated and len(ex.body) == 1000


def test_429_retry_after_then_200(client: RawClient) -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    ex = client.post_json("ratelimited", {}, headers={"X-Test-Id": "a", "X-Fail-Times": "1", "X-Retry-After": "0"})
    assert (ex.status, ex.attempts) == (200, 2)
    ex = client.post_json("ratelimited", {}, headers={"X-Test-Id": "b", "X-Fail-Times": "2", "X-Retry-After": past})
    assert (ex.status, ex.attempts, ex.json()) == (200, 3, {"ok": True, "calls": 3})


def test_429_exhausted_returns_last_429(base_url: str) -> None:
    with RawClient(base_url, api_key=KEY, max_429_retries=1, max_retry_wait=0.2) as c:
        ex = c.post_json("ratelimited", {}, headers={"X-Test-Id": "c", "X-Fail-Times": "9", "X-Retry-After": "100"})
    assert (ex.status, ex.attempts) == (429, 2)
    assert ex.retry_wait == pytest.approx(0.2) and ex.error is None  # Retry-After 100 capped: the wait slept, not measured
    assert ex.json() == {"error": {"message": "slow down", "type": "rate_limit"}}


def test_retry_wait_defaults_and_caps(client: RawClient) -> None:
    bare = Exchange(request=RecordedRequest("POST", "u", [], b"", None), status=429)
    assert retry_wait(bare, client.max_retry_wait) == 1.0
    bare.headers = [("Retry-After", "3600")]
    assert retry_wait(bare, client.max_retry_wait) == client.max_retry_wait
    bare.headers = [("retry-after-ms", "250"), ("Retry-After", "1")]
    assert retry_wait(bare, client.max_retry_wait) == 0.25


def test_parse_retry_after() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_retry_after("5", now=now) == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Mon, 01 Jan 2024 00:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Sun, 31 Dec 2023 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("-3") == 0.0


def test_budget_charged_per_attempt_and_refusal_propagates(base_url: str) -> None:
    class Refused(Exception):
        pass

    class Budget:
        def __init__(self, allowed: int) -> None:
            self.allowed = allowed
            self.charged = 0

        def charge_request(self) -> None:
            if self.charged >= self.allowed:
                raise Refused
            self.charged += 1

    budget = Budget(10)
    with RawClient(base_url, budget=budget) as c:
        c.post_json("ratelimited", {}, headers={"X-Test-Id": "d", "X-Fail-Times": "2", "X-Retry-After": "0"})
    assert budget.charged == 3
    with RawClient(base_url, budget=Budget(0)) as c, pytest.raises(Refused):
        c.post_json("chat/completions", {})


def test_redirect_is_not_followed(client: RawClient, monkeypatch: pytest.MonkeyPatch) -> None:
    contacted: list[object] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        contacted.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    ex = client.post_json("redirect", {})
    assert ex.status == 307
    assert ex.error is not None and ex.error.kind == "redirect" and "169.254.1.1" in ex.error.message
    assert all(addr[0] == "127.0.0.1" for addr in contacted)  # type: ignore[index]


def test_connect_error(client: RawClient) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with RawClient(f"http://127.0.0.1:{port}", api_key=KEY) as c:
        ex = c.post_json("chat/completions", {})
    assert ex.status is None and ex.error is not None and ex.error.kind == "connect"
    assert "\n" not in ex.error.message


def test_echoed_key_redacted_everywhere_json(client: RawClient) -> None:
    ex = client.post_json("echo-key", {"model": "m"})
    assert ex.status == 401
    assert ex.header("x-echo-auth") == f"Bearer {REDACTED}"
    assert ex.header("set-cookie") == REDACTED
    assert f"Incorrect API key provided: Bearer {REDACTED} (org {REDACTED})" in ex.body.decode()
    assert_no_secret(ex)


def test_echoed_key_redacted_everywhere_stream(client: RawClient) -> None:
    ex = client.post_json("echo-key", {"model": "m", "stream": True})
    assert ex.events is not None and ex.framing is not None
    assert ex.framing.comments == [f"echo Bearer {REDACTED}"]
    assert REDACTED in ex.events[0].data and REDACTED.encode() in ex.events[0].raw
    assert_no_secret(ex)


def test_wrong_key_override_is_redacted(client: RawClient) -> None:
    wrong = "sk-wrong-key-000000000000"
    ex = client.post_json("echo-key", {"model": "m"}, api_key=wrong)
    assert wrong not in repr(ex) and wrong not in ex.request.curl()
    assert "$OPENAI_API_KEY" not in ex.request.curl()  # the override is not the configured key


def test_redactor_unit() -> None:
    r = Redactor(["abcd1234", "", "ab"], extra_sensitive_headers=["X-Custom-Token"])
    assert r.text("x abcd1234 y ab") == f"x {REDACTED} y ab"
    assert r.bytes(b"abcd1234abcd1234") == REDACTED.encode() * 2
    assert r.headers([("X-Custom-Token", "t0ken"), ("Authorization", "Basic Zm9v"), ("X", "abcd1234")]) == [
        ("X-Custom-Token", REDACTED),
        ("Authorization", f"Basic {REDACTED}"),
        ("X", REDACTED),
    ]
    assert r.obj({"abcd1234": ["abcd1234", 1, None, ("abcd1234",)]}) == {REDACTED: [REDACTED, 1, None, (REDACTED,)]}
    r.add_secret("abcd12345678")
    assert r.text("abcd12345678") == REDACTED


def test_curl_is_runnable_and_never_contains_the_key(client: RawClient) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": 'it\'s "quoted" $HOME `x`'}], "stream": False}
    ex = client.post_json("chat/completions", body)
    cmd = ex.request.curl()
    assert KEY not in cmd and '"$OPENAI_API_KEY"' in cmd and " -N " not in cmd
    assert shlex.split(cmd)[0] == "curl"
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    out = subprocess.run(
        ["sh", "-c", cmd], capture_output=True, timeout=10, env={**os.environ, "OPENAI_API_KEY": KEY}, check=True
    )
    assert json.loads(out.stdout) == {"received": body, "auth": f"Bearer {KEY}"}


def test_curl_stream_flag_and_binary_body(client: RawClient) -> None:
    assert " -N " in client.post_json("stream", {"stream": True}).request.curl()
    raw = b'{"model":"\xff\x00\'%"}'
    cmd = client.post_json("html", raw).request.curl()
    assert cmd.startswith("printf ") and "--data-binary @-" in cmd
    out = subprocess.run(["sh", "-c", cmd.split(" | ")[0]], capture_output=True, timeout=5, check=True)
    assert out.stdout == raw


def test_json_error_message_is_one_line(client: RawClient) -> None:
    ex = client.post_json("html", {})
    assert ex.status == 200 and ex.content_type == "text/html"
    with pytest.raises(ValueError) as info:
        ex.json()
    assert "\n" not in str(info.value) and "<html>" in str(info.value)


def test_concurrent_requests_share_one_client(client: RawClient) -> None:
    def one(i: int) -> int | None:
        return client.post_json("chat/completions", {"i": i}).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(80)))
    assert statuses == [200] * 80
