"""The Hypothesis strategies of ``conformance.generation.strategies``, bound to the target under test.

Returned by the ``conformance_strategies`` fixture so a user's own test does not repeat the model
id and profile flags: ``data.draw(conformance_strategies.valid_requests(stream=True))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ..generation import strategies as generation


@dataclass(frozen=True)
class TargetStrategies:
    model: str
    strict: bool
    vendor: bool

    def valid_requests(self, **options: Any) -> st.SearchStrategy[dict[str, Any]]:
        """Valid chat requests for the target's model (options as in ``generation.strategies.valid_requests``)."""
        return generation.valid_requests(self.model, strict=self.strict, vendor=self.vendor, **options)

    def invalid_requests(self, **options: Any) -> st.SearchStrategy[generation.InvalidRequest]:
        """Requests breaking exactly one rule, as ``InvalidRequest(body, param, rule)``."""
        return generation.invalid_requests(self.model, strict=self.strict, vendor=self.vendor, **options)
