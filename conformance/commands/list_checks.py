"""`conformance list-checks` and `list-defects`: what the suite checks and what it can catch."""

from __future__ import annotations

import argparse

from ..profiles import PROFILES, get_profile

EXIT_OK = 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("list-checks", help="list every check with clause, level, area and scenarios")
    p.add_argument("--profile", choices=sorted(PROFILES), help="only the checks a run in this profile executes (CAP-* need a manifest)")
    return p


def main(args: argparse.Namespace) -> int:
    from ..selection import select
    from ..suite import load_suite

    # The same selection a run makes (reconciliation checks included: they run with a manifest).
    runs = {name: select(p, reconcile=True) for name, p in PROFILES.items()}
    shown = runs[get_profile(args.profile).name] if args.profile else None
    rows = []
    for c in sorted(load_suite().checks.values(), key=lambda c: (c.rule.area, c.rule.id, c.name)):
        if shown and c not in shown[0]:
            continue
        profiles = [name for name, (checks, _) in runs.items() if c in checks]
        scenarios = shown[1] if shown else load_suite().scenarios.values()
        fed = sum(1 for s in scenarios if c.applies_to(s))
        rows.append(f"{c.rule.id:8} {c.rule.level:6} {c.rule.area:13} {c.name:45} profiles={','.join(profiles) or '-'}  scenarios={fed}")
        rows.append(f"{'':29}{c.doc.splitlines()[0]}")
    print("\n".join(rows))
    return EXIT_OK


