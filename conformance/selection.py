"""What a run runs: one selection function for `run`, `list-checks` and the pytest plugin, and the
--clause / --scenario / --defect filters, normalised and refused when they match nothing.

A filter that selects nothing would otherwise run 0 checks and report CONFORMANT: a typo must
be an error (exit 2) that lists what exists.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

from .engine import CheckSpec, ScenarioSpec
from .preflight import SetupError
from .profiles import BY_CLAUSE, Profile


def select(profile: Profile, *, clauses: Iterable[str] = (), scenarios: Iterable[str] = (),
           reconcile: bool = False) -> tuple[list[CheckSpec], list[ScenarioSpec]]:
    """The checks and scenarios a run in ``profile`` executes: the profile's tiers and features,
    the --clause prefixes and --scenario names, generation only when the profile generates, and
    the manifest reconciliation checks only when ``reconcile`` (a manifest was written down).  A
    probe marked BY_CLAUSE runs beyond its tier when --clause names a clause it feeds."""
    from .suite import load_suite

    prefixes, names = clause_prefixes(clauses), set(scenario_names(scenarios))

    def want_check(c: CheckSpec) -> bool:
        if "manifest" in c.marks and not reconcile:
            return False
        return profile.enables(c.marks) and (not prefixes or any(c.rule.id.startswith(p) for p in prefixes))

    def want_scenario(s: ScenarioSpec) -> bool:
        generated_off = "fuzz" in s.tags and profile.fuzz_examples <= 0
        on_demand = bool(prefixes) and BY_CLAUSE in s.marks and profile.enables(s.marks)
        return (profile.admits(s.marks) or on_demand) and not generated_off and (not names or s.name in names)

    return load_suite().select(want_check, want_scenario)


def clause_prefixes(values: Iterable[str]) -> tuple[str, ...]:
    """Clause prefixes compare case-insensitively: `sse` selects SSE-01..."""
    return tuple(v.strip().upper() for v in values)


def scenario_names(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for v in values)


def check_filters(clauses: Iterable[str] = (), scenarios: Iterable[str] = (), defects: Iterable[str] = (),
                  flag: Callable[[str], str] = lambda name: f"--{name}") -> None:
    """SetupError naming the first filter that matches nothing, with what exists; `flag` spells
    an option's name as the front-end does."""
    from .clauses import CLAUSES

    for prefix in clause_prefixes(clauses):
        if not prefix or not any(cid.startswith(prefix) for cid in CLAUSES):
            areas = sorted({cid.split("-")[0] for cid in CLAUSES})
            raise SetupError(f"{flag('clause')} {prefix!r} matches no clause; clause prefixes: {', '.join(areas)} "
                             f"(or a full id such as SSE-03; `conformance list-checks` lists them)")
    if scenarios:
        from .suite import load_suite

        known = sorted(load_suite().scenarios)
        for name in scenario_names(scenarios):
            if name not in known:
                raise SetupError(f"{flag('scenario')} {name!r} is not a scenario{_close(name, known)}; scenarios: {', '.join(known)}")
    defects = tuple(defects)
    if defects:
        from .servers.defects.registry import DEFECTS

        for name in defects:
            if name not in DEFECTS:
                raise SetupError(f"{flag('defect')} {name!r} is not a defect{_close(name, DEFECTS)}; "
                                 f"`conformance list-defects` lists all {len(DEFECTS)}")


def _close(name: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(known), n=3)
    return f" (did you mean {' or '.join(matches)}?)" if matches else ""
