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
import time
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
