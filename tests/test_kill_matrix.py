"""The kill matrix as a self-test: every named defect is caught at its declared verdict on its
declared clause, nothing undeclared changes, every benign variant passes, the clean server passes."""

from __future__ import annotations

import pytest

from conformance.engine import Verdict
from conformance.selftest import API_KEY, _run, judge, profile_for, run_defect, worst_by_clause
from conformance.servers.defects.registry import DEFECTS
from conformance.servers.launcher import ReferenceServer

pytestmark = pytest.mark.kill_matrix


@pytest.fixture(scope="session")
def reference() -> ReferenceServer:
    with ReferenceServer(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def clean_cache() -> dict:
    return {}


@pytest.mark.parametrize("profile", ["compatible", "openai-strict", "vendor", "certify"])
def test_clean_server_passes_everything(reference: ReferenceServer, profile: str) -> None:
    results = _run(reference.base_url, profile, concurrency=8)
    bad = [f"{r.key} {r.clause} {r.verdict.value}: {r.observed or r.note}" for r in results
           if r.verdict not in (Verdict.PASS, Verdict.INFO)]
    assert results and not bad, "\n".join(bad)


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_is_caught_as_declared(reference: ReferenceServer, clean_cache: dict, name: str, record_property) -> None:
    row = run_defect(reference, DEFECTS[name], clean_cache)
    record_property("kill_row", row.to_dict())
    assert row.observed == row.expected, f"{name}: {row.defect.clause} expected {row.expected}, observed {row.observed}"
    assert not row.unexpected, f"{name}: undeclared clauses changed: {row.unexpected}"


def test_judge_flags_undeclared_changes() -> None:
    defect = DEFECTS[sorted(n for n, d in DEFECTS.items() if not d.benign)[0]]
    clean = {defect.clause: Verdict.PASS, "HTTP-01": Verdict.PASS}
    caught = judge(defect, clean, {defect.clause: Verdict(defect.verdict), "HTTP-01": Verdict.PASS})
    assert caught.killed
    noisy = judge(defect, clean, {defect.clause: Verdict(defect.verdict), "HTTP-01": Verdict.FAIL})
    assert not noisy.killed and noisy.unexpected == ["HTTP-01:FAIL"]
    missed = judge(defect, clean, {defect.clause: Verdict.PASS})
    assert not missed.killed and missed.observed == "PASS"


def test_worst_by_clause_orders_by_severity() -> None:
    from conformance.engine import Result

    def r(clause: str, verdict: Verdict) -> Result:
        return Result("c", clause, "MUST", "a", "t", "rule", "s", verdict)

    worst = worst_by_clause([r("A", Verdict.PASS), r("A", Verdict.WARN), r("A", Verdict.SKIP), r("B", Verdict.FAIL)])
    assert worst == {"A": Verdict.WARN, "B": Verdict.FAIL}
    assert profile_for(DEFECTS[next(iter(DEFECTS))]) in ("compatible", "openai-strict", "vendor", "certify")
