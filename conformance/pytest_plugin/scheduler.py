"""An xdist scheduler that keeps each shard of conformance scenarios on one worker.

xdist's ``load`` mode spreads items one by one, so the checks of one scenario would land on
several workers and each would send the scenario's requests again.  This scheduler is
``loadscope`` with one scope per shard (``shards.partition`` over the collected scenarios, as
many shards as workers); every other item is its own scope, which distributes like ``load``.
A worker that receives a shard runs all of its scenarios concurrently at its first item.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling

from .shards import partition, scenario_of


class ShardScheduling(LoadScopeScheduling):
    def __init__(self, config: Any, log: Any, weights: dict[str, int]) -> None:
        super().__init__(config, log)
        self._weights = weights
        self._shard_of: dict[str, int] | None = None

    def _split_scope(self, nodeid: str) -> str:
        scenario = scenario_of(nodeid)
        if scenario is None:
            return nodeid
        if self._shard_of is None:
            collection = next(iter(self.registered_collections.values()))
            names = {s for s in map(scenario_of, collection) if s is not None}
            self._shard_of = partition(names, self._weights, self.numnodes)
        return f"conformance-shard-{self._shard_of[scenario]}"
