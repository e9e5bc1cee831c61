"""The sequential test behind every sampled verdict: its stopping rules and its false-alarm budget."""

from __future__ import annotations

import random

import pytest

from conformance.stats import Decision, SequentialTest, Trial, runs_needed


@pytest.mark.parametrize(("p_null", "alpha", "k"), [(0.5, 0.01, 7), (0.5, 0.05, 5), (0.5, 0.0078125, 7), (0.1, 0.01, 2)])
def test_runs_needed_is_the_smallest_sufficient_run(p_null: float, alpha: float, k: int) -> None:
    assert runs_needed(p_null, alpha) == k
    assert p_null ** k <= alpha * (1 + 1e-9) < p_null ** (k - 1)


@pytest.mark.parametrize("bad", [(0.0, 0.01), (1.0, 0.01), (0.5, 0.0), (0.5, 1.0)])
def test_runs_needed_rejects_degenerate_inputs(bad: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        runs_needed(*bad)


def test_one_reassuring_trial_accepts() -> None:
    test = SequentialTest(0.5)
    assert test.record(Trial.SUSPICIOUS) is Decision.CONTINUE
    assert test.record(Trial.REASSURING) is Decision.ACCEPT
    assert test.evidence()["decision"] == "accept" and test.trials == 2


def test_a_full_suspicious_run_rejects_within_budget() -> None:
    test = SequentialTest(0.5, alpha=0.01)
    for _ in range(6):
        assert test.record(Trial.SUSPICIOUS) is Decision.CONTINUE
    assert test.record(Trial.SUSPICIOUS) is Decision.REJECT
    evidence = test.evidence()
    assert evidence["p_value_bound"] <= evidence["false_alarm_budget"] == 0.01
    assert evidence["suspicious"] == evidence["suspicious_needed"] == 7


def test_neutral_trials_only_spend_the_cap() -> None:
    test = SequentialTest(0.5, alpha=0.01, max_trials=8)
    for _ in range(7):
        test.record(Trial.NEUTRAL)
    assert test.record(Trial.SUSPICIOUS) is Decision.UNDECIDED
    with pytest.raises(RuntimeError):
        test.record(Trial.REASSURING)


def test_cap_below_the_needed_run_is_refused() -> None:
    with pytest.raises(ValueError):
        SequentialTest(0.5, alpha=0.01, max_trials=6)


@pytest.mark.parametrize("p_suspicious", [0.5, 0.3])
def test_false_alarm_rate_stays_within_budget(p_suspicious: float) -> None:
    """Under H0 (each informative trial suspicious with probability <= 1/2) rejections stay <= alpha."""
    rng = random.Random(1234)
    runs, rejected = 20000, 0
    for _ in range(runs):
        test = SequentialTest(0.5, alpha=0.01, max_trials=12)
        while test.decision is Decision.CONTINUE:
            draw = rng.random()
            test.record(Trial.NEUTRAL if draw < 0.2 else Trial.SUSPICIOUS if draw < 0.2 + 0.8 * p_suspicious
                        else Trial.REASSURING)
        rejected += test.decision is Decision.REJECT
    assert rejected / runs <= 0.01
