"""What an SDK call produced, reduced to what client code reads, so it can be set against the wire.

A ``Digest`` is choice 0 of an answer as an application sees it: the text, the finish reason, the
tool calls (id, name, arguments) and the usage numbers.  The SDK scenarios build one from the
SDK's objects; the checks build one from the recorded exchange and compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..wire.redact import cut

Usage = tuple[Any, Any, Any]  # prompt_tokens, completion_tokens, total_tokens


@dataclass(frozen=True)
class ToolCallView:
    id: Any
    name: Any
    arguments: Any


@dataclass(frozen=True)
class Digest:
    content: Any
    finish_reason: Any
    tool_calls: tuple[ToolCallView, ...]
    usage: Usage | None

    def differences(self, wire: Digest) -> list[str]:
        """One line per field where this (the SDK's view) differs from ``wire`` (the raw answer)."""
        out = [f"{name}: SDK {mine!r}, wire {theirs!r}"
               for name, mine, theirs in (("content", self.content, wire.content),
                                          ("finish_reason", self.finish_reason, wire.finish_reason),
                                          ("usage", self.usage, wire.usage))
               if mine != theirs]
        if len(self.tool_calls) != len(wire.tool_calls):
            out.append(f"tool calls: SDK {len(self.tool_calls)}, wire {len(wire.tool_calls)}")
        for i, (mine, theirs) in enumerate(zip(self.tool_calls, wire.tool_calls)):
            out += [f"tool_calls[{i}].{field}: SDK {getattr(mine, field)!r}, wire {getattr(theirs, field)!r}"
                    for field in ("id", "name", "arguments") if getattr(mine, field) != getattr(theirs, field)]
        return out


@dataclass(frozen=True)
class SdkError:
    """An exception the SDK (or the attribute access on what it returned) raised."""

    type: str  # qualified class name, e.g. "openai.BadRequestError"
    message: str
    status_code: int | None  # openai.APIStatusError.status_code
    error_message: str | None  # the message the SDK extracted from the error body, if any

    @classmethod
    def of(cls, exc: BaseException) -> SdkError:
        kind = type(exc)
        module = "openai." if kind.__module__.startswith("openai") else "" if kind.__module__ == "builtins" else f"{kind.__module__}."
        status = getattr(exc, "status_code", None)
        body = getattr(exc, "body", None)
        extracted = body.get("message") if isinstance(body, dict) else None
        return cls(f"{module}{kind.__qualname__}", str(exc), status if isinstance(status, int) else None,
                   extracted if isinstance(extracted, str) else None)

    def line(self) -> str:
        text = " ".join(self.message.split())
        return f"{self.type}: {cut(text, 300)}"


@dataclass(frozen=True)
class SdkCall:
    """One SDK call: which API, which SDK version, and either the digest it produced or the error."""

    api: str
    version: str
    digest: Digest | None
    error: SdkError | None
