"""What a scenario hands to its checks: the request, the exchange(s) and parsed views of them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .engine import Skip
from .stream import CAP_SPENT_ON_REASONING, REASONING_KEYS, StreamView, parse_stream
from .target import Context
from .wire.client import STALL_KINDS, Exchange

_BODY_PREVIEW = 16 * 1024


def _call_key(name: Any, arguments: Any) -> tuple[Any, str]:
    """A tool call as (name, canonical arguments): ids differ between two answers by design."""
    try:
        decoded = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        decoded = arguments
    return name, json.dumps(decoded, sort_keys=True)


@dataclass
class ExchangeArtifact:
    """A reproducible record of one exchange: redacted request, curl line, response bytes / SSE transcript."""

    label: str
    exchange: Exchange

    def to_dict(self) -> dict[str, Any]:
        ex = self.exchange
        return {
            "label": self.label,
            "request": {
                "method": ex.request.method,
                "url": ex.request.url,
                "headers": [list(h) for h in ex.request.headers],
                "body": ex.request.body[:_BODY_PREVIEW].decode("utf-8", "replace"),
            },
            "curl": ex.request.curl(),
            "response": {
                "status": ex.status,
                "headers": [list(h) for h in ex.headers],
                "body": ex.body[:_BODY_PREVIEW].decode("utf-8", "replace"),
                "body_bytes": len(ex.body),
                "error": f"{ex.error.kind}: {ex.error.message}" if ex.error else None,
                "truncated": ex.truncated,
                "elapsed": round(ex.elapsed, 4),
            },
            "transcript": ex.transcript(),
        }


# Transport errors that are the suite's own limits ending an exchange it had an answer to: the
# deadlines and caps of the stall breaker, bar the connect timeout (no answer began).
SUITE_LIMITS = STALL_KINDS - {"connect-timeout"}


@dataclass
class Evidence:
    ctx: Context
    request: dict[str, Any] | bytes
    exchange: Exchange
    related: dict[str, Exchange] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    # For a request breaking a rule: the parameter the error must name (any one of a tuple:
    # a request may break several); None when it breaks no single named parameter.
    param: str | tuple[str, ...] | None = None
    # The optional capability this evidence probes (see capabilities.py); set by ``gate``.
    capability: str | None = None

    def gate(self, capability: str) -> Evidence:
        """Called by a scenario on its first answer: a refusal of a capability the target does not
        claim is a SKIP ("not offered"); a claimed one is judged by the checks (``claim_refused``)."""
        from .capabilities import error_message, is_refusal

        manifest = self.ctx.capabilities
        self.capability = capability
        if is_refusal(self.exchange) and not manifest.claimed(capability):
            raise Skip(f"not offered: {capability} is not claimed ({manifest.source}) and the target refused it "
                       f"with HTTP {self.exchange.status} {error_message(self.exchange)}")
        return self

    @property
    def strict(self) -> bool:
        return self.ctx.profile.strict

    @property
    def vendor(self) -> bool:
        return self.ctx.profile.vendor

    @property
    def streamed(self) -> bool:
        """The request asked for a stream (what the server sent back is judged by SSE-01 / SSE-15)."""
        return isinstance(self.request, dict) and self.request.get("stream") is True

    def twin(self, name: str) -> Evidence | None:
        """A related exchange as Evidence of its own (its request read back from the bytes sent)."""
        exchange = self.related.get(name)
        if exchange is None:
            return None
        try:
            request = json.loads(exchange.request.body)
        except ValueError:
            request = exchange.request.body
        return Evidence(self.ctx, request, exchange)

    def answer(self) -> tuple[str, Any, list[tuple[Any, str]]]:
        """Choice 0 as (text, finish_reason, tool calls as (name, canonical arguments)), from the
        body or the stream: what two answers to one deterministic request must share.  Skip when
        there is no readable answer."""
        if self.streamed:
            acc = self.stream.choices.get(0)
            if acc is None:
                raise Skip("the stream has no choice; judged by SSE-17")
            calls = [_call_key(t.name, t.arguments) for _, t in sorted(acc.tool_calls.items())]
            return acc.content, (acc.finish_reasons or [None])[-1], calls
        choice = self.choices()[0] if self.choices() else {}
        calls = [_call_key((c.get("function") or {}).get("name"), (c.get("function") or {}).get("arguments"))
                 for c in (self.message(0).get("tool_calls") or []) if isinstance(c, dict)]
        return self.content(0), choice.get("finish_reason"), calls

    def artifacts(self) -> list[ExchangeArtifact]:
        return [ExchangeArtifact("primary", self.exchange)] + [
            ExchangeArtifact(name, ex) for name, ex in self.related.items()
        ]

    # A rule whose precondition failed is not applicable (SKIP); the precondition has its own check.

    def require_response(self) -> Exchange:
        """The exchange, if an HTTP response arrived at all (HTTP-01 judges the transport itself)."""
        if self.exchange.status is None:
            error = self.exchange.error
            reason = f"{error.kind}: {error.message}" if error else "no response"
            raise Skip(f"no HTTP response ({reason}); judged by HTTP-01")
        return self.exchange

    def require_ok(self) -> Exchange:
        ex = self.require_response()
        if ex.status != 200:
            raise Skip(f"no 200 answer (HTTP {ex.status}); judged by REQ-01 / ERR-*")
        return ex

    @cached_property
    def body(self) -> dict[str, Any]:
        """The 200 response body as a JSON object, or Skip."""
        ex = self.require_ok()
        if self.streamed:
            raise Skip("a stream was requested; judged by the stream rules")
        if ex.events is not None:
            raise Skip("the response is an event stream, not a JSON body; judged by SSE-15")
        try:
            value = ex.json()
        except ValueError as exc:
            raise Skip(f"the body is not JSON ({exc}); judged by HTTP-02") from None
        if not isinstance(value, dict):
            raise Skip(f"the body is JSON {type(value).__name__}, not an object; judged by ENV-01")
        return value

    @cached_property
    def stream(self) -> StreamView:
        """The 200 response as a parsed chat stream, or Skip."""
        ex = self.require_ok()
        if not self.streamed:
            raise Skip("no stream was requested; judged by SSE-15")
        if ex.events is None:
            raise Skip(f"the response is not an event stream (Content-Type {ex.content_type or 'missing'}); judged by SSE-01")
        return parse_stream(ex.events, set_aside_filter_chunks=not self.strict)

    @property
    def whole_stream(self) -> StreamView:
        """``stream``, for rules about how a stream ends: Skip when the suite itself ended the
        read (it stopped on purpose, e.g. a capped answer that ran far past its cap, or its own
        deadline or size limit cut it): that end is the suite's, not the target's."""
        stream = self.stream
        ex = self.exchange
        if ex.stopped_reading:
            raise Skip(f"the suite stopped reading this stream after {len(ex.events or [])} events (more than any "
                       "answer within the request's cap needs): how it ends is unknown; the cap rules judge it")
        if ex.error is not None and ex.error.kind in SUITE_LIMITS:
            raise Skip(f"the suite's own limit ended this stream ({ex.error.kind}): how it ends is unknown; judged by HTTP-01")
        return stream

    def choices(self) -> list[dict[str, Any]]:
        value = self.body.get("choices")
        if not isinstance(value, list):
            raise Skip("the body has no choices array; judged by ENV-01")
        return [c for c in value if isinstance(c, dict)]

    def message(self, index: int = 0) -> dict[str, Any]:
        choices = self.choices()
        if len(choices) <= index or not isinstance(choices[index].get("message"), dict):
            raise Skip(f"the body has no choices[{index}].message object; judged by ENV-01")
        return choices[index]["message"]

    def content(self, index: int = 0) -> str:
        """The message text ("" for null); content of another type is judged by ENV-06 only."""
        message = self.message(index)
        value = message.get("content")
        if value is not None and not isinstance(value, str):
            raise Skip(f"message.content is {type(value).__name__}, not a string; judged by ENV-06")
        if not value and not message.get("tool_calls") and self._cap_spent_on_reasoning(index):
            raise Skip(CAP_SPENT_ON_REASONING)
        return value or ""

    def _cap_spent_on_reasoning(self, index: int) -> bool:
        """A reasoning model cut by the cap before answering: finish_reason length, and reasoning
        text in the message or reasoning tokens in usage."""
        if self.choices()[index].get("finish_reason") != "length":
            return False
        message = self.message(index)
        details = (self.usage() or {}).get("completion_tokens_details")
        reasoning_tokens = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return any(message.get(key) for key in REASONING_KEYS) or (isinstance(reasoning_tokens, int) and reasoning_tokens > 0)

    def usage(self) -> dict[str, Any] | None:
        value = self.body.get("usage")
        return value if isinstance(value, dict) else None
