"""Ctrl-C / SIGTERM stop a command cleanly wherever they land -- while its modules load, while the
embedded server starts, during the preflight, the run or the writing of its report: a run exits 1
with a partial report marked interrupted (a command that had not begun a run: one line, exit 130),
never a traceback; the embedded server the suite started is gone; nothing is sent after the
interrupt but what was already on its way.  Every interrupt lands at a named point (a hook on an
import or on the Nth request, see tests/interrupt_hook, or a target holding its answers), never
after a sleep, so the same thing is tested on an idle and on a loaded machine."""

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from conformance import session
from conformance.servers import launcher
from conformance.servers.launcher import ReferenceServer
from conformance.session import RunConfig, execute

KEY = "sk-interrupt-0011223344"
HOOK = Path(__file__).parent / "interrupt_hook"
SCRIPT = Path(sys.executable).with_name("conformance")  # the installed command, beside the venv's python
ENTRIES = {"python -m conformance": [sys.executable, "-m", "conformance"], "conformance": [str(SCRIPT)]}
NOWHERE = "http://127.0.0.1:9/v1"  # never contacted: every run below is interrupted before its preflight
LIVENESS_S = 300  # a hang fails the test instead of blocking CI; not a timing assertion


def _command(args: list[str], reports: Path, *, at: str | None = None, entry: str = "python -m conformance",
             **popen: object) -> subprocess.Popen[str]:
    """The command as an operator starts it; `at` names where the hook interrupts it."""
    if entry == "conformance" and not SCRIPT.exists():
        pytest.skip("the conformance script is not installed beside this python")
    env = dict(os.environ, INTERRUPT_KEY=KEY)
    if at is not None:
        env.update(INTERRUPT_AT=at, PYTHONPATH=os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH")])))
    cmd = [*ENTRIES[entry], *args]
    if args[0] == "run":
        cmd += ["--api-key-env", "INTERRUPT_KEY", "--reports-dir", str(reports), "--quiet"]
    # As from a terminal: a test run started in the background (`cmd &`) inherits SIGINT ignored, and
    # the command rightly keeps a signal ignored that it found ignored.
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,  # type: ignore[call-overload]
                            preexec_fn=_default_signals, **popen)


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=LIVENESS_S)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, out, err


def _report(reports: Path) -> dict:
    return json.loads((reports / "latest" / "report.json").read_text())


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


# Where the command's modules load: the command module itself (before the fix, loaded before
# interrupts were held), the subcommands, and the suite (loaded inside the run's guard).
LOADING = [
    ("python -m conformance", "SIGTERM", "conformance.cli"),
    ("python -m conformance", "SIGINT", "conformance.cli"),
    ("conformance", "SIGTERM", "conformance.cli"),
    ("conformance", "SIGINT", "conformance.cli"),
    ("python -m conformance", "SIGTERM", "conformance.commands.run"),
    ("python -m conformance", "SIGINT", "conformance.suite"),
]


@pytest.mark.parametrize(("entry", "signame", "module"), LOADING)
def test_an_interrupt_while_the_command_loads_gives_a_partial_report(tmp_path: Path, entry: str, signame: str,
                                                                     module: str) -> None:
    process = _command(["run", "--base-url", NOWHERE, "--model", "m"], tmp_path, at=f"{signame} import {module}", entry=entry)
    code, out, err = _finish(process)
    assert code == 1 and "Traceback" not in err, out + err
    document = _report(tmp_path)
    assert document["run"]["interrupted"] is True and document["run"]["requests"] == 0
    assert document["summary"]["status"] == "partial"


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_an_interrupt_before_a_command_does_anything_is_one_line(tmp_path: Path, signame: str) -> None:
    code, out, err = _finish(_command(["list-checks"], tmp_path, at=f"{signame} import conformance.cli", entry="conformance"))
    assert (code, out) == (130, "")
    assert err == "interrupted: stopped before a report could be written\n"


@pytest.fixture(scope="module")
def reference() -> Iterator[str]:
    with ReferenceServer(api_key=KEY) as server:
        yield server.base_url


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_an_interrupt_mid_run_writes_a_partial_report(tmp_path: Path, reference: str, signame: str) -> None:
    # The 5th request: past the preflight's two, with most of the default profile still to send.
    code, out, err = _finish(_command(["run", "--base-url", reference, "--model", "reference-model"], tmp_path,
                                      at=f"{signame} request 5"))
    assert code == 1 and "Traceback" not in err, out + err
    document = _report(tmp_path)
    assert document["run"]["interrupted"] is True and document["summary"]["status"] == "partial"
    assert "INTERRUPTED: partial report" in out


def test_an_interrupt_while_the_report_is_written_loses_nothing(tmp_path: Path, reference: str) -> None:
    """The run is over: the report is written whole and the command ends as it would have."""
    process = _command(["run", "--base-url", reference, "--model", "reference-model", "--profile", "smoke"], tmp_path,
                       at="SIGTERM import conformance.reports.render")
    code, out, err = _finish(process)
    assert code == 0 and "Traceback" not in err, out + err
    document = _report(tmp_path)
    assert document["run"]["interrupted"] is False and document["summary"]["status"] == "conformant"
    assert (tmp_path / "latest" / "report.html").exists()


def test_sigterm_stops_the_embedded_server(tmp_path: Path) -> None:
    code, out, err = _finish(_command(["run", "--defect", "sse-hold-open-after-done"], tmp_path, at="SIGTERM request 5"))
    assert code == 1 and "Traceback" not in err, out + err
    document = _report(tmp_path)
    assert document["run"]["interrupted"] is True
    assert document["summary"]["status"] in ("partial", "non-conformant")
    assert document["provenance"]["embedded_server"] is True
    assert not _accepts(document["provenance"]["target_url"])


class HeldTarget(ThreadingHTTPServer):
    """Answers the preflight (GET /models, the "Say OK." chat request) and holds every other
    request unanswered until `release()`: while it holds one request per scenario worker, the run
    has nothing on its way that the target has not seen."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HeldHandler)
        self.received = 0
        self.held = 0
        self.changed = threading.Condition()
        self.released = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/v1"

    def wait_until_holding(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.held >= count, timeout=LIVENESS_S), f"holding {self.held}"

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that closed its connection first: expected of an interrupted run


class _HeldHandler(BaseHTTPRequestHandler):
    server: HeldTarget
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._count(held=False)
        self._send(200, {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "test"}]})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        preflight = b"Say OK." in body
        self._count(held=not preflight)
        if preflight:
            self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "m",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"},
                                          "finish_reason": "length"}],
                             "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
            return
        self.server.released.wait()
        self._send(503, {"error": {"message": "released", "type": "server_error", "param": None, "code": None}})

    def _count(self, *, held: bool) -> None:
        with self.server.changed:
            self.server.received += 1
            self.server.held += held
            self.server.changed.notify_all()

    def _send(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_sigterm_with_requests_in_flight_sends_nothing_more(tmp_path: Path) -> None:
    """Both scenario workers wait on an answer when SIGTERM arrives: the partial report is written
    without waiting for them, and once they are answered nothing else reaches the target (the
    third scenario never starts, and a closed client refuses to send)."""
    target = HeldTarget()
    try:
        process = _command(["run", "--base-url", target.base_url, "--model", "m", "--concurrency", "2",
                            "--scenario", "chat_basic", "--scenario", "chat_stream_false", "--scenario", "stream_basic"],
                           tmp_path)
        target.wait_until_holding(2)
        process.send_signal(signal.SIGTERM)
        report = tmp_path / "latest" / "report.json"
        deadline = time.monotonic() + LIVENESS_S
        while not report.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert report.exists(), "no report while requests were still in flight"
        target.release()
        code, out, err = _finish(process)
    finally:
        target.stop()
    assert code == 1 and "Traceback" not in err, out + err
    document = _report(tmp_path)
    assert document["run"]["interrupted"] is True and document["summary"]["status"] == "partial"
    assert target.received == 2 + 2  # the preflight's two, and the two held when the signal came


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
