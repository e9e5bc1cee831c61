"""Benign variants for the false-alarm classes of real servers (issue 12 §2: modality not offered,
model-specific parameters refused, both caps given, best-effort determinism).  The kill matrix
shows each is accepted; these tests show the behaviour was actually reached, so the PASS proves
something: the variant answered differently from the reference server and the suite still did
not object."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.engine import Budget, Runner, Verdict
from conformance.generation import classify, schemathesis_run
from conformance.profiles import get_profile
from conformance.scenarios.generated import fuzz_valid, judge_exchange
from conformance.selftest import API_KEY, GENERATED_VARIANT_EXAMPLES
from conformance.servers.defects.registry import DEFECTS
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute
from conformance.suite import load_suite
from conformance.target import Context, Target
from conformance.wire.client import Exchange, RawClient

Sent = list[tuple[dict[str, Any], Exchange]]


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=API_KEY) as running:
        yield running


def _recording(client: RawClient, url: str, budget: Budget, sent: Sent) -> Context:
    """A context with the kill matrix's seed (0) and generated-request count for such variants that
    keeps every exchange it sends."""
    profile = dataclasses.replace(get_profile("compatible"), fuzz_examples=GENERATED_VARIANT_EXAMPLES)
    ctx = Context(client, Target(url, EMBEDDED_MODEL, API_KEY), profile, budget)
    send = ctx.send

    def recording(body: Any, **kwargs: Any) -> Exchange:
        exchange = send(body, **kwargs)
        sent.append((body, exchange))
        return exchange

    ctx.send = recording  # type: ignore[method-assign]
    return ctx


def _bad(outcomes: dict[str, Any]) -> dict[str, str]:
    """The outcomes that object to something, as check name -> what was observed."""
    return {name: o.observed or o.note for name, o in outcomes.items() if o.verdict in (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)}


def _fuzz_valid(url: str) -> tuple[Sent, dict[str, str]]:
    """The generated valid requests of a kill-matrix run against ``url``, and the checks that objected."""
    sent: Sent = []
    budget = Budget()
    with RawClient(url, api_key=API_KEY, budget=budget) as client:
        ctx = _recording(client, url, budget, sent)
        judged = fuzz_valid(ctx, Runner(load_suite().checks.values(), [], ctx).judge_case)
    return sent, _bad(judged.outcomes)


def test_the_generated_variants_are_the_ones_marked_generated() -> None:
    assert {n for n, d in DEFECTS.items() if d.generated} == {"text-only-model", "max-completion-tokens-binds"}
    assert all(DEFECTS[n].benign for n in ("text-only-model", "max-completion-tokens-binds", "reasoning-params-refused",
                                          "best-effort-determinism"))


def test_text_only_model_refuses_media_and_the_generator_stops_sending_it(server: ReferenceServer) -> None:
    sent, objections = _fuzz_valid(server.url_for("text-only-model"))
    assert not objections, objections
    refused = [(i, classify.capabilities_used(body)) for i, (body, ex) in enumerate(sent)
               if ex.status == 400 and ex.json()["error"]["code"] == "unsupported_content_type"]
    assert refused, "no generated request carried an image, audio or file part: the variant was not exercised"
    first, media = refused[0]
    assert all(not (classify.capabilities_used(body) & media) for body, _ in sent[first + 1:])


def test_max_completion_tokens_binds_when_both_caps_are_given(server: ReferenceServer) -> None:
    sent, objections = _fuzz_valid(server.url_for("max-completion-tokens-binds"))
    assert not objections, objections

    def beyond_max_tokens(body: dict[str, Any], ex: Exchange) -> bool:
        if "max_tokens" not in body or "max_completion_tokens" not in body or body.get("stream") or ex.status != 200:
            return False
        answer = ex.json()
        return answer["usage"]["completion_tokens"] > body["max_tokens"] * len(answer["choices"])

    assert any(beyond_max_tokens(body, ex) for body, ex in sent), \
        "no generated answer went past max_tokens under a larger max_completion_tokens: the variant was not exercised"


def test_max_completion_tokens_binds_still_refuses_an_invalid_max_tokens(server: ReferenceServer) -> None:
    """The variant changes which valid cap binds, nothing else: a max_tokens of 0 beside a valid
    max_completion_tokens is still a 400 (generated invalid traffic draws such requests)."""
    body = {"model": EMBEDDED_MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0,
            "max_completion_tokens": 7}
    with RawClient(server.url_for("max-completion-tokens-binds"), api_key=API_KEY, budget=Budget()) as client:
        assert client.post_json("/chat/completions", body).status == 400


def test_reasoning_params_refused_in_schemathesis_traffic(server: ReferenceServer) -> None:
    def findings(url: str, sent: Sent) -> set[str]:
        budget = Budget()
        with RawClient(url, api_key=API_KEY, budget=budget) as client:
            ctx = _recording(client, url, budget, sent)
            runner = Runner(load_suite().checks.values(), [], ctx)

            def judge(expectation: Any, body: Any, exchange: Exchange) -> Any:
                return judge_exchange(ctx, runner.judge_case, expectation, body, exchange)

            reports = schemathesis_run.run_phases(ctx, judge, strict=False, vendor=False, seed=5, examples=15,
                                                  shrink_calls=5, phases=("fuzzing",))
        return {name for report in reports for name in report.findings}

    sent: Sent = []
    assert findings(server.url_for("reasoning-params-refused"), sent) <= findings(server.base_url, [])
    assert any(ex.status == 400 and ex.json()["error"]["code"] == "unsupported_parameter" for _, ex in sent), \
        "no generated request carried verbosity or reasoning_effort: the variant was not exercised"


def test_best_effort_determinism_leaves_sse_18_inconclusive(server: ReferenceServer) -> None:
    config = RunConfig(base_url=server.url_for("best-effort-determinism"), model=EMBEDDED_MODEL, api_key=API_KEY,
                       scenarios=("stream_equivalence", "seed_repeat"), command=["test"])
    verdicts = {(r.clause, r.scenario): r for r in execute(config).results}
    sse_18 = verdicts[("SSE-18", "stream_equivalence")]
    assert sse_18.verdict is Verdict.INCONCLUSIVE and "not deterministic" in sse_18.note
    assert verdicts[("PAR-10", "seed_repeat")].verdict is Verdict.WARN  # best effort: a SHOULD
