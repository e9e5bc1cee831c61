"""HTML building blocks of report.html.  Every value goes through `esc`: the target's bytes are
hostile, and escaping here is what keeps them text."""

from __future__ import annotations

import html
from typing import Any

from .findings import printable


def esc(value: object) -> str:
    """`value` as inert HTML text, also inside a double-quoted attribute."""
    return html.escape(printable(value), quote=True)


def chip(verdict: str, label: str | None = None) -> str:
    return f'<span class="chip v-{esc(verdict)}">{esc(label or verdict)}</span>'


def pre(text: object) -> str:
    return f"<pre>{esc(text)}</pre>"


def details(summary: str, body: str) -> str:
    """A collapsed block; `body` is markup already."""
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


def seconds(value: float) -> str:
    """A duration for people: milliseconds below one second."""
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def exchange_label(artifact: dict[str, Any]) -> str:
    """`primary: POST URL → 200 (0.012 s)`: one recorded exchange in a line (text, not markup)."""
    request, response = artifact.get("request", {}), artifact.get("response", {})
    status = response.get("status")
    return (f"{artifact.get('label', 'exchange')}: {request.get('method', '')} {request.get('url', '')} → "
            f"{status if status is not None else 'no response'} ({response.get('elapsed', 0)} s)")
