"""Ctrl-C / SIGTERM stop a run cleanly: the process exits promptly with code 1, a partial report
marked interrupted is still written, and the embedded server the suite started is gone —
wherever the interrupt lands (server start, preflight, the run itself)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from conformance import session
from conformance.servers import launcher
from conformance.servers.launcher import ReferenceServer
from conformance.session import RunConfig, execute

KEY = "sk-interrupt-0011223344"


def _start_cli(args: list[str], reports: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, INTERRUPT_KEY=KEY)
    cmd = [sys.executable, "-m", "conformance.cli", "run", "--api-key-env", "INTERRUPT_KEY", "--timeout", "20",
           "--reports-dir", str(reports), "--quiet", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_sigterm_handler(pid: int, limit_s: float = 60.0) -> None:
    """Wait until the CLI has installed its SIGTERM handler (Linux: the SigCgt mask in /proc), so a
    loaded machine that is slow to start Python does not turn the test into a race with start-up."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return  # no /proc: fall back to the fixed delay alone
        caught = next((int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:")), 0)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.05)


def _terminate_after(process: subprocess.Popen[str], seconds: float) -> tuple[int, float, str]:
    _wait_for_sigterm_handler(process.pid)
    time.sleep(seconds)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, time.monotonic() - sent, stderr


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def test_sigterm_against_a_slow_target_writes_a_partial_report(tmp_path: Path) -> None:
    with ReferenceServer(api_key=KEY, latency_ms=3000) as server:
        process = _start_cli(["--base-url", server.base_url, "--model", "reference-model"], tmp_path)
        code, took, stderr = _terminate_after(process, 1.5)
    assert code == 1, stderr
    assert took < 5.0, f"exit took {took:.1f} s after SIGTERM"
    assert "Traceback" not in stderr
    document = json.loads((tmp_path / "latest" / "report.json").read_text())
    assert document["run"]["interrupted"] is True
    assert document["summary"]["status"] == "partial"


def test_sigterm_stops_the_embedded_server(tmp_path: Path) -> None:
    process = _start_cli(["--defect", "sse-hold-open-after-done"], tmp_path)
    code, took, stderr = _terminate_after(process, 2.5)
    assert code == 1, stderr
    assert took < 8.0, f"exit took {took:.1f} s after SIGTERM"
    assert "Traceback" not in stderr
    document = json.loads((tmp_path / "latest" / "report.json").read_text())
    assert document["run"]["interrupted"] is True
    assert document["summary"]["status"] in ("partial", "non-conformant")
    assert document["provenance"]["embedded_server"] is True
    assert not _accepts(document["provenance"]["target_url"])


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[str]]:
    """Every reference-server process the launcher starts during the test."""
    processes: list[subprocess.Popen[str]] = []
    real = subprocess.Popen

    def recording(*args: object, **kwargs: object) -> subprocess.Popen[str]:
        process = real(*args, **kwargs)  # type: ignore[call-overload]
        processes.append(process)
        return process

    monkeypatch.setattr(launcher.subprocess, "Popen", recording)
    return processes


def _interrupt(*args: object, **kwargs: object) -> object:
    raise KeyboardInterrupt


def _assert_interrupted_and_stopped(report: session.RunReport, spawned: list[subprocess.Popen[str]]) -> None:
    assert report.interrupted and report.results == []
    assert spawned and all(p.poll() is not None for p in spawned)


def test_interrupt_while_the_embedded_server_starts(monkeypatch: pytest.MonkeyPatch,
                                                    spawned: list[subprocess.Popen[str]]) -> None:
    class InterruptedQueue(queue.Queue[str]):
        def get(self, block: bool = True, timeout: float | None = None) -> str:
            raise KeyboardInterrupt

    monkeypatch.setattr(launcher, "queue", SimpleNamespace(Queue=InterruptedQueue, Empty=queue.Empty))
    report = execute(RunConfig(command=["conformance", "run"]))
    _assert_interrupted_and_stopped(report, spawned)


def test_interrupt_during_preflight(monkeypatch: pytest.MonkeyPatch, spawned: list[subprocess.Popen[str]]) -> None:
    monkeypatch.setattr(session, "preflight", _interrupt)
    report = execute(RunConfig(api_key=KEY, command=["conformance", "run", "--api-key-env", "X"]))
    _assert_interrupted_and_stopped(report, spawned)
    assert report.target.embedded and KEY not in json.dumps(report.provenance)


def test_interrupt_while_the_suite_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.suite

    monkeypatch.setattr(conformance.suite, "load_suite", _interrupt)
    report = execute(RunConfig(api_key=KEY, command=["conformance", "run"]))
    assert report.interrupted and report.results == [] and report.requests == 0


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (Linux: the SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.fixture(scope="module")
def slow_target() -> Iterator[str]:
    """A target whose every answer takes 3 s: a run against it is still going when interrupted."""
    with ReferenceServer(api_key=KEY, latency_ms=3000) as server:
        yield server.base_url


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("after", [0.0, 0.3, 0.6])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupt_right_at_the_start_gives_no_traceback(tmp_path: Path, signum: int, after: float,
                                                              slow_target: str) -> None:
    """From the moment the CLI handles SIGTERM (its first statement), any interrupt -- while the
    modules and the suite load, or once the run has begun -- ends with exit 1, no traceback and a
    partial report."""
    process = _start_cli(["--base-url", slow_target, "--model", "reference-model", "--scenario", "chat_basic"], tmp_path)
    try:
        while not _handles_sigterm(process.pid) and process.poll() is None:
            time.sleep(0.005)
        time.sleep(after)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 1, stderr
    # Held until the run's guard delivers it, the interrupt always yields a partial report.
    assert json.loads((tmp_path / "latest" / "report.json").read_text())["run"]["interrupted"] is True


def test_generation_stops_after_an_interrupt_in_the_schemathesis_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generation stops at once: the worker still generating finds the client closed at its next
    request and ends, instead of generating and shrinking on after the run is over."""
    from conformance.wire.client import RawClient

    runners: list[session.Runner] = []
    attempts: list[bool] = []  # per attempt: whether it began after the run stopped
    real = RawClient._attempt

    class Recorded(session.Runner):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            runners.append(self)

    def counting(self: RawClient, *args: object) -> object:
        attempts.append(self._closed)
        if len(attempts) == 40:
            runners[0].cancel()  # what Ctrl-C does to the runner, without a signal
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(session, "Runner", Recorded)
    monkeypatch.setattr(RawClient, "_attempt", counting)
    report = execute(RunConfig(profile="certify", scenarios=("schemathesis_phases",), command=["conformance", "run"]))
    assert report.interrupted
    workers = [t for t in threading.enumerate() if t.name.startswith("scenario")]
    for worker in workers:
        worker.join(timeout=120)  # a liveness bound, not a timing assertion
    assert not any(w.is_alive() for w in workers)
    # Only a request already on its way when the run stopped can still go out: one per worker at most.
    assert len(attempts) >= 40 and attempts.count(True) <= RunConfig().concurrency
