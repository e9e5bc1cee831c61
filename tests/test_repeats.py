"""The same question asked twice gets the same bookkeeping (USE-07, ENV-09) on hand-made pairs of
answers: what a right server may send passes or stays undecided, what no right server sends fails
(the kill matrix proves each on the reference server's defects)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.checks.repeats import same_prompt_same_count, same_request_same_model, snapshot_base
from conformance.engine import Skip, Verdict
from conformance.evidence import Evidence
from conformance.wire.client import Exchange, RecordedRequest
from conformance.wire.sse import SSEEvent

CTX: Any = SimpleNamespace(profile=SimpleNamespace(strict=False))
REQUEST = {"model": "m", "messages": [{"role": "user", "content": "Count to 3."}], "temperature": 0, "seed": 7}


def _sent(request: dict[str, Any]) -> RecordedRequest:
    body = json.dumps(request).encode()
    return RecordedRequest("POST", "http://127.0.0.1:1/v1/chat/completions", [], body, request)


def _body(request: dict[str, Any], model: str = "m", prompt_tokens: int = 5) -> Exchange:
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "1 2 3"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 3, "total_tokens": prompt_tokens + 3}}
    return Exchange(_sent(request), 200, [("content-type", "application/json")], json.dumps(body).encode())


def _stream(request: dict[str, Any], model: str = "m", prompt_tokens: int = 5) -> Exchange:
    envelope = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": model}
    chunks = [dict(envelope, choices=[{"index": 0, "delta": {"role": "assistant", "content": "1 2 3"}, "finish_reason": None}]),
              dict(envelope, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]),
              dict(envelope, choices=[], usage={"prompt_tokens": prompt_tokens, "completion_tokens": 3,
                                                "total_tokens": prompt_tokens + 3})]
    events = [SSEEvent(json.dumps(c), None, None, 0.0, b"") for c in chunks] + [SSEEvent("[DONE]", None, None, 0.0, b"")]
    exchange = Exchange(_sent(request), 200, [("content-type", "text/event-stream")], b"")
    exchange.events = events
    return exchange


def _pair(twin: Exchange, name: str = "stream", **primary: Any) -> Evidence:
    return Evidence(CTX, REQUEST, _body(REQUEST, **primary), related={name: twin})


STREAMED = dict(REQUEST, stream=True, stream_options={"include_usage": True})


def test_equal_books_pass() -> None:
    ev = _pair(_stream(STREAMED))
    assert same_prompt_same_count(ev).verdict is Verdict.PASS
    assert same_request_same_model(ev).verdict is Verdict.PASS


def test_a_different_prompt_count_on_the_same_model_fails() -> None:
    outcome = same_prompt_same_count(_pair(_stream(STREAMED, prompt_tokens=6)))
    assert outcome.verdict is Verdict.FAIL and "prompt_tokens 6" in outcome.observed


def test_different_models_may_count_differently() -> None:
    ev = _pair(_body(REQUEST, model="m-2025-03-01", prompt_tokens=6), "repeat")
    assert same_prompt_same_count(ev).verdict is Verdict.INCONCLUSIVE
    assert same_request_same_model(ev).verdict is Verdict.INFO  # snapshots of one model


def test_another_model_name_is_a_violation() -> None:
    outcome = same_request_same_model(_pair(_stream(STREAMED, model="/models/m")))
    assert outcome.verdict is Verdict.FAIL and "/models/m" in outcome.observed


def test_sampling_settings_do_not_change_the_question_but_the_prompt_does() -> None:
    hot = dict(REQUEST, temperature=1.5, seed=12)
    assert same_prompt_same_count(_pair(_body(hot, prompt_tokens=6), "sample_1")).verdict is Verdict.FAIL
    other = dict(REQUEST, messages=[{"role": "user", "content": "Count to 30."}])
    with pytest.raises(Skip):
        same_prompt_same_count(_pair(_body(other, prompt_tokens=6), "other"))


def test_missing_books_are_judged_elsewhere() -> None:
    failed = Exchange(_sent(STREAMED), 500, [("content-type", "application/json")], b"{}")
    with pytest.raises(Skip):
        same_prompt_same_count(_pair(failed))
    with pytest.raises(Skip):
        same_request_same_model(_pair(_body(REQUEST, prompt_tokens=0), "repeat", model=""))


def test_snapshot_suffixes() -> None:
    assert snapshot_base("gpt-4o-2024-08-06") == snapshot_base("gpt-4o") == "gpt-4o"
    assert snapshot_base("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet"
    assert snapshot_base("gpt-4-0613") == "gpt-4"
    assert snapshot_base("/models/m") == "/models/m"
