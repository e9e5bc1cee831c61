"""Every output format of a run, rendered from its report.json (the single source of truth).

    render_run(Path("reports/latest"))                  # junit.xml, report.html, summary.md, transcripts/
    render_run(run_dir, ("html",), out_dir=Path("x"))   # one format, elsewhere

Renderers read the JSON document (not the in-memory run), so a re-render gives the same bytes
as the original run.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .. import schema
from . import atomic, html, json_report, junit, markdown, transcripts

REPORT_JSON = "report.json"
SCHEMA_NAME = "report.schema"
# Format name -> file (or directory) it produces in the run directory.
OUTPUTS: dict[str, str] = {
    "json": REPORT_JSON,
    "junit": "junit.xml",
    "html": "report.html",
    "md": "summary.md",
    "transcripts": transcripts.DIRNAME,
}
FORMATS = tuple(OUTPUTS)
DERIVED = tuple(f for f in FORMATS if f != "json")


class ReportError(Exception):
    """report.json is missing, unreadable, or does not follow schemas/report.schema.json."""


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema.load(SCHEMA_NAME))


def validate(document: object) -> list[str]:
    """Schema errors of a report.json document (either form) as `<json path>: <message>` lines; [] when valid."""
    if isinstance(document, dict) and isinstance(document.get("results"), list) and "artifacts" not in document:
        try:
            document = json_report.compact(document)
        except (KeyError, TypeError):
            pass  # malformed results: let the schema say what is wrong
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message[:300]}" for e in errors[:20]]


def load(run_dir: Path, *, checked: bool = True) -> dict[str, Any]:
    """Parse run_dir/report.json and check it against the schema (unless ``checked`` is false:
    the report a run has just written, which the tests prove valid); ReportError otherwise."""
    path = run_dir / REPORT_JSON
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file (is {run_dir} a run directory?)") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from None
    errors = validate(document) if checked else []
    if errors:
        raise ReportError(f"{path} does not follow {SCHEMA_NAME}.json:\n  " + "\n  ".join(errors))
    return json_report.expand(document)


def write(document: dict[str, Any], out_dir: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write the given formats of `document` into out_dir; returns the paths written."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FORMATS:
        if name not in formats:
            continue
        target = out_dir / OUTPUTS[name]
        if name == "json":
            atomic.write_text(target, json_report.dump(document))
        elif name == "junit":
            junit.write(document, target)
        elif name == "html":
            html.write(document, target)
        elif name == "md":
            markdown.write(document, target)
        else:
            transcripts.write(document, out_dir)
        written.append(target)
    return written


def render_run(
    run_dir: Path, formats: tuple[str, ...] = DERIVED, out_dir: Path | None = None, *, checked: bool = True
) -> list[Path]:
    """Load run_dir/report.json and write `formats` into out_dir (default: the run directory).
    ``checked=False`` skips the schema check (about a second on a default run's report): for the
    report a run has just written itself."""
    return write(load(run_dir, checked=checked), out_dir or run_dir, formats)
