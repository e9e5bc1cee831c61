"""Reading a counting answer ("Count from 1 to 12, separated by single spaces"), shared by the stop
probes that ask for one and the rule that judges it."""

from __future__ import annotations

import re


def count_run(text: str) -> list[int]:
    """The count itself: the longest run of consecutive integers, so numbers in a preface a model
    adds ("Here are the numbers from 1 to 12:") are not taken for the count."""
    best: list[int] = []
    run: list[int] = []
    for n in (int(t) for t in re.findall(r"\d+", text)):
        run = run + [n] if run and n == run[-1] + 1 else [n]
        if len(run) > len(best):
            best = run
    return best


def first_numeric_stop(stops: list[str]) -> int | None:
    """The smallest number among the stop sequences (" 5" -> 5), the one a count meets first."""
    return min((int(s.strip()) for s in stops if s.strip().isdigit()), default=None)


def stopped_before(text: str, stops: list[str]) -> bool:
    """The count ends right before the first numeric stop sequence: the stop was reached."""
    first = first_numeric_stop(stops)
    run = count_run(text)
    return first is not None and bool(run) and run[-1] == first - 1 and not any(s in text for s in stops)
