"""Deterministic split of scenarios into shards, shared by the xdist controller and its workers.

Both sides compute the same partition from the same inputs (the selected scenario names, the
registry's request counts, the shard count), so a worker that receives one item of a shard can
run the whole shard at once without asking the controller which scenarios it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ROOT = "conformance"  # first segment of every node id the plugin creates


def scenario_of(nodeid: str) -> str | None:
    """The scenario of a conformance node id (``conformance::SSE-03::check[scenario]``), else None."""
    if not nodeid.startswith(f"{ROOT}::") or not nodeid.endswith("]") or "[" not in nodeid:
        return None
    return nodeid[nodeid.index("[") + 1 : -1]


def partition(scenarios: Iterable[str], weights: Mapping[str, int], shards: int) -> dict[str, int]:
    """Scenario -> shard index in [0, shards): heaviest first onto the lightest shard (ties: lowest index)."""
    loads = [0] * max(1, shards)
    out: dict[str, int] = {}
    for name in sorted(set(scenarios), key=lambda s: (-weights.get(s, 1), s)):
        index = loads.index(min(loads))
        out[name] = index
        loads[index] += weights.get(name, 1)
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1-based K) -> (K-1, N); ValueError when malformed or out of range."""
    k, sep, n = text.partition("/")
    if not sep or not k.isdigit() or not n.isdigit() or not 1 <= int(k) <= int(n):
        raise ValueError(f"--conformance-shard wants K/N with 1 <= K <= N, got {text!r}")
    return int(k) - 1, int(n)
