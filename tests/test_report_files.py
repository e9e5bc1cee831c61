"""Report files are never lost or corrupted: every file is replaced atomically, reports/latest is
swapped by rename (racing runs do not crash), an unwritable reports directory is refused before
anything is sent, and a write that fails at the end still prints the summary and says where."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from report_fixtures import as_json, hand_report

from conformance import cli
from conformance.reports import atomic, json_report, render
from tests.hostile.servers import start_hostile


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    render.write(as_json(hand_report()), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    transcripts_before = sorted(p.name for p in (tmp_path / "transcripts").iterdir())

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    monkeypatch.setattr(Path, "write_text", full_disk)  # transcripts/ files are written into a new directory
    for name in ("json", "junit", "html", "md", "transcripts"):
        with pytest.raises(OSError):
            render.write(as_json(hand_report(interrupted=True)), tmp_path, (name,))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in (tmp_path / "transcripts").iterdir()) == transcripts_before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_written_files_get_the_usual_mode(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = atomic.write_text(tmp_path / "x.json", "{}")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_racing_runs_swap_latest_without_crashing(tmp_path: Path) -> None:
    runs = [tmp_path / f"run-{i}" for i in range(8)]
    for run in runs:
        run.mkdir()
    errors: list[str | None] = []

    def point(run: Path) -> None:
        for _ in range(50):
            errors.append(json_report.point_latest(tmp_path, run))

    threads = [threading.Thread(target=point, args=(run,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(errors) == {None}
    assert (tmp_path / "latest").is_symlink() and os.readlink(tmp_path / "latest") in {r.name for r in runs}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_latest_that_cannot_be_replaced_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "latest").mkdir()  # e.g. a copy left by a file system without symlinks
    (tmp_path / "latest" / "keep.txt").write_text("x")
    report = hand_report()
    run_dir = json_report.write(report, tmp_path)
    assert (run_dir / "report.json").is_file() and (tmp_path / "latest" / "keep.txt").is_file()
    err = capsys.readouterr().err
    assert err.startswith("warning:") and "not updated" in err and err.count("\n") == 1


def test_an_unwritable_reports_directory_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with start_hostile("html") as srv:
        done = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--base-url", srv.base_url, "--model", "m",
                               "--reports-dir", str(blocker / "reports")], capture_output=True, text=True, timeout=120)
        assert srv.connections == 0
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot write reports to") and done.stderr.count("\n") == 1, done.stderr


def test_a_write_that_fails_at_the_end_prints_the_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def full_disk(path: Path, data: bytes) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "write_bytes", full_disk)
    code = cli.main(["run", "--scenario", "chat_basic", "--reports-dir", str(tmp_path), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "CONFORMANT: profile compatible" in out and "report:" not in out
    assert f"error: nothing could be written to {tmp_path}: No space left on device" in err
