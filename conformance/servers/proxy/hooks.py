"""The selected defects' hooks, run one defect at a time so a failing hook can be named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.servers.defects import pipeline_for
from conformance.servers.reference.errors import ApiError
from conformance.servers.reference.pipeline import Context, Stage

# Stages whose hooks may reject the exchange with an ApiError, as they may in the reference server.
_ANSWERING = frozenset({Stage.REQUEST, Stage.BODY, Stage.CHUNKS})


class HookFailed(Exception):
    """A defect's hook raised on a value it was not written for (e.g. an upstream answer without
    the toy model's fields)."""

    def __init__(self, defect: str, stage: Stage, error: BaseException) -> None:
        super().__init__(f"defect {defect!r} failed at stage {stage.name} on the upstream's answer: {type(error).__name__}: {error}")
        self.defect = defect
        self.stage = stage


class Hooks:
    """The hooks of ``names`` by stage, in the order the names were given (as ``Pipeline``)."""

    def __init__(self, names: Sequence[str]) -> None:
        self._pipelines = [(name, pipeline_for([name])) for name in names]

    def run(self, stage: Stage, value: Any, ctx: Context) -> Any:
        """``value`` through every hook of ``stage``.  An ``ApiError`` from a REQUEST, BODY or
        CHUNKS hook propagates (it becomes the error answer); anything else a hook raises is
        ``HookFailed`` naming its defect."""
        for name, pipeline in self._pipelines:
            try:
                value = pipeline.run(stage, value, ctx)
            except ApiError as exc:
                if stage in _ANSWERING:
                    raise
                raise HookFailed(name, stage, exc) from exc
            except Exception as exc:
                raise HookFailed(name, stage, exc) from exc
        return value
