"""The preflight's GET /models answer, judged like any other evidence (it costs no extra request)."""

from __future__ import annotations

from ..engine import Skip
from ..evidence import Evidence
from ..suite import SUITE
from ..target import Context


@SUITE.scenario("models_listing", requests=0)
def models_listing(ctx: Context) -> Evidence:
    """The GET /models exchange the preflight made."""
    exchange = ctx.facts.get("models_exchange")
    if exchange is None:
        raise Skip("no preflight GET /models exchange was recorded")
    return Evidence(ctx, b"", exchange)
