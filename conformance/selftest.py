"""The kill matrix: the suite run against the reference server and each of its named defects.

For every defect the clause it breaks must get the verdict it declares, and no other clause may
get worse than on the clean server unless the defect lists it as collateral.  Benign variants
must leave every clause as it was (WARN allowed only where declared).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .clauses import CLAUSES
from .engine import SEVERITY, Result, Verdict
from .servers.defects.registry import DEFECTS, Defect
from .servers.launcher import ReferenceServer
from .session import EMBEDDED_MODEL, REFERENCE_CAPABILITIES, RunConfig, execute

_BAD = (Verdict.FAIL, Verdict.WARN, Verdict.ERROR)
# Whole-document schema rules overlap every field rule, so any envelope defect may also break them;
# and the official SDK consumes the same bytes, so its clauses may break with any wire defect.
SCHEMA_CLAUSES = frozenset({"ENV-01", "SSE-19"})
CONSUMER_AREAS = frozenset({"sdk"})
API_KEY = "sk-selftest-0123456789abcdef"


@dataclass
class KillRow:
    defect: Defect
    observed: str  # worst verdict on the defect's clause
    unexpected: list[str] = field(default_factory=list)  # "CLAUSE:VERDICT" outside the declared ones
    collateral_seen: list[str] = field(default_factory=list)

    @property
    def expected(self) -> str:
        return self.defect.verdict

    @property
    def killed(self) -> bool:
        """The declared verdict was seen on the declared clause, and nothing undeclared changed."""
        return self.observed == self.expected and not self.unexpected

    def to_dict(self) -> dict[str, object]:
        d = self.defect
        return {"defect": d.name, "clause": d.clause, "area": CLAUSES[d.clause].area, "benign": d.benign,
                "deviations": list(d.deviations), "expected": self.expected, "observed": self.observed,
                "killed": self.killed, "unexpected": self.unexpected, "collateral_seen": self.collateral_seen,
                "summary": d.summary}


def worst_by_clause(results: Iterable[Result]) -> dict[str, Verdict]:
    worst: dict[str, Verdict] = {}
    for r in results:
        if r.clause not in worst or SEVERITY[r.verdict] > SEVERITY[worst[r.clause]]:
            worst[r.clause] = r.verdict
    return worst


def _bad(verdict: Verdict | None) -> bool:
    return verdict in _BAD


def judge(defect: Defect, clean: dict[str, Verdict], mutated: dict[str, Verdict]) -> KillRow:
    on_clause = mutated.get(defect.clause)
    observed = on_clause.value if on_clause is not None else "NOT-RUN"
    if defect.benign and not _bad(on_clause):
        observed = "PASS"  # PASS, INFO or SKIP: the variant was accepted
    row = KillRow(defect, observed)
    for clause, verdict in sorted(mutated.items()):
        if clause == defect.clause or not _bad(verdict) or SEVERITY[verdict] <= SEVERITY[clean.get(clause, Verdict.PASS)]:
            continue
        declared = clause in defect.collateral or clause in SCHEMA_CLAUSES or CLAUSES[clause].area in CONSUMER_AREAS
        (row.collateral_seen if declared else row.unexpected).append(f"{clause}:{verdict.value}")
    return row


def profile_for(defect: Defect) -> str:
    """The profile whose rules the defect breaks (most break the default profile's)."""
    return getattr(defect, "profile", "compatible")


def run_defect(server: ReferenceServer, defect: Defect, clean: dict[str, dict[str, Verdict]],
               concurrency: int = 8) -> KillRow:
    profile = profile_for(defect)
    key = f"{profile}+generated" if defect.generated else profile
    if key not in clean:
        clean[key] = worst_by_clause(_run(server.base_url, profile, concurrency, defect.generated))
    mutated = worst_by_clause(_run(server.url_for(defect.name), profile, concurrency, defect.generated))
    return judge(defect, clean[key], mutated)


# Generated cases per generation scenario in a matrix run: every defect and variant meets the
# generated path too (judged by the same checks, so its tags and verdict aggregation are proven
# against every mutant), at a cost of a few requests; the fuzzers' depth is tests/test_fuzz.py's.
# A variant that only generated requests reach gets enough of them to meet its behaviour (what
# the draws hold depends on the strategies: tests/test_benign_exercised.py shows it is met).
MATRIX_FUZZ_EXAMPLES = 1
GENERATED_VARIANT_EXAMPLES = 60


def _run(base_url: str, profile: str, concurrency: int, generated: bool = False) -> list[Result]:
    config = RunConfig(base_url=base_url, model=EMBEDDED_MODEL, api_key=API_KEY, profile=profile, concurrency=concurrency,
                       fuzz_examples=GENERATED_VARIANT_EXAMPLES if generated else MATRIX_FUZZ_EXAMPLES,
                       capabilities=str(REFERENCE_CAPABILITIES),
                       command=["conformance", "selftest"])
    return execute(config).results


def run_matrix(names: Iterable[str] | None = None, *, concurrency: int = 8,
               on_row: Callable[[KillRow], None] = lambda row: None) -> list[KillRow]:
    defects = [DEFECTS[n] for n in names] if names else sorted(DEFECTS.values(), key=lambda d: (d.benign, d.clause, d.name))
    clean: dict[str, dict[str, Verdict]] = {}
    rows = []
    with ReferenceServer(api_key=API_KEY) as server:
        for defect in defects:
            row = run_defect(server, defect, clean, concurrency)
            on_row(row)
            rows.append(row)
    return rows


def render_markdown(rows: list[dict[str, object]]) -> str:
    """The kill matrix as Markdown: a summary by area, then one line per defect or variant."""
    by_area: dict[str, Counter[str]] = {}
    for r in rows:
        counts = by_area.setdefault(str(r["area"]), Counter())
        counts["variants" if r["benign"] else "defects"] += 1
        counts["killed" if r["killed"] else "missed"] += 1
    lines = ["# Kill matrix", "",
             f"{sum(1 for r in rows if r['killed'])} of {len(rows)} rows as expected "
             f"({sum(1 for r in rows if not r['benign'])} defects, {sum(1 for r in rows if r['benign'])} benign variants).", "",
             "| area | defects | benign variants | as expected | missed |", "|---|---:|---:|---:|---:|"]
    for area, c in sorted(by_area.items()):
        lines.append(f"| {area} | {c['defects']} | {c['variants']} | {c['killed']} | {c['missed']} |")
    lines += ["", "| defect / variant | deviations | clause | expected | observed | ok | other clauses |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (bool(r["benign"]), str(r["clause"]), str(r["defect"]))):
        other = ", ".join([*map(str, r["unexpected"]), *(f"({c})" for c in r["collateral_seen"])])  # type: ignore[arg-type]
        name = f"{r['defect']}{' (benign)' if r['benign'] else ''}"
        lines.append(f"| `{name}` | {','.join(r['deviations']) or '-'} | {r['clause']} | {r['expected']} | "  # type: ignore[arg-type]
                     f"{r['observed']} | {'yes' if r['killed'] else '**NO**'} | {other} |")
    lines += ["", "Other clauses: unexpected changes in plain text, declared collateral in parentheses."]
    return "\n".join(lines) + "\n"
