"""report.html in a real headless browser (Debian's chromium): the script runs under the page's CSP
without console errors, the summary shows, hostile bytes stay text, the verdict bars, cause cards
and stream timelines render with the page's own stylesheet, and screenshots are taken of a clean,
a failing and a misconfigured run (tests/screenshots.py, which also makes the README's).

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
import screenshots
from devtools import FLAGS, TIMEOUT, Browser
from report_fixtures import SCRIPT, as_json, hand_report

from conformance.reports import render


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
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


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


_RENDERED = """(() => {
  const boxes = s => Array.from(document.querySelectorAll(s), e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; });
  const paint = (s, p) => getComputedStyle(document.querySelector(s))[p];
  return {bars: boxes('#summary .tables svg.bar'), timelines: boxes('svg.timeline'), latency: boxes('table.latency svg'),
          causes: boxes('article.cause'), fail: paint('rect.s-FAIL', 'fill'), pass: paint('rect.s-PASS', 'fill'),
          event: paint('path.t-event', 'stroke'), done: paint('path.t-done', 'stroke')};
})()"""


def test_bars_cards_and_timelines_render_with_the_pages_stylesheet(chromium: str, page: Path, tmp_path: Path) -> None:
    with Browser(chromium, tmp_path / "profile") as browser:
        shown = browser.open(page)
        shown.wait_for("document.body.getAttribute('data-ready') === 'true'")
        facts = shown.evaluate(_RENDERED)
    document = as_json(hand_report())
    assert len(facts["bars"]) == len(document["summary"]["by_area"]) + len(document["summary"]["by_level"])
    assert (len(facts["causes"]), len(facts["timelines"]), len(facts["latency"])) == (4, 3, 3)
    for width, height in facts["bars"] + facts["timelines"] + facts["latency"] + facts["causes"]:
        assert width > 0 and height > 0
    # Coloured by the hashed stylesheet (an SVG shape the CSP had stripped of it would be black).
    assert (facts["fail"], facts["pass"]) == ("rgb(180, 35, 24)", "rgb(6, 118, 71)")
    assert (facts["event"], facts["done"]) == ("rgb(23, 92, 211)", "rgb(6, 118, 71)")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_screenshots_of_a_clean_a_failing_and_a_misconfigured_run(chromium: str, tmp_path: Path) -> None:
    shots = screenshots.take(tmp_path / "shots", chromium, profile="smoke")
    assert sorted(shots) == sorted(screenshots.SHOTS)
    for name, path in shots.items():
        data = path.read_bytes()
        width, height = _png_size(data)
        assert width == 1280 and height > 100, name
        assert len(data) > 10_000, name  # a blank page compresses to a few kB
