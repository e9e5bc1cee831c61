"""What a run leaves on disk: the reports directory and nothing else.

Hypothesis keeps caches (Unicode tables, constants found in source files) in `.hypothesis/` of the
working directory by default; the CLI moves them under `<reports-dir>/.hypothesis/`, so the
user's directory is not littered and a second run there is warm.  No example database is used
(the generators set `database=None`), so the same `--seed` gives the same requests in any directory.
`--keep N` prunes old run directories.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

# reports/<run-id>/: 20260101T120000Z-abc123 (see session.execute)
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
HYPOTHESIS_DIR = ".hypothesis"


def confine_hypothesis(reports_dir: Path) -> Path:
    """Point Hypothesis' storage at `<reports_dir>/.hypothesis` for this process (before any
    generation).  Through the variable Hypothesis reads when it first needs storage, so the CLI
    does not import Hypothesis before its signal handlers are in place."""
    home = reports_dir.resolve() / HYPOTHESIS_DIR
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = str(home)
    return home


def prune(reports_dir: Path, keep: int) -> list[Path]:
    """Remove all but the `keep` newest run directories (never the one `latest` points at);
    returns what was removed."""
    if not reports_dir.is_dir():
        return []
    latest = reports_dir / "latest"
    current = latest.resolve().name if latest.is_symlink() else None
    runs = sorted((p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink() and RUN_ID.match(p.name)),
                  key=lambda p: p.name, reverse=True)  # run ids start with a UTC timestamp
    removed = []
    for path in runs[keep:]:
        if path.name == current:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
