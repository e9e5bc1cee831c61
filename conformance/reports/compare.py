"""Comparing two runs result by result: what is newly failing, fixed, changed, still failing.

One implementation for every comparison the suite makes: `conformance diff` (two runs of one
target over time, or two targets on one profile), `conformance replay` (a run against its
re-judgement) and the baseline gate (a run against the failures its baseline waives).

Results are matched by key (``check[scenario]``).  ``failing`` is the set of verdicts that count
as a failure (``--fail-on``).  Each key gets one kind:

- ``new``: failing now, not failing before (absent included)
- ``fixed``: failing before, PASS or INFO now
- ``still``: failing before and now (the verdict may differ: FAIL then ERROR)
- ``not_run``: failing before, absent, skipped or inconclusive now
- ``changed``: another change of verdict (PASS to WARN, FAIL to WARN when WARN does not fail)
- ``added`` / ``removed``: a result that is not failing on one side and absent on the other
- ``same``: the same verdict, not failing
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .findings import LEVEL_ORDER, VERDICT_ORDER, signature

FORMAT = "oai-conformance-diff"
FORMAT_VERSION = 1
PASSING = ("PASS", "INFO")
UNJUDGED = ("SKIP", "INCONCLUSIVE")
KINDS = ("new", "fixed", "changed", "not_run", "still", "added", "removed", "same")
# Kinds whose causes are listed (the others are counted); the side whose result explains the cause.
LISTED = {"new": "after", "fixed": "before", "changed": "after", "not_run": "before", "still": "after",
          "added": "after", "removed": "before"}


def kind_of(before: str | None, after: str | None, failing: Collection[str]) -> str:
    """The kind of change from verdict ``before`` to ``after`` (None: no such result)."""
    if after in failing and before not in failing:
        return "new"
    if before in failing:
        if after in failing:
            return "still"
        if after in PASSING:
            return "fixed"
        return "not_run" if after is None or after in UNJUDGED else "changed"
    if before is None:
        return "added"
    if after is None:
        return "removed"
    return "same" if before == after else "changed"


def transitions(before: Mapping[str, str], after: Mapping[str, str], failing: Collection[str]) -> dict[str, list[str]]:
    """Every key of either side under its kind (each list sorted by key)."""
    out: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for key in sorted(set(before) | set(after)):
        out[kind_of(before.get(key), after.get(key), failing)].append(key)
    return out


def verdicts(document: Mapping[str, Any]) -> dict[str, str]:
    """Result key -> verdict of a report.json document."""
    return {r["key"]: r["verdict"] for r in document["results"]}


def compare(before: dict[str, Any], after: dict[str, Any], failing: Collection[str] = ("FAIL", "ERROR"),
            *, before_source: str = "", after_source: str = "") -> dict[str, Any]:
    """The diff document (schemas/diff.schema.json) of two report.json documents."""
    kinds = transitions(verdicts(before), verdicts(after), failing)
    by_key = {"before": {r["key"]: r for r in before["results"]}, "after": {r["key"]: r for r in after["results"]}}
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "before": describe(before, before_source),
        "after": describe(after, after_source),
        "failing": [v for v in VERDICT_ORDER if v in failing],
        "counts": {kind: len(keys) for kind, keys in kinds.items()},
        "regressed": bool(kinds["new"]),
        "causes": [cause for kind, side in LISTED.items()
                   for cause in _causes(kind, kinds[kind], by_key[side], by_key["before"], by_key["after"])],
    }


def describe(document: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Who and what a run was, for the header of a comparison."""
    provenance, run = document["provenance"], document["run"]
    return {"source": source, "run_id": run["id"], "target_url": provenance["target_url"],
            "model": provenance["model"], "profile": run["profile"], "suite_version": provenance["suite_version"],
            "started_at": run["started_at"], "status": document["summary"]["status"]}


def _causes(kind: str, keys: list[str], explaining: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]],
            after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The keys of one kind grouped by root cause (``findings.signature`` of the explaining result,
    and the verdict before), most severe first."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for key in keys:
        was = before[key]["verdict"] if key in before else None
        groups.setdefault((*signature(explaining[key]), was), []).append(key)
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    level = {v: i for i, v in enumerate(LEVEL_ORDER)}
    out = []
    for members in groups.values():
        first = explaining[members[0]]
        out.append({
            "kind": kind, "clause": first["clause"], "level": first["level"], "area": first["area"],
            "check": first["check"], "title": first["title"],
            "before": before[members[0]]["verdict"] if members[0] in before else None,
            "after": after[members[0]]["verdict"] if members[0] in after else None,
            "expected": first["expected"], "observed": first["observed"], "note": first["note"],
            "scenarios": [explaining[k]["scenario"] for k in members], "keys": members,
        })
    return sorted(out, key=lambda c: (rank.get(c["after"] or c["before"], 99), level.get(c["level"], 99), c["keys"][0]))
