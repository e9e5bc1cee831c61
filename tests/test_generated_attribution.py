"""False alarms the real-server tier found in generated traffic judged by the registered checks: a
5xx for a request using a capability the server lacks is blamed on the rule that is proven
(REQ-01), not on the message forms the acceptance clauses name; an answer with no text anywhere
leaves ENV-08 undecided.  (Offline: exchanges are built by hand.)"""

from __future__ import annotations

import json
from typing import Any

from conformance.engine import Budget, Runner, Verdict
from conformance.generation.classify import Expectation
from conformance.profiles import get_profile
from conformance.scenarios.generated import judge_exchange
from conformance.suite import load_suite
from conformance.target import Context, Target
from conformance.wire.client import Exchange, RecordedRequest

MODEL = "m"
_RUNNER = Runner(load_suite().checks.values(), [], None)  # type: ignore[arg-type]  # checks never send


def _exchange(status: int, body: Any) -> Exchange:
    request = RecordedRequest("POST", "http://127.0.0.1:1/v1/chat/completions", [], b"{}", {})
    return Exchange(request, status, [("content-type", "application/json")], json.dumps(body).encode())


def _verdicts(body: dict[str, Any], exchange: Exchange) -> dict[str, Verdict]:
    """Clause -> the worst verdict the checks give this generated valid case."""
    ctx = Context(None, Target("http://127.0.0.1:1", MODEL, None), get_profile("compatible"), Budget())  # type: ignore[arg-type]
    observation = judge_exchange(ctx, _RUNNER.judge_case, Expectation("valid"), body, exchange)
    out: dict[str, Verdict] = {}
    for name, outcome in observation.outcomes.items():
        clause = load_suite().checks[name].rule.id
        if outcome.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE) and out.get(clause) is not Verdict.FAIL:
            out[clause] = outcome.verdict
    return out


def test_a_5xx_for_an_unsupported_modality_is_a_refused_valid_request_not_a_refused_message_form() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "x"}, audio]},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                                        "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "1"}]
    body = {"model": MODEL, "messages": messages, "max_tokens": 2}
    fault = {"error": {"message": "audio input is not supported", "type": "server_error", "param": None, "code": None}}
    assert _verdicts(body, _exchange(500, fault)) == {"REQ-01": Verdict.FAIL}
    refusal = dict(fault, error=dict(fault["error"], type="invalid_request_error"))
    assert _verdicts(body, _exchange(400, refusal)) == {}  # not offered
    text_only = dict(body, messages=[{"role": "user", "content": [{"type": "text", "text": "x"}]}])
    assert _verdicts(text_only, _exchange(500, fault)) == {"REQ-02": Verdict.FAIL}  # no optional capability to blame


def _answer(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "created": 1_700_000_000, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "refusal": None, **message}, "logprobs": None,
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def test_an_answer_without_text_anywhere_leaves_env_08_undecided() -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 2, "stop": "a"}
    assert _verdicts(body, _exchange(200, _answer({"content": ""})))["ENV-08"] is Verdict.INCONCLUSIVE
    hidden = _answer({"content": "", "reasoning_content": "the answer"})
    assert _verdicts(body, _exchange(200, hidden))["ENV-08"] is Verdict.FAIL
