"""Collects kill-matrix rows from every test (and xdist worker) and writes reports/kill-matrix.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conformance.selftest import render_markdown

# The suite's own tests are offline and must not pick up the caller's target: the run options
# are also read from CONFORMANCE_* and OPENAI_BASE_URL (see conformance/settings.py).
for _name in [n for n in os.environ if n == "OPENAI_BASE_URL" or (n.startswith("CONFORMANCE_") and n != "CONFORMANCE_VENV")]:
    del os.environ[_name]

_ROWS: dict[str, dict] = {}  # by defect name: xdist may relay a report more than once
REPORT = Path(__file__).resolve().parent.parent / "reports" / "kill-matrix.md"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kill_matrix: runs the suite against a named defect of the reference server")
    config.addinivalue_line("markers", "real: the real-server tier (llama-server, llama-cpp-python); slow, opt-in")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs on the xdist controller too, with the workers' user_properties.
    if report.when == "call":
        _ROWS.update((value["defect"], value) for name, value in report.user_properties if name == "kill_row")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput") or not _ROWS:
        return
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    rows = list(_ROWS.values())
    REPORT.write_text(render_markdown(rows))
    REPORT.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The real-server tier is slow and needs scripts/real-servers: it runs only when asked for (-m real).
    if "real" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="real-server tier: run with scripts/selftest --real")
    for item in items:
        if item.get_closest_marker("real"):
            item.add_marker(skip)
