"""The whole suite against every hostile target: a target that stalls every exchange stops the
run after one wave of requests, every result carries a verdict and a one-line reason, the
target's fault shows up as FAIL, nothing escapes, memory stays bounded, report.json is written and
valid, and the CLI exits 1 (or 2 when the preflight cannot reach the target) without a traceback.

Nothing here reads a clock: each target's exchanges can end in only one way (the server, a cap,
or the one deadline its limits leave), so a loaded machine gets the same results as an idle one;
the run's wall time is measured by bench/hostile_targets.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from conformance.engine import Verdict
from conformance.reports import json_report, render
from conformance.session import REFERENCE_CAPABILITIES, RunConfig, RunReport, TargetUnreachable, execute, stall_limit
from conformance.wire.client import Limits
from tests.hostile.servers import start_hostile

KEY = "sk-hostile-run-5a4b3c2d1e"
CAP = 1024 * 1024
# Deadlines far beyond any answer, however loaded the machine: only the server or a cap ends an exchange.
LIMITS = Limits(connect_timeout=30.0, read_timeout=30.0, total_timeout=60.0, max_body_bytes=CAP, max_stream_events=500,
                done_grace=0.3)
# Targets that only a deadline stops get the one deadline that can end their exchanges first.
DEADLINES = {
    "keepalive": Limits(read_timeout=2.0, total_timeout=2.0, max_body_bytes=CAP, max_stream_events=500),  # bytes keep coming
    "drip": Limits(read_timeout=2.0, total_timeout=2.0, max_body_bytes=CAP),
    "silent": Limits(read_timeout=1.0, total_timeout=60.0, max_body_bytes=CAP),  # no byte ever comes
}
CONCURRENCY = 16
# A target that stalls every exchange: the preflight, the streak that trips the stall breaker,
# the exchanges already in flight when it tripped, and the two further requests of the
# connection probe, whose private pool keeps its own streak (RawClient.private_pool): when it
# starts in the first wave, the shared breaker does not stop it.
STALLED_REQUESTS = 1 + stall_limit(CONCURRENCY) + CONCURRENCY + 2
PEAK_BYTES = 80 * CAP  # imports included; the report shares one rendering of each transcript per scenario

# kind -> the clause that must FAIL (the target's fault, judged where it shows).
EXPECT_FAIL = {
    "html": "HTTP-02",
    "endless-body": "HTTP-01",
    "endless-stream": "HTTP-01",
    "keepalive": "HTTP-01",
    "huge-json": "HTTP-01",
    "drip": "HTTP-01",
    "reset": "HTTP-01",
    "invalid-utf8-json": "HTTP-02",
    "invalid-utf8-sse": "SSE-15",  # it answers every request with that stream, even non-stream ones
    "deep-json": "HTTP-02",
    "redirect": "HTTP-01",
    "short-body": "HTTP-01",
    "silent": "HTTP-01",
    "close-after-headers": "HTTP-01",
    "gzip-bomb": "HTTP-01",
}
# kind -> what ends every one of its exchanges (the stall breaker names it).  A cap counts like a
# deadline: an endless stream stops the run after one wave instead of being read in every scenario.
STALLS = {
    "endless-body": "body-too-large",
    "endless-stream": "too-many-events",
    "huge-json": "body-too-large",
    "gzip-bomb": "body-too-large",
    "keepalive": "total-timeout",
    "drip": "total-timeout",
    "silent": "read-timeout",
}
UNREACHABLE = ("garbage", "close-immediately")


def _config(base_url: str, **overrides: object) -> RunConfig:
    # fuzz_examples=0: the generated-traffic scenarios SKIP here (they run in test_fuzz_is_bounded_by_the_stall_breaker).
    # The reference's own manifest, as the embedded run uses: its logit_bias probe runs here too.
    values: dict[str, object] = {"base_url": base_url, "model": "m", "api_key": KEY, "limits": LIMITS,
                                 "concurrency": CONCURRENCY, "fuzz_examples": 0, "capabilities": str(REFERENCE_CAPABILITIES),
                                 "command": ["conformance", "run"]}
    values.update(overrides)
    return RunConfig(**values)  # type: ignore[arg-type]


def _run(config: RunConfig) -> tuple[RunReport, int]:
    tracemalloc.start()
    try:
        report = execute(config)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return report, peak


def _assert_stalled(report: RunReport, ended_by: str) -> None:
    """The run stopped sending after one wave of exchanges ended by `ended_by`, and says so."""
    assert report.requests <= STALLED_REQUESTS, f"{report.requests} requests sent"
    stalled = [r for r in report.results if r.verdict is Verdict.ERROR and "target stalled" in r.note]
    assert stalled and all(ended_by in r.note for r in stalled), stalled[:1]


def _assert_every_result_explained(report: RunReport) -> None:
    assert report.results
    for r in report.results:
        assert isinstance(r.verdict, Verdict)
        if r.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.SKIP):
            reason = r.observed or r.note
            assert reason.strip(), f"{r.clause}/{r.scenario}: {r.verdict.value} without a reason"
            assert "\n" not in r.note and "\n" not in r.observed, f"{r.clause}/{r.scenario}: multi-line reason"


def _assert_report_written(report: RunReport, tmp_path: Path) -> dict:
    run_dir = json_report.write(report, tmp_path)
    text = (run_dir / "report.json").read_text(encoding="utf-8")
    assert KEY not in text
    render.render_run(run_dir)
    # Each exchange is rendered once, so the other formats stay within the size of report.json.
    size = len(text.encode("utf-8"))
    assert (run_dir / "report.html").stat().st_size < 1.5 * size
    assert sum(p.stat().st_size for p in (run_dir / "transcripts").rglob("*") if p.is_file()) < 1.5 * size
    return json.loads(text)


@pytest.fixture(scope="module")
def reference_scenarios() -> set[str]:
    """The scenarios that report results against the (embedded) reference server."""
    report = execute(RunConfig(limits=LIMITS, concurrency=CONCURRENCY, fuzz_examples=0, command=["conformance", "run"]))
    return {r.scenario for r in report.results}


@pytest.mark.parametrize("kind", sorted(EXPECT_FAIL))
def test_whole_suite_against_hostile_target(kind: str, tmp_path: Path, reference_scenarios: set[str]) -> None:
    with start_hostile(kind) as srv:
        report, peak = _run(_config(srv.base_url, limits=DEADLINES.get(kind, LIMITS)))
    if kind in STALLS:
        _assert_stalled(report, STALLS[kind])
    assert peak < PEAK_BYTES, f"{kind}: peak traced memory {peak / CAP:.0f} MiB"
    assert not report.interrupted
    _assert_every_result_explained(report)
    failed = {r.clause for r in report.results if r.verdict is Verdict.FAIL}
    assert EXPECT_FAIL[kind] in failed, f"{kind}: FAILs {sorted(failed)}"
    # Unaffected checks still run: every scenario judged against the reference server is judged here too.
    assert reference_scenarios <= {r.scenario for r in report.results}
    document = _assert_report_written(report, tmp_path)
    assert document["summary"]["status"] == "non-conformant"
    assert document["run"]["interrupted"] is False


@pytest.mark.parametrize("kind", UNREACHABLE)
def test_unreachable_at_preflight(kind: str) -> None:
    with start_hostile(kind) as srv, pytest.raises(TargetUnreachable) as info:
        execute(_config(srv.base_url))
    assert srv.connections == 1  # no second try: what came back was not HTTP, and no timeout was waited for
    assert "timeout" not in str(info.value)
    assert "\n" not in str(info.value) and KEY not in str(info.value)


def test_fuzz_is_bounded_by_the_stall_breaker() -> None:
    """With generated traffic on, a target that never answers still costs one wave of timeouts:
    once a wave of exchanges has timed out, nothing more is sent and the rest is ERROR."""
    with start_hostile("silent") as srv:
        report, _ = _run(_config(srv.base_url, fuzz_examples=20, limits=DEADLINES["silent"]))
    _assert_stalled(report, "read-timeout")
    assert srv.connections == report.requests
    assert any(r.clause == "HTTP-01" and r.verdict is Verdict.FAIL for r in report.results)


def test_redirect_is_not_followed_to_the_other_host() -> None:
    with start_hostile("html") as other:
        location = f"http://localhost:{other.port}/v1/chat/completions"
        with start_hostile("redirect", location=location) as srv:
            report, _ = _run(_config(srv.base_url))
        assert other.connections == 0
    observed = [r.observed for r in report.results if r.clause == "HTTP-01" and r.verdict is Verdict.FAIL]
    assert any("redirect to host localhost (not followed)" in o for o in observed)


def _cli(base_url: str, reports: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOSTILE_KEY=KEY)
    cmd = [sys.executable, "-m", "conformance.cli", "run", "--base-url", base_url, "--model", "m",
           "--api-key-env", "HOSTILE_KEY", "--concurrency", str(CONCURRENCY),
           "--reports-dir", str(reports), "--quiet"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(("kind", "code"), [("short-body", 1), ("garbage", 2)])
def test_cli_exit_codes(kind: str, code: int, tmp_path: Path) -> None:
    with start_hostile(kind) as srv:
        done = _cli(srv.base_url, tmp_path)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert KEY not in done.stdout + done.stderr
    latest = tmp_path / "latest" / "report.json"
    if code == 2:
        assert "target unreachable" in done.stderr and not latest.exists()
    else:
        assert json.loads(latest.read_text())["summary"]["status"] == "non-conformant"


def test_a_target_that_stays_rate_limited_gets_errors_not_failures() -> None:
    """429 is not non-conformance: once the bounded retries are spent, what could not be judged is an ERROR."""
    with start_hostile("rate-limited") as server:
        report, _ = _run(_config(server.base_url, scenarios=("chat_basic", "stream_basic", "temperature_too_high", "sdk_chat")))
    verdicts = {r.verdict for r in report.results}
    assert Verdict.FAIL not in verdicts and Verdict.ERROR in verdicts
    assert all("rate limited: HTTP 429 after 3 attempt(s)" in r.note for r in report.results if r.verdict is Verdict.ERROR)
