"""Parameter and tool probes end to end against the reference server: the verdict, the evidence a
sampled verdict carries, and what the probes' prompts rely on in the toy model."""

from __future__ import annotations

import pytest

from conformance.engine import Verdict
from conformance.scenarios.prompts import REPEAT_WORD
from conformance.selftest import API_KEY
from conformance.servers.defects.semantics import validates
from conformance.servers.launcher import ReferenceServer
from conformance.servers.reference.model import generate
from conformance.servers.reference.validation import validate
from conformance.session import EMBEDDED_MODEL, RunConfig, execute


@pytest.fixture(scope="module")
def server() -> ReferenceServer:
    with ReferenceServer(api_key=API_KEY) as running:
        yield running


def _results(url: str, *scenarios: str, profile: str = "compatible") -> dict[str, list]:
    config = RunConfig(base_url=url, model=EMBEDDED_MODEL, api_key=API_KEY, profile=profile, scenarios=scenarios,
                       command=["test"])
    report = execute(config)
    out: dict[str, list] = {"_requests": [report.requests - 2]}  # minus the preflight (GET /models, one chat request)
    for r in report.results:
        out.setdefault(r.clause, []).append(r)
    return out


def test_distinct_choices_cost_one_request_on_a_conforming_server(server: ReferenceServer) -> None:
    results = _results(server.base_url, "n_two")
    par04 = results["PAR-04"][0]
    assert par04.verdict is Verdict.PASS and par04.evidence["trials"] == 1
    assert results["_requests"] == [1]


def test_copied_choices_fail_within_the_false_alarm_budget(server: ReferenceServer) -> None:
    par04 = _results(server.url_for("n-choices-identical"), "n_two")["PAR-04"][0]
    assert par04.verdict is Verdict.FAIL
    assert par04.evidence["decision"] == "reject" and par04.evidence["p_value_bound"] <= 0.01
    assert par04.evidence["false_alarm_budget"] == 0.01


def test_ignored_temperature_is_a_warning_with_its_evidence(server: ReferenceServer) -> None:
    results = _results(server.url_for("temperature-ignored"), "temperature_variation")
    par11 = results["PAR-11"][0]
    assert par11.verdict is Verdict.WARN and par11.evidence["suspicious"] == 7
    assert results["_requests"] == [8]  # the greedy reference and seven samples


def test_honoured_temperature_passes_after_one_sample(server: ReferenceServer) -> None:
    results = _results(server.base_url, "temperature_variation")
    assert results["PAR-11"][0].verdict is Verdict.PASS and results["_requests"] == [2]


@pytest.mark.parametrize(("defect", "scenario", "clause", "verdict"), [
    ("top-p-ignored", "top_p_tiny", "PAR-13", Verdict.WARN),
    ("seed-ignored", "seed_sampling", "PAR-14", Verdict.WARN),
    ("silent-default-cap", "uncapped_count", "PAR-01", Verdict.WARN),
    ("tool-truncated-finish-tool-calls", "tools_capped", "FIN-02", Verdict.FAIL),
    ("parallel-tool-call-indices-collide", "stream_tools_parallel", "TOOL-07", Verdict.FAIL),
    ("tool-delta-name-repeated-empty", "stream_tools_required", "SSE-09", Verdict.WARN),
    ("delta-empty-tool-calls", "stream_basic", "SSE-09", Verdict.WARN),
])
def test_probe_catches_its_defect(server: ReferenceServer, defect: str, scenario: str, clause: str,
                                  verdict: Verdict) -> None:
    assert all(r.verdict is Verdict.PASS for r in _results(server.base_url, scenario).get(clause, []))
    assert _results(server.url_for(defect), scenario)[clause][0].verdict is verdict


@pytest.mark.parametrize(("defect", "verdict", "word"), [
    (None, Verdict.PASS, "honoured"),
    ("vendor-params-ignored", Verdict.WARN, "silently ignored"),
])
def test_vendor_parameters_honoured_or_silently_ignored(server: ReferenceServer, defect: str | None,
                                                        verdict: Verdict, word: str) -> None:
    url = server.url_for(defect) if defect else server.base_url
    rows = _results(url, "vendor_top_k", "vendor_repetition_penalty", profile="vendor")["PAR-12"]
    assert [r.verdict for r in rows] == [verdict, verdict]
    assert all(r.evidence["verdict"] == word for r in rows)


def test_rejected_vendor_parameters_are_a_warning(server: ReferenceServer) -> None:
    rows = _results(server.url_for("reject-vendor-params"), "vendor_top_k", profile="vendor")["PAR-12"]
    assert [r.verdict for r in rows] == [Verdict.WARN] and "HTTP 400" in rows[0].observed


def test_repetition_prompt_gives_the_penalty_something_to_remove() -> None:
    body = {"model": EMBEDDED_MODEL, "messages": [{"role": "user", "content": REPEAT_WORD}], "temperature": 0,
            "max_tokens": 30}
    words = generate(validate(body)).choices[0].content.split()
    penalised = generate(validate(dict(body, repetition_penalty=2))).choices[0].content.split()
    assert len(set(words)) < len(words) and len(set(penalised)) == len(penalised)


def test_ignoring_defects_still_reject_invalid_values() -> None:
    body = {"model": EMBEDDED_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert validates(body) and not validates(dict(body, max_tokens=0)) and not validates(dict(body, n=129))
