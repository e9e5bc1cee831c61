"""The real servers of the tier: llama.cpp's llama-server and llama-cpp-python's server, started
on a free 127.0.0.1 port with a model from the cache that `scripts/real-servers` fills, and
stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

CACHE = Path(os.environ.get("CONFORMANCE_REAL_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "oai-conformance" / "real-servers")
MODELS = {
    "tiny": CACHE / "models" / "tiny-random.gguf",
    "smollm2": CACHE / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
}
LLAMA_SERVER = CACHE / "bin" / "llama-server"
LCP_PYTHON = CACHE / "venv-llama-cpp-python" / "bin" / "python"
_READY_TIMEOUT_S = 120.0


def installed() -> bool:
    return LLAMA_SERVER.exists() and LCP_PYTHON.exists() and all(p.exists() for p in MODELS.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Combo:
    """One server × model of the tier, and how it is set up (open, or with an API key)."""

    server: str  # "llama-server" | "llama-cpp-python"
    model: str   # a key of MODELS
    api_key: str | None = None

    @property
    def name(self) -> str:
        return f"{self.server}-{self.model}"

    def command(self, port: int) -> list[str]:
        model = str(MODELS[self.model])
        if self.server == "llama-server":
            argv = [str(LLAMA_SERVER), "-m", model, "-a", self.model, "--host", "127.0.0.1", "--port", str(port),
                    "-t", "1", "-np", "4", "-c", "8192", "--no-webui", "--seed", "42"]
            return argv + (["--api-key", self.api_key] if self.api_key else [])
        argv = [str(LCP_PYTHON), "-m", "llama_cpp.server", "--model", model, "--model_alias", self.model,
                "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--seed", "42"]
        return argv + (["--api_key", self.api_key] if self.api_key else [])

    def version(self) -> str:
        """The server's own version string."""
        if self.server == "llama-server":
            out = subprocess.run([str(LLAMA_SERVER), "--version"], capture_output=True, text=True, timeout=30)
            lines = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("version")]
            return lines[0].removeprefix("version: ").strip() if lines else "unknown"
        out = subprocess.run([str(LCP_PYTHON), "-c", "import llama_cpp; print(llama_cpp.__version__)"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "unknown"


class RealServer:
    """A context manager: start the combo's server, wait until `GET /v1/models` answers, stop it by PID."""

    def __init__(self, combo: Combo) -> None:
        self.combo = combo
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Self:
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(self.combo.command(self.port), stdout=self._log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        headers = {"Authorization": f"Bearer {self.combo.api_key}"} if self.combo.api_key else {}
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/models", headers=headers, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        log = self.log()
        self.stop()
        raise RuntimeError(f"{self.combo.name} did not become ready:\n{log[-2000:]}")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
