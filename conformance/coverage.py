"""Contract coverage, derived from the suite itself: which checks and probes exercise each field.

The fields come from the schemas: every top-level request property (plus the seed vendor's, in
the profiles that read them) must be probed in three directions, "set" (its effect when given),
"off" (its absence when omitted or turned off) and "invalid" (a 400 naming it); every property of
a response body or stream chunk must have its type checked and, when it is a number or an
enumerated value, its value cross-checked ("type", "value").

What covers a field is data the checks and scenarios declare (``covers=`` on ``@check`` and
``@scenario``: ``"<surface>.<field>:<direction>"``, a field ending in ``*`` matching every field
it prefixes).  A direction that nothing covers must have a one-line reason in
``coverage_exemptions.yaml``; ``tests/test_coverage.py`` holds both lists to each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import schema
from .engine import CheckSpec, ScenarioSpec

REQUEST_DIRECTIONS = ("set", "off", "invalid")
ANSWER_KINDS = ("type", "value")
SURFACES = ("request", "response", "chunk")
EXEMPTIONS_FILE = Path(__file__).with_name("coverage_exemptions.yaml")
_NUMERIC = {"integer", "number"}
STATES = ("covered", "elsewhere", "exempt", "missing")  # of a required cell; "optional" ones are not counted


@dataclass(frozen=True)
class Field:
    surface: str  # request, response or chunk
    path: str  # "temperature", "choices[].message.content"
    directions: tuple[str, ...]  # what can be covered
    required: tuple[str, ...]  # what must be covered (or exempted)
    vendor: bool = False  # read only by profiles with the vendor's extensions

    @property
    def name(self) -> str:
        return f"{self.surface}.{self.path}"


@dataclass(frozen=True)
class Cell:
    by: tuple[str, ...]  # clause ids of covering checks, names of covering scenarios
    profiles: tuple[str, ...]  # the profiles whose selection covers it
    exempt: str | None  # the listed reason why nothing covers it
    required: bool = True  # a string's value cross-check is welcome, not required

    @property
    def state(self) -> str:
        if self.by:
            return "covered"
        if self.profiles:
            return "elsewhere"  # covered, but not in the profile in focus
        return "exempt" if self.exempt else "missing" if self.required else "optional"


@dataclass(frozen=True)
class Row:
    field: Field
    cells: dict[str, Cell]


Selection = tuple[list[CheckSpec], list[ScenarioSpec]]


@cache
def fields() -> tuple[Field, ...]:
    """Every field of the contract, from the strict reading of the schemas (the vendor's request
    properties marked as such)."""
    request = schema.reading("request", strict=True)
    vendor = schema.reading("request", strict=True, vendor=True)
    found = [Field("request", name, REQUEST_DIRECTIONS, REQUEST_DIRECTIONS) for name in request["properties"]]
    found += [Field("request", name, REQUEST_DIRECTIONS, REQUEST_DIRECTIONS, vendor=True)
              for name in vendor["properties"] if name not in request["properties"]]
    for surface in ("response", "chunk"):
        root = schema.reading(surface, strict=True)  # type: ignore[arg-type]
        valued: dict[str, bool] = {}  # a path reached through several branches is one field
        for path, numeric in _walk(root, root["$defs"], ""):
            valued[path] = valued.get(path, False) or numeric
        found += [Field(surface, path, ANSWER_KINDS, ANSWER_KINDS if v else ANSWER_KINDS[:1]) for path, v in valued.items()]
    return tuple(found)


def _walk(node: dict[str, Any], defs: dict[str, Any], prefix: str, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """(path, is a number or an enumerated value) of every property under ``node``."""
    if depth > 12:
        raise ValueError(f"schema nesting too deep at {prefix!r}")
    for branch in _branches(node, defs):
        for name, child in (branch.get("properties") or {}).items():
            path = f"{prefix}{name}"
            parts = _branches(child, defs)
            items = [p["items"] for p in parts if isinstance(p.get("items"), dict)]
            yield path, any(_valued(p) for p in parts + [b for i in items for b in _branches(i, defs)])
            yield from _walk(child, defs, f"{path}.", depth + 1)
            for item in items:
                yield from _walk(item, defs, f"{path}[].", depth + 1)


def _branches(node: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """``node`` and every schema it composes ($ref, anyOf/oneOf/allOf, if-then-else), resolved."""
    if "$ref" in node:
        node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    out = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for part in node.get(key) or []:
            out += _branches(part, defs)
    for key in ("then", "else"):
        if isinstance(node.get(key), dict):
            out += _branches(node[key], defs)
    return out


def _valued(node: dict[str, Any]) -> bool:
    kinds = node.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    return bool(kinds & _NUMERIC) or "enum" in node or "const" in node


def _parse(entry: str) -> tuple[str, str]:
    """("<surface>.<field pattern>", direction) of one ``covers`` entry."""
    target, sep, direction = entry.rpartition(":")
    if not sep or direction not in REQUEST_DIRECTIONS + ANSWER_KINDS:
        raise ValueError(f"covers entry {entry!r}: expected '<surface>.<field>:<direction>'")
    return target, direction


def _matches(pattern: str, name: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


Declared = dict[str, list[tuple[str, str]]]  # direction -> (label, field pattern) of every covers entry


def _declared(selection: Selection) -> Declared:
    """The covers entries of a selection, parsed once (rows() asks about every field and direction)."""
    checks, scenarios = selection
    found: Declared = {}
    for label, covers in [(c.rule.id, c.covers) for c in checks] + [(s.name, s.covers) for s in scenarios]:
        for entry in covers:
            pattern, kind = _parse(entry)
            found.setdefault(kind, []).append((label, pattern))
    return found


def _covered_by(field: Field, direction: str, declared: Declared) -> set[str]:
    return {label for label, pattern in declared.get(direction, ()) if _matches(pattern, field.name)}


def unmatched(declared: Iterable[str]) -> list[str]:
    """The ``covers`` entries that name no field or a direction the field does not have: a typo
    (or a field the schemas dropped) that would otherwise cover nothing silently."""
    bad = []
    for entry in declared:
        pattern, direction = _parse(entry)
        if not any(_matches(pattern, f.name) and direction in f.directions for f in fields()):
            bad.append(entry)
    return bad


def load_exemptions(path: Path = EXEMPTIONS_FILE) -> dict[tuple[str, str], str]:
    """(field name, direction) -> reason, from a YAML file of ``surface: {field: {"dir dir": reason}}``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[tuple[str, str], str] = {}
    for surface, entries in data.items():
        for path_, reasons in (entries or {}).items():
            for directions, reason in reasons.items():
                # YAML 1.1 reads a bare `off` key as the boolean false.
                for direction in ("off" if directions is False else str(directions)).split():
                    where = f"{path.name}: {surface}.{path_}:{direction}"
                    if direction not in REQUEST_DIRECTIONS + ANSWER_KINDS:
                        raise ValueError(f"{where}: unknown direction")
                    if not isinstance(reason, str) or not reason.strip():
                        raise ValueError(f"{where} needs a one-line reason")
                    out[(f"{surface}.{path_}", direction)] = reason.strip()
    return out


def rows(selections: dict[str, Selection], *, focus: str | None = None,
         exemptions: dict[tuple[str, str], str] | None = None) -> list[Row]:
    """One row per field that the selections (profile name -> checks, scenarios) can reach (the
    vendor's fields only where a vendor profile reads them).  With ``focus``, a cell names what
    covers it in that profile, and one covered only in other profiles is "elsewhere"."""
    from .profiles import PROFILES

    exemptions = load_exemptions() if exemptions is None else exemptions
    readers = [p for p in selections if PROFILES[p].vendor]
    declared = {p: _declared(sel) for p, sel in selections.items()}
    out = []
    for f in fields():
        if f.vendor and (not readers or (focus is not None and focus not in readers)):
            continue
        cells = {}
        for direction in f.directions:
            per = {p: _covered_by(f, direction, declared[p]) for p in selections if not f.vendor or p in readers}
            by = per.get(focus, set()) if focus else set().union(*per.values())
            cells[direction] = Cell(tuple(sorted(by)), tuple(p for p, found in per.items() if found),
                                    exemptions.get((f.name, direction)), direction in f.required)
        out.append(Row(f, cells))
    return out


def by_profile() -> dict[str, Selection]:
    """What every profile runs (the same selection `run` makes, without a capability manifest)."""
    from .profiles import PROFILES
    from .selection import select

    return {name: select(profile) for name, profile in PROFILES.items()}


def totals(table: list[Row]) -> list[dict[str, Any]]:
    """Per surface and direction: how many cells are covered, exempt and missing, with percentages."""
    out = []
    for surface in SURFACES:
        for direction in REQUEST_DIRECTIONS if surface == "request" else ANSWER_KINDS:
            cells = [r.cells[direction] for r in table if r.field.surface == surface and r.cells[direction].required]
            if not cells:
                continue
            count = {state: sum(1 for c in cells if c.state == state) for state in STATES}
            out.append({"surface": surface, "direction": direction, "total": len(cells), **count,
                        "covered_percent": round(100 * count["covered"] / len(cells), 1),
                        "accounted_percent": round(100 * (len(cells) - count["missing"]) / len(cells), 1)})
    return out


def cell_text(cell: Cell, all_profiles: Iterable[str], limit: int = 0) -> str:
    """One cell in words: what covers it (``limit`` labels at most, 0 = all) and where, or why not."""
    all_profiles = list(all_profiles)
    missing_from = [p for p in all_profiles if p not in cell.profiles]
    where = ("" if not missing_from else f" (only {', '.join(cell.profiles)})" if len(cell.profiles) < len(missing_from)
             else f" (not in {', '.join(missing_from)})")
    if cell.by:
        shown = cell.by[:limit] if limit else cell.by
        more = f" +{len(cell.by) - len(shown)}" if len(cell.by) > len(shown) else ""
        return ", ".join(shown) + more + where
    if cell.profiles:
        return f"only in {', '.join(cell.profiles)}"
    if cell.exempt:
        return f"not probed: {cell.exempt}"
    return "MISSING" if cell.required else "-"


def section(table: list[Row], profiles: Iterable[str] = ()) -> dict[str, Any]:
    """The generic table a report renders (columns, rows of {text, state} cells, totals): reports
    need no knowledge of what the fields are.  ``profiles``: the profiles a cell may name."""
    profiles = list(profiles)
    tables = []
    for surface in SURFACES:
        directions = REQUEST_DIRECTIONS if surface == "request" else ANSWER_KINDS
        body = [[{"text": r.field.path + (" (vendor)" if r.field.vendor else ""), "state": "label"}]
                + [{"text": cell_text(r.cells[d], profiles), "state": r.cells[d].state} for d in directions]
                for r in table if r.field.surface == surface]
        tables.append({"title": f"{surface} fields", "columns": ["field", *directions], "rows": body})
    return {"tables": tables, "totals": [{"label": f"{t['surface']} {t['direction']}", **{k: t[k] for k in (
        "total", *STATES, "covered_percent", "accounted_percent")}} for t in totals(table)]}


def to_json(table: list[Row]) -> list[dict[str, Any]]:
    return [{"surface": r.field.surface, "field": r.field.path, "vendor": r.field.vendor,
             "directions": {d: {"state": c.state, "by": list(c.by), "profiles": list(c.profiles), "exempt": c.exempt}
                            for d, c in r.cells.items()}} for r in table]


def run_section(profile: str, selection: Selection) -> dict[str, Any]:
    """The coverage section of one run's report: what ``selection`` (the run's checks and
    scenarios in ``profile``) exercises, and which fields only other profiles reach."""
    selections = by_profile()
    selections[profile] = selection
    return section(rows(selections, focus=profile), [profile])
