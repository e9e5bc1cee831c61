"""report.html in a real headless browser (Debian's chromium): the script runs under the page's CSP
without console errors, the summary shows, hostile bytes stay text, and a screenshot is taken.

The browser is installed here when missing and we are root (`apt-get install -y chromium`); if it
still cannot be had the tests are skipped with the reason, never failed.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from report_fixtures import SCRIPT, as_json, hand_report

from conformance.reports import render

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
          "--disable-sync", "--no-first-run"]
_TIMEOUT = 120


def _install() -> str:
    """Why chromium could not be installed (empty when it is there now)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "chromium is not installed and the tests do not run as root to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    attempt = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, env=env, timeout=900)
    if attempt.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        attempt = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, env=env, timeout=900)
    return "" if shutil.which("chromium") else f"apt-get install chromium failed: {attempt.stderr.strip()[-500:]}"


@pytest.fixture(scope="session")
def chromium() -> str:
    if shutil.which("chromium") is None:
        try:
            reason = _install()
        except (OSError, subprocess.SubprocessError) as exc:
            reason = f"cannot run apt-get: {exc}"
        if reason:
            pytest.skip(reason)
    return str(shutil.which("chromium"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("reports") / "run"
    render.write(as_json(hand_report()), run_dir, ("json", "html"))
    return run_dir / "report.html"


def _browse(chromium: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium, *_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT)


def test_page_runs_its_script_without_console_errors(chromium: str, page: Path, tmp_path: Path) -> None:
    done = _browse(chromium, page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom, log = done.stdout, done.stderr
    console = [line for line in log.splitlines() if ":CONSOLE" in line]  # errors, CSP violations, anything logged
    assert console == [] and "Uncaught" not in log
    assert 'data-ready="true"' in dom  # the script ran under the page's own CSP
    assert "NON-CONFORMANT" in dom and "<h2>Summary</h2>" in dom
    assert "6 of 7 results shown" in dom  # default filter: every finding, no PASS
    assert SCRIPT not in dom and "<img" not in dom  # hostile bytes stayed text


def test_screenshot(chromium: str, page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "reports" / "report.png"
    shot.parent.mkdir()
    done = _browse(chromium, page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1280, 2000)
    assert len(data) > 20_000  # a blank page compresses to a few kB
