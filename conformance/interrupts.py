"""Ctrl-C and SIGTERM from the first moment of a command: never a traceback, never a lost report.

Rules: `defer()` (the CLI's first statement) holds SIGINT and SIGTERM back and maps SIGTERM to
KeyboardInterrupt; `deliver()` lets held and later signals through.  A run calls `deliver()`
inside the guard that turns an interrupt into a partial report, once the suite is imported, so an
interrupt that arrives while the modules and the suite are still loading is handled there too;
other commands call it at once.  Holding them during imports matters beyond the report: a
KeyboardInterrupt raised inside code run by `exec` (dataclasses build their methods that way)
makes `python -m` end by SIGINT after finalization, whatever the exit code.
Signals are held with the thread signal mask, which threads and child processes started while
they are held inherit: start none before `deliver()`.
"""

from __future__ import annotations

import signal
from typing import Any

_HELD = {signal.SIGINT, signal.SIGTERM}


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    # One interrupt is enough: a second SIGTERM must not cut short stopping the server and writing the report.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def defer() -> None:
    """Hold SIGINT/SIGTERM back until `deliver()`; SIGTERM then raises KeyboardInterrupt (once)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


def deliver() -> None:
    """Let held and future SIGINT/SIGTERM through (a held one is raised here, as KeyboardInterrupt)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
