"""Run the reference server, or the defect proxy, as a subprocess on 127.0.0.1 and know its URLs.

    with ReferenceServer(defects=["tool-delta-without-index"]) as server:
        httpx.post(server.base_url + "/chat/completions", json=...)
        server.url_for("finish-reason-empty-string")   # ".../defects/finish-reason-empty-string/v1"

    with ProxyServer("https://api.example.com/v1") as proxy:
        proxy.url_for("sse-no-done")                    # that upstream, broken by one defect
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Self

_READY_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0


class ServerProcess(ABC):
    """A server module run in a child process that prints ``READY <url>`` once it listens, and
    serves each defect route under ``/defects/NAME1+NAME2/v1``; a context manager that starts and
    stops it."""

    module: str  # run as ``python -m <module> --host 127.0.0.1 --port <port> <options>``
    label: str   # names the server in start-up errors

    def __init__(self, *, port: int = 0) -> None:
        self.port = port
        self.root_url = ""
        self._process: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (the server-wide defects apply)."""
        return self.url_for()

    @property
    def pid(self) -> int | None:
        """The server process id while it runs (for measurements such as its RSS)."""
        return None if self._process is None else self._process.pid

    def url_for(self, *defects: str) -> str:
        """Base URL applying ``defects`` on top of the server-wide ones: ``.../defects/a+b/v1``."""
        if not self.root_url:
            raise RuntimeError("the server is not running")
        return f"{self.root_url}/defects/{'+'.join(defects)}/v1" if defects else f"{self.root_url}/v1"

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, "--host", "127.0.0.1", "--port", str(self.port), *self.options()]

    @abstractmethod
    def options(self) -> list[str]:
        """The module's command-line options after ``--host`` and ``--port``."""

    def start(self) -> Self:
        """Spawn the server and wait (<= 15 s) for its ``READY <url>`` line; RuntimeError on failure.
        Interrupted while waiting, it stops the child before re-raising."""
        if self._process is not None:
            return self
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        assert self._process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_drain, args=(self._process.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=_READY_TIMEOUT_S)
        except queue.Empty:
            line = ""
        except BaseException:  # Ctrl-C/SIGTERM while waiting: __exit__ will not run, so stop it here
            self.stop()
            raise
        if not line.startswith("READY "):
            tail = self._stderr_tail()
            self.stop()
            raise RuntimeError(f"{self.label} did not start (first line {line!r}); stderr tail:\n{tail}")
        self.root_url = line.split(" ", 1)[1].strip()
        return self

    def stop(self) -> None:
        """Terminate the child by PID, wait 5 s, then kill it; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                except BaseException:  # interrupted again while waiting: never leave the child behind
                    process.kill()
                    raise
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.root_url = ""

    def _stderr_tail(self, limit: int = 4000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-limit:]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class ReferenceServer(ServerProcess):
    """The reference server in a child process."""

    module = "conformance.servers.reference"
    label = "reference server"

    def __init__(
        self,
        *,
        defects: Sequence[str] = (),
        api_key: str | None = None,
        latency_ms: int = 0,
        port: int = 0,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(port=port)
        self.defects = tuple(defects)
        self.api_key = api_key
        self.latency_ms = latency_ms
        self.extra_args = tuple(extra_args)

    def options(self) -> list[str]:
        cmd: list[str] = []
        for name in self.defects:
            cmd += ["--defect", name]
        if self.api_key is not None:
            cmd += ["--api-key", self.api_key]
        if self.latency_ms:
            cmd += ["--latency-ms", str(self.latency_ms)]
        return cmd + list(self.extra_args)


class ProxyServer(ServerProcess):
    """The defect proxy in a child process, in front of ``upstream`` (a base URL ending in /v1;
    ``model``: the upstream model under test); start() fails when a defect cannot apply in proxy
    mode."""

    module = "conformance.servers.proxy"
    label = "defect proxy"

    def __init__(self, upstream: str, *, defects: Sequence[str] = (), model: str | None = None, port: int = 0) -> None:
        super().__init__(port=port)
        self.upstream = upstream
        self.defects = tuple(defects)
        self.model = model

    def options(self) -> list[str]:
        cmd = ["--upstream", self.upstream]
        if self.model is not None:
            cmd += ["--model", self.model]
        for name in self.defects:
            cmd += ["--defect", name]
        return cmd


def _drain(stream: IO[str], lines: queue.Queue[str]) -> None:
    """Forward the child's stdout lines (the first is READY) and keep its pipe from filling."""
    with stream:
        for line in stream:
            lines.put(line)
    lines.put("")
