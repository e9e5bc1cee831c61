"""The official-SDK scenarios and checks (SDK-01..SDK-05) against the reference server and its defects."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from conformance.engine import Budget, Skip, Verdict
from conformance.profiles import get_profile
from conformance.sdk import client as sdk_client
from conformance.sdk import scenarios as sdk_scenarios
from conformance.sdk.evidence import Digest, ToolCallView
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute
from conformance.target import Context, Target
from conformance.wire.client import RawClient

KEY = f"sk-sdk-test-{secrets.token_hex(8)}"


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY) as running:
        yield running


def _sdk_verdicts(server: ReferenceServer, *defects: str) -> dict[str, tuple[Verdict, str]]:
    config = RunConfig(base_url=server.url_for(*defects), model=EMBEDDED_MODEL, api_key=KEY, clauses=("SDK",))
    return {r.key: (r.verdict, r.observed) for r in execute(config).results if r.clause.startswith("SDK")}


def test_reference_server_passes_every_sdk_check(server: ReferenceServer) -> None:
    verdicts = _sdk_verdicts(server)
    assert set(verdicts) == {
        "openai_sdk.create_consumed[sdk_chat]", "openai_sdk.stream_consumed[sdk_stream]",
        "openai_sdk.stream_helper_consumed[sdk_stream_helper]", "openai_sdk.parsed_matches_wire[sdk_chat]",
        "openai_sdk.parsed_matches_wire[sdk_stream]", "openai_sdk.parsed_matches_wire[sdk_stream_helper]",
        "openai_sdk.error_raises_bad_request[sdk_invalid_request]",
    }
    assert {v for v, _ in verdicts.values()} == {Verdict.PASS}


def test_tool_delta_without_index_crashes_the_stream_helper(server: ReferenceServer) -> None:
    verdicts = _sdk_verdicts(server, "tool-delta-without-index")
    verdict, observed = verdicts["openai_sdk.stream_helper_consumed[sdk_stream_helper]"]
    assert verdict is Verdict.FAIL
    assert observed.startswith("TypeError: list indices must be integers")
    assert verdicts["openai_sdk.parsed_matches_wire[sdk_stream_helper]"][0] is Verdict.SKIP
    assert verdicts["openai_sdk.stream_consumed[sdk_stream]"][0] is Verdict.PASS  # no tools there


def test_changing_tool_call_ids_are_concatenated_by_the_helper(server: ReferenceServer) -> None:
    verdict, observed = _sdk_verdicts(server, "tool-delta-id-changes")["openai_sdk.parsed_matches_wire[sdk_stream_helper]"]
    assert verdict is Verdict.FAIL
    assert observed.startswith("tool_calls[0].id: SDK 'call_")


def test_sdk_traffic_goes_through_the_raw_client_with_the_real_key(server: ReferenceServer) -> None:
    target = Target(server.base_url, EMBEDDED_MODEL, KEY)
    budget = Budget()
    with RawClient(target.base_url, api_key=KEY, budget=budget) as client:
        evidence = sdk_scenarios.sdk_chat(Context(client, target, get_profile("compatible"), budget))
    headers = {k.lower(): v for k, v in evidence.exchange.request.headers}
    assert evidence.exchange.status == 200
    assert headers["authorization"] == "Bearer ***"  # RawClient's key, redacted; never the SDK's placeholder
    assert headers["x-stainless-lang"] == "python"
    assert evidence.data["sdk"].error is None
    assert budget.requests == 1  # one SDK call, one charged request: no retries


def test_without_the_sdk_the_scenarios_skip(monkeypatch: pytest.MonkeyPatch, server: ReferenceServer) -> None:
    monkeypatch.setattr(sdk_scenarios, "sdk_version", lambda: None)
    target = Target(server.base_url, EMBEDDED_MODEL, KEY)
    with RawClient(target.base_url, api_key=KEY) as client, pytest.raises(Skip, match="pip install 'openai>=3.50,<4'"):
        sdk_scenarios.sdk_stream(Context(client, target, get_profile("compatible"), Budget()))


def test_digest_differences_name_each_field() -> None:
    sdk = Digest("hi", "tool_calls", (ToolCallView("call_1call_1", "f", "{}"),), (1, 2, 3))
    wire = Digest("hi", "stop", (ToolCallView("call_1", "f", "{}"),), (1, 2, 3))
    assert sdk.differences(wire) == ["finish_reason: SDK 'tool_calls', wire 'stop'",
                                     "tool_calls[0].id: SDK 'call_1call_1', wire 'call_1'"]
    assert wire.differences(wire) == []


@pytest.mark.parametrize(("version", "tested"), [("3.57.0", True), ("3.50.1", True), ("3.49.9", False), ("4.0.0", False), ("3.60.0rc1", True)])
def test_tested_version_range(version: str, tested: bool) -> None:
    assert sdk_client.version_tested(version) is tested
