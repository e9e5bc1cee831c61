"""The protocol-agnostic engine: registry selection, verdict lowering, failure containment, concurrency."""

from __future__ import annotations

import threading

import pytest

from conformance.engine import (
    Budget,
    BudgetExhausted,
    CannotJudge,
    NotApplicable,
    Rule,
    Runner,
    Skip,
    Suite,
    Verdict,
    fail,
    passed,
    warn,
)

RULES = {"R-MUST": Rule("R-MUST", "MUST", "a", "must"), "R-SHOULD": Rule("R-SHOULD", "SHOULD", "a", "should"),
         "R-MAY": Rule("R-MAY", "MAY", "b", "may")}


def make_suite() -> Suite:
    suite = Suite(rule_lookup=RULES.__getitem__)

    @suite.scenario("good")
    def ok_scenario(ctx):
        """Returns 1."""
        return 1

    @suite.scenario("bad")
    def skipping_scenario(ctx):
        """Not applicable."""
        raise Skip("capability refused")

    @suite.scenario("bad")
    def crashing_scenario(ctx):
        """A harness bug."""
        raise RuntimeError("boom\nsecond line")

    @suite.scenario("bad")
    def broke_budget(ctx):
        """Out of budget."""
        raise BudgetExhausted("10 of 10 requests used")

    @suite.check("R-MUST", on="good")
    def must_fails(ev):
        """Fails with evidence."""
        return fail("x", "y")

    @suite.check("R-SHOULD", on="good")
    def should_fails(ev):
        """A violated SHOULD."""
        return fail("x", "y")

    @suite.check("R-MAY", on="good")
    def may_warns(ev):
        """A violated MAY."""
        return warn("x", "y")

    @suite.check("R-MUST", on="good")
    def cannot_judge(ev):
        """Evidence missing."""
        raise CannotJudge("no body")

    @suite.check("R-MUST", on="good")
    def crashes(ev):
        """Harness bug in a check."""
        return {}["missing"]

    @suite.check("R-MUST", on=("good", "bad"))
    def passes(ev):
        """Always satisfied by the fake evidence."""
        return passed()

    return suite


def run(suite: Suite, **kwargs):
    checks, scenarios = suite.select(lambda c: True, lambda s: True)
    return Runner(checks, scenarios, context=None, redact=lambda s: s.replace("boom", "***"), **kwargs).run()


def verdicts(outcome) -> dict[tuple[str, str], Verdict]:
    return {(r.check.split(".")[-1], r.scenario): r.verdict for r in outcome.results}


def test_verdicts_and_containment():
    got = verdicts(run(make_suite()))
    assert got[("must_fails", "ok_scenario")] is Verdict.FAIL
    assert got[("should_fails", "ok_scenario")] is Verdict.WARN
    assert got[("may_warns", "ok_scenario")] is Verdict.INFO
    assert got[("cannot_judge", "ok_scenario")] is Verdict.ERROR
    assert got[("crashes", "ok_scenario")] is Verdict.ERROR
    assert got[("passes", "ok_scenario")] is Verdict.PASS
    assert got[("passes", "skipping_scenario")] is Verdict.SKIP
    assert got[("passes", "crashing_scenario")] is Verdict.ERROR
    assert got[("passes", "broke_budget")] is Verdict.SKIP


def test_not_applicable_scenario_yields_no_results():
    suite = make_suite()

    @suite.scenario("good")
    def nothing_to_probe(ctx):
        """The target offers nothing this scenario probes."""
        raise NotApplicable

    results = run(suite).results
    assert results and not [r for r in results if r.scenario == "nothing_to_probe"]


def test_notes_are_one_line_and_redacted():
    outcome = run(make_suite())
    crash = next(r for r in outcome.results if r.scenario == "crashing_scenario")
    assert "boom" not in crash.note and "***" in crash.note and "\n" not in crash.note
    budget = next(r for r in outcome.results if r.scenario == "broke_budget")
    assert budget.note == "budget exhausted: 10 of 10 requests used"


def test_select_keeps_only_scenarios_that_feed_a_check():
    suite = make_suite()
    checks, scenarios = suite.select(lambda c: c.name.endswith("must_fails"), lambda s: True)
    assert [s.name for s in scenarios] == ["ok_scenario"]
    assert [c.name for c in checks] == ["test_engine.must_fails"]


def test_registry_rejects_checks_without_a_rule_docstring_and_duplicates():
    suite = Suite(rule_lookup=RULES.__getitem__)
    with pytest.raises(ValueError, match="docstring"):
        suite.check("R-MUST", on="x")(lambda ev: passed())

    def dup(ctx):
        """Doc."""

    suite.scenario()(dup)
    with pytest.raises(ValueError, match="duplicate"):
        suite.scenario()(dup)


def test_scenarios_run_concurrently():
    suite = Suite(rule_lookup=RULES.__getitem__)
    in_flight, peak, lock = [0], [0], threading.Lock()
    # Each scenario waits until four are running at once: the pool must run four together,
    # however slowly the machine starts its threads (a liveness bound turns a hang into a failure).
    together = threading.Barrier(4, timeout=120)

    def slow(ctx):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        together.wait()
        with lock:
            in_flight[0] -= 1

    for i in range(8):
        def slow_i(ctx):
            slow(ctx)
        slow_i.__name__, slow_i.__doc__ = f"slow{i}", "Sleeps."
        suite.scenario("s")(slow_i)

    def ok(ev):
        """Passes."""
        return passed()

    suite.check("R-MUST", on="s")(ok)
    outcome = run(suite, concurrency=4)
    assert len(outcome.results) == 8 and peak[0] == 4


def test_cancel_stops_pending_scenarios():
    suite = Suite(rule_lookup=RULES.__getitem__)
    started, runners, lock = [], [], threading.Lock()

    for i in range(20):
        def sc(ctx, i=i):
            with lock:
                started.append(i)
                third = len(started) == 3
            if third:
                runners[0].cancel()  # what Ctrl-C does, at a known point of the run
        sc.__name__, sc.__doc__ = f"sc{i}", "Cancels at the third."
        suite.scenario("s")(sc)

    def ok(ev):
        """Passes."""
        return passed()

    suite.check("R-MUST", on="s")(ok)
    checks, scenarios = suite.select(lambda c: True, lambda s: True)
    runner = Runner(checks, scenarios, None, concurrency=2)
    runners.append(runner)
    outcome = runner.run()
    # The third, and at most one the other worker had begun as the cancel came; none after.
    assert outcome.interrupted and len(started) <= 4


def test_budget_refuses_past_the_limit():
    budget = Budget(max_requests=2, max_tokens=100)
    budget.charge_request()
    budget.charge_request()
    with pytest.raises(BudgetExhausted):
        budget.charge_request()
    tokens = Budget(max_tokens=10)
    tokens.charge_tokens(12)
    with pytest.raises(BudgetExhausted, match="tokens"):
        tokens.charge_request()


def test_validate_names_every_broken_tag_link():
    suite = Suite(rule_lookup=RULES.__getitem__)

    @suite.scenario("made")
    def orphan(ctx):
        """Feeds nothing."""

    @suite.check("R-MUST", on="awaited")
    def waits(ev):
        """Waits for a tag no scenario makes."""
        return passed()

    with pytest.raises(ValueError) as raised:
        suite.validate()
    assert "waits for tag(s) ['awaited']" in str(raised.value) and "scenario orphan feeds no check" in str(raised.value)


def test_a_self_judging_scenario_reports_each_checks_verdict_over_its_cases():
    from conformance.engine import Judged

    suite = Suite(rule_lookup=RULES.__getitem__)

    @suite.scenario("case", judges=True)
    def generated(ctx, judge):
        """Judges two cases with the checks on 'case'."""
        outcomes = [judge(value, frozenset({"case"})) for value in (1, 2)]
        return Judged({name: o for seen in outcomes for name, o in seen.items() if o.verdict is Verdict.FAIL})

    @suite.check("R-SHOULD", on="case")
    def even(ev):
        """Cases are even."""
        return passed() if ev % 2 == 0 else fail("even", str(ev))

    outcome = Runner(suite.checks.values(), suite.scenarios.values(), None).run()
    assert [(r.check, r.verdict) for r in outcome.results] == [("test_engine.even", Verdict.WARN)]
