"""The stall breaker: once enough exchanges in a row were ended by a deadline or a cap, the target
is taken to be stalled and no further request is sent (each would only run into the same limit)."""

from __future__ import annotations

import threading

from conformance.engine.model import CannotJudge
from conformance.wire.model import Exchange

__all__ = ["STALL_KINDS", "StallBreaker", "TargetStalled"]

#: Error kinds that mean a deadline or a cap, not the server, ended the exchange: the target kept
#: the suite waiting, or would have sent without end.
STALL_KINDS = frozenset({"connect-timeout", "read-timeout", "total-timeout", "too-many-events", "body-too-large"})


class TargetStalled(CannotJudge):
    """Raised instead of sending when ``RawClient.stall_limit`` exchanges in a row were ended by a
    deadline or a cap (every further request would only run into it too), or after ``close()``."""


class StallBreaker:
    """Counts the exchanges in a row that a deadline or a cap ended; thread-safe."""

    def __init__(self) -> None:
        self._stalls = 0
        self._kinds: set[str] = set()
        self._lock = threading.Lock()

    def check(self, limit: int | None) -> None:
        """Raise :class:`TargetStalled` when ``limit`` (None: no limit) stalls in a row were counted."""
        if limit is not None and self._stalls >= limit:
            kinds = ", ".join(sorted(self._kinds))
            raise TargetStalled(f"target stalled: the last {self._stalls} exchanges were all ended by a deadline "
                                f"or a cap ({kinds}); no further requests sent")

    def count(self, exchange: Exchange) -> None:
        """Count ``exchange``: a stall lengthens the streak, any other ending resets it."""
        if exchange.stopped_reading:
            return  # the suite stopped on purpose: says nothing about whether the target would have ended
        stalled = exchange.error is not None and exchange.error.kind in STALL_KINDS
        with self._lock:
            self._stalls = self._stalls + 1 if stalled else 0
            if stalled and exchange.error is not None:
                self._kinds.add(exchange.error.kind)
            elif not stalled:
                self._kinds.clear()
