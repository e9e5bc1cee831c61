"""The chat-completions suite: one registry that the scenario and check modules fill on import."""

from __future__ import annotations

import importlib
import pkgutil

from .clauses import clause
from .engine import Rule, Suite


def _rule(cid: str) -> Rule:
    c = clause(cid)
    return Rule(c.id, c.level.value, c.area, c.title)


SUITE = Suite(rule_lookup=_rule)

# Every module of these packages is imported: a new scenario or check module registers itself.
_PACKAGES = ("conformance.scenarios", "conformance.checks", "conformance.sdk")
_loaded = False


def load_suite() -> Suite:
    """Import every scenario and check module once; returns the filled registry, its tag wiring
    validated (a check waiting for a tag no scenario produces would silently never run)."""
    global _loaded
    if not _loaded:
        # Every module, even when some were imported already (a test importing one check module
        # fills part of the registry): importing a module twice registers nothing twice.
        for package in _PACKAGES:
            path = importlib.import_module(package).__path__
            for module in sorted(m.name for m in pkgutil.iter_modules(path)):
                importlib.import_module(f"{package}.{module}")
        SUITE.validate()
        _loaded = True
    return SUITE
