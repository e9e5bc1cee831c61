"""What a run tells its observers while it goes: typed events, handed to handlers.

A front-end never drives the run: it subscribes handlers (a progress display, a report writer,
pytest items) and the run publishes, in order, ``PhaseChanged("preflight")``, ``RunStarted``,
one ``ResultReady`` per result as it is judged (from the runner's threads), more
``PhaseChanged`` as later phases begin, and ``RunFinished`` with whatever the run produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Result


@dataclass(frozen=True)
class PhaseChanged:
    phase: str  # "preflight", "scenarios", "closing", "comparing", "writing"


@dataclass(frozen=True)
class RunStarted:
    checks: int
    scenarios: int
    expected: int  # (check, scenario) pairs: the most results the run can give


@dataclass(frozen=True)
class ResultReady:
    result: Result


@dataclass(frozen=True)
class RunFinished:
    outcome: Any  # what the run produced (for the CLI: the written run and its gate)


Event = PhaseChanged | RunStarted | ResultReady | RunFinished
Handler = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The handler of a run nobody watches."""


def fan_out(*handlers: Handler) -> Handler:
    """One handler that hands every event to each of ``handlers`` in turn."""

    def emit(event: Event) -> None:
        for handler in handlers:
            handler(event)

    return emit
