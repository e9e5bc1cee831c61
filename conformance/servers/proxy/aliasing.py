"""The upstream model under test stands in for the reference server's model while the REQUEST
hooks read a request.

Many REQUEST hooks act only on requests the reference server would accept (its validator knows
only its own model names), and ``unknown-model-accepted`` serves unknown names with the reference
model.  So the hooks see the model under test as the reference model, and the reference model in
their result goes upstream as the model under test.  The model under test is the proxy's
``--model``, or, without it, whatever model each request names.
"""

from __future__ import annotations

from typing import Any

from conformance.servers.reference.validation import MODELS

REFERENCE_MODEL = MODELS[0]


def hide(payload: dict[str, Any], under_test: str | None) -> str | None:
    """Rename ``payload``'s model to the reference model when it is the model under test; return
    the upstream model the reference model stands for in this request (None: it stands for none)."""
    requested = payload.get("model")
    if not isinstance(requested, str) or not requested:
        return under_test
    stands_for = under_test or requested
    if requested == stands_for:
        payload["model"] = REFERENCE_MODEL
    return stands_for


def restore(payload: dict[str, Any], stands_for: str | None) -> None:
    """Rename the reference model in ``payload`` back to the upstream model it stands for."""
    if stands_for is not None and payload.get("model") == REFERENCE_MODEL:
        payload["model"] = stands_for
