"""The defect zoo: named mutations of the reference server, each breaking (or bending) one clause.

Importing this package imports every area module, which registers its defects in
``registry.DEFECTS``.
"""

from . import benign, deltas, envelope, errors, finish, framing, models, requests, semantics, timing, tools, usage  # noqa: F401
from .registry import DEFECTS, NOT_EXPRESSIBLE, Defect, get, pipeline_for

__all__ = ["DEFECTS", "NOT_EXPRESSIBLE", "Defect", "get", "pipeline_for"]
