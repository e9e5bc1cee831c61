"""Proxy mode: the defects applied in front of a real upstream (here a clean reference server).

The clean proxy must not change a single verdict; through ``url_for(name)`` a proxy-capable
defect must be caught exactly as on the reference server; defects that need the toy model or
its key check are refused; upstream failures and failing hooks are 502 envelopes, never 500s.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from conformance import cli
from conformance.engine import Result, Verdict
from conformance.selftest import judge, profile_for, worst_by_clause
from conformance.servers.defects import DEFECTS
from conformance.servers.launcher import ProxyServer, ReferenceServer
from conformance.servers.proxy import create_proxy_app, proxy_capable
from conformance.session import RunConfig, execute

KEY = "sk-proxy-test-123456"
MODEL = "reference-model"
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}]}


def run_suite(base_url: str, profile: str = "compatible") -> list[Result]:
    config = RunConfig(base_url=base_url, model=MODEL, api_key=KEY, profile=profile, fuzz_examples=0, command=["test"])
    return execute(config).results


@pytest.fixture(scope="module")
def upstream() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: ReferenceServer) -> Iterator[ProxyServer]:
    with ProxyServer(upstream.base_url) as server:
        yield server


@pytest.fixture(scope="module")
def direct(upstream: ReferenceServer) -> list[Result]:
    return run_suite(upstream.base_url)


def test_clean_proxy_changes_no_verdict(proxy: ProxyServer, direct: list[Result]) -> None:
    through = {r.key: r for r in run_suite(proxy.base_url)}
    assert through.keys() == {r.key for r in direct}
    changed = [f"{r.key}: {r.verdict.value} -> {through[r.key].verdict.value} ({through[r.key].observed or through[r.key].note})"
               for r in direct if through[r.key].verdict != r.verdict]
    assert not changed, "\n".join(changed)
    bad = [f"{key} {r.verdict.value}" for key, r in through.items() if r.verdict not in (Verdict.PASS, Verdict.INFO)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", ["created-milliseconds", "sse-no-done", "tool-delta-without-index", "validation-422",
                                  "reject-stream-options", "error-plain-text", "sse-crlf"])
def test_defect_through_proxy_is_caught_as_declared(proxy: ProxyServer, direct: list[Result], name: str) -> None:
    defect = DEFECTS[name]
    assert proxy_capable(name) and profile_for(defect) == "compatible"
    row = judge(defect, worst_by_clause(direct), worst_by_clause(run_suite(proxy.url_for(name))))
    assert row.observed == row.expected, f"{name}: {defect.clause} expected {row.expected}, observed {row.observed}"
    assert not row.unexpected, f"{name}: undeclared clauses changed: {row.unexpected}"


def test_defects_needing_the_toy_model_or_its_auth_are_refused(proxy: ProxyServer, upstream: ReferenceServer) -> None:
    assert not proxy_capable("stop-included") and not proxy_capable("auth-not-enforced")
    assert proxy_capable("sse-no-done")
    with pytest.raises(ValueError, match=r"not available in proxy mode.*stop-included \(COMPLETION\).*auth-not-enforced \(AUTH\)"):
        create_proxy_app(upstream.base_url, ["sse-no-done", "stop-included", "auth-not-enforced"])
    with pytest.raises(RuntimeError, match=r"(?s)defect proxy did not start.*stop-included \(COMPLETION\)"):
        ProxyServer(upstream.base_url, defects=["stop-included"]).start()
    answer = httpx.post(proxy.url_for("stop-included") + "/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "defect_not_proxy_capable"


def test_list_defects_counts_the_proxy_capable(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["proxy", "--list-defects"]) == 0
    lines = capsys.readouterr().out.splitlines()
    capable = sum(proxy_capable(name) for name in DEFECTS)
    assert lines[-1].startswith(f"{capable} of {len(DEFECTS)} defects work in proxy mode")
    assert sum(line.startswith("proxy ") for line in lines) == capable < len(DEFECTS)


def test_authorization_reaches_the_upstream(proxy: ProxyServer) -> None:
    chat = proxy.base_url + "/chat/completions"
    wrong = httpx.post(chat, json=CHAT, headers={"Authorization": "Bearer sk-wrong-key"})
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/json"
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert httpx.post(chat, json=CHAT, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert httpx.get(proxy.base_url + "/models").status_code == 401


def test_unreachable_upstream_is_a_502_envelope() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ProxyServer(f"http://127.0.0.1:{port}/v1") as proxy:
        answer = httpx.post(proxy.base_url + "/chat/completions", json=CHAT)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["type"] == "upstream_error" and error["message"]


class FakeUpstream(ThreadingHTTPServer):
    """An upstream answering every POST with ``answer`` (a JSON object, or SSE text when it is
    a string) and recording the last request's headers and body."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.answer: Any = {}
        self.seen_headers: dict[str, str] = {}
        self.seen_body = b""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _FakeHandler(BaseHTTPRequestHandler):
    server: FakeUpstream

    def do_POST(self) -> None:
        self.server.seen_headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.seen_body = self.rfile.read(int(self.headers.get("content-length", 0)))
        answer = self.server.answer
        sse = isinstance(answer, str)
        body = answer.encode() if sse else json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if sse else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", "req-123")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fake_proxy(fake: FakeUpstream) -> Iterator[ProxyServer]:
    with ProxyServer(fake.base_url) as server:
        yield server


def test_requests_are_forwarded_as_sent_unless_a_hook_changes_them(fake: FakeUpstream, fake_proxy: ProxyServer) -> None:
    fake.answer = {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    raw = b'{"model":"m",  "messages":[{"role":"user","content":"hi"}], "max_tokens": 5}'
    headers = {"Authorization": "Bearer sk-own", "Content-Type": "application/json", "Connection": "keep-alive, X-Hop",
               "X-Hop": "1", "X-Custom": "2"}
    answer = httpx.post(fake_proxy.base_url + "/chat/completions", content=raw, headers=headers)
    assert answer.status_code == 200 and answer.json() == fake.answer
    assert answer.headers["x-request-id"] == "req-123"
    assert fake.seen_body == raw
    assert fake.seen_headers["authorization"] == "Bearer sk-own" and fake.seen_headers["x-custom"] == "2"
    assert "x-hop" not in fake.seen_headers
    httpx.post(fake_proxy.url_for("max-tokens-ignored") + "/chat/completions", content=raw, headers=headers)
    assert "max_tokens" not in json.loads(fake.seen_body)


def test_the_model_under_test_stands_for_the_reference_model(fake: FakeUpstream) -> None:
    fake.answer = {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    request = {"model": "upstream-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    with ProxyServer(fake.base_url, model="upstream-model") as proxy:
        httpx.post(proxy.url_for("max-tokens-ignored") + "/chat/completions", json=request)
        assert json.loads(fake.seen_body) == {"model": "upstream-model", "messages": request["messages"]}
        httpx.post(proxy.url_for("unknown-model-accepted") + "/chat/completions", json={**request, "model": "no-such-model"})
        assert json.loads(fake.seen_body)["model"] == "upstream-model"
        httpx.post(proxy.url_for("max-tokens-ignored") + "/chat/completions", json={**request, "model": "other-model"})
        assert json.loads(fake.seen_body)["max_tokens"] == 5  # not the model under test: unknown, as on the reference


def test_a_hook_failing_on_a_foreign_answer_is_a_502_naming_the_defect(fake: FakeUpstream, fake_proxy: ProxyServer) -> None:
    fake.answer = {"id": "x", "object": "chat.completion"}  # no 'created' for created-milliseconds to scale
    answer = httpx.post(fake_proxy.url_for("created-milliseconds") + "/chat/completions", json=CHAT)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["type"] == "proxy_error" and "created-milliseconds" in error["message"]
    fake.answer = 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'
    streamed = httpx.post(fake_proxy.url_for("chunk-created-milliseconds") + "/chat/completions", json={**CHAT, "stream": True})
    assert streamed.status_code == 502 and "chunk-created-milliseconds" in streamed.json()["error"]["message"]
    clean = httpx.post(fake_proxy.base_url + "/chat/completions", json={**CHAT, "stream": True})
    assert clean.status_code == 200
    assert clean.text == 'data: {"id":"x","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'
