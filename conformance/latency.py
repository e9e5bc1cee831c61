"""Latency figures of streams: percentiles, and the `timing` section of report.json built from them.

TIM-02 records, per stream, the time to the first token (`ttft_s`) and every gap between two
consecutive chunks (`gaps_ms`) in its result's evidence; the section summarises them over the run
(p50, p90 and max), and the console prints it as one line.  Old reports have no such section.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

SECTION_VERSION = 1
TTFT_KEY, GAPS_KEY = "ttft_s", "gaps_ms"


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0 < q <= 100) of non-empty ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def spread(values: Sequence[float], digits: int = 4) -> dict[str, float]:
    """p50, p90 and max of non-empty ``values``."""
    return {"p50": round(percentile(values, 50), digits), "p90": round(percentile(values, 90), digits),
            "max": round(max(values), digits)}


def section(results: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The run's `timing` section: one entry per timed stream, and the percentiles over all of
    them; None when no result recorded a stream's latency."""
    streams = []
    for r in results:
        evidence = r.get("evidence") or {}
        if not isinstance(evidence.get(TTFT_KEY), int | float):
            continue
        gaps = [g / 1000 for g in evidence.get(GAPS_KEY) or []]
        streams.append({"scenario": r["scenario"], "ttft_s": evidence[TTFT_KEY],
                        "chunks": len(gaps) + 1, "gap_s": spread(gaps) if gaps else None})
    if not streams:
        return None
    all_gaps = [g / 1000 for r in results for g in ((r.get("evidence") or {}).get(GAPS_KEY) or [])]
    return {"version": SECTION_VERSION, "streams": streams,
            "ttft_s": spread([s["ttft_s"] for s in streams]), "gap_s": spread(all_gaps) if all_gaps else None}


def console_line(timing: dict[str, Any] | None) -> str | None:
    """One line for the terminal: time to first token and gaps between chunks over the run."""
    if not timing:
        return None

    def ms(figures: dict[str, float]) -> str:
        return " ".join(f"{k} {v * 1000:.0f} ms" for k, v in figures.items())

    gaps = f"; gap between chunks {ms(timing['gap_s'])}" if timing.get("gap_s") else ""
    return f"timing: {len(timing['streams'])} stream(s), time to first token {ms(timing['ttft_s'])}{gaps}"
