"""Generated requests that depend on the seed and the strategy alone.

Hypothesis mixes into its draws literals it finds in the source of "local" modules: every loaded
module outside site-packages and the standard library.  Which modules those are differs between
the CLI and the pytest plugin, between an editable install and a wheel, with the user's own
conftest, and over a run's lifetime (the SDK is imported in the background while the first
scenarios send): the same ``--seed`` drew different requests, and a reproduction printed by one
front-end did not reproduce in the other.  While ``seed_only()`` is held, those literals are left
out (Hypothesis's built-in constants, the same everywhere, stay in).

This reaches into Hypothesis' internals (``providers._get_local_constants``); the constraints
file pins the versions it is tested with, and tests/test_fuzz.py proves draws no longer depend on
which modules are loaded.  Should a Hypothesis version move the function, this does nothing
and that test fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis.internal.conjecture import providers

_lock = threading.Lock()
_holders = 0
_original: Callable[[], Any] | None = None


def _no_local_constants() -> Any:
    return providers.Constants()


def _forget_cached_choices() -> None:
    """Drop the per-constraint choices Hypothesis cached with whatever local constants it had."""
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None:
        cache.cache.clear()


@contextmanager
def seed_only() -> Iterator[None]:
    """Hypothesis draws inside depend on the seed and the strategy, not on loaded modules.
    Re-entrant and thread-safe: concurrent fuzz scenarios hold it together; the original
    behaviour is back once the last one leaves (a user's own Hypothesis tests keep theirs)."""
    global _holders, _original
    with _lock:
        if _holders == 0 and hasattr(providers, "_get_local_constants"):
            _original = providers._get_local_constants
            providers._get_local_constants = _no_local_constants
            _forget_cached_choices()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _original is not None:
                providers._get_local_constants = _original
                _original = None
                _forget_cached_choices()
