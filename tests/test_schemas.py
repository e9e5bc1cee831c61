"""The schemas accept OpenAI's documented shapes and reject the deviations seen in the wild."""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conformance import schema as schema_module
from conformance.schema import SCHEMA_DIR, _reading, load, request_schema, schema_hash, validate

READINGS = [pytest.param(True, id="strict"), pytest.param(False, id="lenient")]
SCHEMA_FILES = sorted(path.stem for path in SCHEMA_DIR.glob("*.json"))

# --- documented examples (docs/contract.md; OpenAI x-oaiMeta shapes) ------------------------------------

USAGE = {
    "prompt_tokens": 19,
    "completion_tokens": 10,
    "total_tokens": 29,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}

RESPONSE = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": USAGE,
    "service_tier": "default",
    "system_fingerprint": "fp_44709d6fcb",
}

TOOL_RESPONSE = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_current_weather", "arguments": '{\n"location": "Boston, MA"\n}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
}

LOGPROBS_RESPONSE = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1702685778,
    "model": "gpt-4o-mini",
    "system_fingerprint": None,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None},
            "logprobs": {
                "content": [
                    {
                        "token": "Hello",
                        "logprob": -0.31725305,
                        "bytes": [72, 101, 108, 108, 111],
                        "top_logprobs": [
                            {"token": "Hello", "logprob": -0.31725305, "bytes": [72, 101, 108, 108, 111]},
                            {"token": "Hi", "logprob": -1.3190403, "bytes": [72, 105]},
                        ],
                    },
                    {"token": "!", "logprob": -0.02380986, "bytes": [33], "top_logprobs": []},
                ],
                "refusal": None,
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}

_ENVELOPE = {
    "id": "chatcmpl-123",
    "object": "chat.completion.chunk",
    "created": 1694268190,
    "model": "gpt-4o-mini",
    "system_fingerprint": "fp_44709d6fcb",
}


def _chunk(choices: list[dict], **extra: Any) -> dict:
    return {**_ENVELOPE, "choices": choices, **extra}


ROLE_CHUNK = _chunk(
    [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}],
    usage=None,
)
CONTENT_CHUNK = _chunk(
    [{"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}], usage=None
)
FINISH_CHUNK = _chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}], usage=None)
USAGE_CHUNK = _chunk([], usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21})
TOOL_FIRST_CHUNK = _chunk(
    [
        {
            "index": 0,
            "delta": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                        "type": "function",
                        "function": {"name": "get_current_weather", "arguments": ""},
                    }
                ],
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": None,
        }
    ]
)
TOOL_CONTINUATION_CHUNK = _chunk(
    [
        {
            "index": 0,
            "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"location": "Bo'}}]},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
)
TOOL_FINISH_CHUNK = _chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}])

ERROR = {
    "error": {
        "message": "Unknown parameter: 'temperatur'.",
        "type": "invalid_request_error",
        "param": "temperatur",
        "code": "unknown_parameter",
    }
}

REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        },
    }
]

TOOL_ROUND_TRIP = [
    {"role": "developer", "content": "You are a weather bot."},
    {"role": "user", "content": [{"type": "text", "text": "Weather in Boston?"}]},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_abc123", "content": "22 C, sunny"},
]

FULL_REQUEST = {
    "model": "gpt-4o-mini",
    "messages": TOOL_ROUND_TRIP,
    "temperature": 0.7,
    "top_p": 1,
    "n": 1,
    "stream": True,
    "stream_options": {"include_usage": True},
    "stop": ["\n\n", "END"],
    "max_completion_tokens": 256,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logit_bias": {"50256": -100},
    "logprobs": True,
    "top_logprobs": 2,
    "seed": 42,
    "user": "user-1234",
    "response_format": {"type": "text"},
    "tools": TOOLS,
    "tool_choice": {"type": "function", "function": {"name": "get_current_weather"}},
    "parallel_tool_calls": False,
}

DOCUMENTED = [
    pytest.param("response", RESPONSE, id="response-canonical"),
    pytest.param("response", TOOL_RESPONSE, id="response-tool-call"),
    pytest.param("response", LOGPROBS_RESPONSE, id="response-logprobs"),
    pytest.param("chunk", ROLE_CHUNK, id="chunk-role"),
    pytest.param("chunk", CONTENT_CHUNK, id="chunk-content"),
    pytest.param("chunk", FINISH_CHUNK, id="chunk-finish"),
    pytest.param("chunk", USAGE_CHUNK, id="chunk-usage-empty-choices"),
    pytest.param("chunk", TOOL_FIRST_CHUNK, id="chunk-tool-first-delta"),
    pytest.param("chunk", TOOL_CONTINUATION_CHUNK, id="chunk-tool-continuation-delta"),
    pytest.param("chunk", TOOL_FINISH_CHUNK, id="chunk-tool-finish"),
    pytest.param("error", ERROR, id="error-full"),
    pytest.param("request", REQUEST, id="request-minimal"),
    pytest.param("request", FULL_REQUEST, id="request-full"),
]


def _edit(base: dict, change: Callable[[dict], object]) -> dict:
    """A deep copy of ``base`` with ``change`` applied in place."""
    instance = copy.deepcopy(base)
    change(instance)
    return instance


def _choice(instance: dict) -> dict:
    return instance["choices"][0]


def _set_choice(base: dict, **fields: Any) -> dict:
    return _edit(base, lambda instance: _choice(instance).update(fields))


def _case(case_id: str, kind: str, path: str, instance: object) -> Any:
    """A rejected instance and the JSON path at which an error must be reported."""
    return pytest.param(kind, instance, path, id=case_id)


# --- shapes rejected in both readings (deviations.md) -----------------------------------------

BAD = [
    _case("created-ms", "response", "$.created", _edit(RESPONSE, lambda r: r.update(created=1741569952000))),
    _case("chunk-created-ms", "chunk", "$.created", _edit(CONTENT_CHUNK, lambda c: c.update(created=1694268190123))),
    _case("finish-empty", "response", "$.choices[0].finish_reason", _set_choice(RESPONSE, finish_reason="")),
    _case("chunk-finish-empty", "chunk", "$.choices[0].finish_reason", _set_choice(FINISH_CHUNK, finish_reason="")),
    _case("finish-eos", "response", "$.choices[0].finish_reason", _set_choice(RESPONSE, finish_reason="eos_token")),
    _case(
        "chunk-finish-eos", "chunk", "$.choices[0].finish_reason", _set_choice(FINISH_CHUNK, finish_reason="eos_token")
    ),
    _case("finish-null", "response", "$.choices[0].finish_reason", _set_choice(RESPONSE, finish_reason=None)),
    _case(
        "chunk-finish-missing", "chunk", "$.choices[0]", _edit(FINISH_CHUNK, lambda c: _choice(c).pop("finish_reason"))
    ),
    _case(
        "tool-delta-no-index",
        "chunk",
        "$.choices[0].delta.tool_calls[0]",
        _edit(TOOL_CONTINUATION_CHUNK, lambda c: _choice(c)["delta"]["tool_calls"][0].pop("index")),
    ),
    _case(
        "tool-delta-index-null",
        "chunk",
        "$.choices[0].delta.tool_calls[0].index",
        _edit(TOOL_FIRST_CHUNK, lambda c: _choice(c)["delta"]["tool_calls"][0].update(index=None)),
    ),
    _case(
        "tool-arguments-object",
        "response",
        "$.choices[0].message.tool_calls[0].function.arguments",
        _edit(
            TOOL_RESPONSE,
            lambda r: _choice(r)["message"]["tool_calls"][0]["function"].update(arguments={"location": "Boston"}),
        ),
    ),
    _case(
        "error-flat-vllm",
        "error",
        "$",
        {"object": "error", "message": "bad", "type": "BadRequestError", "param": None, "code": 400},
    ),
    _case(
        "error-fastapi-detail",
        "error",
        "$",
        {"detail": [{"loc": ["body", "temperature"], "msg": "Input should be <= 2", "type": "less_than_equal"}]},
    ),
    _case("error-string", "error", "$.error", {"error": "model not found"}),
    _case("error-integer-code", "error", "$.error.code", {"error": {"message": "boom", "code": 500}}),
    _case("error-empty-message", "error", "$.error.message", {"error": {"message": ""}}),
    _case("object-plural", "chunk", "$.object", {**CONTENT_CHUNK, "object": "chat.completions.chunk"}),
    _case("object-chunk", "response", "$.object", {**RESPONSE, "object": "chat.completion.chunk"}),
    _case(
        "delta-content-array",
        "chunk",
        "$.choices[0].delta.content",
        _edit(CONTENT_CHUNK, lambda c: _choice(c)["delta"].update(content=[{"type": "text", "text": "Hello"}])),
    ),
    _case(
        "message-content-array",
        "response",
        "$.choices[0].message.content",
        _edit(RESPONSE, lambda r: _choice(r)["message"].update(content=[{"type": "text", "text": "Hi"}])),
    ),
    _case(
        "delta-role-empty",
        "chunk",
        "$.choices[0].delta.role",
        _edit(ROLE_CHUNK, lambda c: _choice(c)["delta"].update(role="")),
    ),
    _case("id-empty", "response", "$.id", {**RESPONSE, "id": ""}),
    _case("created-missing", "response", "$", _edit(RESPONSE, lambda r: r.pop("created"))),
    _case("usage-incomplete", "chunk", "$.usage", _edit(USAGE_CHUNK, lambda c: c["usage"].pop("total_tokens"))),
]

# --- required by the full OpenAI schema only (docs/contract.md: lenient and strict readings) ----------------------

STRICT_ONLY_BAD = [
    pytest.param("request", {**REQUEST, "temperatur": 0.5}, id="request-unknown-key"),
    pytest.param(
        "request",
        _edit(REQUEST, lambda r: r["messages"][0].update(reasoning_content="...")),
        id="request-message-unknown-key",
    ),
    pytest.param("response", _edit(RESPONSE, lambda r: _choice(r)["message"].pop("refusal")), id="message-no-refusal"),
    pytest.param("response", _edit(RESPONSE, lambda r: _choice(r).pop("logprobs")), id="choice-no-logprobs"),
    pytest.param(
        "response",
        _edit(LOGPROBS_RESPONSE, lambda r: _choice(r)["logprobs"].pop("refusal")),
        id="logprobs-no-refusal",
    ),
    pytest.param("error", {"error": {"message": "Invalid API key"}}, id="error-message-only"),
    pytest.param("response", {**RESPONSE, "service_tier": "on_demand"}, id="service-tier-unknown"),
    pytest.param("chunk", _edit(CONTENT_CHUNK, lambda c: _choice(c)["delta"].update(role=None)), id="delta-role-null"),
]

# --- real-world variations accepted in both readings -------------------------------------------

ACCEPTED = [
    pytest.param("response", _edit(RESPONSE, lambda r: r.update(system_fingerprint=None)), id="fingerprint-null"),
    pytest.param("response", _edit(RESPONSE, lambda r: r.pop("system_fingerprint")), id="fingerprint-absent"),
    pytest.param(
        "response",
        {**RESPONSE, "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}},
        id="usage-no-details",
    ),
    pytest.param(
        "response",
        {**RESPONSE, "usage": {**USAGE, "prompt_tokens_details": None, "completion_tokens_details": None}},
        id="usage-details-null",
    ),
    pytest.param("response", _edit(RESPONSE, lambda r: r.pop("usage")), id="usage-absent"),
    pytest.param(
        "response",
        _edit(RESPONSE, lambda r: (r.update(x_groq={"id": "req_1"}), _choice(r).update(stop_reason=None))),
        id="extra-keys",
    ),
    pytest.param(
        "response",
        _edit(RESPONSE, lambda r: _choice(r)["message"].update(reasoning_content="thinking")),
        id="message-extra-key",
    ),
    pytest.param("chunk", {**CONTENT_CHUNK, "obfuscation": "XyZ12"}, id="chunk-obfuscation"),
    pytest.param("chunk", {**CONTENT_CHUNK, "timings": {"predicted_ms": 1.5}}, id="chunk-extra-key"),
    pytest.param("chunk", _edit(CONTENT_CHUNK, lambda c: c.pop("usage")), id="chunk-usage-absent"),
    pytest.param("error", {"error": {**ERROR["error"], "param": None, "code": None}}, id="error-null-param-code"),
]


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_file_is_valid_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(load(name))


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize("vendor", [False, True], ids=["openai", "vendor"])
@pytest.mark.parametrize("kind", ["request", "response", "chunk", "error"])
def test_every_reading_is_valid_2020_12(kind: str, strict: bool, vendor: bool) -> None:
    Draft202012Validator.check_schema(_reading(kind, strict, vendor))


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize(("kind", "instance"), DOCUMENTED)
def test_documented_examples_validate(kind: str, instance: dict, strict: bool) -> None:
    assert validate(kind, instance, strict=strict) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize(("kind", "instance", "path"), BAD)
def test_bad_shapes_rejected_in_both_readings(kind: str, instance: dict, path: str, strict: bool) -> None:
    errors = validate(kind, instance, strict=strict)  # type: ignore[arg-type]
    assert any(error.startswith(f"{path}: ") for error in errors), errors


@pytest.mark.parametrize(("kind", "instance"), STRICT_ONLY_BAD)
def test_rejected_only_in_strict_reading(kind: str, instance: dict) -> None:
    assert validate(kind, instance, strict=True)  # type: ignore[arg-type]
    assert validate(kind, instance, strict=False) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize(("kind", "instance"), ACCEPTED)
def test_real_world_variations_accepted(kind: str, instance: dict, strict: bool) -> None:
    assert validate(kind, instance, strict=strict) == []  # type: ignore[arg-type]


# --- request rules -----------------------------------------------------------------------------


def _req(**fields: Any) -> dict:
    return {**REQUEST, **fields}


def _msgs(*messages: dict) -> dict:
    return {**REQUEST, "messages": list(messages)}


def _bad_request(case_id: str, path: str, instance: dict) -> Any:
    """A rejected request and the JSON path at which an error must be reported."""
    return pytest.param(instance, path, id=case_id)


VALID_REQUESTS = [
    pytest.param(_req(temperature=0), id="temperature-0"),
    pytest.param(_req(temperature=2), id="temperature-2"),
    pytest.param(_req(temperature=None), id="temperature-null"),
    pytest.param(_req(top_p=0), id="top_p-0"),
    pytest.param(_req(n=1), id="n-1"),
    pytest.param(_req(n=128), id="n-128"),
    pytest.param(_req(presence_penalty=-2, frequency_penalty=2), id="penalties-bounds"),
    pytest.param(_req(stop="END"), id="stop-string"),
    pytest.param(_req(stop=["a", "b", "c", "d"]), id="stop-4"),
    pytest.param(_req(logprobs=True, top_logprobs=20), id="top_logprobs-20"),
    pytest.param(_req(logprobs=True, top_logprobs=0), id="top_logprobs-0"),
    pytest.param(_req(stream=True, stream_options={"include_usage": True}), id="stream_options-with-stream"),
    pytest.param(_req(max_tokens=1), id="max_tokens-1"),
    pytest.param(_req(tool_choice="none"), id="tool_choice-none-without-tools"),
    pytest.param(_req(tools=TOOLS, tool_choice="required", parallel_tool_calls=True), id="tools-required"),
    pytest.param(_req(response_format={"type": "json_object"}), id="json_object"),
    pytest.param(
        _req(response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": {}, "strict": True}}),
        id="json_schema",
    ),
    pytest.param(_msgs(*TOOL_ROUND_TRIP), id="tool-round-trip-content-null"),
    pytest.param(
        _msgs(
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
                ],
            },
        ),
        id="content-parts",
    ),
    pytest.param(
        _msgs({"role": "user", "content": "hi"}, {"role": "system", "content": "late system"}),
        id="system-after-user",
    ),
]

INVALID_REQUESTS = [
    _bad_request("temperature-2.01", "$.temperature", _req(temperature=2.01)),
    _bad_request("temperature-negative", "$.temperature", _req(temperature=-0.01)),
    _bad_request("temperature-string", "$.temperature", _req(temperature="0.5")),
    _bad_request("top_p-1.5", "$.top_p", _req(top_p=1.5)),
    _bad_request("n-0", "$.n", _req(n=0)),
    _bad_request("n-129", "$.n", _req(n=129)),
    _bad_request("presence_penalty-2.5", "$.presence_penalty", _req(presence_penalty=2.5)),
    _bad_request("stop-5", "$.stop", _req(stop=["a", "b", "c", "d", "e"])),
    _bad_request("stop-empty", "$.stop", _req(stop=[])),
    _bad_request("top_logprobs-21", "$.top_logprobs", _req(logprobs=True, top_logprobs=21)),
    _bad_request("top_logprobs-without-logprobs", "$", _req(top_logprobs=2)),
    _bad_request("top_logprobs-logprobs-false", "$.logprobs", _req(logprobs=False, top_logprobs=2)),
    _bad_request("stream_options-without-stream", "$", _req(stream_options={"include_usage": True})),
    _bad_request("stream_options-stream-false", "$.stream", _req(stream=False, stream_options={"include_usage": True})),
    _bad_request("max_tokens-0", "$.max_tokens", _req(max_tokens=0)),
    _bad_request("logit_bias-101", "$.logit_bias['50256']", _req(logit_bias={"50256": 101})),
    _bad_request("tool_choice-without-tools", "$", _req(tool_choice="auto")),
    _bad_request("tool_choice-empty-tools", "$.tools", _req(tools=[], tool_choice="required")),
    _bad_request("tool_choice-unknown", "$.tool_choice", _req(tool_choice="sometimes", tools=TOOLS)),
    _bad_request("parallel_tool_calls-without-tools", "$", _req(parallel_tool_calls=True)),
    _bad_request("json_schema-missing", "$.response_format", _req(response_format={"type": "json_schema"})),
    _bad_request("messages-empty", "$.messages", _req(messages=[])),
    _bad_request("model-missing", "$", {"messages": REQUEST["messages"]}),
    _bad_request("tool-without-tool_call_id", "$.messages[0]", _msgs({"role": "tool", "content": "22 C"})),
    _bad_request("assistant-null-content", "$.messages[0]", _msgs({"role": "assistant", "content": None})),
    _bad_request("user-without-content", "$.messages[0]", _msgs({"role": "user"})),
    _bad_request("unknown-role", "$.messages[0].role", _msgs({"role": "bot", "content": "hi"})),
    _bad_request("role-missing", "$.messages[0]", _msgs({"content": "hi"})),
    _bad_request("content-empty-array", "$.messages[0].content", _msgs({"role": "user", "content": []})),
    _bad_request(
        "system-image-part",
        "$.messages[0].content[0].type",
        _msgs({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}),
    ),
    _bad_request(
        "history-arguments-object",
        "$.messages[0].tool_calls[0].function.arguments",
        _msgs(
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {}}}],
            }
        ),
    ),
]


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize("instance", VALID_REQUESTS)
def test_valid_requests_accepted(instance: dict, strict: bool) -> None:
    assert validate("request", instance, strict=strict) == []


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize(("instance", "path"), INVALID_REQUESTS)
def test_invalid_requests_rejected(instance: dict, path: str, strict: bool) -> None:
    errors = validate("request", instance, strict=strict)
    assert any(error.startswith(f"{path}: ") for error in errors), errors


VENDOR_REQUEST = _req(top_k=40, repetition_penalty=1.1)


def test_vendor_fields_rejected_by_strict_openai_reading() -> None:
    errors = validate("request", VENDOR_REQUEST, strict=True)
    assert errors == ["$: Additional properties are not allowed ('repetition_penalty', 'top_k' were unexpected)"]


@pytest.mark.parametrize("strict", READINGS)
def test_vendor_fields_accepted_by_vendor_reading(strict: bool) -> None:
    assert validate("request", VENDOR_REQUEST, strict=strict, vendor=True) == []


@pytest.mark.parametrize("strict", READINGS)
def test_vendor_fields_typed_in_vendor_reading(strict: bool) -> None:
    assert validate("request", _req(top_k="40"), strict=strict, vendor=True) == [
        "$.top_k: '40' is not of type 'number'"
    ]


def test_vendor_reading_keeps_openai_rules() -> None:
    assert validate("request", {**VENDOR_REQUEST, "temperatur": 1}, strict=True, vendor=True)


# --- error messages ----------------------------------------------------------------------------


def test_message_is_json_path_prefixed() -> None:
    assert validate("chunk", _set_choice(FINISH_CHUNK, finish_reason=""), strict=True) == [
        "$.choices[0].finish_reason: '' is not one of "
        "['stop', 'length', 'tool_calls', 'content_filter', 'function_call']"
    ]


def test_nullable_reference_reports_inner_errors() -> None:
    bad = _edit(USAGE_CHUNK, lambda c: c["usage"].pop("total_tokens"))
    assert validate("chunk", bad, strict=True) == ["$.usage: 'total_tokens' is a required property"]


def test_most_specific_error_first() -> None:
    bad = _edit(TOOL_CONTINUATION_CHUNK, lambda c: (c.update(created=1694268190123), c.pop("model")))
    _choice(bad)["delta"]["tool_calls"][0].pop("index")
    errors = validate("chunk", bad, strict=True)
    assert errors[0] == "$.choices[0].delta.tool_calls[0]: 'index' is a required property"
    assert set(errors[1:]) == {
        "$.created: 1694268190123 is greater than the maximum of 9999999999",
        "$: 'model' is a required property",
    }


def test_messages_capped_at_20() -> None:
    bad = {**FINISH_CHUNK, "choices": [{"index": i, "delta": {}, "finish_reason": ""} for i in range(30)]}
    assert len(validate("chunk", bad, strict=False)) == 20


def test_long_messages_shortened() -> None:
    errors = validate("chunk", {**CONTENT_CHUNK, "usage": "x" * 1000}, strict=True)
    assert len(errors) == 1 and len(errors[0]) < 250


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown schema kind"):
        validate("completion", {}, strict=True)  # type: ignore[arg-type]


# --- files, hash, bundling ---------------------------------------------------------------------


def _registry() -> Registry:
    schemas = [load(name) for name in SCHEMA_FILES]
    return Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in schemas)


@pytest.mark.parametrize(("kind", "instance"), DOCUMENTED + [pytest.param(*p.values[:2], id=p.id) for p in BAD])
def test_raw_files_resolve_offline_and_agree(kind: str, instance: dict) -> None:
    """The files themselves, resolved with ``referencing`` only, judge like the bundled strict reading."""
    raw = Draft202012Validator(load(kind), registry=_registry())
    assert raw.is_valid(instance) == (validate(kind, instance, strict=True) == [])  # type: ignore[arg-type]


def test_schema_hash_is_stable_sha256() -> None:
    first = schema_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert schema_hash() == first


def test_schema_hash_follows_file_contents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = schema_hash()
    for path in SCHEMA_DIR.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(schema_module, "SCHEMA_DIR", tmp_path)
    assert schema_hash() == real
    (tmp_path / "error.json").write_bytes((tmp_path / "error.json").read_bytes() + b"\n")
    assert schema_hash() != real


def _values(node: object, key: str) -> list[object]:
    """Every value stored under ``key`` anywhere in ``node``."""
    if isinstance(node, dict):
        own = [node[key]] if key in node else []
        return own + [found for value in node.values() for found in _values(value, key)]
    if isinstance(node, list):
        return [found for item in node for found in _values(item, key)]
    return []


@pytest.mark.parametrize("strict", READINGS)
@pytest.mark.parametrize("vendor", [False, True], ids=["openai", "vendor"])
def test_request_schema_is_self_contained(strict: bool, vendor: bool) -> None:
    schema = request_schema(strict=strict, vendor=vendor)
    json.dumps(schema)
    refs = [str(ref) for ref in _values(schema, "$ref")]
    assert refs and all(ref.startswith("#/$defs/") and ref[8:] in schema["$defs"] for ref in refs)
    assert not _values(schema, "$id") and not _values(schema, "x-lenient")
    validator = Draft202012Validator(schema)
    assert validator.is_valid({**FULL_REQUEST, "top_k": 5}) == (vendor or not strict)
    assert not validator.is_valid(_req(temperature=3))


def test_request_schema_returns_a_copy() -> None:
    request_schema(strict=True)["properties"].clear()
    assert validate("request", FULL_REQUEST, strict=True) == []


def test_lenient_request_opens_only_unknown_keys() -> None:
    lenient, strict = request_schema(strict=False), request_schema(strict=True)
    assert strict["additionalProperties"] is False and "additionalProperties" not in lenient
    assert lenient["properties"] == strict["properties"]


def test_the_contract_document_is_current() -> None:
    """docs/contract.md is written from the clause table and the checks' rules: regenerate it
    with `python -m conformance.contract > docs/contract.md` after changing either."""
    from pathlib import Path

    from conformance.contract import render

    assert (Path(__file__).resolve().parent.parent / "docs" / "contract.md").read_text(encoding="utf-8") == render()
