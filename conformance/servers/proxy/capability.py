"""Which defects can act in front of a real upstream.

COMPLETION hooks rewrite the reference server's toy-model output before it is rendered, and AUTH
hooks override the reference server's own key check; a real upstream has neither, so a defect
with such a hook cannot apply in proxy mode.  Every other stage acts on the request payload or
on the answer (body, chunks, error, wire bytes) and applies unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.servers.defects import DEFECTS
from conformance.servers.defects.registry import stages_of
from conformance.servers.reference.pipeline import Stage

UNSUPPORTED_STAGES = frozenset({Stage.COMPLETION, Stage.AUTH})


def proxy_capable(name: str) -> bool:
    """Whether defect ``name`` works in proxy mode; KeyError when there is no such defect."""
    return not UNSUPPORTED_STAGES.intersection(stages_of(name))


def refused(names: Iterable[str]) -> str | None:
    """Why the proxy cannot apply ``names`` -- unknown names, else the defects with a COMPLETION
    or AUTH hook, each with its stages -- or None when it can apply them all."""
    names = list(names)
    unknown = [name for name in names if name not in DEFECTS]
    if unknown:
        return f"unknown defect(s): {', '.join(unknown)}"
    incapable = [name for name in names if not proxy_capable(name)]
    if not incapable:
        return None
    listed = "; ".join(f"{name} ({', '.join(stage.name for stage in stages_of(name))})" for name in incapable)
    return ("defect(s) not available in proxy mode: they act on the reference server's toy model (COMPLETION) "
            f"or its own key check (AUTH), which a real upstream does not have: {listed}")
