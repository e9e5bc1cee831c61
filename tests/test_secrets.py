"""A planted API key (and a header marked secret) never leaves the suite: not in the terminal
output, reports, transcripts, repro lines, or exception messages — even when the server echoes
it back in its headers, JSON bodies and SSE events."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.engine import Verdict
from conformance.evidence import Evidence
from conformance.options import header_line
from conformance.reports import json_report
from conformance.session import RunConfig, RunReport, execute
from conformance.settings import headers
from conformance.target import Context
from conformance.wire.client import Limits
from conformance.wire.redact import Redactor
from conformance.wire.redact_stream import redact_split_secrets
from conformance.wire.sse import SSEEvent
from tests.hostile.servers import start_hostile

KEY = "sk-PLANTED-9f8e7d6c5b4a"
TOKEN = "tok-PLANTED-1a2b3c4d5e"  # the value of a header marked secret with --secret-header
PLANTED = (KEY, TOKEN)
# The echo servers answer at once: the default deadlines, which no answer comes near even on a loaded machine.
LIMITS = Limits(max_body_bytes=256 * 1024, done_grace=0.3)


def _leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


def test_cli_never_prints_or_writes_the_key(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    env = dict(os.environ, PLANTED_KEY=KEY)
    with start_hostile("echo-key") as srv:
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "--base-url", srv.base_url, "--model", "echo",
             "--api-key-env", "PLANTED_KEY", "--header", f"X-Tenant-Token: {TOKEN}", "--secret-header", "X-Tenant-Token",
             "--concurrency", "16", "--reports-dir", str(reports)],
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


# --- every spelling, every position: redact first, then cut ----------------------------------------

ENCODED_KEY = "sk-PLANTED/9f8e+7d6c5b4aQ"  # "/" and "+" have JSON and URL spellings of their own
URL_PASSWORD, URL_QUERY = "pw-PLANTED-77aa66bb55", "qv-PLANTED-11cc22dd33"
# Any 8 characters of a planted secret, in any spelling, count as a leak.
_FRAGMENT = 8


def _spellings(secret: str) -> list[str]:
    from urllib.parse import quote, quote_plus
    return [secret, secret.replace("/", "\\/"), "".join(f"\\u{ord(c):04X}" for c in secret),
            "".join(f"\\u{ord(c):04x}" for c in secret), quote(secret, safe=""), quote_plus(secret),
            re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe=""))]


def _fragment_leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    found = []
    for secret in secrets:
        for spelled in _spellings(secret):
            found += [spelled[i : i + _FRAGMENT] for i in range(len(spelled) - _FRAGMENT + 1) if spelled[i : i + _FRAGMENT] in text]
    return found


def _run_cli(base_url: str, reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ECHO_KEY_VAR=ENCODED_KEY)
    scenarios = [a for s in ("chat_basic", "stream_basic", "sdk_chat", "sdk_stream") for a in ("--scenario", s)]
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--base-url", base_url, "--model", "echo",
         "--api-key-env", "ECHO_KEY_VAR", "--reports-dir", str(reports),
         *scenarios, *extra],
        capture_output=True, text=True, env=env, timeout=300,
    )


def _assert_nothing_leaks(done: subprocess.CompletedProcess[str], reports: Path, secrets: tuple[str, ...]) -> None:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert _fragment_leaks(done.stdout + done.stderr, secrets) == []
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert {"report.json", "report.html", "junit.xml", "summary.md"} <= {p.name for p in files}
    assert any(p.parent.name == "transcripts" for p in files)
    for path in files:
        assert _fragment_leaks(path.read_bytes().decode("utf-8", "replace"), secrets) == [], path


@pytest.mark.parametrize("mode", ["escaped", "split", "cut", "cap", "bad-header"])
def test_no_spelling_or_piece_of_the_key_leaks(mode: str, tmp_path: Path) -> None:
    """The key echoed JSON-escaped, percent-encoded, three characters per SSE event, across every
    cut a report makes, across the body cap and inside a malformed header line: no 8 characters
    of it, in any spelling, reach the terminal or any output file."""
    with start_hostile("echo-key-encoded", mode=mode) as srv:
        done = _run_cli(srv.base_url, tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    _assert_nothing_leaks(done, tmp_path, (ENCODED_KEY,))


def test_credentials_in_the_base_url_are_secrets(tmp_path: Path) -> None:
    with start_hostile("echo-key") as srv:
        url = f"http://user:{URL_PASSWORD}@{srv.host}:{srv.port}/v1?api-key={URL_QUERY}"
        done = _run_cli(url, tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    _assert_nothing_leaks(done, tmp_path, (URL_PASSWORD, URL_QUERY, ENCODED_KEY))
    document = json.loads((tmp_path / "latest" / "report.json").read_text())
    assert document["provenance"]["target_url"] == f"http://***@{srv.host}:{srv.port}/v1?api-key=***"


_FILLER = st.text(alphabet="abcdefghij klmnop.,:", max_size=40)


@settings(max_examples=300, deadline=None)
@given(before=_FILLER, after=_FILLER, spelling=st.integers(0, 6), limit=st.integers(0, 200))
def test_cut_never_leaves_a_piece_of_a_secret(before: str, after: str, spelling: int, limit: int) -> None:
    """Property: whatever the cut position, a cut text holds no character of the secret (the filler
    alphabet shares none with any spelling of it)."""
    secret = "QZ7/K+9XW2RT"
    redactor = Redactor([secret])
    text = before + _spellings(secret)[spelling] + after
    out = redactor.cut(text, limit)
    assert len(out) <= max(limit, 0) or limit == 0
    assert set(out) <= set("abcdefghij klmnop.,:*…"), out


@settings(max_examples=300, deadline=None)
@given(before=_FILLER, position=st.integers(1, 11))
def test_a_text_cut_before_redaction_loses_the_piece_at_its_edge(before: str, position: int) -> None:
    """Property: text that arrived cut mid-secret (a capped body) keeps no piece of it at its end,
    and text that starts mid-secret none at its start."""
    secret = "QZ7/K+9XW2RT"
    redactor = Redactor([secret])
    assert set(redactor.edges(redactor.text(before + secret[:position]))) <= set("abcdefghij klmnop.,:*")
    tail = redactor.edges(redactor.text(secret[position:] + before), start=True, end=False)
    assert set(tail) <= set("abcdefghij klmnop.,:*")


def test_a_secret_split_across_sse_events_is_redacted_in_each_event() -> None:
    secret = "sk-SPLIT-0123456789"
    redactor = Redactor([secret])
    pieces = [secret[i : i + 3] for i in range(0, len(secret), 3)]
    events = [SSEEvent(data=json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}), event=None, id=None, at=0.0,
                       raw=b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": p}}]}).encode() + b"\n\n")
              for p in ["hello ", *pieces, " bye"]]
    out = redact_split_secrets(events, redactor)
    joined = "".join(json.loads(e.data)["choices"][0]["delta"]["content"] for e in out)
    assert joined.startswith("hello ***") and joined.endswith(" bye") and "SPLIT" not in joined
    assert all(p.encode() not in e.raw for e in out[1:-1] for p in pieces if len(p) == 3)
    assert out[0] is events[0] and out[-1] is events[-1]  # events without a piece are untouched
