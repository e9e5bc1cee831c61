"""The capability manifest: loading, defaults per profile, and reconciliation against a live target."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import capabilities
from conformance.capabilities import CAPABILITIES, ManifestError, default_for, load, parse
from conformance.clauses import CLAUSES
from conformance.engine import Verdict
from conformance.selftest import API_KEY
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "capabilities.yaml"


@pytest.fixture(scope="module")
def server() -> ReferenceServer:
    with ReferenceServer(api_key=API_KEY) as running:
        yield running


def _run(url: str, manifest: Path | None, *scenarios: str) -> dict[str, list]:
    config = RunConfig(base_url=url, model=EMBEDDED_MODEL, api_key=API_KEY, scenarios=scenarios,
                       capabilities=str(manifest) if manifest else None, command=["test"])
    out: dict[str, list] = {}
    for r in execute(config).results:
        out.setdefault(r.clause, []).append(r)
    return out


def _manifest(tmp_path: Path, text: str, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"manifest{suffix}"
    path.write_text(text)
    return path


def test_every_capability_names_known_clauses() -> None:
    assert all(c in CLAUSES for cap in CAPABILITIES.values() for c in cap.clauses)


def test_example_manifest_loads() -> None:
    manifest = load(EXAMPLE)
    assert manifest.claimed("tools") and not manifest.claimed("json_schema")
    assert manifest.models == ("example-chat-8b",) and manifest.false_alarm == 0.01


def test_logit_bias_probe_is_read_and_optional() -> None:
    probe = load(EXAMPLE).logit_bias_probe
    assert probe is not None and probe.token_id == 12366 and probe.text == " Paris" and "France" in probe.request_prompt
    assert parse({}, source="empty").logit_bias_probe is None
    bare = parse({"probes": {"logit_bias": {"token_id": 7, "text": "cat"}}}, source="bare").logit_bias_probe
    assert bare is not None and bare.request_prompt == 'Reply with the word "cat" and nothing else.'


def test_embedded_run_uses_the_reference_manifest_and_its_probe() -> None:
    results = execute(RunConfig(scenarios=("logit_bias_ban",), command=["test"]))
    assert [(r.clause, r.verdict) for r in results.results if r.clause == "PAR-15"] == [("PAR-15", Verdict.PASS)]
    assert results.provenance["capabilities"]["probes"]["logit_bias"]["token_id"] == 134


def test_without_a_probe_the_logit_bias_scenario_yields_nothing(server: ReferenceServer) -> None:
    assert _run(server.base_url, None, "logit_bias_ban") == {}


def test_toml_manifest_and_unlisted_means_not_claimed(tmp_path: Path) -> None:
    manifest = load(_manifest(tmp_path, '[capabilities]\ntools = true\n\n[statistics]\nfalse_alarm = 0.05\n', ".toml"))
    assert manifest.claimed("tools") and not manifest.claimed("logprobs") and manifest.false_alarm == 0.05


@pytest.mark.parametrize("text", [
    "capabilities: {toolz: true}",
    "capabilities: {tools: yes-please}",
    "models: my-model",
    "statistics: {false_alarm: 0.7}",
    "colour: blue",
    "[1, 2]",
    "probes: {top_k: {}}",
    "probes: {logit_bias: {token_id: -1, text: x}}",
    "probes: {logit_bias: {token_id: 5, text: ' '}}",
    "probes: {logit_bias: {token_id: 5, text: x, bias: -100}}",
])
def test_bad_manifests_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ManifestError):
        load(_manifest(tmp_path, text))


def test_profiles_claim_openai_or_the_vendor_page() -> None:
    assert default_for("compatible").claimed("tools") and not default_for("compatible").claimed("vendor_params")
    vendor = default_for("vendor")
    assert vendor.claimed("vendor_params") and vendor.explicit and "parameter list" in vendor.notes["tools"]
    with pytest.raises(KeyError):
        vendor.claimed("telepathy")
    assert parse({}, source="empty").claims == {}


def test_unclaimed_refusal_is_skipped_not_failed(server: ReferenceServer, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "capabilities: {tools: false}")
    url = server.url_for("reject-tool-choice-required")
    results = _run(url, manifest, "tools_required")
    assert {r.verdict for rs in results.values() for r in rs} == {Verdict.SKIP}
    assert "not offered" in results["TOOL-01"][0].note


def test_claimed_refusal_fails_the_probe_clause(server: ReferenceServer, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "capabilities: {tools: true}")
    results = _run(server.url_for("reject-tool-choice-required"), manifest, "tools_required")
    assert [r.verdict for r in results["TOOL-01"]] == [Verdict.FAIL]
    assert [r.verdict for r in results["CAP-01"]] == [Verdict.INFO]  # MAY: the disagreement is recorded
    assert results["TOOL-04"][0].verdict is Verdict.SKIP


def test_unclaimed_but_working_is_info_and_still_judged(server: ReferenceServer, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "capabilities: {tools: false}")
    results = _run(server.url_for("tool-arguments-object"), manifest, "tools_required")
    assert results["CAP-01"][0].verdict is Verdict.INFO and "does not claim" in results["CAP-01"][0].note
    assert results["TOOL-04"][0].verdict is Verdict.FAIL  # "unsupported" never hides a broken MUST


def test_without_a_manifest_no_reconciliation_rows(server: ReferenceServer) -> None:
    results = _run(server.base_url, None, "tools_required")
    assert "CAP-01" not in results and results["TOOL-01"][0].verdict is Verdict.PASS


def test_refusals_exclude_auth_and_quota() -> None:
    class _Ex:
        def __init__(self, status: int | None) -> None:
            self.status = status

    assert capabilities.is_refusal(_Ex(400)) and capabilities.is_refusal(_Ex(422))  # type: ignore[arg-type]
    assert not any(capabilities.is_refusal(_Ex(s)) for s in (None, 200, 401, 429, 500))  # type: ignore[arg-type]
