"""report.json: the versioned, machine-readable record of a run, from which every other format renders."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import latency
from ..engine import Verdict
from ..session import RunReport
from . import atomic

FORMAT = "oai-conformance-report"
FORMAT_VERSION = 2  # 2: artifacts stored once, in a table, and referenced by results
LATEST = "latest"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def status_of(results: list[dict[str, Any]], interrupted: bool) -> str:
    """conformant: every MUST passed; partial: no MUST failed but some were not judged; else non-conformant."""
    musts = [r for r in results if r["level"] == "MUST"]
    if any(r["verdict"] == Verdict.FAIL.value for r in results):
        return "non-conformant"
    if interrupted or any(r["verdict"] in (Verdict.ERROR.value, Verdict.SKIP.value, Verdict.INCONCLUSIVE.value) for r in musts):
        return "partial"
    return "conformant"


def summarize(results: list[dict[str, Any]], interrupted: bool) -> dict[str, Any]:
    by_area: dict[str, Counter[str]] = {}
    by_level: dict[str, Counter[str]] = {}
    for r in results:
        by_area.setdefault(r["area"], Counter())[r["verdict"]] += 1
        by_level.setdefault(r["level"], Counter())[r["verdict"]] += 1
    return {
        "status": status_of(results, interrupted),
        "verdicts": dict(Counter(r["verdict"] for r in results)),
        "by_area": {k: dict(v) for k, v in sorted(by_area.items())},
        "by_level": {k: dict(v) for k, v in sorted(by_level.items())},
        "total": len(results),
    }


def build(report: RunReport) -> dict[str, Any]:
    results = [r.to_dict() for r in sorted(report.results, key=lambda r: (r.area, r.clause, r.check, r.scenario))]
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "run": {
            "id": report.run_id,
            "profile": report.profile.name,
            "started_at": _iso(report.started_at),
            "finished_at": _iso(report.finished_at),
            "duration_s": round(report.finished_at - report.started_at, 3),
            "interrupted": report.interrupted,
            "requests": report.requests,
            "tokens": report.tokens,
        },
        "provenance": report.provenance,
        "summary": summarize(results, report.interrupted),
        "results": results,
        "recordings": report.recordings,
    }
    timing = latency.section(results)
    if timing is not None:
        document["timing"] = timing
    if report.differences is not None:
        document["differences"] = report.differences
    if report.coverage is not None:
        document["coverage"] = report.coverage
    return report.redactor.obj(document)  # last line of defence: no secret leaves in a report


def artifact_id(artifact: dict[str, Any]) -> str:
    """The id of an exchange in the artifacts table: a hash of its content."""
    return hashlib.sha256(json.dumps(artifact, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def compact(document: dict[str, Any]) -> dict[str, Any]:
    """The on-disk form: every artifact once in `artifacts` (by content hash), results and
    recordings refer to ids.

    The checks judging one scenario share its exchanges, so a broken target would otherwise repeat
    the same transcripts in every failing result.  Already compact documents are returned as is."""
    if "artifacts" in document:
        return document
    table: dict[str, dict[str, Any]] = {}

    results = [{**r, "artifacts": [_store(table, a) for a in r["artifacts"]]} for r in document["results"]]
    out = {**document, "results": results}
    if "recordings" in document:
        out["recordings"] = {name: _with_exchanges(rec, lambda a: _store(table, a))
                             for name, rec in document["recordings"].items()}
    return {**out, "artifacts": table}


def _store(table: dict[str, dict[str, Any]], artifact: dict[str, Any]) -> str:
    ident = artifact_id(artifact)
    table.setdefault(ident, artifact)
    return ident


def _with_exchanges(recording: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """A recording whose exchanges' artifacts are converted (to ids, or back to artifacts)."""
    if "exchanges" not in recording:
        return recording
    return {**recording, "exchanges": [{**x, "artifact": convert(x["artifact"])} for x in recording["exchanges"]]}


def expand(document: dict[str, Any]) -> dict[str, Any]:
    """The in-memory form renderers use: each result carries its artifacts (inverse of `compact`)."""
    table = document.get("artifacts")
    if table is None:
        return document
    out = {k: v for k, v in document.items() if k != "artifacts"}
    out["results"] = [{**r, "artifacts": [table[i] for i in r["artifacts"]]} for r in document["results"]]
    if "recordings" in document:
        out["recordings"] = {name: _with_exchanges(rec, table.__getitem__) for name, rec in document["recordings"].items()}
    return out


def dump(document: dict[str, Any]) -> str:
    """The canonical text of report.json (the compact, on-disk form)."""
    return json.dumps(compact(document), indent=2, ensure_ascii=False) + "\n"


def write(report: RunReport, reports_dir: Path, document: dict[str, Any] | None = None) -> Path:
    """Write reports/<run-id>/report.json and point reports/latest at it; returns the run directory.

    `document` is `build(report)`, possibly annotated (a baseline outcome); built here when None.
    """
    run_dir = reports_dir / report.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    body = document if document is not None else build(report)
    atomic.write_text(run_dir / "report.json", dump(body))
    problem = point_latest(reports_dir, run_dir)
    if problem:  # the run is written: a stale pointer is worth a warning, never the run
        print(f"warning: {problem}", file=sys.stderr)
    return run_dir


def point_latest(reports_dir: Path, run_dir: Path) -> str | None:
    """Point reports/latest at run_dir, replacing the old link atomically (concurrent runs race
    safely: the last rename wins).  Returns what went wrong, or None."""
    latest = reports_dir / LATEST
    try:
        atomic.point_link(latest, run_dir.name)
    except OSError as exc:
        return f"{latest} not updated to point at {run_dir.name}: {exc}"
    return None
