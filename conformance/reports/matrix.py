"""The compatibility matrix: many runs side by side, one column per target/model (and profile),
one row per clause grouped by area, each cell the clause's verdict in that run with a link to its
evidence.  The JSON document (schemas/matrix.schema.json) is what the HTML and Markdown views
render.

A column is taken from a run's report.json as soon as the run is written (`column`), so building
the matrix never holds more than one run's results.  A clause's cell shows the most telling of its
results: a failure of any kind first, then PASS, then what did not decide (INCONCLUSIVE, INFO,
SKIP); the counts of every verdict come with it.  The link points at the transcript of the first
result with that verdict, or at the run's report.html when that result has no exchange.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..clauses import CLAUSES
from . import atomic
from .findings import transcript_name

FORMAT = "oai-conformance-matrix"
FORMAT_VERSION = 1
CELL_ORDER = ("FAIL", "ERROR", "WARN", "PASS", "INCONCLUSIVE", "INFO", "SKIP")
NOT_RUN = "not run"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(target: str, model: str, profile: str) -> str:
    """A column's directory name."""
    return _UNSAFE.sub("_", f"{target}--{model}--{profile}").strip("_")


def column(document: dict[str, Any], *, target: str, model: str, profile: str, directory: str) -> dict[str, Any]:
    """One run's column: who it is, its outcome, and a cell per clause it judged (``directory`` is
    the run's directory relative to the matrix, for links)."""
    by_clause: dict[str, list[dict[str, Any]]] = {}
    for result in document["results"]:
        by_clause.setdefault(result["clause"], []).append(result)
    cells = {}
    for clause, results in by_clause.items():
        rank = {v: i for i, v in enumerate(CELL_ORDER)}
        shown = min(results, key=lambda r: (rank.get(r["verdict"], 99), r["key"]))
        link = f"{directory}/transcripts/{transcript_name(shown['key'])}" if shown["artifacts"] else f"{directory}/report.html"
        cells[clause] = {"verdict": shown["verdict"], "counts": dict(Counter(r["verdict"] for r in results)), "link": link,
                         "level": shown["level"], "area": shown["area"], "title": shown["title"]}
    run, provenance = document["run"], document["provenance"]
    return {
        "id": _label(target, model, profile), "target": target, "model": model, "profile": profile,
        "base_url": provenance["target_url"], "directory": directory, "run_id": run["id"],
        "status": document["summary"]["status"], "error": None, "interrupted": run["interrupted"],
        "verdicts": document["summary"]["verdicts"], "requests": run["requests"], "tokens": run["tokens"],
        "cells": cells,
    }


def failed_column(*, target: str, model: str, profile: str, base_url: str, error: str) -> dict[str, Any]:
    """The column of a run that could not start (unreachable target, refused key, ...)."""
    return {"id": _label(target, model, profile), "target": target, "model": model, "profile": profile,
            "base_url": base_url, "directory": None, "run_id": None, "status": NOT_RUN, "error": error,
            "interrupted": False, "verdicts": {}, "requests": 0, "tokens": 0, "cells": {}}


def _label(target: str, model: str, profile: str) -> str:
    return f"{target}/{model} ({profile})"


def build(columns: list[dict[str, Any]], *, matrix_id: str, source: str, started_at: str, finished_at: str,
          interrupted: bool, suite_version: str) -> dict[str, Any]:
    """The matrix document: the columns, and the rows (clauses by area, in the contract's order)."""
    judged = {clause: cell for c in columns for clause, cell in c["cells"].items()}
    order = {cid: i for i, cid in enumerate(CLAUSES)}
    areas: dict[str, list[dict[str, Any]]] = {}
    for clause in sorted(judged, key=lambda cid: (order.get(cid, len(order)), cid)):
        known = CLAUSES.get(clause)
        area = known.area if known else judged[clause]["area"]
        areas.setdefault(area, []).append({
            "clause": clause, "level": known.level.value if known else judged[clause]["level"],
            "title": known.title if known else judged[clause]["title"],
            "cells": [_cell(c, clause) for c in columns],
        })
    return {
        "format": FORMAT, "version": FORMAT_VERSION, "id": matrix_id, "source": source,
        "started_at": started_at, "finished_at": finished_at, "interrupted": interrupted,
        "suite_version": suite_version,
        "columns": [{k: v for k, v in c.items() if k != "cells"} for c in columns],
        "areas": [{"area": area, "rows": rows} for area, rows in areas.items()],
    }


def _cell(column: dict[str, Any], clause: str) -> dict[str, Any]:
    cell = column["cells"].get(clause)
    if cell is None:
        return {"verdict": None, "counts": {}, "link": None}
    return {"verdict": cell["verdict"], "counts": cell["counts"], "link": cell["link"]}


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(document: dict[str, Any], out_dir: Path) -> list[Path]:
    """matrix.json, matrix.md and matrix.html in out_dir."""
    from . import matrix_views

    return [atomic.write_text(out_dir / "matrix.json", dump(document)),
            atomic.write_text(out_dir / "matrix.md", matrix_views.markdown(document)),
            atomic.write_text(out_dir / "matrix.html", matrix_views.html(document))]
