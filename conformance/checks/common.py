"""Small helpers shared by check modules."""

from __future__ import annotations

import json
from typing import Any

from ..evidence import Evidence

FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


def req(ev: Evidence, key: str, default: Any = None) -> Any:
    """A field of the request body the scenario sent."""
    return ev.request.get(key, default) if isinstance(ev.request, dict) else default


def short(value: Any, limit: int = 160) -> str:
    """A compact one-line rendering of a value for expected/observed texts."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payloads(ev: Evidence) -> list[tuple[str, dict[str, Any]]]:
    """The JSON objects a success answer consists of: the body, or every chunk of the stream."""
    if ev.streamed:
        return [(f"chunk #{c.position}", c.payload) for c in ev.stream.json_chunks]
    return [("body", ev.body)]
