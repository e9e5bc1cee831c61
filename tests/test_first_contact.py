"""Trusted at first contact: every set-up mistake a new user makes is one line and exit 2, with a hint.

A wrong key, a base URL without /v1, an unknown model, a filter that matches nothing, an unknown
defect, a busy port, a bad option value: none of them may turn into FAIL verdicts, a CONFORMANT
verdict over nothing, or a traceback.  Against the reference server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conformance import cli
from conformance.servers.launcher import ReferenceServer
from conformance.session import EMBEDDED_MODEL, RunConfig, execute

KEY = "sk-first-contact-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test in an empty directory, without the caller's configuration."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("CONFORMANCE_", "OPENAI_"))]:
        monkeypatch.delenv(name)


def main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_exit_2(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, out + err
    assert err.strip() and "\n" not in err.strip(), err
    assert "Traceback" not in out + err
    for needle in needles:
        assert needle in err, err


def python_m(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=120,
                          **kwargs)  # type: ignore[call-overload]


# --- the set-up, diagnosed by the preflight ----------------------------------------------------------


def test_a_refused_key_is_one_line_not_seventy_fails(server: ReferenceServer, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-000000")
    code, out, err = main(capsys, "run", "--base-url", server.base_url, "--model", EMBEDDED_MODEL)
    assert_one_line_exit_2(code, out, err, "the key was refused", "HTTP 401", "$OPENAI_API_KEY")
    assert "sk-wrong-key-000000" not in err
    assert not (tmp_path / "reports").exists()  # no report: nothing was judged


def test_a_missing_key_says_where_to_put_it(server: ReferenceServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = main(capsys, "run", "--base-url", server.base_url, "--model", EMBEDDED_MODEL)
    assert_one_line_exit_2(code, out, err, "requires an API key", "--api-key-env")


def test_a_base_url_without_v1_gets_the_suggestion(server: ReferenceServer, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    root = server.base_url.removesuffix("/v1")
    code, out, err = main(capsys, "run", "--base-url", root, "--model", EMBEDDED_MODEL)
    assert_one_line_exit_2(code, out, err, f"no chat endpoint at {root}", f"did you mean --base-url {root}/v1")


def test_an_unknown_model_lists_the_models_offered(server: ReferenceServer, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, out, err = main(capsys, "run", "--base-url", server.base_url, "--model", "gpt-nope")
    assert_one_line_exit_2(code, out, err, "does not know model 'gpt-nope'", "GET /models offers: reference-model")


def test_an_open_server_still_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with ReferenceServer() as open_server:  # no key configured, none sent
        code, out, err = main(capsys, "run", "--base-url", open_server.base_url, "--model", EMBEDDED_MODEL,
                              "--profile", "smoke", "--quiet")
    assert code == 0, out + err
    assert "CONFORMANT" in out


def test_wait_polls_until_the_target_answers(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = subprocess.Popen(
        [sys.executable, "-m", "conformance", "run", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", EMBEDDED_MODEL,
         "--wait", "60", "--profile", "smoke", "--quiet"],
        cwd=tmp_path, env=dict(os.environ, OPENAI_API_KEY=KEY), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # the run is polling a closed port by now (or soon): either way it must wait for the server
        with ReferenceServer(api_key=KEY, port=port):
            out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, out + err
    assert "CONFORMANT" in out


@contextmanager
def fake_target(status: int, body: object) -> Iterator[str]:
    """A target that lists no model and answers every chat request with `status` and `body`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(200, {"object": "list", "data": [{"id": "served-model", "object": "model"}]})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._send(status, body)

        def _send(self, code: int, payload: object) -> None:
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/html" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("status", "body", "needles"), [
    (404, {"error": 'model "llama9" not found, try pulling it first'}, ("does not know model 'llama9'", "served-model")),
    (404, {"object": "error", "message": "The model `llama9` does not exist.", "type": "NotFoundError", "code": 404},
     ("does not know model 'llama9'",)),
    (400, {"error": {"message": "no such model", "type": "invalid_request_error", "code": "model_not_found"}},
     ("does not know model 'llama9'",)),
    (404, "<html><body>404 Not Found</body></html>", ("no chat endpoint at http://127.0.0.1:", "/v1: POST")),
    (405, {"detail": "Method Not Allowed"}, ("no chat endpoint", "HTTP 405")),
    (403, {"error": {"message": "forbidden", "type": "permission_error"}}, ("the key was refused", "HTTP 403")),
])
def test_the_usual_servers_error_shapes_are_understood(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                                       status: int, body: object, needles: tuple[str, ...]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with fake_target(status, body) as url:
        assert_one_line_exit_2(*main(capsys, "run", "--base-url", url, "--model", "llama9"), *needles)


def test_a_hostile_error_message_cannot_drive_the_terminal(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    hostile = {"error": {"message": "bad key\x1b]0;pwned\x07\x1b[2J\rgone", "type": "x"}}
    with fake_target(401, hostile) as url:
        code, out, err = main(capsys, "run", "--base-url", url, "--model", "m")
    assert_one_line_exit_2(code, out, err, "the key was refused", "\\x1b]0;pwned\\x07\\x1b[2J")
    assert not any(c in err for c in "\x1b\x07\r\x00")


# --- filters and names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "needles"), [
    (("--clause", "XYZ"), ("--clause 'XYZ' matches no clause", "SSE")),
    (("--scenario", "nope"), ("--scenario 'nope' is not a scenario", "chat_basic")),
    (("--scenario", "chat_basics"), ("did you mean chat_basic",)),
    (("--defect", "nope"), ("--defect 'nope' is not a defect", "list-defects")),
    (("--scenario", "chat_basic", "--clause", "SSE-03"), ("selects no check in profile compatible",)),
])
def test_a_filter_matching_nothing_is_refused(capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                              needles: tuple[str, ...]) -> None:
    assert_one_line_exit_2(*main(capsys, "run", *args), *needles)


def test_clause_prefixes_are_case_insensitive() -> None:
    report = execute(RunConfig(profile="smoke", clauses=("sse",), command=["test"]))
    assert report.results and {r.clause[:3] for r in report.results} == {"SSE"}


def test_selftest_of_an_unknown_defect_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_exit_2(*main(capsys, "selftest", "nope"), "'nope' is not a defect")


@pytest.mark.parametrize("command", ["report", "verify"])
def test_report_and_verify_of_a_missing_directory_exit_2(capsys: pytest.CaptureFixture[str], command: str) -> None:
    assert_one_line_exit_2(*main(capsys, command, "no-such-dir"), "no-such-dir")


# --- option values, checked at parse time --------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ("--concurrency", "0"), ("--max-tokens", "0"), ("--max-requests", "0"), ("--max-tokens-total", "0"),
    ("--timeout", "0"), ("--timeout", "-1"), ("--timeout", "nan"), ("--timeout", "inf"), ("--read-timeout", "-1"),
    ("--wait", "-1"), ("--keep", "0"), ("--seed", "-1"), ("--concurrency", "many"),
    ("--base-url", ""), ("--base-url", "http://127.0.0.1:8000/v1\r\nX-Evil: 1"), ("--base-url", "http://a b/v1"),
    ("--base-url", "ftp://127.0.0.1/v1"), ("--base-url", "127.0.0.1:8000/v1"), ("--header", "no colon here"),
    ("--profile", "nope"), ("--fail-on", "sometimes"), ("--auth-header", "bad header"),
])
def test_bad_option_values_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    assert_one_line_exit_2(*main(capsys, "run", *args), f"argument {args[0]}")


def test_an_empty_base_url_from_the_environment_goes_red(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "")  # a CI variable that was never set
    assert_one_line_exit_2(*main(capsys, "run"), "$OPENAI_BASE_URL", "is empty")


def test_a_base_url_from_the_environment_needs_a_model(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert_one_line_exit_2(*main(capsys, "run"), "--model is required with --base-url (from OPENAI_BASE_URL)")


# --- the other commands --------------------------------------------------------------------------------


def test_serve_on_a_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = main(capsys, "serve", "--port", str(port))
    assert_one_line_exit_2(code, out, err, f"cannot listen on 127.0.0.1:{port}", "another --port")


def test_serve_prints_the_base_url_with_v1_and_the_model(tmp_path: Path) -> None:
    serve = subprocess.Popen([sys.executable, "-m", "conformance", "serve", "--port", "0"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline()
    finally:
        serve.terminate()
        serve.wait(10)
    assert first.startswith("serving http://127.0.0.1:") and "/v1  model reference-model" in first, first


def test_version_and_python_dash_m(tmp_path: Path) -> None:
    done = python_m("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("conformance 0.")


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    listing = subprocess.Popen([sys.executable, "-m", "conformance", "list-checks"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.readline()
    listing.stdout.close()  # `| head -1`
    err = listing.stderr.read().decode()
    listing.wait(60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_proxy_refuses_bad_input_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_exit_2(*main(capsys, "proxy", "--upstream", ""), "argument --upstream: is empty")
    assert_one_line_exit_2(*main(capsys, "proxy", "--upstream", "http://127.0.0.1:9/v1", "--defect", "nope"), "nope")
    assert_one_line_exit_2(*main(capsys, "proxy", "--upstream", "http://127.0.0.1:9/v1", "--port", "70000"), "TCP port")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = main(capsys, "proxy", "--upstream", "http://127.0.0.1:9/v1", "--port", str(port))
    assert_one_line_exit_2(code, out, err, f"cannot listen on 127.0.0.1:{port}")
