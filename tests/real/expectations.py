"""Expected findings of one server × model, checked in as docs/compat/<server>-<model>.yaml.

A finding is a (clause, check, verdict) with verdict FAIL, ERROR or WARN, whatever the scenarios
it was seen on: a random or tiny model changes which scenarios show a deviation, never whether
the server has it.  Each expected finding carries a one-line reason and the raw request that
proves it against the contract.  A finding whose appearance depends on timing (a request starved
while others run) is marked ``optional: true``: allowed, not required, and left out of the two
runs' agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

COMPAT = Path(__file__).resolve().parents[2] / "docs" / "compat"
FINDING_VERDICTS = ("FAIL", "ERROR", "WARN")

Finding = tuple[str, str, str]  # clause, check, verdict


@dataclass(frozen=True)
class Expected:
    clause: str
    check: str
    verdict: str
    profiles: tuple[str, ...]
    reason: str
    request: str
    optional: bool = False

    @property
    def finding(self) -> Finding:
        return self.clause, self.check, self.verdict


def load(name: str) -> list[Expected]:
    """The expectations of combo ``name``; every entry must name a reason and a proving request."""
    document = yaml.safe_load((COMPAT / f"{name}.yaml").read_text(encoding="utf-8")) or {}
    entries = []
    for raw in document.get("findings") or []:
        missing = [k for k in ("clause", "check", "verdict", "profiles", "reason", "request") if not raw.get(k)]
        if missing:
            raise ValueError(f"{name}.yaml: {raw.get('clause')} {raw.get('check')} lacks {missing}")
        entries.append(Expected(raw["clause"], raw["check"], raw["verdict"], tuple(raw["profiles"]),
                                raw["reason"], raw["request"], bool(raw.get("optional", False))))
    return entries


def findings(report: dict[str, Any]) -> dict[Finding, list[str]]:
    """The run's findings, each with the scenarios it was seen on."""
    seen: dict[Finding, list[str]] = {}
    for result in report["results"]:
        if result["verdict"] in FINDING_VERDICTS:
            seen.setdefault((result["clause"], result["check"], result["verdict"]), []).append(result["scenario"])
    return seen


def describe(report: dict[str, Any], finding: Finding) -> str:
    """One line per result of ``finding``: scenario and what was seen (for a failing tier's message)."""
    lines = []
    for r in report["results"]:
        if (r["clause"], r["check"], r["verdict"]) == finding:
            said = f"expected {r['expected']}; observed {r['observed']}" if r["expected"] or r["observed"] else r["note"]
            lines.append(f"    [{r['scenario']}] {said[:300]}")
    return "\n".join(lines[:5])


def draft(reports: dict[str, list[dict[str, Any]]], expected: list[Expected]) -> str:
    """A draft expectations file: every finding seen, in the profiles it was seen in, with the
    reason already written where the finding was expected, else what was observed (to be
    classified by a person: a false alarm to fix, or a deviation to keep with its reason)."""
    known = {e.finding: e for e in expected}
    seen: dict[Finding, dict[str, Any]] = {}
    for profile, runs in reports.items():
        for report in runs:
            for finding in findings(report):
                entry = seen.setdefault(finding, {"profiles": [], "report": report})
                if profile not in entry["profiles"]:
                    entry["profiles"].append(profile)
    out = []
    for (clause, check, verdict), entry in sorted(seen.items()):
        first = next(r for r in entry["report"]["results"] if (r["clause"], r["check"], r["verdict"]) == (clause, check, verdict))
        artifact = entry["report"].get("artifacts", {}).get(first["artifacts"][0]) if first["artifacts"] else None
        old = known.get((clause, check, verdict))
        said = f"expected {first['expected']}; observed {first['observed']}" if first["expected"] or first["observed"] else first["note"]
        out.append({"clause": clause, "check": check, "verdict": verdict, "profiles": entry["profiles"],
                    "reason": old.reason if old else f"UNCLASSIFIED: {said[:300]}",
                    "request": old.request if old else (artifact or {}).get("curl", "(no request: judged from the run)"),
                    **({"optional": True} if old and old.optional else {})})
    return yaml.safe_dump({"findings": out}, sort_keys=False, allow_unicode=True, width=200)


def compare(report: dict[str, Any], expected: list[Expected], profile: str) -> list[str]:
    """Problems: findings not in the file (a false alarm or an unclassified deviation) and
    expected findings that did not show (a miss)."""
    seen = findings(report)
    allowed = {e.finding for e in expected if profile in e.profiles}
    required = {e.finding for e in expected if profile in e.profiles and not e.optional}
    problems = [f"unexpected {c} {k} {v}:\n{describe(report, (c, k, v))}" for c, k, v in sorted(set(seen) - allowed)]
    problems += [f"missing {c} {k} {v} (expected in {profile})" for c, k, v in sorted(required - set(seen))]
    return problems
