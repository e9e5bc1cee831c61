"""Offline tests of the generation package: the OpenAPI document, the strategies, request classification,
generated cases judged by the checks, and the fuzz driver (no server; exchanges are built by hand)."""

from __future__ import annotations

import json
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from conformance import schema
from conformance.engine import Budget, BudgetExhausted, Runner, fail, passed
from conformance.generation.classify import Expectation, classify, semantic_problems
from conformance.generation.fuzz import Observation, fuzz
from conformance.generation.openapi import CHAT_PATH, build_document
from conformance.generation.strategies import RULES, invalid_requests, valid_requests
from conformance.profiles import get_profile
from conformance.scenarios.generated import judge_exchange
from conformance.suite import load_suite
from conformance.target import Context, Target
from conformance.wire.client import Exchange, RecordedRequest
from conformance.wire.sse import SSEEvent

FAST = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
MODEL = "m"


# --- OpenAPI document --------------------------------------------------------------------------

def test_document_is_derived_from_the_schemas_and_loads_in_schemathesis() -> None:
    doc = build_document(strict=True)
    text = json.dumps(doc)
    assert "#/$defs/" not in text
    components = doc["components"]["schemas"]
    request = schema.request_schema(strict=True)
    assert components["CreateChatCompletionRequest"]["properties"].keys() == request["properties"].keys()
    assert components["CreateChatCompletionRequest"]["allOf"] == json.loads(json.dumps(request["allOf"]).replace("#/$defs/", "#/components/schemas/"))
    ok = doc["paths"][CHAT_PATH]["post"]["responses"]["200"]["content"]
    assert set(ok) == {"application/json", "text/event-stream"}
    loaded = schemathesis.openapi.from_dict(doc, config=schemathesis.Config.from_dict({}))
    assert loaded[CHAT_PATH]["POST"].label == "POST /chat/completions"


def test_document_readings() -> None:
    lenient = build_document(strict=False, vendor=True, cross_field=False, server_url="http://127.0.0.1:9/v1/")
    request = lenient["components"]["schemas"]["CreateChatCompletionRequest"]
    assert "allOf" not in request and "additionalProperties" not in request
    assert {"top_k", "repetition_penalty"} <= set(request["properties"])
    assert lenient["servers"] == [{"url": "http://127.0.0.1:9/v1"}]


# --- strategies ---------------------------------------------------------------------------------

def _largest_cap(body: dict) -> int:
    return max(body[k] for k in ("max_tokens", "max_completion_tokens") if isinstance(body.get(k), int))


@FAST
@seed(11)
@given(valid_requests(MODEL, multimodal=True))
def test_valid_requests_are_valid_for_the_strict_schema_and_the_unwritten_rules(body: dict) -> None:
    assert schema.validate("request", body, strict=True) == []
    assert semantic_problems(body) == []
    assert classify(body, strict=True) == Expectation("valid")
    assert 1 <= _largest_cap(body) <= 16


@FAST
@seed(12)
@given(valid_requests(MODEL, vendor=True, stream=True, max_tokens=4))
def test_vendor_stream_requests(body: dict) -> None:
    assert body["stream"] is True
    assert schema.validate("request", body, strict=True, vendor=True) == []
    assert _largest_cap(body) <= 4


@pytest.mark.parametrize("rule", RULES)
def test_each_invalid_rule_breaks_the_schema_or_an_unwritten_rule_naming_its_param(rule: str) -> None:
    @settings(FAST, max_examples=3)
    @seed(13)
    @given(invalid_requests(MODEL, strict=True, rules=[rule]))
    def check(case: tuple) -> None:
        body, param, drawn = case
        assert drawn == rule
        expectation = classify(body, strict=True)
        assert expectation.kind == "invalid", expectation
        assert param in expectation.params, (param, expectation)

    check()


@settings(FAST, max_examples=30)
@seed(14)
@given(invalid_requests(MODEL, stream=True))
def test_stream_invalid_requests_keep_stream_true_and_skip_strict_rules(case: tuple) -> None:
    assert case.body["stream"] is True
    assert case.rule not in ("unknown_parameter", "stream_wrong_type", "stream_options_without_stream")


# --- generated cases judged by the registered checks ---------------------------------------------

def _exchange(status: int, body: object = None, *, events: list[str] | None = None, ctype: str = "application/json") -> Exchange:
    request = RecordedRequest("POST", "http://127.0.0.1:1/v1/chat/completions", [], b"{}", {})
    if events is not None:
        sse = [SSEEvent(e, None, None, 0.0, f"data: {e}\n\n".encode()) for e in events]
        raw = b"".join(e.raw for e in sse)
        return Exchange(request, status, [("content-type", "text/event-stream")], raw, events=sse)
    return Exchange(request, status, [("content-type", ctype)], json.dumps(body).encode())


def _response(n: int = 1, finish: str = "stop", usage: tuple[int, int, int] = (3, 2, 5)) -> dict:
    choices = [{"index": i, "message": {"role": "assistant", "content": "hi", "refusal": None}, "logprobs": None,
                "finish_reason": finish} for i in range(n)]
    p, c, t = usage
    return {"id": "x", "object": "chat.completion", "created": int(time.time()), "model": MODEL, "choices": choices,
            "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": t}}


def _error(param: str | None) -> dict:
    return {"error": {"message": "bad", "type": "invalid_request_error", "param": param, "code": None}}


_RUNNER = Runner(load_suite().checks.values(), [], None)


def _ctx(strict: bool = True) -> Context:
    return Context(None, Target("http://127.0.0.1:1", MODEL, None),  # type: ignore[arg-type]  # checks never send
                   get_profile("openai-strict" if strict else "compatible"), Budget())


def _fails(body: object, exchange: Exchange, kind: str = "valid", params: tuple[str, ...] = (), *,
           strict: bool = True) -> list[str]:
    """The clauses whose checks FAIL a generated case (before SHOULD is lowered to WARN)."""
    observation = judge_exchange(_ctx(strict), _RUNNER.judge_case, Expectation(kind, params), body, exchange)  # type: ignore[arg-type]
    errors = [f"{n}: {o.note}" for n, o in observation.outcomes.items() if o.verdict.value == "ERROR"]
    assert not errors, errors
    return sorted({load_suite().checks[name].rule.id for name, _ in observation.failures})


def test_a_generated_valid_case_is_judged_by_the_checks_of_its_kind() -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 2, "n": 2}
    assert _fails(body, _exchange(200, _response(2, "length", (3, 4, 7)))) == []
    assert "CHO-01" in _fails(body, _exchange(200, _response(1)))
    assert _fails(body, _exchange(200, _response(2, usage=(3, 2, 9)))) == ["USE-02"]
    # n choices all cut at max_tokens count n x the cap (USE-05), never more.
    assert _fails(body, _exchange(200, _response(2, "length", (3, 5, 8)))) == ["USE-05"]
    both = dict(body, max_completion_tokens=4)  # which cap binds is not settled: no cap rule judges it
    assert _fails(both, _exchange(200, _response(2, "length", (3, 8, 11)))) == []
    single = dict(body, n=1)
    assert _fails(single, _exchange(200, _response(1, "length", (3, 5, 8)))) == ["PAR-01"]
    assert _fails(body, _exchange(500, _error(None))) == ["REQ-01"]
    assert _fails(body, _exchange(400, _error("messages"))) == ["REQ-01"]
    image = dict(body, messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}])
    assert _fails(image, _exchange(400, _error("messages"))) == []
    replay = dict(body, messages=[{"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}])
    assert _fails(replay, _exchange(400, _error("messages"))) == ["REQ-03"]


def test_a_generated_stream_is_judged_by_the_stream_checks() -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 1, "stream": True}
    head = {"id": "x", "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL}
    first = dict(head, choices=[{"index": 0, "delta": {"role": "assistant", "content": "a"}, "logprobs": None, "finish_reason": None}])
    last = dict(head, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}])
    good = [json.dumps(first), json.dumps(last), "[DONE]"]
    assert _fails(body, _exchange(200, events=good)) == []
    assert _fails(body, _exchange(200, events=good[:-1])) == ["SSE-03"]
    assert _fails(body, _exchange(200, events=[json.dumps(first), "[DONE]"])) == ["SSE-07"]
    assert _fails(body, _exchange(200, _response())) == ["SSE-01"]


def test_a_generated_invalid_case_is_judged_by_the_error_checks() -> None:
    body = {"model": MODEL, "messages": [], "stream": True}
    assert _fails(body, _exchange(400, _error("messages")), "invalid", ("messages",)) == []
    assert _fails(body, _exchange(400, _error("messages[0].content")), "invalid", ("messages",)) == []
    assert _fails(body, _exchange(400, _error("model")), "invalid", ("messages",)) == ["ERR-04"]
    assert _fails(body, _exchange(200, events=["[DONE]"]), "invalid", ("messages",)) == ["ERR-02", "SSE-13"]
    assert _fails({}, _exchange(200, _response()), "invalid") == ["ERR-02"]
    assert _fails({}, _exchange(422, _error(None)), "invalid") == ["ERR-02", "ERR-08"]
    assert _fails({}, _exchange(422, _error(None)), "invalid", strict=False) == ["ERR-08"]
    assert _fails({}, _exchange(503, {"detail": "x"}), "invalid", strict=False) == ["ERR-01", "ERR-02", "ERR-03"]
    assert _fails({"foo": 1}, _exchange(500, _error(None)), "either") == ["ERR-03"]


def test_classify_arbitrary_bodies() -> None:
    base = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    assert classify(base, strict=True).kind == "valid"
    assert classify([1], strict=True).kind == "invalid"
    top = classify(dict(base, top_logprobs=2), strict=False)
    assert top.kind == "invalid" and {"top_logprobs", "logprobs"} <= set(top.params)
    assert classify(dict(base, foo=1), strict=False).kind == "either"
    assert classify(dict(base, foo=1), strict=True).params == ("foo",)
    assert classify(dict(base, metadata={"k": 5}), strict=True).kind == "either"
    orphan = dict(base, messages=[*base["messages"], {"role": "tool", "tool_call_id": "c", "content": "x"}])
    assert classify(orphan, strict=True) .params == ("messages",)


# --- fuzz driver --------------------------------------------------------------------------------

def _probe(case: int) -> Observation:
    verdict = fail("case < 1000", str(case)) if case >= 1000 else passed()
    return Observation(case, None, {"envelope.choice_count": verdict})  # type: ignore[arg-type]


def test_fuzz_shrinks_to_the_minimal_failing_case_reproducibly() -> None:
    runs = [fuzz("t", st.integers(0, 10**9), _probe, examples=50, seed_value=7, shrink_calls=500) for _ in range(2)]
    assert runs[0].findings["envelope.choice_count"].case == 1000
    assert runs[0].calls == runs[1].calls


def test_fuzz_stops_on_budget_and_shrink_limit() -> None:
    sent: list[int] = []

    def limited(case: int) -> Observation:
        if len(sent) >= 5:
            raise BudgetExhausted("5 of 5 requests used")
        sent.append(case)
        return _probe(case)

    report = fuzz("t", st.integers(0, 10**9), limited, examples=50, seed_value=7, shrink_calls=500)
    assert report.calls == 5 and report.stopped.startswith("budget exhausted")
    capped = fuzz("t", st.integers(0, 10**9), _probe, examples=50, seed_value=7, shrink_calls=3)
    assert "shrink limit" in capped.stopped and "envelope.choice_count" in capped.findings


def test_fuzz_stops_shrinking_once_every_failure_is_small() -> None:
    # Sizes are JSON lengths: any integer up to 10**9 is at most 10 bytes, so with a limit of 10
    # every failure is small and nothing more is spent once the profile's examples were sent;
    # without it, shrinking runs to the minimal case.
    calls: list[int] = []

    def counted(case: int) -> Observation:
        calls.append(case)
        return _probe(case)

    quick = fuzz("t", st.integers(0, 10**9), counted, examples=5, seed_value=7, shrink_calls=500, small_enough=10)
    assert "envelope.choice_count" in quick.findings and quick.findings["envelope.choice_count"].case >= 1000
    assert quick.calls == len(calls) == 5  # ended once 5 cases were sent: no shrinking beyond them
    full = fuzz("t", st.integers(0, 10**9), _probe, examples=5, seed_value=7, shrink_calls=500)
    assert full.calls > quick.calls and full.findings["envelope.choice_count"].case == 1000


@pytest.mark.parametrize("explicit", [[5, 2000]])
def test_fuzz_runs_explicit_cases_first(explicit: list[int]) -> None:
    seen: list[int] = []

    def probe(case: int) -> Observation:
        seen.append(case)
        return _probe(case)

    fuzz("t", st.integers(0, 10), probe, examples=5, seed_value=1, shrink_calls=0, explicit=explicit)
    assert seen[:2] == explicit


IMAGE_BODY = {"model": MODEL, "messages": [{"role": "user", "content": [
    {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}]}]}


def test_a_modality_refused_with_a_4xx_is_not_offered_not_a_refused_valid_request() -> None:
    clean = {"error": {"message": "image input is not supported", "type": "invalid_request_error", "param": None, "code": None}}
    assert _fails(IMAGE_BODY, _exchange(400, clean), strict=False) == []
    # The same refusal with an integer code is an envelope finding (ERR-01), never REQ-02.
    bad = {"error": {"message": "unsupported content[].type", "type": "invalid_request_error", "code": 400}}
    assert _fails(IMAGE_BODY, _exchange(400, bad), strict=False) == ["ERR-01"]
    verbosity = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "verbosity": "low"}
    assert _fails(verbosity, _exchange(400, clean), strict=False) == []


def test_generated_traffic_stops_sending_a_refused_modality() -> None:
    from types import SimpleNamespace

    from conformance.scenarios.generated import _valid_probe

    sent: list[dict] = []

    def send(body: dict) -> Exchange:
        sent.append(body)
        return _exchange(400, {"error": {"message": "no images", "type": "invalid_request_error", "param": None, "code": None}})

    ctx = SimpleNamespace(send=send, profile=SimpleNamespace(strict=False, vendor=False))
    probe = _valid_probe(ctx, lambda evidence, tags: {})
    assert probe(IMAGE_BODY) is not None
    assert probe(dict(IMAGE_BODY, temperature=0.5)) is None  # not sent again
    assert len(sent) == 1


def test_a_capped_stream_is_read_only_as_far_as_a_capped_answer_goes() -> None:
    """Context.send bounds the events read from a capped stream: generously (8 per allowed token,
    per choice, whichever cap is larger) and only for capped streams."""
    from conformance.target import capped_stream_events

    base = {"model": "m", "messages": [], "stream": True}
    assert capped_stream_events({**base, "max_tokens": 16}) == 8 * (16 + 8) + 64
    assert capped_stream_events({**base, "max_tokens": 4, "max_completion_tokens": 16, "n": 2}) == 2 * 8 * (16 + 8) + 64
    assert capped_stream_events({**base, "max_tokens": 16, "n": True}) == capped_stream_events({**base, "max_tokens": 16})
    for unbounded in ({**base}, {**base, "stream": False, "max_tokens": 16}, {**base, "max_tokens": True},
                      {**base, "max_tokens": 0}, {**base, "max_tokens": "16"}):
        assert capped_stream_events(unbounded) is None
