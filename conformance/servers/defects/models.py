"""GET /models defects: the list clients pick their model from."""

from __future__ import annotations

from conformance.servers.reference.pipeline import Context, Stage, Wire
from conformance.servers.reference.wire import json_wire

from .registry import defect


@defect("models-list-empty", Stage.WIRE, clause="MOD-01", verdict="WARN",
        summary="GET /models answers an empty list although chat requests for the model work (single-model servers)")
def models_list_empty(wire: Wire, ctx: Context) -> Wire:
    if ctx.route == "models" and wire.status == 200:
        return json_wire(200, {"object": "list", "data": []})
    return wire
