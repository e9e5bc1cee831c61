"""Ctrl-C and SIGTERM from the first moment of a command: never a traceback, never a lost report.

Rules: `defer()` (the first statement of `python -m conformance` and of the `conformance` script,
before the rest of the suite is imported) holds SIGINT and SIGTERM back; `deliver()` lets held
and later ones through, SIGTERM mapped to KeyboardInterrupt.  A run calls `deliver()` inside the
guard that turns an interrupt into a partial report, once the suite is imported, so an interrupt
that arrives while the modules and the suite are still loading is handled there too; when the
guard ends the run holds them again (`holding()` tells it the command owns them) until `release()`
at the command's end, so an interrupt while the report is written cannot lose it.  Other commands
call `deliver()` at once.  Holding them during imports matters beyond the report: a
KeyboardInterrupt raised inside code run by `exec` (dataclasses build their methods that way)
makes `python -m` end by SIGINT after finalization, whatever the exit code.
Held signals are caught by a handler that only notes them (not blocked: the run's threads and
the embedded server must not inherit a blocked mask); a signal ignored when the command started
(or handled outside Python) is left alone.
"""

from __future__ import annotations

import signal

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_original: dict[int, object] = {}  # the signals the command owns, with their handlers before it (restored by release())
_arrived: list[int] = []  # signals that came while held
_holding = False


def _note(signum: int, frame: object) -> None:
    _arrived.append(signum)


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    # One interrupt is enough: a second SIGTERM must not cut short stopping the server and writing the report.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def defer() -> None:
    """Hold SIGINT/SIGTERM back until `deliver()` (or drop them at `release()`)."""
    global _holding
    if not _original:
        before = {s: signal.getsignal(s) for s in _SIGNALS}
        _original.update((s, handler) for s, handler in before.items() if handler not in (signal.SIG_IGN, None))
    for s in _original:
        signal.signal(s, _note)
    _holding = True


def holding() -> bool:
    """Whether interrupts are held now (by the command; the pytest plugin never holds them)."""
    return _holding


def deliver() -> None:
    """Let held and future SIGINT/SIGTERM through (a held one is raised here, as KeyboardInterrupt)."""
    global _holding
    if not _holding:
        return
    _holding = False
    for s, handler in _original.items():
        if s == signal.SIGTERM:
            handler = signal.SIG_IGN if s in _arrived else _sigterm_as_interrupt
        signal.signal(s, handler)  # type: ignore[arg-type]
    if _arrived:
        _arrived.clear()
        raise KeyboardInterrupt


def release() -> None:
    """The command ends: drop what is still held (it came after the command's work was done, or
    after it had said why it could not run) and give SIGINT/SIGTERM back their handlers."""
    global _holding
    _holding = False
    _arrived.clear()
    for s, handler in _original.items():
        signal.signal(s, handler)  # type: ignore[arg-type]
    _original.clear()
