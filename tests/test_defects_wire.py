"""Every defect changes the wire the way it claims to, and the registry is complete and consistent.

For each defect a request suited to it goes to the clean URL and to ``url_for(name)`` of one
shared server (started with an API key, so the auth defects have something to break); a small
predicate over both captures states the intended difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest

from conformance.clauses import CLAUSES
from conformance.servers.defects import DEFECTS, NOT_EXPRESSIBLE, get
from conformance.servers.launcher import ReferenceServer

KEY = "sk-wire"
MODEL = "reference-model"
COUNT = "Count from 1 to 12"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {
        "type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}},
]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "rank": {"type": "integer", "minimum": 3}},
          "required": ["city", "rank"], "additionalProperties": False}
ROUND_TRIP = [
    {"role": "user", "content": "Use get_weather for Paris."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_Ab3dEf6hIj9kLm2nOp5qRs8t", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_Ab3dEf6hIj9kLm2nOp5qRs8t", "content": "sunny"},
]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@dataclass(frozen=True)
class Kind:
    """A request: body for POST /chat/completions (or None for GET /models), optional headers, repeats."""

    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    repeat: int = 1


def _k(repeat: int = 1, headers: dict[str, str] | None = None, **body: Any) -> Kind:
    return Kind({"model": MODEL, **body}, headers or {}, repeat)


KINDS: dict[str, Kind] = {
    "text": _k(messages=user(COUNT), temperature=0),
    "stream": _k(messages=user(COUNT), temperature=0, stream=True),
    "stream_usage": _k(messages=user(COUNT), stream=True, stream_options={"include_usage": True}),
    "stream_n": _k(messages=user("Hello"), n=2, stream=True, temperature=1, seed=3),
    "stream_n_usage": _k(messages=user(COUNT), n=2, max_tokens=6, stream=True, stream_options={"include_usage": True}),
    "n": _k(messages=user("Say 12 words"), n=3, temperature=1, seed=3),
    "stop": _k(messages=user(COUNT), stop=[" 5"]),
    "preface_count": _k(messages=user("Count from 1 to 12. Output only the numbers."), temperature=0),
    "models": Kind(None),
    "small_cap": _k(messages=user("Hello"), max_tokens=16, temperature=0),
    "count_30_capped": _k(messages=user("Count from 1 to 30, separated by single spaces."), max_tokens=5, temperature=0),
    "strict_tool": _k(messages=user("Hello"), tools=[{**TOOLS[0], "function": {**TOOLS[0]["function"], "strict": True}}],
                      tool_choice="required"),
    "long_stream": _k(messages=user("Count from 1 to 30, separated by single spaces."), temperature=0, stream=True),
    "high_count_stream": _k(messages=user("Count from 101 to 112, separated by single spaces."), temperature=0, stream=True),
    "high_count_stream_n": _k(messages=user("Count from 401 to 412, separated by single spaces."), temperature=0, stream=True, n=2),
    "probe_short_count": _k(messages=user("Count from 1 to 3, separated by single spaces."), temperature=0),
    "very_long_stream": _k(messages=user("Count from 1 to 2000, separated by single spaces."), temperature=0, stream=True,
                           max_tokens=2048),
    "spaced_count": _k(messages=user("Count from 1 to 12, separated by single spaces."), temperature=0),
    "cap": _k(messages=user("Write a long story"), max_tokens=5),
    "stream_cap": _k(messages=user("Write a long story"), max_tokens=5, stream=True),
    "cap_mct": _k(messages=user("Write a long story"), max_completion_tokens=5),
    "long": _k(messages=user("Write a long story")),
    "logprobs": _k(messages=user(COUNT), logprobs=True, top_logprobs=10),
    "top_logprobs_zero": _k(messages=user(COUNT), logprobs=True, top_logprobs=0),
    "empty_logit_bias": _k(messages=user("hi"), logit_bias={}),
    "text_format": _k(messages=user("hi"), response_format={"type": "text"}),
    "stream_logprobs": _k(messages=user(COUNT), logprobs=True, top_logprobs=2, stream=True),
    "json_object": _k(messages=user("Answer in JSON"), response_format={"type": "json_object"}),
    "json_object_capped": _k(messages=user("Answer in JSON"), response_format={"type": "json_object"}, max_tokens=64),
    "json_schema": _k(messages=user('About "Oslo"'), response_format={"type": "json_schema", "json_schema": {"name": "city", "strict": True, "schema": SCHEMA}}),
    "tools_required": _k(messages=user("Hello"), tools=TOOLS, tool_choice="required"),
    "tools_stream": _k(messages=user("Hello"), tools=TOOLS, tool_choice="required", stream=True),
    "tools_parallel": _k(messages=user('Use get_weather for "Paris" and "Tokyo" in parallel'), tools=TOOLS),
    "tools_serial": _k(messages=user('Use get_weather for "Paris" and "Tokyo" in parallel'), tools=TOOLS, parallel_tool_calls=False),
    "tools_parallel_stream": _k(messages=user('Use get_weather for "Paris" and "Tokyo" in parallel'), tools=TOOLS, stream=True),
    "tools_none": _k(messages=user("Use get_weather for Paris"), tools=TOOLS, tool_choice="none"),
    "tools_named_stream": _k(messages=user("Hello"), tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}},
                             stream=True),
    "tools_named": _k(messages=user("Hello"), tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}}),
    "tools_auto_text": _k(messages=user("Hello"), tools=TOOLS),
    "tool_cap": _k(messages=user("Hello"), tools=TOOLS, tool_choice="required", max_tokens=1),
    "round_trip": _k(messages=ROUND_TRIP, tools=TOOLS),
    "content_parts": _k(messages=[{"role": "system", "content": [{"type": "text", "text": "Be very brief please"}]},
                                  {"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]),
    "image_in_system": _k(messages=[{"role": "system", "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
                                    *user("hi")]),
    "empty_content": _k(messages=[*user("q"), {"role": "assistant", "content": ""}, *user("again")]),
    "non_alternating": _k(messages=[*user("a"), *user("b")]),
    "invalid": _k(messages=user("hi"), temperature=5),
    "invalid_stream": _k(messages=user("hi"), temperature=5, stream=True),
    "invalid_role": _k(messages=[{"role": "wizard", "content": "hi"}]),
    "boundary": _k(messages=user("hi"), temperature=2),
    "null_tool_choice": _k(messages=user("hi"), tools=TOOLS, tool_choice=None),
    "prereq": _k(messages=user("hi"), stream_options={"include_usage": True}),
    "tool_choice_no_tools": _k(messages=user("hi"), tool_choice="auto"),
    "unknown_param": _k(messages=user("hi"), temperatur=0.5),
    "unknown_model": Kind({"model": "no-such-model", "messages": user("hi")}),
    "bad_key": _k(headers={"authorization": "Bearer wrong"}, messages=user("hi")),
    "vendor": _k(messages=user("write 80 words"), temperature=0, repetition_penalty=1.3),
    "deterministic_twice": _k(repeat=3, messages=user("Hello"), temperature=0, seed=1),
    "sampled_twice": _k(repeat=3, messages=user("Hello"), temperature=1),
    "nucleus_twice": _k(repeat=3, messages=user("Hello"), temperature=1, top_p=0.001),
    "seeded_twice": _k(repeat=3, messages=user("Hello"), temperature=1, seed=11),
    "overflow": _k(messages=user(" ".join(["the"] * 5000))),  # the reference's context is 4096 tokens
    "overflow_stream": _k(messages=user(" ".join(["the"] * 5000)), stream=True),
    "empty_messages_stream": _k(messages=[], stream=True),
    "audio": _k(messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "input_audio", "input_audio": {
        "data": "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=", "format": "wav"}}]}]),
    "verbosity": _k(messages=user("hi"), verbosity="low"),
    "both_caps": _k(messages=user("Write a long story"), max_tokens=3, max_completion_tokens=7),
    # " bridge" (token 134) is in the greedy answer to this prompt; see reference/capabilities.yaml
    "logit_bias": _k(messages=user("Write 8 words about a quiet morning. Output only the words."), temperature=0,
                     logit_bias={"134": -100}),
}


@dataclass
class Capture:
    """One answer as the client saw it; ``held_open``: no EOF within the read timeout."""

    status: int
    headers: httpx.Headers
    raw: bytes
    held_open: bool
    repeats: list[Capture] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def events(self) -> list[str]:
        """WHATWG-style SSE: events split on blank lines, data lines joined, comments ignored."""
        events = []
        for block in re.split(r"\r\n\r\n|\n\n|\r\r", self.raw.decode("utf-8")):
            data = [line[5:].removeprefix(" ") for line in re.split(r"\r\n|\n|\r", block) if line.startswith("data:")]
            if data:
                events.append("\n".join(data))
        return events

    @property
    def chunks(self) -> list[dict[str, Any]]:
        return [json.loads(event) for event in self.events if event != "[DONE]" and event.startswith("{")]

    @property
    def choice(self) -> dict[str, Any]:
        return self.json["choices"][0]

    @property
    def message(self) -> dict[str, Any]:
        return self.choice["message"]

    @property
    def deltas(self) -> list[dict[str, Any]]:
        return [c["delta"] for chunk in self.chunks for c in chunk.get("choices") or ()]

    @property
    def finishes(self) -> list[Any]:
        return [c.get("finish_reason") for chunk in self.chunks for c in chunk.get("choices") or ()]

    @property
    def text(self) -> str:
        return "".join(d.get("content") or "" for d in self.deltas if isinstance(d.get("content"), str))

    @property
    def tool_deltas(self) -> list[dict[str, Any]]:
        return [t for d in self.deltas for t in d.get("tool_calls") or ()]

    def arguments(self) -> dict[Any, str]:
        joined: dict[Any, str] = {}
        for delta in self.tool_deltas:
            piece = delta["function"].get("arguments", "")
            joined[delta.get("index")] = joined.get(delta.get("index"), "") + (piece if isinstance(piece, str) else json.dumps(piece))
        return joined

    @property
    def error(self) -> dict[str, Any]:
        return self.json["error"]


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY) as running:
        yield running


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(10, read=1.5)) as http:
        yield http


def capture_one(client: httpx.Client, base: str, kind: Kind) -> Capture:
    headers = {"authorization": f"Bearer {KEY}", **kind.headers}
    if kind.body is None:
        request = client.build_request("GET", base + "/models", headers=headers)
    else:
        request = client.build_request("POST", base + "/chat/completions", json=kind.body, headers=headers)
    response = client.send(request, stream=True)
    parts, held = [], False
    try:
        for part in response.iter_bytes():
            parts.append(part)
    except httpx.ReadTimeout:
        held = True
    finally:
        response.close()
    return Capture(response.status_code, response.headers, b"".join(parts), held)


def capture(client: httpx.Client, base: str, kind: Kind) -> Capture:
    first = capture_one(client, base, kind)
    first.repeats = [first] + [capture_one(client, base, kind) for _ in range(kind.repeat - 1)]
    return first


def contents(c: Capture) -> set[str]:
    return {r.message["content"] for r in c.repeats}


def calls(c: Capture) -> list[dict[str, Any]]:
    return c.message.get("tool_calls") or []


def parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def same_events(c: Capture, m: Capture) -> bool:
    return len(m.events) == len(c.events) and m.text == c.text and m.events[-1] == "[DONE]"


Check = Callable[[Capture, Capture], bool]
CASES: dict[str, tuple[str, Check]] = {
    # framing
    "sse-no-done": ("stream", lambda c, m: c.events[-1] == "[DONE]" and "[DONE]" not in m.events),
    "sse-invalid-utf8": ("stream", lambda c, m: b"\xe2\x80" in m.raw and b"\xe2\x80" not in c.raw),
    "sse-data-after-done": ("stream", lambda c, m: m.events[-1] != "[DONE]" and "[DONE]" in m.events),
    "sse-hold-open-after-done": ("stream", lambda c, m: m.held_open and not c.held_open and m.events[-1] == "[DONE]"),
    "sse-comment-as-data": ("stream", lambda c, m: ": OPENROUTER PROCESSING" in m.events),
    # timing: nothing for longer than the read timeout, or the same events paced differently (the kill
    # matrix and tests/test_timing.py judge the pace; crosstalk needs a second stream in flight)
    "stream-buffered": ("long_stream", lambda c, m: m.held_open and not m.raw and not c.held_open),  # silent past the read timeout
    "stream-uneven-gaps": ("long_stream", same_events),
    "stream-crosstalk": ("high_count_stream", same_events),
    # alone, the batch-slot stream has no siblings and the leak nothing to leak (tests/test_timing.py
    # sends them beside others); the slot defects answer through their slot, chunked; the slow-reader
    # ones change nothing for a reader that keeps up (tests/test_slow_reader.py reads slowly)
    "stream-batch-slot-index": ("high_count_stream_n", same_events),
    "stream-tool-call-leak": ("high_count_stream", lambda c, m: m.text == c.text and m.events[-1] == "[DONE]"),
    "isolation-n-refused": ("high_count_stream_n", lambda c, m: c.status == 200 and m.status == 400
                            and m.error["param"] == "n"),
    "disconnect-keeps-generating": ("probe_short_count", lambda c, m: m.json["choices"] == c.json["choices"]
                                    and "content-length" not in m.headers and "content-length" in c.headers),
    "slow-server-cancels": ("probe_short_count", lambda c, m: m.json["choices"] == c.json["choices"]
                            and "content-length" not in m.headers and "content-length" in c.headers),
    "slow-reader-cut": ("very_long_stream", same_events),
    "slow-reader-batched": ("very_long_stream", same_events),
    "stream-only-done": ("stream", lambda c, m: m.events == ["[DONE]"] and len(c.events) > 1),
    "non-stream-as-sse": ("text", lambda c, m: m.content_type.startswith("text/event-stream") and m.events[-1] == "[DONE]"
                          and json.loads(m.events[0])["choices"] == c.json["choices"]),
    "stream-content-type-json": ("stream", lambda c, m: m.content_type == "application/json" and same_events(c, m)),
    "stream-ignored": ("stream", lambda c, m: m.content_type == "application/json" and m.message["content"] == c.text),
    "stream-ndjson": ("stream", lambda c, m: m.content_type == "application/x-ndjson"
                      and [json.loads(line) for line in m.raw.decode().splitlines()][0]["choices"] == c.chunks[0]["choices"]),
    "stream-plain-text": ("stream", lambda c, m: m.content_type.startswith("text/plain") and m.raw.decode() == c.text),
    "stream-error-in-band": ("invalid_stream", lambda c, m: c.status == 400 and m.status == 200 and "error" in json.loads(m.events[0])),
    "stream-error-not-last": ("stream", lambda c, m: any("error" in chunk for chunk in m.chunks[:-1]) and m.text == c.text),
    "stream-finish-reason-error": ("stream", lambda c, m: m.chunks[-1]["choices"][0]["finish_reason"] == "error" and "error" in m.chunks[-1]),
    # envelope
    "chunk-object-wrong": ("stream", lambda c, m: {ch["object"] for ch in m.chunks} == {"chat.completion"}),
    "body-object-wrong": ("text", lambda c, m: m.json["object"] == "chat.completions"),
    "body-missing-object": ("text", lambda c, m: "object" not in m.json and "object" in c.json),
    "created-milliseconds": ("text", lambda c, m: m.json["created"] > 10**12 > c.json["created"]),
    "chunk-created-milliseconds": ("stream", lambda c, m: min(ch["created"] for ch in m.chunks) > 10**12),
    "chunk-created-varies": ("stream", lambda c, m: len({ch["created"] for ch in m.chunks}) > 1 == len({ch["created"] for ch in c.chunks})),
    "chunk-id-varies": ("stream", lambda c, m: len({ch["id"] for ch in m.chunks}) == len(m.chunks) > 1),
    "chunk-missing-created": ("stream", lambda c, m: not any("created" in ch for ch in m.chunks)),
    "azure-filter-first-chunk": ("stream", lambda c, m: m.chunks[0]["id"] == "" and m.chunks[0]["choices"] == [] and "prompt_filter_results" in m.chunks[0]),
    "empty-completion-id": ("text", lambda c, m: m.json["id"] == "" and c.json["id"]),
    "response-model-empty": ("text", lambda c, m: m.json["model"] == "" and c.json["model"] == MODEL),
    "chunk-error-null": ("stream", lambda c, m: all("error" in ch and ch["error"] is None for ch in m.chunks)),
    "body-error-null": ("text", lambda c, m: "error" in m.json and m.json["error"] is None),
    "content-as-parts": ("text", lambda c, m: m.message["content"] == [{"type": "text", "text": c.message["content"]}]),
    "delta-content-as-parts": ("stream", lambda c, m: any(isinstance(d.get("content"), list) for d in m.deltas)),
    "answer-in-reasoning-content": ("text", lambda c, m: m.message["content"] == "" and m.message["reasoning_content"] == c.message["content"]),
    "delta-answer-in-reasoning": ("stream", lambda c, m: m.text == "" and "".join(d.get("reasoning_content", "") for d in m.deltas) == c.text),
    # deltas
    "first-delta-without-role": ("stream", lambda c, m: "role" not in m.deltas[0] and c.deltas[0]["role"] == "assistant"),
    "delta-role-empty": ("stream", lambda c, m: m.deltas[0]["role"] == ""),
    "delta-role-null": ("stream", lambda c, m: m.deltas[0]["role"] == "assistant" and m.deltas[1]["role"] is None),
    "delta-role-repeated": ("stream", lambda c, m: all(d.get("role") == "assistant" for d in m.deltas)),
    "delta-empty-tool-calls": ("stream", lambda c, m: m.deltas[1]["tool_calls"] == [] and "tool_calls" not in c.deltas[1]),
    # finish_reason
    "finish-reason-empty-string": ("stream", lambda c, m: m.finishes[:-1] == [""] * (len(m.finishes) - 1) and m.finishes[-1] == "stop"),
    "finish-reason-key-omitted": ("stream", lambda c, m: "finish_reason" not in m.chunks[1]["choices"][0]),
    "stream-no-finish-reason": ("stream", lambda c, m: set(m.finishes) == {None} and c.finishes[-1] == "stop"),
    "body-finish-reason-null": ("text", lambda c, m: m.choice["finish_reason"] is None),
    "finish-reason-every-chunk": ("stream", lambda c, m: set(m.finishes) == {"stop"} and len(m.finishes) == len(c.finishes)),
    "finish-chunk-duplicated": ("stream", lambda c, m: m.finishes.count("stop") == 2),
    "finish-only-last-choice": ("stream_n", lambda c, m: {ch["choices"][0]["index"] for ch in m.chunks if ch["choices"][0]["finish_reason"]} == {1}),
    "tool-finish-stop-stream": ("tools_stream", lambda c, m: c.finishes[-1] == "tool_calls" and m.finishes[-1] == "stop" and m.tool_deltas),
    "tool-finish-stop": ("tools_required", lambda c, m: m.choice["finish_reason"] == "stop" and calls(m)),
    "finish-reason-eos-token": ("text", lambda c, m: m.choice["finish_reason"] == "eos_token"),
    "finish-reason-gemini-native": ("text", lambda c, m: m.choice["finish_reason"] == "STOP"),
    "length-reported-as-stop": ("cap", lambda c, m: c.choice["finish_reason"] == "length" and m.choice["finish_reason"] == "stop"
                                and m.json["usage"]["completion_tokens"] == 5),
    "finish-with-last-token": ("stream", lambda c, m: m.chunks[-1]["choices"][0]["delta"].get("content") and m.finishes[-1] == "stop"
                               and len(m.chunks) == len(c.chunks) - 1 and m.text == c.text),
    "finish-tool-calls-without-calls": ("tools_auto_text", lambda c, m: m.choice["finish_reason"] == "tool_calls" and not calls(m)),
    "tool-truncated-finish-tool-calls": ("tool_cap", lambda c, m: c.choice["finish_reason"] == "length" and m.choice["finish_reason"] == "tool_calls"),
    # usage
    "stream-usage-ignored": ("stream_usage", lambda c, m: not any("usage" in ch for ch in m.chunks) and c.chunks[-1]["usage"]),
    "stream-usage-under-x-groq": ("stream_usage", lambda c, m: not any("usage" in ch for ch in m.chunks)
                                  and m.chunks[-1]["x_groq"]["usage"] == c.chunks[-1]["usage"]),
    "reject-stream-options": ("stream_usage", lambda c, m: c.status == 200 and m.status == 400),
    "stream-usage-unrequested": ("stream", lambda c, m: m.chunks[-1]["choices"] == [] and m.chunks[-1]["usage"]["total_tokens"] > 0
                                 and not any("usage" in ch for ch in c.chunks)),
    "stream-usage-every-chunk": ("stream_usage", lambda c, m: all(ch["usage"] for ch in m.chunks)),
    "stream-usage-zeros-every-chunk": ("stream", lambda c, m: all(ch["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0} for ch in m.chunks)),
    "usage-on-finish-chunk": ("stream_usage", lambda c, m: m.chunks[-1]["choices"] and m.chunks[-1]["usage"] == c.chunks[-1]["usage"]),
    "usage-zeros": ("text", lambda c, m: m.json["usage"]["total_tokens"] == 0 < c.json["usage"]["total_tokens"]),
    "usage-total-mismatch": ("text", lambda c, m: m.json["usage"]["total_tokens"] != m.json["usage"]["prompt_tokens"] + m.json["usage"]["completion_tokens"]),
    "usage-completion-zero-with-reasoning": ("text", lambda c, m: m.json["usage"]["completion_tokens"] == 0
                                             and m.json["usage"]["completion_tokens_details"]["reasoning_tokens"] == 12),
    "stream-usage-mismatch": ("stream_usage", lambda c, m: m.chunks[-1]["usage"]["completion_tokens"] != c.chunks[-1]["usage"]["completion_tokens"]),
    "body-without-usage": ("text", lambda c, m: "usage" not in m.json),
    # tools
    "tool-delta-without-index": ("tools_stream", lambda c, m: m.tool_deltas and not any("index" in t for t in m.tool_deltas)),
    "tool-delta-first-without-id": ("tools_stream", lambda c, m: m.tool_deltas and not any("id" in t for t in m.tool_deltas)),
    "tool-delta-empty-id-continuation": ("tools_stream", lambda c, m: [t["id"] for t in m.tool_deltas][1:] == [""] * (len(m.tool_deltas) - 1)),
    "tool-delta-id-changes": ("tools_stream", lambda c, m: len({t["id"] for t in m.tool_deltas}) == len(m.tool_deltas) > 2),
    "tool-delta-name-repeated-empty": ("tools_stream", lambda c, m: [t["function"]["name"] for t in m.tool_deltas][1:] == [""] * (len(m.tool_deltas) - 1)),
    "tool-delta-arguments-object": ("tools_stream", lambda c, m: [t["function"]["arguments"] for t in m.tool_deltas] == [json.loads(c.arguments()[0])]),
    "tool-args-duplicated-at-end": ("tools_stream", lambda c, m: parses(c.arguments()[0]) and not parses(m.arguments()[0])),
    "tool-args-truncated": ("tools_stream", lambda c, m: parses(c.arguments()[0]) and not parses(m.arguments()[0])),
    "parallel-tool-call-indices-collide": ("tools_parallel_stream", lambda c, m: set(c.arguments()) == {0, 1} and set(m.arguments()) == {0}),
    "stream-tool-calls-dropped": ("tools_stream", lambda c, m: c.tool_deltas and not m.tool_deltas),
    "tool-arguments-object": ("tools_required", lambda c, m: isinstance(calls(m)[0]["function"]["arguments"], dict)),
    "tool-call-as-text": ("tools_required", lambda c, m: not calls(m) and json.loads(m.message["content"])["name"] == calls(c)[0]["function"]["name"]),
    "constant-tool-call-id": ("tools_parallel", lambda c, m: [x["id"] for x in calls(m)] == ["0", "0"] and len({x["id"] for x in calls(c)}) == 2),
    "reject-string-arguments-history": ("round_trip", lambda c, m: c.status == 200 and m.status == 400),
    "reject-own-tool-call-ids": ("round_trip", lambda c, m: c.status == 200 and m.status == 400 and m.error["code"] == "3280"),
    "500-on-tool-replay": ("round_trip", lambda c, m: c.status == 200 and m.status == 500),
    "reject-foreign-tool-call-ids": ("round_trip", lambda c, m: c.status == 200 and m.status == 400),
    "tool-choice-none-ignored": ("tools_none", lambda c, m: not calls(c) and calls(m)),
    "tool-choice-required-ignored": ("tools_required", lambda c, m: calls(c) and not calls(m)),
    "named-tool-choice-ignored": ("tools_named", lambda c, m: calls(c)[0]["function"]["name"] == "get_time"
                                  and [x["function"]["name"] for x in calls(m)] != ["get_time"]),
    "reject-named-tool-choice": ("tools_named", lambda c, m: c.status == 200 and m.status == 400),
    "reject-tool-choice-required": ("tools_required", lambda c, m: c.status == 200 and m.status == 400),
    "accept-tool-choice-without-tools": ("tool_choice_no_tools", lambda c, m: c.status == 400 and m.status == 200),
    # requests
    "reject-null-assistant-content": ("round_trip", lambda c, m: c.status == 200 and m.status == 400),
    "reject-empty-string-content": ("empty_content", lambda c, m: c.status == 200 and m.status == 400),
    "reject-content-parts": ("content_parts", lambda c, m: c.status == 200 and m.status == 400),
    "content-parts-dropped": ("content_parts", lambda c, m: m.json["usage"]["prompt_tokens"] < c.json["usage"]["prompt_tokens"]),
    "accept-image-in-system": ("image_in_system", lambda c, m: c.status == 400 and m.status == 200),
    "reject-non-alternating-roles": ("non_alternating", lambda c, m: c.status == 200 and m.status == 400),
    "500-on-non-alternating-roles": ("non_alternating", lambda c, m: c.status == 200 and m.status == 500),
    "accept-null-tool-choice": ("null_tool_choice", lambda c, m: c.status == 400 and m.status == 200),
    "accept-params-without-prerequisite": ("prereq", lambda c, m: c.status == 400 and m.status == 200),
    "reject-max-completion-tokens": ("cap_mct", lambda c, m: c.status == 200 and m.status == 400),
    "ignore-max-completion-tokens": ("cap_mct", lambda c, m: c.json["usage"]["completion_tokens"] == 5 and m.json["usage"]["completion_tokens"] == 300),
    "reject-vendor-params": ("vendor", lambda c, m: c.status == 200 and m.status == 400 and m.error["param"] == "repetition_penalty"),
    "require-max-tokens": ("text", lambda c, m: c.status == 200 and m.status == 400),
    "accept-out-of-range-sampling": ("invalid", lambda c, m: c.status == 400 and m.status == 200),
    "500-on-out-of-range": ("invalid", lambda c, m: c.status == 400 and m.status == 500),
    "reject-boundary-values": ("boundary", lambda c, m: c.status == 200 and m.status == 400),
    "unknown-model-accepted": ("unknown_model", lambda c, m: c.status == 404 and m.status == 200),
    "500-when-n-and-stream": ("stream_n", lambda c, m: c.status == 200 and m.status == 500),
    # parameter semantics
    "n-ignored": ("n", lambda c, m: len(c.json["choices"]) == 3 and len(m.json["choices"]) == 1),
    "n-choices-identical": ("n", lambda c, m: len({x["message"]["content"] for x in m.json["choices"]}) == 1 < len({x["message"]["content"] for x in c.json["choices"]})),
    "choice-indices-wrong": ("n", lambda c, m: [x["index"] for x in m.json["choices"]] == [0, 0, 0]),
    "stop-included": ("stop", lambda c, m: c.message["content"] == "1 2 3 4" and m.message["content"] == "1 2 3 4 5"),
    "stop-ignored": ("stop", lambda c, m: m.message["content"] == " ".join(str(i) for i in range(1, 13))),
    "max-tokens-ignored": ("cap", lambda c, m: m.json["usage"]["completion_tokens"] == 300),
    "stream-cap-ignored-rambles": ("stream_cap", lambda c, m: len(c.text.split()) <= 5 and len(m.text.split()) > 6000
                                   and m.events[-1] == "[DONE]"),
    "silent-default-cap": ("long", lambda c, m: c.json["usage"]["completion_tokens"] == 300 and m.json["usage"]["completion_tokens"] == 100
                           and m.choice["finish_reason"] == "length"),
    "response-format-ignored": ("json_object", lambda c, m: parses(c.message["content"]) and not parses(m.message["content"])),
    "json-schema-unenforced": ("json_schema", lambda c, m: jsonschema.Draft202012Validator(SCHEMA).is_valid(json.loads(c.message["content"]))
                               and not jsonschema.Draft202012Validator(SCHEMA).is_valid(json.loads(m.message["content"]))),
    "json-schema-500": ("json_schema", lambda c, m: c.status == 200 and m.status == 500),
    "logprobs-dropped": ("logprobs", lambda c, m: c.choice["logprobs"] and m.choice["logprobs"] is None),
    "logprobs-legacy-shape": ("logprobs", lambda c, m: "".join(m.choice["logprobs"]["tokens"]) == c.message["content"] and "content" not in m.choice["logprobs"]),
    "top-logprobs-capped-at-5": ("logprobs", lambda c, m: {len(e["top_logprobs"]) for e in m.choice["logprobs"]["content"]} == {5}),
    "stream-logprobs-float": ("stream_logprobs", lambda c, m: any(isinstance(x.get("logprobs"), float) for ch in m.chunks for x in ch["choices"])),
    "logprobs-unrequested": ("text", lambda c, m: c.choice["logprobs"] is None and m.choice["logprobs"]["content"]),
    "stream-text-differs": ("stream", lambda c, m: c.text.startswith(m.text) and m.text != c.text),
    "nondeterministic-at-temperature-zero": ("deterministic_twice", lambda c, m: len(contents(c)) == 1 and len(contents(m)) > 1),
    "temperature-ignored": ("sampled_twice", lambda c, m: len(contents(c)) > 1 and len(contents(m)) == 1),
    "top-p-ignored": ("nucleus_twice", lambda c, m: len(contents(c)) == 1 and len(contents(m)) > 1),
    "seed-ignored": ("seeded_twice", lambda c, m: len(contents(c)) == 1 and len(contents(m)) > 1),
    "logit-bias-ignored": ("logit_bias", lambda c, m: " bridge" not in c.message["content"] and " bridge" in m.message["content"]),
    "vendor-params-ignored": ("vendor", lambda c, m: len(set(c.message["content"].split())) == 80 > len(set(m.message["content"].split()))),
    # errors
    "error-flat-vllm": ("invalid", lambda c, m: m.status == 400 and m.json["object"] == "error" and m.json["code"] == 400 and "error" not in m.json),
    "error-fastapi-detail": ("invalid", lambda c, m: m.status == 400 and m.json["detail"][0]["loc"] == ["body", "temperature"]),
    "error-plain-text": ("invalid", lambda c, m: m.content_type.startswith("text/plain") and m.raw.decode() == c.error["message"]),
    "error-string": ("invalid", lambda c, m: m.json == {"error": c.error["message"]}),
    "error-code-integer": ("invalid", lambda c, m: m.error["code"] == 400 and c.error["code"] != 400),
    "error-message-only": ("invalid", lambda c, m: m.json == {"message": c.error["message"]}),
    "error-param-null": ("invalid", lambda c, m: c.error["param"] == "temperature" and m.error["param"] is None),
    "validation-422": ("invalid", lambda c, m: m.status == 422 and m.error == c.error),
    "validation-422-detail": ("invalid", lambda c, m: m.status == 422 and "detail" in m.json),
    "validation-500": ("invalid", lambda c, m: m.status == 500 and m.error["message"] == c.error["message"]),
    "500-empty-body-on-bad-role": ("invalid_role", lambda c, m: c.status == 400 and m.status == 500 and m.raw == b""),
    "validation-error-200": ("invalid", lambda c, m: c.status == 400 and m.status == 200 and m.error == c.error),
    "context-overflow-500": ("overflow", lambda c, m: c.error["code"] == "context_length_exceeded" and m.status == 500),
    "context-overflow-truncated": ("overflow", lambda c, m: c.status == 400 and m.status == 200 and m.choice["finish_reason"]),
    "context-overflow-stream-dies": ("overflow_stream", lambda c, m: c.error["code"] == "context_length_exceeded" and m.status == 200
                                     and m.content_type.startswith("text/event-stream") and m.events == []),
    "stream-validates-temperature-only": ("empty_messages_stream", lambda c, m: c.status == 400 and m.status == 200
                                          and json.loads(m.events[0])["error"] == c.error),
    "auth-not-enforced": ("bad_key", lambda c, m: c.status == 401 and m.status == 200),
    "auth-error-flat": ("bad_key", lambda c, m: m.status == 401 and m.json == {"message": "Invalid API Key"} and c.error["code"] == "invalid_api_key"),
    "json-content-type-text-plain": ("text", lambda c, m: m.content_type.startswith("text/plain") and m.json["choices"] == c.json["choices"]),
    # benign variants
    "sse-data-no-space": ("stream", lambda c, m: b"data: " not in m.raw and m.raw.startswith(b"data:{") and same_events(c, m)),
    "sse-crlf": ("stream", lambda c, m: m.raw.endswith(b"data: [DONE]\r\n\r\n") and same_events(c, m)),
    "sse-keepalive-comments": ("stream", lambda c, m: m.raw.count(b": keep-alive\n\n") == len(c.events) and same_events(c, m)),
    "sse-event-lines": ("stream", lambda c, m: m.raw.count(b"event: message\n") == len(c.events) and same_events(c, m)),
    "sse-multiline-data": ("stream", lambda c, m: m.raw.count(b"data: ") == 2 * len(c.events) - 1 and same_events(c, m)),
    "extra-unknown-keys": ("text", lambda c, m: "x_vendor" in m.json and m.json["choices"][0]["message"] == c.message),
    "system-fingerprint-null": ("text", lambda c, m: m.json["system_fingerprint"] is None),
    "system-fingerprint-absent": ("text", lambda c, m: "system_fingerprint" not in m.json and "system_fingerprint" in c.json),
    "usage-without-details": ("text", lambda c, m: set(m.json["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}),
    "chunk-obfuscation": ("stream", lambda c, m: all(isinstance(ch["obfuscation"], str) for ch in m.chunks) and same_events(c, m)),
    "gzip-json": ("text", lambda c, m: m.headers.get("content-encoding") == "gzip" and m.json["choices"] == c.json["choices"]),
    "json-chunked-transfer": ("text", lambda c, m: m.headers.get("transfer-encoding") == "chunked" and "content-length" not in m.headers
                              and "content-length" in c.headers and m.json["choices"] == c.json["choices"]),
    "first-delta-role-only": ("stream", lambda c, m: m.deltas[0] == {"role": "assistant"} and m.text == c.text),
    "logprobs-key-absent": ("text", lambda c, m: "logprobs" not in m.choice and "logprobs" in c.choice),
    "refusal-absent": ("text", lambda c, m: "refusal" not in m.message and "refusal" in c.message),
    "tool-call-content-empty-string": ("tools_required", lambda c, m: c.message["content"] is None and m.message["content"] == ""),
    "reasoning-content-alongside": ("text", lambda c, m: m.message["reasoning_content"] and m.message["content"] == c.message["content"]),
    "tool-call-ids-short": ("tools_required", lambda c, m: re.fullmatch(r"[A-Za-z0-9]{9}", calls(m)[0]["id"]) is not None),
    "named-tool-finish-stop": ("tools_named", lambda c, m: c.choice["finish_reason"] == "tool_calls" and m.choice["finish_reason"] == "stop" and calls(m)),
    "json-compact": ("text", lambda c, m: b'": ' in c.raw and b'": ' not in m.raw and b", " not in m.raw and m.json["choices"] == c.json["choices"]),
    "json-pretty": ("text", lambda c, m: b'\n  "id": ' in m.raw and m.json["choices"] == c.json["choices"]),
    "connection-close": ("text", lambda c, m: m.headers.get("connection") == "close" and c.headers.get("connection") != "close"),
    "accept-unknown-parameters": ("unknown_param", lambda c, m: c.status == 400 and m.status == 200),
    "count-with-preface": ("preface_count", lambda c, m: m.message["content"] == "Here are the numbers from 1 to 12:\n" + c.message["content"]),
    "json-object-verbose": ("json_object_capped", lambda c, m: parses(c.message["content"]) and m.message["content"].startswith('{"answer": ')
                            and not parses(m.message["content"]) and m.choice["finish_reason"] == "length"),
    "logprobs-byte-tokens": ("logprobs", lambda c, m: m.message["content"].endswith("\u2026")
                             and "".join(e["token"] for e in m.choice["logprobs"]["content"]) != m.message["content"]
                             and bytes(x for e in m.choice["logprobs"]["content"] for x in e["bytes"]).decode() == m.message["content"]),
    "content-parts-newline": ("content_parts", lambda c, m: m.json["usage"]["prompt_tokens"] == c.json["usage"]["prompt_tokens"] + 2),
    "tool-args-off-schema": ("tools_required", lambda c, m: json.loads(calls(m)[0]["function"]["arguments"])
                             == {**json.loads(calls(c)[0]["function"]["arguments"]), "country": "France"}),
    "tool-call-after-result": ("round_trip", lambda c, m: c.message["content"] and [x["function"]["name"] for x in calls(m)] == ["get_time"]),
    "reasoning-spends-small-cap": ("small_cap", lambda c, m: m.message["content"] == "" and m.message["reasoning_content"] == c.message["content"]
                                   and m.json["choices"][0]["finish_reason"] == "length"),
    "models-list-empty": ("models", lambda c, m: c.json["data"] and m.json == {"object": "list", "data": []}),
    "count-one-per-line": ("spaced_count", lambda c, m: m.message["content"] == c.message["content"].replace(" ", "\n")),
    "open-server-given-key": ("bad_key", lambda c, m: c.status == 401 and m.status == 200),
    "stops-before-cap": ("count_30_capped", lambda c, m: c.choice["finish_reason"] == "length" and m.choice["finish_reason"] == "stop"
                         and m.json["usage"]["completion_tokens"] < 5),
    "stops-at-cap": ("count_30_capped", lambda c, m: c.choice["finish_reason"] == "length" and m.choice["finish_reason"] == "stop"
                     and m.json["usage"]["completion_tokens"] == 5),
    "count-cut-short": ("spaced_count", lambda c, m: m.message["content"] == "12" != c.message["content"]),
    "error-param-none-string": ("invalid", lambda c, m: c.error["param"] == "temperature" and m.error["param"] == "None"),
    "error-code-status-string": ("invalid", lambda c, m: m.error["code"] == "400" != c.error["code"]),
    "stream-named-tool-choice-ignored": ("tools_named_stream", lambda c, m: b'"get_time"' in c.raw and b'"get_time"' not in m.raw),
    "usage-counts-one-choice": ("n", lambda c, m: m.json["usage"]["completion_tokens"] == c.json["usage"]["completion_tokens"] // 3),
    "stream-usage-per-choice": ("stream_n_usage", lambda c, m: sum(1 for ch in c.chunks if ch.get("usage")) == 1
                                and sum(1 for ch in m.chunks if ch.get("usage")) == 2),
    "models-without-context-length": ("models", lambda c, m: c.json["data"][0]["context_length"] == 4096
                                      and not any("context_length" in x for x in m.json["data"])),
    "text-only-model": ("audio", lambda c, m: c.status == 200 and m.status == 400 and m.error["code"] == "unsupported_content_type"),
    "reasoning-params-refused": ("verbosity", lambda c, m: c.status == 200 and m.status == 400 and m.error["param"] == "verbosity"),
    "max-completion-tokens-binds": ("both_caps", lambda c, m: c.json["usage"]["completion_tokens"] == 3 and m.json["usage"]["completion_tokens"] == 7),
    "best-effort-determinism": ("deterministic_twice", lambda c, m: len(contents(c)) == 1 and len(contents(m)) == 3),
    "parallel-off-ignored": ("tools_serial", lambda c, m: len(calls(c)) == 1 and len(calls(m)) == 2),
    "top-logprobs-shifted": ("logprobs", lambda c, m: [round(a["logprob"] - 0.5, 9) for e in c.choice["logprobs"]["content"] for a in e["top_logprobs"]]
                             == [round(a["logprob"], 9) for e in m.choice["logprobs"]["content"] for a in e["top_logprobs"]]),
    "cached-tokens-above-prompt": ("text", lambda c, m: c.json["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
                                   and m.json["usage"]["prompt_tokens_details"]["cached_tokens"] > m.json["usage"]["prompt_tokens"]),
    "strict-call-cut-by-cap": ("strict_tool", lambda c, m: c.choice["finish_reason"] == "tool_calls" and m.choice["finish_reason"] == "length"),
    "stream-prompt-tokens-plus-one": ("stream_usage", lambda c, m: m.chunks[-1]["usage"]["prompt_tokens"] == c.chunks[-1]["usage"]["prompt_tokens"] + 1
                                      and m.chunks[-1]["usage"]["completion_tokens"] == c.chunks[-1]["usage"]["completion_tokens"]),
    "stream-model-weights-path": ("stream", lambda c, m: {ch["model"] for ch in c.chunks} == {MODEL}
                                  and {ch["model"] for ch in m.chunks} == {f"/models/{MODEL}"}),
    "model-snapshots-per-route": ("text", lambda c, m: c.json["model"] == MODEL and m.json["model"] == f"{MODEL}-2025-01-31"),
    "top-logprobs-zero-means-default": ("top_logprobs_zero", lambda c, m: {len(e["top_logprobs"]) for e in c.choice["logprobs"]["content"]} == {0}
                                        and {len(e["top_logprobs"]) for e in m.choice["logprobs"]["content"]} == {5}),
    "reject-empty-logit-bias": ("empty_logit_bias", lambda c, m: c.status == 200 and m.status == 400),
    "reject-response-format-text": ("text_format", lambda c, m: c.status == 200 and m.status == 400),
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_changes_the_wire(server: ReferenceServer, client: httpx.Client, name: str) -> None:
    kind_name, check = CASES[name]
    kind = KINDS[kind_name]
    clean = capture(client, server.url_for(), kind)
    mutant = capture(client, server.url_for(name), kind)
    assert clean.status < 500 or kind_name == "invalid_role"
    assert check(clean, mutant), f"{name}: clean {clean.status} {clean.raw[:300]!r}\nmutant {mutant.status} {mutant.raw[:600]!r}"


def test_every_defect_has_a_case() -> None:
    assert set(CASES) == set(DEFECTS)


def test_registry_is_consistent() -> None:
    for name, defect in DEFECTS.items():
        assert get(name) is defect and defect.name == name
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
        assert defect.clause in CLAUSES and all(cid in CLAUSES for cid in defect.collateral)
        assert defect.verdict in ({"PASS", "WARN"} if defect.benign else {"FAIL", "WARN"})
        assert all(re.fullmatch(r"D\d\d", d) for d in defect.deviations) and defect.summary
    covered = {d for defect in DEFECTS.values() for d in defect.deviations} | set(NOT_EXPRESSIBLE)
    assert {f"D{i:02d}" for i in range(1, 63)} <= covered
    assert sum(defect.benign for defect in DEFECTS.values()) >= 17
    assert {"500-when-n-and-stream", "reject-null-assistant-content"} <= set(DEFECTS)


def test_defects_combine_and_apply_server_wide(server: ReferenceServer, client: httpx.Client) -> None:
    both = capture(client, server.url_for("usage-zeros", "body-object-wrong"), KINDS["text"])
    assert both.json["object"] == "chat.completions" and both.json["usage"]["total_tokens"] == 0
    models = capture(client, server.url_for("json-pretty"), Kind(None))
    assert models.raw.startswith(b'{\n  "object": "list"')
    with ReferenceServer(defects=["sse-no-done"]) as wide:
        wire = capture(client, wide.base_url, KINDS["stream"])
        assert wire.status == 200 and "[DONE]" not in wire.events and wire.text == "1 2 3 4 5 6 7 8 9 10 11 12"


def test_unknown_defect_is_404(server: ReferenceServer, client: httpx.Client) -> None:
    wire = capture(client, server.url_for("no-such-defect"), KINDS["text"])
    assert wire.status == 404 and wire.error["code"] == "unknown_defect"
