"""The value cross-checks on hand-made answers: what a right server may send passes, what no right
server sends fails (the kill matrix proves each on the reference server's defects)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.checks.envelope import usage_details_within_counts
from conformance.checks.params import logprobs_self_consistent, top_logprobs_zero
from conformance.engine import NotApplicable, Verdict
from conformance.evidence import Evidence
from conformance.wire.client import Exchange, RecordedRequest


def _answer(choice: dict[str, Any] | None = None, usage: dict[str, Any] | None = None) -> Evidence:
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [choice or {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": usage or {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
    request = RecordedRequest("POST", "http://127.0.0.1:1/v1/chat/completions", [], b"{}", {})
    exchange = Exchange(request, 200, [("content-type", "application/json")], json.dumps(body).encode())
    return Evidence(None, {}, exchange)  # type: ignore[arg-type]  # the rules read only the answer


def _alt(token: str, logprob: float, raw: list[int] | None = None) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()) if raw is None else raw}


def _logprobs(*entries: dict[str, Any]) -> Evidence:
    choice = {"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop",
              "logprobs": {"content": list(entries), "refusal": None}}
    return _answer(choice)


def _entry(token: str, logprob: float, top: list[dict[str, Any]], raw: list[int] | None = None) -> dict[str, Any]:
    return {**_alt(token, logprob, raw), "top_logprobs": top}


def test_consistent_logprobs_pass() -> None:
    entry = _entry(" one", -0.1, [_alt(" one", -0.1), _alt(" two", -2.5), _alt("1", -3.0)])
    sampled = _entry(" two", -2.5, [_alt(" one", -0.1), _alt(" two", -2.5)])
    assert logprobs_self_consistent(_logprobs(entry, sampled)).verdict is Verdict.PASS


def test_byte_pieces_and_undecodable_twins_are_legal() -> None:
    # A split '…' (e2 80 a6): the pieces are no UTF-8 by themselves; two such pieces both read U+FFFD.
    pieces = _entry("\\xe2\\x80", -0.2, [_alt("\ufffd", -0.2, None), _alt("\ufffd", -1.0, None)], raw=[0xE2, 0x80])
    for alt in pieces["top_logprobs"]:
        alt["bytes"] = None
    assert logprobs_self_consistent(_logprobs(pieces)).verdict is Verdict.PASS


def test_inconsistent_logprobs_fail() -> None:
    cases = {
        "likelier than the likeliest": _entry(" one", -0.1, [_alt(" one", -0.6), _alt(" two", -2.0)]),
        "own entry differs": _entry(" two", -2.5, [_alt(" one", -0.1), _alt(" two", -2.0)]),
        "duplicate token": _entry(" one", -0.1, [_alt(" one", -0.1), _alt(" one", -0.1)]),
        "bytes of another token": _entry(" one", -0.1, [_alt(" one", -0.1, list(b" two"))]),
    }
    for name, entry in cases.items():
        assert logprobs_self_consistent(_logprobs(entry)).verdict is Verdict.FAIL, name


def test_unsorted_alternatives_are_a_warning() -> None:
    entry = _entry(" one", -0.1, [_alt(" two", -2.0), _alt(" one", -0.1)])
    assert logprobs_self_consistent(_logprobs(entry)).verdict is Verdict.WARN


def test_usage_details_within_their_counts() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8,
             "prompt_tokens_details": {"cached_tokens": 5, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 2, "accepted_prediction_tokens": 3, "rejected_prediction_tokens": 0}}
    assert usage_details_within_counts(_answer(usage=usage)).verdict is Verdict.PASS
    assert usage_details_within_counts(_answer(usage={**usage, "prompt_tokens_details": None})).verdict is Verdict.PASS
    over = {**usage, "completion_tokens_details": {"rejected_prediction_tokens": 4}}
    assert usage_details_within_counts(_answer(usage=over)).verdict is Verdict.FAIL
    cached = {**usage, "prompt_tokens_details": {"cached_tokens": 6}}
    assert usage_details_within_counts(_answer(usage=cached)).verdict is Verdict.FAIL


def test_top_logprobs_zero_lists_no_alternatives() -> None:
    def asked(ev: Evidence, k: int) -> Evidence:
        ev.request = {"logprobs": True, "top_logprobs": k}
        return ev

    assert top_logprobs_zero(asked(_logprobs(_entry("x", -0.1, [])), 0)).verdict is Verdict.PASS
    listed = top_logprobs_zero(asked(_logprobs(_entry("x", -0.1, [_alt("x", -0.1)])), 0))
    assert listed.verdict is Verdict.FAIL and "1 of 1 tokens" in listed.observed
    with pytest.raises(NotApplicable):
        top_logprobs_zero(asked(_logprobs(_entry("x", -0.1, [_alt("x", -0.1)])), 1))
