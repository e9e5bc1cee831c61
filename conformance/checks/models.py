"""The model list: clients pick models from GET /models, and vendors claim models in their manifest."""

from __future__ import annotations

from ..engine import Outcome, fail, passed
from ..evidence import Evidence
from ..suite import SUITE
from .common import short


@SUITE.check("MOD-01", on="models_listing")
def models_listed(ev: Evidence) -> Outcome:
    """GET /models answers 200 with {"data": [{"id": ...}]} listing the model under test and every model the capability manifest claims."""
    ex = ev.require_response()
    if ex.status != 200:
        return fail("HTTP 200 with a model list", f"HTTP {ex.status}")
    try:
        data = ex.json().get("data")
    except (ValueError, AttributeError):
        return fail('a JSON object {"data": [...]}', short(ex.body[:200].decode("utf-8", "replace")))
    if not isinstance(data, list):
        return fail('a "data" array of models', f"data = {short(data)}")
    listed = {m.get("id") for m in data if isinstance(m, dict)}
    wanted = [ev.ctx.target.model, *(m for m in ev.ctx.capabilities.models if m != ev.ctx.target.model)]
    missing = [m for m in wanted if m not in listed]
    if missing:
        return fail(f"listed: {', '.join(wanted)}", f"missing {missing}; listed {sorted(map(str, listed))[:10]}")
    return passed(listed=len(listed))
