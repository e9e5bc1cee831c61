"""Reading a recorded run for the commands that compare, merge or replay runs: a run directory or
a report.json file, checked against the schema, with a one-line message when it cannot be used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import json_report, render


class RunInputError(Exception):
    """A path that is not a usable run: one line, for the user (exit code 2)."""


def report_path(path: Path) -> Path:
    """The report.json a user means by ``path`` (a run directory, or the file itself)."""
    return path / render.REPORT_JSON if path.is_dir() else path


def read(path: Path) -> dict[str, Any]:
    """The compact (on-disk) report.json document of a run, validated; RunInputError otherwise."""
    file = report_path(path)
    if not path.exists():
        raise RunInputError(f"{path}: no such run directory or report.json")
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunInputError(f"{path}: no report.json in this directory (is it a run directory?)") from None
    except (OSError, ValueError) as exc:
        raise RunInputError(f"{file}: cannot read: {' '.join(str(exc).split())}") from None
    errors = render.validate(document)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise RunInputError(f"{file} is not a report.json ({render.SCHEMA_NAME}.json): {errors[0]}{more}")
    return document


def load(path: Path) -> dict[str, Any]:
    """The run's report.json in the form renderers use (each result carries its artifacts)."""
    return json_report.expand(read(path))

