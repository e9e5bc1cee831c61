"""The defect registry: one record and one hook per defect.

A defect is declared by decorating one function with ``@defect(...)``; the decorator records a
``Defect`` (what the suite must report, on which clause) and registers the function as a hook
of one ``Stage`` of the reference server's pipeline (see ``reference.pipeline``).  Importing
``conformance.servers.defects`` imports every area module, which fills ``DEFECTS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from conformance.clauses import CLAUSES
from conformance.servers.reference.pipeline import Hook, Pipeline, Stage

_NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERDICTS = {"FAIL", "WARN", "PASS"}
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Defect:
    name: str                 # kebab-case, e.g. "tool-delta-without-index"
    clause: str               # primary clause id from conformance.clauses.CLAUSES
    verdict: str              # "FAIL" or "WARN"; benign variants use "PASS" or "WARN"
    deviations: tuple[str, ...]   # catalogue ids, e.g. ("D34",); () when not in the catalogue
    summary: str              # one line: what the server does wrong (or unusually)
    benign: bool = False      # True = valid-but-unusual variant the suite must accept
    collateral: tuple[str, ...] = ()  # other clause ids this defect also (legitimately) breaks
    profile: str = "compatible"  # the profile whose rules it breaks (vendor-only parameters: "vendor")
    generated: bool = False   # only generated requests reach it: the kill matrix runs it with generated traffic on


DEFECTS: dict[str, Defect] = {}
_HOOKS: dict[str, list[tuple[Stage, Hook]]] = {}

# Catalogue deviations (id -> reason) that a server cannot exhibit on its own.  Empty: every
# entry D01-D62 has at least one defect; sub-forms that are client or deployment mistakes (e.g.
# D09's native /api/chat reached through a wrong base URL, D61's server started without a key)
# are not defects of a server and are not modelled.
NOT_EXPRESSIBLE: dict[str, str] = {}


def defect(
    name: str,
    stage: Stage,
    *,
    clause: str,
    verdict: str,
    summary: str,
    deviations: tuple[str, ...] = (),
    benign: bool = False,
    collateral: tuple[str, ...] = (),
    profile: str = "compatible",
    generated: bool = False,
) -> Callable[[F], F]:
    """Register the decorated function as the ``stage`` hook of a new defect ``name``."""
    if name in DEFECTS:
        raise ValueError(f"duplicate defect {name!r}")
    if not _NAME_RE.match(name):
        raise ValueError(f"defect name {name!r} is not kebab-case")
    for cid in (clause, *collateral):
        if cid not in CLAUSES:
            raise ValueError(f"defect {name!r}: unknown clause {cid!r}")
    allowed = {"PASS", "WARN"} if benign else {"FAIL", "WARN"}
    if verdict not in allowed:
        raise ValueError(f"defect {name!r}: verdict {verdict!r} not in {sorted(allowed)}")

    def register(fn: F) -> F:
        DEFECTS[name] = Defect(name, clause, verdict, deviations, summary, benign, collateral, profile, generated)
        _HOOKS[name] = [(stage, fn)]
        return fn

    return register


def also(name: str, stage: Stage) -> Callable[[F], F]:
    """Give the already declared defect ``name`` a second hook, for the rare defect that must act
    at two stages (e.g. issue ids of one format and reject the others on replay)."""
    def register(fn: F) -> F:
        _HOOKS[name].append((stage, fn))
        return fn

    return register


def get(name: str) -> Defect:
    """The defect called ``name``; KeyError when there is none."""
    return DEFECTS[name]


def stages_of(name: str) -> list[Stage]:
    """The stages defect ``name`` hooks into, in hook order; KeyError when there is no such defect."""
    return [stage for stage, _ in _HOOKS[name]]


def pipeline_for(names: Iterable[str]) -> Pipeline:
    """The pipeline applying ``names`` in order; KeyError for an unknown name."""
    return Pipeline([hook for name in names for hook in _HOOKS[name]])
