"""`conformance list-checks` and `list-defects`: what the suite checks and what it can catch."""

from __future__ import annotations

import argparse

from ..profiles import PROFILES, get_profile

EXIT_OK = 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("list-checks", help="list every check with clause, level, area and scenarios")
    p.add_argument("--profile", choices=sorted(PROFILES), help="only checks enabled in this profile")
    return p


def main(args: argparse.Namespace) -> int:
    from ..suite import load_suite

    suite = load_suite()
    profile = get_profile(args.profile) if args.profile else None
    rows = []
    for c in sorted(suite.checks.values(), key=lambda c: (c.rule.area, c.rule.id, c.name)):
        if profile and not profile.enables(c.marks):
            continue
        scenarios = sorted(s.name for s in suite.scenarios.values() if c.applies_to(s))
        profiles = [p.name for p in PROFILES.values() if p.enables(c.marks)]
        rows.append(f"{c.rule.id:8} {c.rule.level:6} {c.rule.area:13} {c.name:45} profiles={','.join(profiles)}  scenarios={len(scenarios)}")
        rows.append(f"{'':29}{c.doc.splitlines()[0]}")
    print("\n".join(rows))
    return EXIT_OK


