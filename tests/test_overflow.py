"""The context-length overflow probes: sized from the context GET /models declares, the largest
bounded prompt without a declaration, and a SKIP (never a FAIL) when an undeclared context may
have held the prompt."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.engine import Budget, Skip, Verdict
from conformance.profiles import get_profile
from conformance.scenarios.invalid import UNDECLARED_PROMPT_WORDS, _overflow, declared_context
from conformance.selftest import API_KEY
from conformance.servers.launcher import ReferenceServer
from conformance.servers.reference.validation import CONTEXT_TOKENS
from conformance.session import EMBEDDED_MODEL, RunConfig, execute
from conformance.target import Context, Target
from conformance.wire.client import Exchange, RawClient, RecordedRequest, TransportError

OVERFLOW = ("context_overflow", "stream_context_overflow")


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=API_KEY) as running:
        yield running


def _listing(**entry: Any) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "m", "object": "model", **entry}]}


def test_declared_context_is_read_from_the_keys_servers_use() -> None:
    assert declared_context(_listing(context_length=4096), "m") == (4096, "context_length")
    assert declared_context(_listing(max_model_len=8192), "m") == (8192, "max_model_len")
    assert declared_context(_listing(context_window=131072), "m") == (131072, "context_window")
    assert declared_context(_listing(meta={"n_ctx": 2048, "n_ctx_train": 8192}), "m") == (2048, "meta.n_ctx")
    for unusable in (_listing(context_length=True), _listing(context_length="4096"), _listing(context_length=0), _listing()):
        assert declared_context(unusable, "m") is None
    assert declared_context(_listing(context_length=4096), "other") is None
    assert declared_context(None, "m") is None and declared_context({"data": "x"}, "m") is None


def _sizes(url: str, facts: dict[str, Any]) -> list[int]:
    """The prompt length in words of each overflow request sent to ``url``."""
    sent: list[int] = []
    budget = Budget()
    with RawClient(url, api_key=API_KEY, budget=budget) as client:
        ctx = Context(client, Target(url, EMBEDDED_MODEL, API_KEY), get_profile("compatible"), budget, facts=facts)
        for stream in (False, True):
            ev = _overflow(ctx, stream=stream)
            assert ev.exchange.status == 400 and ev.exchange.json()["error"]["code"] == "context_length_exceeded"
            sent.append(len(ev.request["messages"][0]["content"].split()))  # type: ignore[index]
    return sent


def test_the_prompt_overflows_the_declared_context_or_has_the_undeclared_size(server: ReferenceServer) -> None:
    declared = _listing(context_length=CONTEXT_TOKENS)
    declared["data"][0]["id"] = EMBEDDED_MODEL
    assert _sizes(server.base_url, {"models": declared}) == [CONTEXT_TOKENS * 5 // 4 + 64] * 2
    assert _sizes(server.base_url, {"models": None}) == [UNDECLARED_PROMPT_WORDS] * 2


def _stub(facts: dict[str, Any], answer: Exchange | None = None) -> SimpleNamespace:
    sent: list[dict[str, Any]] = []

    def send(body: dict[str, Any]) -> Exchange:
        sent.append(body)
        assert answer is not None
        return answer

    return SimpleNamespace(facts=facts, target=SimpleNamespace(model="m"), sent=sent, send=send,
                           body=lambda prompt, **fields: {"model": "m", "messages": [{"role": "user", "content": prompt}], **fields},
                           profile=get_profile("compatible"))


def test_a_context_too_large_to_overflow_within_the_bound_is_skipped_without_a_request() -> None:
    ctx = _stub({"models": _listing(context_length=128_000)})
    with pytest.raises(Skip, match="128000 tokens"):
        _overflow(ctx)  # type: ignore[arg-type]
    assert ctx.sent == []


def test_an_undeclared_context_that_times_out_is_skipped() -> None:
    request = RecordedRequest("POST", "http://127.0.0.1:1/v1/chat/completions", [], b"{}", {})
    ctx = _stub({"models": None}, Exchange(request, None, [], b"", error=TransportError("read-timeout", "no byte in 30 s")))
    with pytest.raises(Skip, match="read-timeout"):
        _overflow(ctx)  # type: ignore[arg-type]
    assert len(ctx.sent) == 1


def _verdicts(url: str) -> dict[str, set[str]]:
    config = RunConfig(base_url=url, model=EMBEDDED_MODEL, api_key=API_KEY, scenarios=OVERFLOW, command=["test"])
    out: dict[str, set[str]] = {}
    for r in execute(config).results:
        if r.check.startswith("errors."):
            out.setdefault(r.scenario, set()).add(r.verdict.value if r.verdict is not Verdict.SKIP else f"SKIP: {r.note}")
    return out


def test_an_undeclared_context_that_answers_is_a_skip_and_a_declared_one_a_fail(server: ReferenceServer) -> None:
    undeclared = _verdicts(server.url_for("models-without-context-length", "context-overflow-truncated"))
    assert set(undeclared) == set(OVERFLOW)
    for scenario, verdicts in undeclared.items():
        assert len(verdicts) == 1 and next(iter(verdicts)).endswith("was answered: it may fit the context"), (scenario, verdicts)
    declared = _verdicts(server.url_for("context-overflow-truncated"))
    assert set(declared) == set(OVERFLOW) and all("FAIL" in verdicts for verdicts in declared.values())


def test_an_undeclared_context_whose_stream_dies_is_still_a_fail(server: ReferenceServer) -> None:
    verdicts = _verdicts(server.url_for("models-without-context-length", "context-overflow-stream-dies"))
    assert verdicts["context_overflow"] == {"PASS"}
    assert "FAIL" in verdicts["stream_context_overflow"]
