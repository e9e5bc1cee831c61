"""Running a matrix: every cell is an ordinary run (`session.execute`) written to its own run
directory below the matrix directory, with bounded parallelism across targets: up to `parallel`
targets at once, the cells of one target one after another (a target is not asked to serve two
runs of the suite at once).

Ctrl-C stops the matrix: cells not started are reported as not run, running cells stop sending
at their next result and write their partial report, and the matrix is written from what ran.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from . import __version__
from .engine import Event, Handler, ResultReady
from .matrix_file import Cell, Matrix
from .reports import atomic, json_report, matrix, render
from .session import SetupError, TargetUnreachable, execute

CELLS = "cells"
LATEST = "latest-matrix"


def new_id() -> str:
    return time.strftime("matrix-%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def _results(on_result: Callable[[Any], None]) -> Handler:
    """The run's events, of which a cell's progress shows the results."""

    def handle(event: Event) -> None:
        if isinstance(event, ResultReady):
            on_result(event.result)

    return handle


def run_cell(cell: Cell, out_dir: Path, on_result: Callable[[Any], None]) -> dict[str, Any]:
    """One cell's run, written to out_dir/cells/<slug>/; its column of the matrix."""
    directory = f"{CELLS}/{cell.slug}"
    where = cell.config.base_url or "(embedded reference server)"
    try:
        report = execute(cell.config, _results(on_result))
    except (SetupError, ValueError, RuntimeError) as exc:
        problem = f"{'target unreachable: ' if isinstance(exc, TargetUnreachable) else ''}{exc}"
        return matrix.failed_column(target=cell.target, model=cell.model, profile=cell.profile, base_url=where,
                                    error=" ".join(problem.split()))
    document = json_report.build(report)
    try:
        render.write(document, out_dir / directory)
    except OSError as exc:
        return matrix.failed_column(target=cell.target, model=cell.model, profile=cell.profile, base_url=where,
                                    error=f"the report could not be written: {exc.strerror or exc}")
    return matrix.column(document, target=cell.target, model=cell.model, profile=cell.profile, directory=directory)


def run_matrix(spec: Matrix, out_dir: Path, parallel: int,
               progress: Callable[[Cell, dict[str, Any]], None] = lambda cell, column: None) -> tuple[list[dict[str, Any]], bool]:
    """Every cell's column, in the file's order, and whether the matrix was interrupted."""
    stop = threading.Event()
    columns: dict[str, dict[str, Any]] = {}

    def stop_requested(_: Any) -> None:
        if stop.is_set():  # the runner turns this into a partial, interrupted report
            raise KeyboardInterrupt

    def run_target(cells: list[Cell]) -> None:
        for cell in cells:
            if stop.is_set():
                columns[cell.slug] = matrix.failed_column(
                    target=cell.target, model=cell.model, profile=cell.profile,
                    base_url=cell.config.base_url or "(embedded reference server)", error="not started: interrupted")
                continue
            columns[cell.slug] = run_cell(cell, out_dir, stop_requested)
            progress(cell, columns[cell.slug])

    (out_dir / CELLS).mkdir(parents=True, exist_ok=True)
    interrupted = False
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel, len(spec.targets))), thread_name_prefix="matrix")
    futures = [pool.submit(run_target, cells) for cells in spec.targets.values()]
    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
    finally:
        pool.shutdown(wait=True)
    for future in futures:
        future.result()  # a bug in a worker is a bug, not a silent hole in the matrix
    interrupted = interrupted or any(c["interrupted"] for c in columns.values())
    return [columns[cell.slug] for cell in spec.cells], interrupted


def write(columns: list[dict[str, Any]], out_dir: Path, *, source: str, started: float, interrupted: bool) -> dict[str, Any]:
    """matrix.json, .md and .html in out_dir, and reports/latest-matrix pointing at it; the document."""
    document = matrix.build(columns, matrix_id=out_dir.name, source=source, started_at=_iso(started),
                            finished_at=_iso(time.time()), interrupted=interrupted, suite_version=__version__)
    matrix.write(document, out_dir)
    try:
        atomic.point_link(out_dir.parent / LATEST, out_dir.name)
    except OSError:
        pass  # the matrix is written: a stale pointer costs nothing
    return document


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))
