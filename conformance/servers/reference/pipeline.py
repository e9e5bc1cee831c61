"""Hook points where defects alter the reference server, and the objects passed through them.

A request flows through these stages; each selected defect contributes one hook to one stage,
and hooks of a stage run in the order the defects were named:

========== ====================================== ===============================================
stage      hook signature                         used for
========== ====================================== ===============================================
AUTH       ``(authorized: bool, ctx) -> bool``    auth not enforced
REQUEST    ``(payload: dict, ctx) -> dict``       the raw JSON body before validation: drop or
                                                  rewrite fields (ignored parameters, accepted
                                                  invalid values), or raise ``ApiError`` to reject
COMPLETION ``(Completion, ctx) -> Completion``    model semantics shared by stream and non-stream
BODY       ``(body: dict, ctx) -> dict``          the non-stream ``chat.completion`` object
CHUNKS     ``(chunks: list[dict], ctx) -> list``  the stream's chunk objects
ERROR      ``(ErrorReply, ctx) -> ErrorReply``    status, body and headers of an error answer
WIRE       ``(Wire, ctx) -> Wire``                the bytes on the wire: SSE framing, headers,
                                                  content coding, transfer, connection handling
========== ====================================== ===============================================
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .validation import ChatRequest


class Stage(Enum):
    AUTH = "auth"
    REQUEST = "request"
    COMPLETION = "completion"
    BODY = "body"
    CHUNKS = "chunks"
    ERROR = "error"
    WIRE = "wire"


@dataclass
class Context:
    """Per-request facts hooks may read: the route, request headers, the payload (after REQUEST
    hooks), the validated request and the usage object of the generated answer."""

    route: str
    headers: Mapping[str, str]
    payload: dict[str, Any] | None = None
    request: ChatRequest | None = None
    usage: dict[str, Any] | None = None

    @property
    def stream(self) -> bool:
        """Whether the client asked for a stream (read from the payload, valid or not)."""
        return isinstance(self.payload, dict) and self.payload.get("stream") is True


@dataclass
class ErrorReply:
    """An error answer before encoding: ``body`` is JSON-encoded, or sent as-is when a string."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Wire:
    """The answer as bytes: ``pieces`` are written in order (with the chunk delay between SSE
    pieces, or ``pauses[i]`` seconds before piece ``i`` when given); ``chunked`` sends without
    Content-Length; ``hold_open_s`` keeps the connection open after the last piece; ``relay``, when
    given, is what the pieces pass through on their way out (a defect's generation slot: it may
    hold them back, and sees a client that goes away as the iteration ending early).  Header names
    are lower-case."""

    status: int
    headers: dict[str, str]
    pieces: list[bytes]
    sse: bool = False
    chunked: bool = False
    hold_open_s: float = 0.0
    pauses: list[float] | None = None
    relay: Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]] | None = None


Hook = Callable[[Any, Context], Any]


class Pipeline:
    """The hooks of the selected defects, grouped by stage."""

    def __init__(self, hooks: Sequence[tuple[Stage, Hook]] = ()) -> None:
        self._hooks: dict[Stage, list[Hook]] = {}
        for stage, hook in hooks:
            self._hooks.setdefault(stage, []).append(hook)

    def run(self, stage: Stage, value: Any, ctx: Context) -> Any:
        for hook in self._hooks.get(stage, ()):
            value = hook(value, ctx)
        return value
