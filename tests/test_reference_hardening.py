"""The reference server under hostile input: generated invalid requests in ten categories are
all answered 4xx with the OpenAI error envelope (never 5xx, never a crash), structural garbage
never gets a 5xx, the server stays healthy afterwards, and it holds concurrent streaming clients.

The strategies here are also what `bench/reference_hardening.py` sends, 10 000 times over.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from conformance.servers.launcher import ReferenceServer
from conformance.servers.reference.validation import KNOWN_PARAMETERS, MAX_BODY_BYTES

MODEL = "reference-model"
JSON = "application/json"


@dataclass(frozen=True)
class RawRequest:
    """One request as bytes on the wire; ``must_reject`` is False when it may legitimately be valid."""

    category: str
    body: bytes
    content_type: str | None = JSON
    must_reject: bool = True

    def __repr__(self) -> str:  # Hypothesis prints failing examples; a 2 MiB body must not flood the log
        return f"RawRequest({self.category!r}, {self.body[:120]!r}{'…' if len(self.body) > 120 else ''}, {self.content_type!r})"


def _valid() -> dict[str, object]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def _encode(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
_json_any = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                         max_leaves=12)

malformed_json = st.sampled_from([
    b"{", b'{"model": ', b"{'model': 'x'}", b'{"model": "x",}', b"[1, 2", b"nul", b'{"a": NaN}', b'{"a": Infinity}',
    b'{"a": 1} {"b": 2}', b'"just a string"', b"42", b"[]", b"null", b'{"a": "\\x"}', b'{"a": "\\ud800"',
]).map(lambda b: RawRequest("malformed-json", b)) | st.integers(1, 60).map(
    lambda cut: RawRequest("malformed-json", _encode(_valid())[:cut]))

# (field, a value of the wrong type) pairs; every field here is type-checked by the server.
_TYPED_FIELDS = ["model", "messages", "temperature", "top_p", "n", "stream", "stop", "max_tokens", "max_completion_tokens",
                 "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "tools",
                 "tool_choice", "response_format", "parallel_tool_calls", "stream_options", "user", "metadata"]
_WRONG: dict[str, st.SearchStrategy[object]] = {
    "model": st.integers() | st.lists(st.text(), max_size=2) | st.just(""),
    "messages": st.text(max_size=5) | st.integers() | st.dictionaries(st.text(max_size=3), st.text(max_size=3)) | st.just([]),
    "stream": st.text(max_size=3) | st.integers(2, 9) | st.lists(st.booleans(), max_size=2),
    "stop": st.integers() | st.dictionaries(st.text(max_size=3), st.text(max_size=3), min_size=1) | st.lists(st.integers(), min_size=1, max_size=3),
    "logit_bias": st.lists(st.integers(), max_size=2) | st.text(max_size=3) | st.just({"not-a-token": 1}),
    "logprobs": st.text(max_size=3) | st.integers(2, 9),
    "tools": st.text(max_size=3) | st.lists(st.integers() | st.text(max_size=3), min_size=1, max_size=2),
    "tool_choice": st.integers() | st.lists(st.text(), max_size=2) | st.just("sometimes"),
    "response_format": st.text(max_size=3) | st.integers() | st.just({"type": "yaml"}),
    "parallel_tool_calls": st.text(max_size=3) | st.integers(2, 9),
    "stream_options": st.text(max_size=3) | st.integers(),
    "user": st.integers() | st.lists(st.text(), max_size=2),
    "metadata": st.text(max_size=3) | st.integers() | st.lists(st.text(), max_size=2),
}
_NUMERIC = st.text(max_size=4) | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=2), st.integers(), max_size=1) | st.booleans()


@st.composite
def wrong_types(draw: st.DrawFn) -> RawRequest:
    body = _valid()
    name = draw(st.sampled_from(_TYPED_FIELDS))
    body[name] = draw(_WRONG.get(name, _NUMERIC))
    return RawRequest("wrong-type", _encode(body))


_HUGE_TEXT = st.sampled_from(["1" + "0" * 400, "-1" + "0" * 400, "1e999", "-1e999", "1" * 5000, "9" * 20])
_BOUNDED = ["temperature", "top_p", "n", "presence_penalty", "frequency_penalty", "top_logprobs", "seed"]
# No maximum: a huge positive integer is legal there (must only never crash the server).
_UNBOUNDED_ABOVE = ["top_k", "repetition_penalty", "max_tokens", "max_completion_tokens"]


@st.composite
def huge_values(draw: st.DrawFn) -> RawRequest:
    number = draw(_HUGE_TEXT)
    where = draw(st.sampled_from(["field", "logit_bias-key", "logit_bias-value", "count-prompt", "string"]))
    body = _valid()
    if where == "field":
        name = draw(st.sampled_from(_BOUNDED + _UNBOUNDED_ABOVE))
        legal = name in _UNBOUNDED_ABOVE and not number.startswith("-") and "e" not in number
        raw = _encode(body)[:-1] + f', "{name}": {number}}}'.encode()
        return RawRequest("huge-value", raw, must_reject=not legal)
    if where == "logit_bias-key":
        digits = number.lstrip("-") if number.lstrip("-").isdigit() and len(number) > 20 else "1" * 400
        return RawRequest("huge-value", _encode({**body, "logit_bias": {digits: 1}}))
    if where == "logit_bias-value":
        raw = _encode(body)[:-1] + f', "logit_bias": {{"100": {number}}}}}'.encode()
        return RawRequest("huge-value", raw)
    if where == "count-prompt":  # valid JSON whose prompt holds a number too long for int()
        content = f"count from {number.lstrip('-').replace('e', '')} to 3"
        return RawRequest("huge-value", _encode({**body, "messages": [{"role": "user", "content": content}]}), must_reject=False)
    size = draw(st.sampled_from([100_000, 1_000_000]))
    return RawRequest("huge-value", _encode({**body, "messages": [{"role": "user", "content": "x " * size}]}))


@st.composite
def deep_nesting(draw: st.DrawFn) -> RawRequest:
    depth = draw(st.sampled_from([200, 1_000, 10_000, 100_000, 500_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    nested = opener * depth + b"1" + closer * depth
    where = draw(st.sampled_from(["top", "metadata", "content", "tool-parameters", "schema"]))
    if where == "top":
        return RawRequest("deep-nesting", nested)
    holder = {"metadata": "@", "content": "@", "tool-parameters": "@", "schema": "@"}[where]
    body = _valid()
    if where == "metadata":
        body["metadata"] = holder
    elif where == "content":
        body["messages"] = [{"role": "user", "content": holder}]
    elif where == "tool-parameters":
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": holder}}]
        body["tool_choice"] = "required"
    else:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "s", "schema": holder}}
    raw = _encode(body).replace(b'"@"', nested)
    return RawRequest("deep-nesting", raw)


@st.composite
def invalid_utf8(draw: st.DrawFn) -> RawRequest:
    raw = _encode(_valid())
    bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\x80"]))
    at = draw(st.integers(0, len(raw)))
    return RawRequest("invalid-utf8", raw[:at] + bad + raw[at:])


@st.composite
def unknown_fields(draw: st.DrawFn) -> RawRequest:
    name = draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in KNOWN_PARAMETERS))
    return RawRequest("unknown-field", _encode({**_valid(), name: draw(_json_any)}))


empty_body = st.sampled_from([b"", b" ", b"\r\n\t ", b"\n"]).map(lambda b: RawRequest("empty-body", b))


@st.composite
def wrong_content_type(draw: st.DrawFn) -> RawRequest:
    content_type = draw(st.sampled_from([None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                         "application/jsonx", "json", "application/xml", "*/*", "text/json"]))
    return RawRequest("wrong-content-type", _encode(_valid()), content_type)


oversized = st.sampled_from([MAX_BODY_BYTES + 1, 3 * 1024 * 1024]).map(
    lambda n: RawRequest("oversized", (b'{"model": "' + b"x" * n + b'"}')))


@st.composite
def structural_garbage(draw: st.DrawFn) -> RawRequest:
    """Arbitrary JSON where nested structure is expected: may be valid, must never be a 5xx."""
    body = _valid()
    where = draw(st.sampled_from(["message", "part", "tool", "tool_choice", "response_format", "schema", "tool_call",
                                  "stream_options", "logit_bias"]))
    junk = draw(_json_any)
    if where == "message":
        body["messages"] = [{"role": "user", "content": "hi", draw(st.text(max_size=12)): junk}]
    elif where == "part":
        body["messages"] = [{"role": "user", "content": [{"type": draw(_json_any), "text": junk, "image_url": junk}]}]
    elif where == "tool":
        body["tools"] = [{"type": "function", "function": junk}]
    elif where == "tool_choice":
        body["tools"] = [{"type": "function", "function": {"name": "f"}}]
        body["tool_choice"] = {"type": draw(st.sampled_from(["function", "allowed_tools", "custom"])), "function": junk,
                               "allowed_tools": {"mode": "auto", "tools": [junk]}}
    elif where == "response_format":
        body["response_format"] = {"type": "json_schema", "json_schema": junk}
    elif where == "schema":
        schema = draw(st.dictionaries(st.sampled_from(["type", "properties", "required", "items", "minItems", "maxItems",
                                                       "minLength", "maxLength", "minimum", "maximum", "multipleOf",
                                                       "exclusiveMinimum", "enum", "anyOf", "allOf", "$ref", "prefixItems"]),
                                      _json_any | st.sampled_from([10**400, -10**400, 1e308, -1e308, 5e-324, 10**9]), max_size=5))
        body["tools"] = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
        body["tool_choice"] = "required"
    elif where == "tool_call":
        body["messages"] = [{"role": "user", "content": "hi", "tool_calls": junk},
                            {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function", "function": junk}]}]
    elif where == "stream_options":
        body["stream"] = True
        body["stream_options"] = junk
    else:
        body["logit_bias"] = junk
    return RawRequest("structural", json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8"), must_reject=False)


STRATEGIES: dict[str, st.SearchStrategy[RawRequest]] = {
    "malformed-json": malformed_json, "wrong-type": wrong_types(), "huge-value": huge_values(),
    "deep-nesting": deep_nesting(), "invalid-utf8": invalid_utf8(), "unknown-field": unknown_fields(),
    "empty-body": empty_body, "wrong-content-type": wrong_content_type(), "oversized": oversized,
    "structural": structural_garbage(),
}
invalid_requests: st.SearchStrategy[RawRequest] = st.one_of(*STRATEGIES.values())
CATEGORIES = tuple(STRATEGIES)


def send(client: httpx.Client, request: RawRequest) -> httpx.Response:
    """POST the raw request to /v1/chat/completions."""
    headers = {} if request.content_type is None else {"content-type": request.content_type}
    return client.post("/v1/chat/completions", content=request.body, headers=headers)


def judge(request: RawRequest, response: httpx.Response) -> str | None:
    """What is wrong with the answer, or None: never 5xx; 4xx carry the envelope; invalid ones are 4xx."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    if request.must_reject and not 400 <= response.status_code < 500:
        return f"HTTP {response.status_code} for an invalid request"
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return f"HTTP {response.status_code} without the error envelope: {response.content[:80]!r}"
        if not (isinstance(error, dict) and isinstance(error.get("message"), str) and "type" in error
                and "param" in error and "code" in error):
            return f"HTTP {response.status_code} with a malformed envelope: {error!r:.80}"
        if response.headers.get("content-type", "").split(";")[0] != JSON:
            return f"error answer with Content-Type {response.headers.get('content-type')!r}"
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer() as srv:
        yield srv


def _client(server: ReferenceServer) -> httpx.Client:
    return httpx.Client(base_url=server.root_url, timeout=10.0, trust_env=False)


def test_generated_invalid_requests_get_4xx_envelopes(server: ReferenceServer) -> None:
    seen: set[str] = set()
    with _client(server) as client:

        @seed(9)
        @settings(max_examples=300, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(invalid_requests)
        def one(request: RawRequest) -> None:
            seen.add(request.category)
            problem = judge(request, send(client, request))
            assert problem is None, f"{request.category}: {problem}"

        one()
        assert client.get("/healthz").json() == {"status": "ok"}
        ok = client.post("/v1/chat/completions", json=_valid())
        assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"]
    assert seen == set(CATEGORIES)


@pytest.mark.parametrize("request_", [
    RawRequest("deep-nesting", b"[" * 300_000 + b"]" * 300_000),
    RawRequest("oversized", b"x" * (MAX_BODY_BYTES + 10)),
    RawRequest("huge-value", _encode({**_valid(), "logit_bias": {"1" * 5000: 1}})),
    RawRequest("huge-value", _encode(_valid())[:-1] + b', "repetition_penalty": ' + b"1" * 400 + b"}"),
    RawRequest("huge-value", _encode(_valid())[:-1] + b', "top_k": 1e999}'),
], ids=lambda r: r.category)
def test_known_killers_are_refused(server: ReferenceServer, request_: RawRequest) -> None:
    with _client(server) as client:
        response = send(client, request_)
        assert judge(request_, response) is None
        assert client.get("/healthz").status_code == 200


def test_chunked_oversized_body_is_refused_with_413(server: ReferenceServer) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"model": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    with _client(server) as client:
        response = client.post("/v1/chat/completions", content=body(), headers={"content-type": JSON})
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


def _stream(root_url: str, slow: bool, results: list[str], lock: threading.Lock) -> None:
    host, port = root_url.removeprefix("http://").split(":")
    body = _encode({"model": MODEL, "messages": [{"role": "user", "content": "write 40 words"}], "stream": True})
    request = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: {JSON}\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    data = b""
    try:
        with socket.create_connection((host, int(port)), timeout=15) as sock:
            if slow:  # a slow reader: a tiny receive window, read a few bytes at a time
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            sock.sendall(request)
            while part := sock.recv(64 if slow else 65536):
                data += part
                if slow:
                    time.sleep(0.005)
        complete = b"data: [DONE]\n\n\r\n0\r\n\r\n"  # the last event, then the chunked terminator
        outcome = "ok" if data.startswith(b"HTTP/1.1 200") and data.endswith(complete) else f"bad: {data[-60:]!r}"
    except OSError as exc:
        outcome = f"error: {exc}"
    with lock:
        results.append(outcome)


def test_concurrent_streams_including_slow_readers(server: ReferenceServer) -> None:
    results: list[str] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_stream, args=(server.root_url, i % 5 == 0, results, lock)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["ok"] * 50
    with _client(server) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
