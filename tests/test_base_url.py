"""A base URL carrying a query (Azure's `?api-version=…`) keeps it on every request, and its
query values and userinfo count as secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.reports import json_report
from conformance.servers.launcher import ReferenceServer
from conformance.session import RunConfig, execute
from conformance.wire.client import RawClient

KEY = "sk-base-url-0a1b2c3d4e"
VERSION = "2024-10-21-preview"


def test_url_keeps_the_query_after_the_path() -> None:
    client = RawClient(f"http://127.0.0.1:9/openai/v1/?api-version={VERSION}")
    assert client.url("/chat/completions") == f"http://127.0.0.1:9/openai/v1/chat/completions?api-version={VERSION}"
    assert client.url("models?limit=2") == f"http://127.0.0.1:9/openai/v1/models?limit=2&api-version={VERSION}"
    assert RawClient("http://127.0.0.1:9/v1/").url("models") == "http://127.0.0.1:9/v1/models"


def test_every_request_of_a_run_carries_the_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    attempt = RawClient._attempt
    monkeypatch.setattr(RawClient, "_attempt", lambda self, request, *a: sent.append(str(request.url)) or attempt(self, request, *a))
    with ReferenceServer(api_key=KEY) as server:
        report = execute(RunConfig(base_url=f"{server.base_url}?api-version={VERSION}", model="reference-model",
                                   api_key=KEY, profile="smoke", command=["conformance", "run"]))
    # Every request (the SDK's too) reached the right path: a mangled URL would 404.
    assert report.results and all(r.verdict.value == "PASS" for r in report.results if r.level == "MUST")
    assert len(sent) == report.requests and all(u.endswith(f"?api-version={VERSION}") for u in sent), sent
    text = (json_report.write(report, tmp_path) / "report.json").read_text()
    assert VERSION not in text and json.loads(text)["provenance"]["target_url"].endswith("/v1?api-version=***")
