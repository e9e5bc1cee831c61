"""Screenshots of a clean, a failing and a misconfigured run, taken in headless Chromium: the
README's pictures (docs/screenshots/), and part of the browser test (tests/test_html_browser.py).

    .venv/bin/python tests/screenshots.py [OUT_DIR]     # default: docs/screenshots

The CLI runs against the reference server, which waits 25 ms before each answer and 12 ms between
stream chunks (so the stream timelines have something to show): once as it is (clean), once with
two stream defects (a FAIL and a WARN), and twice misconfigured (a wrong key, an unknown model:
exit 2 with one line each and no report, so the terminal is shown as a page).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools import Browser

from conformance.servers.launcher import ReferenceServer

KEY = "sk-screenshot-demo"
MODEL = "reference-model"
DEFECTS = "sse-data-after-done+delta-role-repeated"
SHOTS = ("clean", "failing", "failing-timing", "misconfigured")

_TERMINAL = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>misconfigured run</title>
<style>body{{margin:0;background:#0c111d}}pre{{margin:0;padding:18px 22px;color:#e4e7ec;
font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}}
.prompt{{color:#7cd4fd}}.err{{color:#fda29b}}</style></head><body><pre id="terminal">{}</pre></body></html>
"""


def _conformance(args: list[str], key: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": key, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _run(base_url: str, profile: str, cwd: Path, name: str) -> Path:
    """report.html of one run (exit 0 or 1)."""
    done = _conformance(["run", "--quiet", "--base-url", base_url, "--model", MODEL, "--profile", profile,
                         "--reports-dir", name], KEY, cwd)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"conformance run {base_url} exited {done.returncode}: {done.stderr}")
    return cwd / name / "latest" / "report.html"


def _terminal(base_url: str, cwd: Path) -> Path:
    """The terminal of two misconfigured runs, as a page."""
    lines = []
    for key, model in (("sk-wrong-key", MODEL), (KEY, "gpt-4o")):
        command = f"conformance run --base-url {base_url} --model {model}"
        done = _conformance(command.split()[1:], key, cwd)
        lines.append(f'<span class="prompt">$ OPENAI_API_KEY={html.escape(key)} {html.escape(command)}</span>')
        lines += [html.escape(line) for line in done.stdout.splitlines()]
        lines += [f'<span class="err">{html.escape(line)}</span>' for line in done.stderr.splitlines()]
        lines += ['<span class="prompt">$ echo $?</span>', str(done.returncode), ""]
    page = cwd / "terminal.html"
    page.write_text(_TERMINAL.format("\n".join(lines)), encoding="utf-8")
    return page


def take(out_dir: Path, chromium: str, *, profile: str = "compatible") -> dict[str, Path]:
    """Write SHOTS as OUT_DIR/<name>.png; returns them by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, \
            ReferenceServer(api_key=KEY, latency_ms=25, extra_args=["--chunk-delay-ms", "12"]) as server:
        cwd = Path(scratch)
        clean = _run(server.base_url, profile, cwd, "clean")
        failing = _run(server.url_for(DEFECTS), profile, cwd, "failing")
        terminal = _terminal(server.base_url, cwd)
        with Browser(chromium, cwd / "profile") as browser:
            shots = {
                "clean": browser.open(clean).screenshot(out_dir / "clean.png", max_height=1300),
                "failing": browser.open(failing).screenshot(out_dir / "failing.png", max_height=1900),
                "failing-timing": browser.open(failing).screenshot(out_dir / "failing-timing.png", "#timing",
                                                                   max_height=1500),
                "misconfigured": browser.open(terminal, height=400).screenshot(out_dir / "misconfigured.png", "#terminal"),
            }
    return shots


if __name__ == "__main__":
    found = shutil.which("chromium")
    if found is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    for written in take(target, found).values():
        print(written)
