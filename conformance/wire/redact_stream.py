"""Secrets a server splits across SSE events (a key echoed token by token in a stream).

Rule: the string values of the events' JSON payloads are joined per JSON path -- a list
position is named by the element's ``"index"`` field when it has one, as streamed deltas do --
and the data of events that are not JSON is joined as one text.  Where a secret occurs in a
join but in no single event, every event holding a piece of it gets that piece replaced by
``***``.  Such an event's data is re-serialized compactly (the piece cannot be cut out of the
original bytes reliably), so its spacing may differ from what the server sent.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .redact import REDACTED, Redactor
from .sse import SSEEvent

__all__ = ["redact_split_secrets"]

_TEXT_PATH = ("<text>",)
_MAX_DEPTH = 32  # payloads nested deeper are not walked (no stream chunk is)


class _Leaf:
    """One string value of one event, and where to write its redacted form."""

    def __init__(self, event: int, holder: Any, key: Any, value: str) -> None:
        self.event, self.holder, self.key, self.value = event, holder, key, value
        self.cuts: list[tuple[int, int]] = []

    def redacted(self) -> str:
        out, last = [], 0
        for start, end in sorted(self.cuts):
            if start >= last:
                out += [self.value[last:start], REDACTED]
                last = end
        return "".join(out) + self.value[last:]


def _walk(node: Any, path: tuple[Any, ...], event: int, leaves: dict[tuple[Any, ...], list[_Leaf]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        name = key
        if isinstance(node, list) and isinstance(value, dict) and isinstance(value.get("index"), int):
            name = ("index", value["index"])
        if isinstance(value, str):
            leaves.setdefault((*path, name), []).append(_Leaf(event, node, key, value))
        else:
            _walk(value, (*path, name), event, leaves, depth + 1)


def redact_split_secrets(events: list[SSEEvent], redactor: Redactor) -> list[SSEEvent]:
    """``events`` (each already redacted on its own) with secrets split across events redacted."""
    payloads: list[Any] = []
    texts: set[int] = set()  # events whose data is not a JSON object or array
    leaves: dict[tuple[Any, ...], list[_Leaf]] = {}
    for i, ev in enumerate(events):
        try:
            payload = json.loads(ev.data)
        except (ValueError, RecursionError):
            payload = None
        payloads.append(payload)
        if isinstance(payload, (dict, list)):
            _walk(payload, (), i, leaves, 0)
        elif ev.data:
            holder = [ev.data]
            payloads[-1] = holder
            texts.add(i)
            leaves.setdefault(_TEXT_PATH, []).append(_Leaf(i, holder, 0, ev.data))
    dirty: set[int] = set()
    for group in leaves.values():
        if len(group) > 1:
            dirty |= _mark(group, redactor)
    if not dirty:
        return events
    out = list(events)
    for leaf in (leaf for group in leaves.values() for leaf in group if leaf.cuts):
        leaf.holder[leaf.key] = leaf.redacted()
    for i in dirty:
        payload = payloads[i]
        data = payload[0] if i in texts else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        old = events[i].data.encode("utf-8")
        raw = events[i].raw.replace(old, data.encode("utf-8")) if old and old in events[i].raw \
            else b"data: " + data.encode("utf-8") + b"\n\n"
        out[i] = replace(events[i], data=data, raw=raw)
    return out


def _mark(group: list[_Leaf], redactor: Redactor) -> set[int]:
    """Record on each leaf the pieces of secrets that span more than one leaf; the events touched."""
    joined = "".join(leaf.value for leaf in group)
    starts, offset = [], 0
    for leaf in group:
        starts.append(offset)
        offset += len(leaf.value)
    dirty: set[int] = set()
    for start, end in redactor.spans(joined):
        touched = [(leaf, s) for leaf, s in zip(group, starts, strict=True) if s < end and s + len(leaf.value) > start]
        if len(touched) < 2:
            continue  # inside one value: the event's own redaction already replaced it
        for leaf, s in touched:
            leaf.cuts.append((max(start - s, 0), min(end - s, len(leaf.value))))
            dirty.add(leaf.event)
    return dirty
