"""The reference server bounds what one client can take: a request head must arrive in time
(slowloris), one small request cannot ask for megabytes of output, and a 405 says which methods
are allowed."""

from __future__ import annotations

import json
import socket

import httpx

from conformance.servers.launcher import ReferenceServer

MODEL = "reference-model"


def test_slowloris_connections_are_closed_and_the_server_still_answers() -> None:
    with ReferenceServer(extra_args=["--header-timeout", "0.5"]) as server:
        host, port = server.root_url.removeprefix("http://").split(":")
        sockets = [socket.create_connection((host, int(port))) for _ in range(300)]
        try:
            for i, s in enumerate(sockets):
                if i % 3:  # the rest never send a byte
                    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: app")
            for s in sockets:
                s.settimeout(60)  # a liveness bound: the server closes them after 0.5 s
                assert s.recv(1024) == b""
        finally:
            for s in sockets:
                s.close()
        answer = httpx.post(f"{server.base_url}/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
        assert answer.status_code == 200


def test_a_150_byte_request_cannot_ask_for_megabytes() -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Write a long story."}], "n": 128,
            "max_tokens": 4096, "logprobs": True, "top_logprobs": 20}
    assert len(json.dumps(body, separators=(",", ":"))) <= 150
    with ReferenceServer() as server:
        for stream in (False, True):
            answer = httpx.post(f"{server.base_url}/chat/completions", json={**body, "stream": stream}, timeout=120)
            assert answer.status_code == 200 and len(answer.content) < 5_000_000
        usage = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=120).json()
    assert usage["usage"]["completion_tokens"] <= 2048  # the toy model's context, shared by the 128 choices
    assert {c["finish_reason"] for c in usage["choices"]} == {"length"}


def test_405_names_the_allowed_methods() -> None:
    with ReferenceServer() as server:
        chat = httpx.get(f"{server.base_url}/chat/completions")
        models = httpx.post(f"{server.base_url}/models", json={})
    assert chat.status_code == 405 and chat.headers["allow"] == "POST"
    assert models.status_code == 405 and "GET" in models.headers["allow"].split(", ")
    assert chat.json()["error"]["code"] == "method_not_allowed"
