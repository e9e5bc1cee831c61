"""Sends the process a signal at a named point, so a test interrupts exactly there instead of
after a sleep.  Active only in a subprocess started with this directory on PYTHONPATH and
INTERRUPT_AT set (removed at once, so the processes it starts do not inherit it):

    INTERRUPT_AT="SIGTERM import conformance.cli"   when that module starts being imported
    INTERRUPT_AT="SIGINT request 5"                 when the client sends its 5th request (preflight included)
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import itertools
import os
import signal
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any


def _signal(signum: int) -> None:
    os.kill(os.getpid(), signum)


class _OnImport(importlib.abc.MetaPathFinder):
    """Signals when `module` starts being imported, then lets the import go on."""

    def __init__(self, module: str, signum: int) -> None:
        self.module, self.signum = module, signum

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == self.module:
            sys.meta_path.remove(self)
            _signal(self.signum)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls `patch(module)` once `module` has been imported."""

    def __init__(self, module: str, patch: Callable[[ModuleType], None]) -> None:
        self.module, self.patch = module, patch

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.module:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        assert spec is not None and spec.loader is not None
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            self.patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _on_request(n: int, signum: int) -> Callable[[ModuleType], None]:
    def patch(client: ModuleType) -> None:
        attempt = client.RawClient._attempt
        count = itertools.count(1)

        def counted(self: Any, *args: Any) -> Any:
            if next(count) == n:
                _signal(signum)
            return attempt(self, *args)

        client.RawClient._attempt = counted

    return patch


def _install(spec: str) -> None:
    name, where, what = spec.split()
    signum = signal.Signals[name]
    if where == "import":
        sys.meta_path.insert(0, _OnImport(what, signum))
    elif where == "request":
        sys.meta_path.insert(0, _AfterImport("conformance.wire.client", _on_request(int(what), signum)))
    else:
        raise ValueError(f"INTERRUPT_AT: unknown point {where!r}")


if "INTERRUPT_AT" in os.environ:
    _install(os.environ.pop("INTERRUPT_AT"))
