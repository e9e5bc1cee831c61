"""The reference server, checked directly over HTTP (not through the suite).

One server per module (plus a small one with an API key); every test talks plain httpx and
asserts OpenAI's wire shapes, the toy model's promised behaviour and every validation error.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from conformance.servers.launcher import ReferenceServer
from conformance.servers.reference.tokenizer import TOKEN_IDS

MODEL = "reference-model"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"], "additionalProperties": False}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {
        "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}},
]


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=20) as http:
        yield http


def chat(client: httpx.Client, content: str = "Hello there", **params: Any) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}], **params}
    response = client.post("/chat/completions", json=body)
    assert response.status_code < 500, response.text
    return response


def ok(client: httpx.Client, content: str = "Hello there", **params: Any) -> dict[str, Any]:
    response = chat(client, content, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def sse_events(raw: bytes) -> list[str]:
    """WHATWG-style: events split on blank lines, data lines joined, one optional space stripped."""
    events = []
    for block in raw.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data:
            events.append("\n".join(data))
    return events


def stream(client: httpx.Client, content: str = "Hello there", **params: Any) -> tuple[httpx.Response, list[dict[str, Any]]]:
    response = chat(client, content, stream=True, **params)
    assert response.status_code == 200, response.text
    events = sse_events(response.content)
    assert events[-1] == "[DONE]"
    return response, [json.loads(event) for event in events[:-1]]


def text_of(chunks: list[dict[str, Any]], index: int = 0) -> str:
    return "".join(c["delta"].get("content") or "" for chunk in chunks for c in chunk["choices"] if c["index"] == index)


def assert_error(response: httpx.Response, status: int, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    if param is not None:
        assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code, error
    return error


# --- routes -----------------------------------------------------------------------------------

def test_models_health_and_unknown_routes(server: ReferenceServer, client: httpx.Client) -> None:
    models = client.get("/models").json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["reference-model", "reference-model-mini"]
    assert all(m["object"] == "model" and isinstance(m["created"], int) for m in models["data"])
    assert httpx.get(server.root_url + "/healthz").json() == {"status": "ok"}
    assert_error(client.get("/nope"), 404)
    assert_error(client.get("/chat/completions"), 405)
    assert_error(httpx.get(server.url_for("no-such-defect") + "/models"), 404, code="unknown_defect")


# --- canonical shapes ---------------------------------------------------------------------------

def test_non_stream_canonical_shape(client: httpx.Client) -> None:
    body = ok(client, model="reference-model-mini", temperature=0)
    assert list(body) == ["id", "object", "created", "model", "system_fingerprint", "choices", "usage"]
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert abs(body["created"] - time.time()) < 60 and body["model"] == "reference-model-mini"
    assert body["system_fingerprint"] == "fp_reference"
    [choice] = body["choices"]
    assert choice == {"index": 0, "message": choice["message"], "logprobs": None, "finish_reason": "stop"}
    assert choice["message"] == {"role": "assistant", "content": choice["message"]["content"], "refusal": None}
    assert 12 <= len(choice["message"]["content"].split()) <= 20
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] == 2 + 3 and usage["completion_tokens"] == len(choice["message"]["content"].split())
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0} and usage["completion_tokens_details"] == {"reasoning_tokens": 0}


def test_stream_canonical_shape(client: httpx.Client) -> None:
    response, chunks = stream(client, temperature=0)
    assert response.headers["content-type"].startswith("text/event-stream")
    raw = response.content.decode()
    assert raw.endswith("data: [DONE]\n\n") and "\r" not in raw
    assert all(block.startswith("data: ") and "\n" not in block for block in raw.split("\n\n") if block)
    assert {(c["id"], c["created"], c["model"]) for c in chunks} == {(chunks[0]["id"], chunks[0]["created"], MODEL)}
    assert all(c["object"] == "chat.completion.chunk" and "usage" not in c and len(c["choices"]) == 1 for c in chunks)
    assert chunks[0]["choices"][0] == {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    middle = [c["choices"][0] for c in chunks[1:-1]]
    assert all(set(c["delta"]) == {"content"} and c["finish_reason"] is None for c in middle)
    assert text_of(chunks) == ok(client, temperature=0)["choices"][0]["message"]["content"]


def test_include_usage(client: httpx.Client) -> None:
    _, chunks = stream(client, "Count from 1 to 5", stream_options={"include_usage": True})
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == ok(client, "Count from 1 to 5")["usage"]
    assert chunks[-1]["usage"]["completion_tokens"] == 5


# --- the toy model ------------------------------------------------------------------------------

def test_count_stop_and_caps(client: httpx.Client) -> None:
    count = "Count from 1 to 10, separated by spaces."
    assert ok(client, count)["choices"][0]["message"]["content"] == "1 2 3 4 5 6 7 8 9 10"
    assert ok(client, "count from 3 to 1")["choices"][0]["message"]["content"] == "3 2 1"
    stopped = ok(client, count, stop=[" 5", "zzz"])
    assert stopped["choices"][0]["message"]["content"] == "1 2 3 4" and stopped["choices"][0]["finish_reason"] == "stop"
    assert ok(client, count, stop="7")["choices"][0]["message"]["content"] == "1 2 3 4 5 6 "
    for field in ("max_tokens", "max_completion_tokens"):
        capped = ok(client, "Write a long story about rivers.", **{field: 5})
        assert capped["usage"]["completion_tokens"] == 5 and capped["choices"][0]["finish_reason"] == "length"
    both = ok(client, count, max_tokens=7, max_completion_tokens=3)
    assert both["choices"][0]["message"]["content"] == "1 2 3" and both["choices"][0]["finish_reason"] == "length"
    _, chunks = stream(client, count, max_tokens=4)
    assert text_of(chunks) == "1 2 3 4" and chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_word_counts_and_long_story(client: httpx.Client) -> None:
    assert len(ok(client, "Please write 37 words about tea.")["choices"][0]["message"]["content"].split()) == 37
    assert len(ok(client, "say 5 words")["choices"][0]["message"]["content"].split()) == 5
    assert ok(client, "Write a long story.")["usage"]["completion_tokens"] == 300
    assert ok(client, "an essay please")["usage"]["completion_tokens"] == 300


def test_n_choices(client: httpx.Client) -> None:
    body = ok(client, n=3, temperature=1, seed=5)
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert len({c["message"]["content"] for c in body["choices"]}) == 3
    assert body["usage"]["completion_tokens"] == sum(len(c["message"]["content"].split()) for c in body["choices"])
    _, chunks = stream(client, n=2, temperature=1)
    for index in (0, 1):
        mine = [c["choices"][0] for c in chunks if c["choices"][0]["index"] == index]
        assert mine[0]["delta"]["role"] == "assistant" and sum(c["finish_reason"] is not None for c in mine) == 1
    assert chunks[0]["choices"][0]["index"] == 0 and chunks[1]["choices"][0]["index"] == 1


def test_sampling_determinism(client: httpx.Client) -> None:
    def content(**params: Any) -> str:
        return ok(client, "Tell me something.", **params)["choices"][0]["message"]["content"]

    assert content(temperature=0) == content(temperature=0) == content(temperature=0, seed=1)
    assert content(top_p=0.01) == content(temperature=0) == content(top_k=1)
    assert content(temperature=1.5, seed=42) == content(temperature=1.5, seed=42)
    assert content(temperature=1.5, seed=42) != content(temperature=1.5, seed=43)
    assert len({content(temperature=1) for _ in range(3)}) > 1


def test_logit_bias_bans_a_word(client: httpx.Client) -> None:
    words = ok(client, "Say 30 words.", temperature=0)["choices"][0]["message"]["content"].split()
    banned = words[0]
    biased = ok(client, "Say 30 words.", temperature=0, logit_bias={str(TOKEN_IDS[banned]): -100})
    assert banned not in biased["choices"][0]["message"]["content"].split()


def test_vendor_parameters(client: httpx.Client) -> None:
    plain = ok(client, "write 80 words", temperature=0)["choices"][0]["message"]["content"].split()
    assert len(set(plain)) < len(plain)
    distinct = ok(client, "write 80 words", temperature=0, repetition_penalty=1.3)["choices"][0]["message"]["content"].split()
    assert len(distinct) == 80 == len(set(distinct))
    assert ok(client, top_k=-1, repetition_penalty=1.0)["choices"][0]["finish_reason"] == "stop"
    assert_error(chat(client, top_k=0.5), 400, param="top_k")
    assert_error(chat(client, repetition_penalty=0), 400, param="repetition_penalty")


def test_logprobs(client: httpx.Client) -> None:
    for k in (0, 3, 20):
        body = ok(client, "Count from 1 to 6", logprobs=True, top_logprobs=k)
        choice = body["choices"][0]
        entries = choice["logprobs"]["content"]
        assert choice["logprobs"]["refusal"] is None
        assert "".join(e["token"] for e in entries) == choice["message"]["content"]
        assert len(entries) == body["usage"]["completion_tokens"]
        for entry in entries:
            assert entry["logprob"] <= 0 and entry["bytes"] == list(entry["token"].encode())
            assert len(entry["top_logprobs"]) == k and all(t["logprob"] <= 0 for t in entry["top_logprobs"])
    sampled = ok(client, logprobs=True, top_logprobs=5, temperature=0)["choices"][0]
    assert "".join(e["token"] for e in sampled["logprobs"]["content"]) == sampled["message"]["content"]
    assert ok(client, logprobs=True)["choices"][0]["logprobs"]["content"][0]["top_logprobs"] == []
    _, chunks = stream(client, "Count from 1 to 4", logprobs=True, top_logprobs=2)
    assert chunks[0]["choices"][0]["logprobs"] == {"content": [], "refusal": None}
    tokens = [c["choices"][0]["logprobs"]["content"] for c in chunks[1:-1]]
    assert all(len(t) == 1 and len(t[0]["top_logprobs"]) == 2 for t in tokens)
    assert "".join(t[0]["token"] for t in tokens) == "1 2 3 4" and chunks[-1]["choices"][0]["logprobs"] is None


def test_json_modes(client: httpx.Client) -> None:
    content = ok(client, "Answer in JSON", response_format={"type": "json_object"})["choices"][0]["message"]["content"]
    assert isinstance(json.loads(content), dict)
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3},
            "age": {"type": "integer", "minimum": 18, "maximum": 99},
            "score": {"type": "number", "exclusiveMinimum": 5},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "kind": {"enum": ["a", "b"]},
            "fixed": {"const": 7},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "flag": {"type": "boolean"},
            "address": {"$ref": "#/$defs/address"},
        },
        "required": ["name", "age", "score", "tags", "kind", "fixed", "maybe", "flag", "address"],
        "additionalProperties": False,
        "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}},
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": schema}}
    content = ok(client, "Describe 'Ada'", response_format=response_format)["choices"][0]["message"]["content"]
    instance = json.loads(content)
    jsonschema.validate(instance, schema)
    assert instance["name"] == "Ada"


# --- tools --------------------------------------------------------------------------------------

def calls_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["choices"][0]["message"].get("tool_calls") or []


def test_tool_choice_modes(client: httpx.Client) -> None:
    auto = ok(client, "What is the weather in Paris? Use get_weather.", tools=TOOLS)
    [call] = calls_of(auto)
    assert auto["choices"][0]["finish_reason"] == "tool_calls"
    assert auto["choices"][0]["message"]["content"] is None and auto["choices"][0]["message"]["refusal"] is None
    assert call["id"].startswith("call_") and len(call["id"]) == 29 and call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert calls_of(ok(client, "Hello!", tools=TOOLS)) == []
    required = ok(client, "Hello!", tools=TOOLS, tool_choice="required")
    assert calls_of(required) and required["choices"][0]["finish_reason"] == "tool_calls"
    none = ok(client, "Use get_weather now.", tools=TOOLS, tool_choice="none")
    assert calls_of(none) == [] and none["choices"][0]["finish_reason"] == "stop"
    named = ok(client, "Hello!", tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert [c["function"]["name"] for c in calls_of(named)] == ["get_time"]
    allowed = {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_time"}}]}}
    assert [c["function"]["name"] for c in calls_of(ok(client, "Hi", tools=TOOLS, tool_choice=allowed))] == ["get_time"]


def test_parallel_tool_calls(client: httpx.Client) -> None:
    prompt = 'Use get_weather for "Paris" and "Tokyo" in parallel.'
    calls = calls_of(ok(client, prompt, tools=TOOLS))
    assert [json.loads(c["function"]["arguments"])["city"] for c in calls] == ["Paris", "Tokyo"]
    assert len({c["id"] for c in calls}) == 2
    assert len(calls_of(ok(client, prompt, tools=TOOLS, parallel_tool_calls=False))) == 1
    names = [c["function"]["name"] for c in calls_of(ok(client, "Call each tool in parallel", tools=TOOLS, tool_choice="required"))]
    assert names == ["get_weather", "get_time"]
    _, chunks = stream(client, prompt, tools=TOOLS)
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant" and first["content"] is None and first["refusal"] is None
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for delta in chunk["choices"][0]["delta"].get("tool_calls") or ():
            if "id" in delta:
                assert delta["type"] == "function" and delta["function"]["arguments"] == "" and delta["function"]["name"]
            else:
                assert set(delta) == {"index", "function"} and set(delta["function"]) == {"arguments"}
            arguments[delta["index"]] = arguments.get(delta["index"], "") + delta["function"]["arguments"]
    assert [json.loads(arguments[i])["city"] for i in (0, 1)] == ["Paris", "Tokyo"]
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}
    fragments = [c for c in chunks if "id" not in (c["choices"][0]["delta"].get("tool_calls") or [{"id": 0}])[0]]
    assert len(fragments) >= 4


def test_tool_round_trip_and_orphans(client: httpx.Client) -> None:
    first = ok(client, "Use get_weather for Paris.", tools=TOOLS)
    message = first["choices"][0]["message"]
    call = message["tool_calls"][0]
    messages = [{"role": "user", "content": "Use get_weather for Paris."}, message,
                {"role": "tool", "tool_call_id": call["id"], "content": "22 degrees and sunny"}]
    reply = client.post("/chat/completions", json={"model": MODEL, "messages": messages, "tools": TOOLS})
    assert reply.status_code == 200
    assert '"22 degrees and sunny"' in reply.json()["choices"][0]["message"]["content"]
    orphan = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_x", "content": "42"}]
    assert_error(client.post("/chat/completions", json={"model": MODEL, "messages": orphan}), 400, param="messages[1].tool_call_id")


def test_tool_call_cut_by_cap(client: httpx.Client) -> None:
    body = ok(client, "Hi", tools=TOOLS, tool_choice="required", max_tokens=1)
    assert body["choices"][0]["finish_reason"] == "length" and body["usage"]["completion_tokens"] == 1


# --- validation ---------------------------------------------------------------------------------

USER = [{"role": "user", "content": "hi"}]
COUNT_TEN = "Count from 1 to 10"


def user_says(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]

INVALID: list[tuple[dict[str, Any], str | None, str | None]] = [
    ({"messages": USER}, "model", None),
    ({"model": MODEL}, "messages", None),
    ({"model": MODEL, "messages": []}, "messages", None),
    ({"model": MODEL, "messages": "hi"}, "messages", None),
    ({"model": MODEL, "messages": [{"content": "hi"}]}, "messages[0].role", None),
    ({"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role", None),
    ({"model": MODEL, "messages": [{"role": "user"}]}, "messages[0].content", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": 5}]}, "messages[0].content", None),
    ({"model": MODEL, "messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}, *USER]}, "messages[0].content[0].type", None),
    ({"model": MODEL, "messages": [{"role": "assistant"}]}, "messages[0].content", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": None}}]}]},
     "messages[0].content[0].input_audio", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": 5}}]}]},
     "messages[0].content[0].file", None),
    ({"model": MODEL, "messages": [*USER, {"role": "tool", "content": "x"}]}, "messages[1].tool_call_id", None),
    ({"model": MODEL, "messages": USER, "temperature": 2.01}, "temperature", None),
    ({"model": MODEL, "messages": USER, "temperature": -0.01}, "temperature", None),
    ({"model": MODEL, "messages": USER, "temperature": "0.5"}, "temperature", None),
    ({"model": MODEL, "messages": USER, "top_p": 1.01}, "top_p", None),
    ({"model": MODEL, "messages": USER, "n": 0}, "n", None),
    ({"model": MODEL, "messages": USER, "n": 129}, "n", None),
    ({"model": MODEL, "messages": USER, "n": 1.5}, "n", None),
    ({"model": MODEL, "messages": USER, "presence_penalty": 2.01}, "presence_penalty", None),
    ({"model": MODEL, "messages": USER, "frequency_penalty": -2.01}, "frequency_penalty", None),
    ({"model": MODEL, "messages": USER, "max_tokens": 0}, "max_tokens", None),
    ({"model": MODEL, "messages": USER, "max_completion_tokens": 2.5}, "max_completion_tokens", None),
    ({"model": MODEL, "messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop", None),
    ({"model": MODEL, "messages": USER, "stop": 5}, "stop", None),
    ({"model": MODEL, "messages": USER, "logit_bias": {"100": 101}}, "logit_bias", None),
    ({"model": MODEL, "messages": USER, "logit_bias": {"word": 1}}, "logit_bias", None),
    ({"model": MODEL, "messages": USER, "logprobs": True, "top_logprobs": 21}, "top_logprobs", None),
    ({"model": MODEL, "messages": USER, "top_logprobs": 2}, "top_logprobs", None),
    ({"model": MODEL, "messages": USER, "stream_options": {"include_usage": True}}, "stream_options", None),
    ({"model": MODEL, "messages": USER, "stream": "yes"}, "stream", None),
    ({"model": MODEL, "messages": USER, "tool_choice": "auto"}, "tool_choice", None),
    ({"model": MODEL, "messages": USER, "tools": TOOLS, "tool_choice": None}, "tool_choice", None),
    ({"model": MODEL, "messages": USER, "tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice", None),
    ({"model": MODEL, "messages": USER, "tools": TOOLS, "parallel_tool_calls": None}, "parallel_tool_calls", None),
    ({"model": MODEL, "messages": USER, "tools": [], "parallel_tool_calls": True}, "parallel_tool_calls", None),
    ({"model": MODEL, "messages": USER, "tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools[0].function.name", None),
    ({"model": MODEL, "messages": USER, "response_format": {"type": "xml"}}, "response_format.type", None),
    ({"model": MODEL, "messages": USER, "response_format": {"type": "json_schema", "json_schema": {"name": "a b", "schema": {}}}}, "response_format.json_schema.name", None),
    ({"model": MODEL, "messages": USER, "response_format": {"type": "json_schema", "json_schema": {"name": "ok", "schema": []}}}, "response_format.json_schema.schema", None),
    ({"model": MODEL, "messages": USER, "temperatur": 0.5}, "temperatur", "unknown_parameter"),
    ({"model": MODEL, "messages": USER, "user": 5}, "user", None),
    ({"model": MODEL, "messages": [{"role": "user", "content": "word " * 5000}]}, "messages", "context_length_exceeded"),
]


@pytest.mark.parametrize(("body", "param", "code"), INVALID, ids=[f"{i}-{p}" for i, (_, p, _c) in enumerate(INVALID)])
@pytest.mark.parametrize("streamed", [False, True], ids=["json", "stream"])
def test_invalid_requests_are_400(client: httpx.Client, body: dict[str, Any], param: str, code: str | None, streamed: bool) -> None:
    if streamed and "stream" not in body:
        body = {**body, "stream": True}
        if param == "stream_options":
            pytest.skip("valid once stream is true")
    assert_error(client.post("/chat/completions", json=body), 400, param=param, code=code)


VALID: list[dict[str, Any]] = [
    {"temperature": 0}, {"temperature": 2}, {"top_p": 0}, {"top_p": 1}, {"n": 128, "max_tokens": 1},
    {"presence_penalty": -2, "frequency_penalty": 2}, {"max_tokens": 1}, {"stop": "x"}, {"stop": ["a", "b", "c", "d"]},
    {"logit_bias": {"100": -100, "101": 100}}, {"logprobs": True, "top_logprobs": 0}, {"logprobs": True, "top_logprobs": 20},
    {"seed": 2**62}, {"user": "u", "metadata": {"k": "v"}, "store": False, "service_tier": "auto", "safety_identifier": "s",
                      "prompt_cache_key": "p", "reasoning_effort": "low"},
    {"stream": False}, {"tools": [], "tool_choice": "none"}, {"response_format": {"type": "text"}},
    {"top_k": 40, "repetition_penalty": 1.1}, {"temperature": None, "n": None, "stop": None},
    {"tools": [{"type": "custom", "custom": {"name": ""}}]},  # the contract sets no pattern for custom tool names
]


@pytest.mark.parametrize("params", VALID, ids=[",".join(p) for p in VALID])
def test_boundary_values_are_accepted(client: httpx.Client, params: dict[str, Any]) -> None:
    assert chat(client, **params).status_code == 200


def test_valid_conversations_are_accepted(client: httpx.Client) -> None:
    conversations = [
        [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        [{"role": "user", "content": "a"}, {"role": "system", "content": "late system"}, {"role": "user", "content": "b"}],
        [{"role": "developer", "content": [{"type": "text", "text": "be brief"}]}, {"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
        [{"role": "user", "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}],
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}, {"role": "user", "content": "again"}],
    ]
    for messages in conversations:
        response = client.post("/chat/completions", json={"model": MODEL, "messages": messages})
        assert response.status_code == 200, (messages, response.text)
    text = client.post("/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": "Hi you"}]}).json()
    parts = client.post("/chat/completions", json={"model": MODEL, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi you"}]}]}).json()
    assert text["usage"]["prompt_tokens"] == parts["usage"]["prompt_tokens"]


def test_malformed_bodies(client: httpx.Client) -> None:
    url = "/chat/completions"
    json_type = {"content-type": "application/json"}
    assert_error(client.post(url, content=b"{not json", headers=json_type), 400)
    assert_error(client.post(url, content=b"[1, 2]", headers=json_type), 400)
    assert_error(client.post(url, content=b"", headers=json_type), 400)
    assert_error(client.post(url, content=b'{"model": "\xff\xfe"}', headers=json_type), 400)
    assert_error(client.post(url, content=b'{"model": NaN}', headers=json_type), 400)
    assert_error(client.post(url, content=b"[" * 100_000 + b"]" * 100_000, headers=json_type), 400)
    assert_error(client.post(url, content=b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", headers=json_type), 400)
    assert_error(client.post(url, content=json.dumps({"model": MODEL, "messages": USER}).encode(), headers={"content-type": "text/plain"}), 400)
    assert_error(client.post(url, data={"model": MODEL}), 400)
    huge = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024 + 10)}]}).encode()
    assert_error(client.post(url, content=huge, headers=json_type), 413)


def test_unknown_model_and_errors_before_stream(client: httpx.Client) -> None:
    assert_error(chat(client, model="does-not-exist"), 404, param="model", code="model_not_found")
    assert_error(chat(client, model="does-not-exist", stream=True), 404, code="model_not_found")
    assert_error(chat(client, stream=True, temperature=9), 400, param="temperature")


def test_api_key_and_delays() -> None:
    options = {"api_key": "sk-test", "latency_ms": 150, "extra_args": ["--chunk-delay-ms", "20"]}
    with ReferenceServer(**options) as keyed, httpx.Client(base_url=keyed.base_url) as http:
        body = {"model": MODEL, "messages": USER}
        assert_error(http.post("/chat/completions", json=body), 401, code="invalid_api_key")
        assert_error(http.post("/chat/completions", json=body, headers={"authorization": "Bearer nope"}), 401, code="invalid_api_key")
        assert_error(http.get("/models"), 401, code="invalid_api_key")
        auth = {"authorization": "Bearer sk-test"}
        assert http.post("/chat/completions", json=body, headers=auth).status_code == 200
        started = time.monotonic()
        streamed = http.post("/chat/completions", json={**body, "messages": user_says(COUNT_TEN), "stream": True}, headers=auth)
        # A lower bound on the delays asked for: load can only lengthen the wait, never fail it.
        assert len(sse_events(streamed.content)) == 13 and time.monotonic() - started >= 0.15 + 12 * 0.02


def test_two_hundred_concurrent_streams(server: ReferenceServer) -> None:
    async def one(http: httpx.AsyncClient, i: int) -> str:
        body = {"model": MODEL, "messages": [{"role": "user", "content": f"Count from {i} to {i + 20}"}], "stream": True}
        response = await http.post("/chat/completions", json=body)
        events = sse_events(response.content)
        assert response.status_code == 200 and events[-1] == "[DONE]"
        return "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:
            return await asyncio.gather(*(one(http, i) for i in range(200)))

    texts = asyncio.run(run())
    assert texts == [" ".join(str(v) for v in range(i, i + 21)) for i in range(200)]
