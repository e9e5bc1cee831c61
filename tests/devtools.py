"""Headless Chromium driven over `--remote-debugging-pipe` (no port is opened): open a local page,
read values from it, capture part of it as PNG.  Used by tests/test_html_browser.py and
tests/screenshots.py.

The DevTools protocol runs over two pipes the browser finds as its descriptors 3 (commands in)
and 4 (replies and events out); each message is JSON followed by a NUL byte.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars"]
TIMEOUT = 120.0


def _pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered above 4, so moving them to 3 and 4 cannot overwrite one."""
    ends = os.pipe()
    high = tuple(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10) for end in ends)
    for end in ends:
        os.close(end)
    return high[0], high[1]


class Browser:
    def __init__(self, chromium: str, profile: Path) -> None:
        commands_in, self._commands = _pipe()
        self._replies, replies_out = _pipe()
        # The browser must find the pipes as its descriptors 3 and 4: a Python shim puts them there.
        shim = "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); os.execv(sys.argv[3], sys.argv[3:])"
        self._process = subprocess.Popen(
            [sys.executable, "-c", shim, str(commands_in), str(replies_out), chromium, *FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(commands_in, replies_out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_in)
        os.close(replies_out)
        self._buffer = b""
        self._last_id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result (events arriving meanwhile are dropped)."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))

    def _next(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], max(deadline - time.monotonic(), 0))
            chunk = os.read(self._replies, 1 << 16) if ready else b""
            if not chunk:
                raise RuntimeError("the browser did not answer" if not ready else "the browser closed its pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def open(self, page: Path, width: int = 1280, height: int = 900) -> Page:
        """A new tab showing `page`, once it has loaded and its own script (if any) has run."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        opened = Page(self, session)
        self.send("Page.navigate", {"url": page.as_uri()}, session)
        opened.wait_for(f"location.href === {json.dumps(page.as_uri())} && document.readyState === 'complete'")
        return opened

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError):
            self._process.kill()
        finally:
            self._process.wait(timeout=30)
            os.close(self._commands)
            os.close(self._replies)


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self._browser = browser
        self._session = session

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression, evaluated by DevTools (not subject to the page's CSP)."""
        reply = self._browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, self._session)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, condition: str) -> None:
        """Poll until a JavaScript condition holds (bounded by TIMEOUT)."""
        deadline = time.monotonic() + TIMEOUT
        while not self.evaluate(f"Boolean({condition})"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"never true: {condition}")
            time.sleep(0.05)

    def screenshot(self, path: Path, selector: str | None = None, max_height: int = 1600) -> Path:
        """PNG of the page's full width from the top of the element `selector` (of the page without
        one) down to the element's end, at most `max_height` pixels."""
        top, height = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector or 'body')}); const r = e.getBoundingClientRect();"
            " return [r.top + scrollY, r.height]; })()")
        clip = {"x": 0, "y": top, "width": self.evaluate("document.documentElement.clientWidth"),
                "height": min(height, max_height), "scale": 1}
        data = self._browser.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                                  self._session)["data"]
        path.write_bytes(base64.b64decode(data))
        return path
