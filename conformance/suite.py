"""The chat-completions suite: one registry that the scenario and check modules fill on import."""

from __future__ import annotations

import importlib

from .clauses import clause
from .engine import Rule, Suite


def _rule(cid: str) -> Rule:
    c = clause(cid)
    return Rule(c.id, c.level.value, c.area, c.title)


SUITE = Suite(rule_lookup=_rule)

_MODULES = (
    "conformance.scenarios.basic",
    "conformance.scenarios.models",
    "conformance.scenarios.acceptance",
    "conformance.scenarios.params",
    "conformance.scenarios.invalid",
    "conformance.scenarios.tools",
    "conformance.scenarios.connections",
    "conformance.checks.transport",
    "conformance.checks.models",
    "conformance.checks.envelope",
    "conformance.checks.stream",
    "conformance.checks.errors",
    "conformance.checks.acceptance",
    "conformance.checks.params",
    "conformance.checks.tools",
    "conformance.scenarios.generated",
    "conformance.sdk.scenarios",
    "conformance.sdk.openai_sdk",
)


def load_suite() -> Suite:
    """Import every scenario and check module once; returns the filled registry."""
    for name in _MODULES:
        importlib.import_module(name)
    return SUITE
