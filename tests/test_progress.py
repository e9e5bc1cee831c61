"""The progress display: live (rich) on a terminal, plain in logs, nothing with --quiet; NO_COLOR honoured."""

from __future__ import annotations

import io

import pytest

from conformance.engine import Result, Verdict
from conformance.reports.console import Progress as PlainProgress
from conformance.reports.progress import LiveProgress, Silent, for_run


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _result(verdict: Verdict) -> Result:
    return Result("stream.ends_with_done", "SSE-03", "MUST", "stream", "t", "r", "stream_basic", verdict)


def test_the_display_fits_where_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert isinstance(for_run(quiet=True, no_color=False, out=Terminal()), Silent)
    assert isinstance(for_run(quiet=False, no_color=False, out=io.StringIO()), PlainProgress)
    live = for_run(quiet=False, no_color=False, out=Terminal())
    assert isinstance(live, LiveProgress) and live.color
    live.finish()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = for_run(quiet=False, no_color=False, out=Terminal())
    assert isinstance(plain, LiveProgress) and not plain.color
    plain.finish()
    flagged = for_run(quiet=False, no_color=True, out=Terminal())
    assert isinstance(flagged, LiveProgress) and not flagged.color
    flagged.finish()


def test_the_live_line_counts_results_and_failures() -> None:
    live = LiveProgress(Terminal(), color=False)
    live.start(3, 2, 4)
    for verdict in (Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.FAIL):
        live(_result(verdict))
    task = live.bar.tasks[0]
    assert (task.completed, task.total) == (4, 4)
    assert task.fields["verdicts"] == "FAIL 2  ERROR 1"
    live.finish()
