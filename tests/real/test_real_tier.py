"""The real-server tier: the suite against llama.cpp's llama-server and llama-cpp-python's server,
with a tiny random-weights model and SmolLM2-135M-Instruct, compared with the checked-in
expectations (docs/compat/<server>-<model>.yaml).

Run it with `scripts/selftest --real` (it sets the servers up first) or, once set up,
`pytest -m real tests/real -p no:xdist`.  Each combo runs the suite twice per profile: a finding
outside the expectations fails (a false alarm, or a new deviation to classify), an expected
finding that does not show fails (a miss), and the two runs must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.real.expectations import COMPAT, compare, draft, findings, load
from tests.real.servers import Combo, RealServer, installed

pytestmark = [pytest.mark.real, pytest.mark.skipif(not installed(), reason="the real servers are not set up: run scripts/real-servers")]

COMBOS = [
    Combo("llama-server", "tiny", api_key="sk-real-tier-key"),
    Combo("llama-server", "smollm2"),
    Combo("llama-cpp-python", "tiny"),
]
PROFILES = ("compatible", "openai-strict")
RUNS = 2
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "real-tier"
CONFORMANCE = str(Path(sys.executable).with_name("conformance"))


def run_suite(server: RealServer, profile: str, reports: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    # An open server is still given a key, as users do: the suite must not fail it for being open.
    env["OPENAI_API_KEY"] = server.combo.api_key or "sk-not-needed"
    command = [CONFORMANCE, "run", "--base-url", server.base_url, "--model", server.combo.model, "--profile", profile,
               "--reports-dir", str(reports), "--quiet", "--seed", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode in (0, 1), f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))
    return report


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: c.name)
def test_findings_match_expectations(combo: Combo, tmp_path: Path) -> None:
    expected = load(combo.name) if (COMPAT / f"{combo.name}.yaml").exists() else []
    problems: list[str] = []
    record: dict[str, Any] = {"combo": combo.name, "version": combo.version(), "runs": []}
    reports: dict[str, list[dict[str, Any]]] = {}
    with RealServer(combo) as server:
        for profile in PROFILES:
            seen = []
            for attempt in range(RUNS):
                report = run_suite(server, profile, tmp_path / f"{profile}-{attempt}")
                reports.setdefault(profile, []).append(report)
                seen.append(set(findings(report)))
                problems += [f"[{profile} run {attempt + 1}] {p}" for p in compare(report, expected, profile)]
                record["runs"].append({"profile": profile, "summary": report["summary"], "run": report["run"],
                                       "findings": sorted(map(list, findings(report)))})
            varying = {e.finding for e in expected if e.optional}
            if (seen[0] ^ seen[1]) - varying:
                problems.append(f"[{profile}] the two runs disagree: {sorted((seen[0] ^ seen[1]) - varying)}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{combo.name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    # What a person classifies when the tier fails: every finding seen, reasons kept where known.
    (OUT / f"{combo.name}.draft.yaml").write_text(draft(reports, expected), encoding="utf-8")
    assert not problems, "\n".join(problems)
