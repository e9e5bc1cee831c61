"""A planted API key (and a header marked secret) never leaves the suite: not in the terminal
output, reports, transcripts, repro lines, or exception messages — even when the server echoes
it back in its headers, JSON bodies and SSE events."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.engine import Verdict
from conformance.evidence import Evidence
from conformance.options import header_line
from conformance.reports import json_report
from conformance.session import RunConfig, RunReport, execute
from conformance.settings import headers
from conformance.target import Context
from conformance.wire.client import Limits
from tests.hostile.servers import start_hostile

KEY = "sk-PLANTED-9f8e7d6c5b4a"
TOKEN = "tok-PLANTED-1a2b3c4d5e"  # the value of a header marked secret with --secret-header
PLANTED = (KEY, TOKEN)
LIMITS = Limits(connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0, max_body_bytes=256 * 1024, done_grace=0.3)


def _leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


def test_cli_never_prints_or_writes_the_key(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = dict(os.environ, PLANTED_KEY=KEY)
    with start_hostile("echo-key") as srv:
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--base-url", srv.base_url, "--model", "echo",
             "--api-key-env", "PLANTED_KEY", "--header", f"X-Tenant-Token: {TOKEN}", "--secret-header", "X-Tenant-Token",
             "--timeout", "2", "--read-timeout", "1", "--concurrency", "16", "--reports-dir", str(reports)],
            capture_output=True, text=True, env=env, timeout=180,
        )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert _leaks(done.stdout) == [] and _leaks(done.stderr) == []
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in files)
    for path in files:
        assert _leaks(path.read_bytes().decode("utf-8", "replace")) == [], path
    document = json.loads(next(p for p in files if p.name == "report.json").read_text())
    curls = [a["curl"] for a in document["artifacts"].values() if a.get("curl")]  # each exchange once
    # The key is referenced by the variable the user named; wrong-key probes show it redacted.
    assert any('Authorization: Bearer \'"$PLANTED_KEY"' in c for c in curls)
    assert all('"$PLANTED_KEY"' in c or "Authorization: Bearer ***" in c for c in curls if "Authorization" in c)
    assert any("X-Tenant-Token: ***" in c for c in curls)  # the secret header is sent, shown redacted
    assert "***" in json.dumps(document["provenance"]["models"])  # the echo in GET /models


def _run_with(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> RunReport:
    def crash(*args: object, **kwargs: object) -> object:
        raise RuntimeError(f"server said: invalid key {KEY} (token {TOKEN})\nsecond line {KEY}")

    monkeypatch.setattr(target, name, crash)
    with start_hostile("echo-key") as srv:
        return execute(RunConfig(base_url=srv.base_url, model="echo", api_key=KEY, headers=(("X-Tenant-Token", TOKEN),),
                                 secret_headers=("x-tenant-token",), limits=LIMITS, concurrency=16, fuzz_examples=0,
                                 scenarios=("chat_basic", "stream_basic"), command=["conformance", "run"]))


@pytest.mark.parametrize(("target", "name", "said"), [(Context, "send", "scenario"), (Evidence, "require_ok", "check")])
def test_crash_messages_are_redacted(monkeypatch: pytest.MonkeyPatch, target: object, name: str, said: str) -> None:
    report = _run_with(monkeypatch, target, name)
    crashed = [r for r in report.results if r.verdict is Verdict.ERROR and r.note.startswith(said) and "crashed" in r.note]
    assert crashed, sorted({r.note for r in report.results})
    for result in crashed:
        assert "RuntimeError: server said: invalid key *** (token ***)" in result.note
        assert "\n" not in result.note
    assert _leaks(json.dumps([r.to_dict() for r in report.results], default=str)) == []
    assert _leaks(json.dumps(json_report.build(report))) == []


def test_header_options_parse_and_reject() -> None:
    assert headers(tuple(map(header_line, ["X-A: 1", "x-b:two words "]))) == (("X-A", "1"), ("x-b", "two words"))
    for bad in [f"X-Token {TOKEN}", f": {TOKEN}", f"Bad Name: {TOKEN}", f"X-Token: {TOKEN}\r\nX-Injected: 1"]:
        with pytest.raises(argparse.ArgumentTypeError) as info:  # argparse prints it as is
            header_line(bad)
        assert "is not 'Name: value'" in str(info.value) and _leaks(str(info.value)) == []
