"""The target under test and the context scenarios use to talk to it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any

from .capabilities import OPENAI_DEFAULTS, Manifest
from .engine import Budget, CannotJudge
from .profiles import Profile
from .wire.client import Exchange, Limits, RawClient

CHAT_PATH = "/chat/completions"


@dataclass
class Target:
    """Where to send requests and how to authenticate; `api_key` never leaves the raw client unredacted."""

    base_url: str
    model: str
    api_key: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str | None = "Bearer"
    secrets: tuple[str, ...] = ()
    embedded: bool = False  # the suite started this server itself

    @property
    def enforces_auth(self) -> bool:
        """Auth checks only make sense when the user gave a key (an open server is recorded, not failed)."""
        return bool(self.api_key)


@dataclass
class Context:
    """What a scenario gets: the pooled client, the target, the profile and the run's budget."""

    client: RawClient
    target: Target
    profile: Profile
    budget: Budget
    max_tokens: int = 16
    seed: int = 0
    facts: dict[str, Any] = field(default_factory=dict)  # preflight findings (e.g. the /models answer)
    capabilities: Manifest = OPENAI_DEFAULTS  # what the target claims to offer (see capabilities.py)
    # Set on the serial replay of a scenario that concurrency broke: it runs again only to judge its
    # rules without interference, so what it already did once (shrinking failures) is not redone.
    replaying: bool = False

    def body(self, prompt: str | list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """A chat request for the target's model; a str prompt becomes one user message."""
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else copy.deepcopy(prompt)
        body: dict[str, Any] = {"model": self.target.model, "messages": messages}
        if "max_tokens" not in fields and "max_completion_tokens" not in fields:
            body["max_tokens"] = self.max_tokens
        body.update(fields)
        return {k: v for k, v in body.items() if v is not OMIT}

    def send(self, body: dict[str, Any] | bytes, *, limits: Limits | None = None, **kwargs: Any) -> Exchange:
        """POST to the chat endpoint; tokens reported in usage are charged to the budget.  A capped
        stream is read no further than any capped answer can go (``capped_stream_events``)."""
        if limits is None and isinstance(body, dict):
            bound = capped_stream_events(body)
            if bound is not None:
                limits = replace(self.client.limits, stop_after_events=bound)
        exchange = self.client.post_json(CHAT_PATH, body, limits=limits, **kwargs)
        self.budget.charge_tokens(reported_tokens(exchange))
        if exchange.status == 429:  # still rate limited after the client's bounded retries
            raise CannotJudge(f"rate limited: HTTP 429 after {exchange.attempts} attempt(s) honouring Retry-After")
        return exchange


def capped_stream_events(body: dict[str, Any]) -> int | None:
    """How many events a streamed answer to ``body`` may take before the suite stops reading it
    (None: not a capped stream).  Eight events per token allowed, for each choice, plus room for
    role, finish and usage chunks: a server that splits tokens into characters stays far below
    it; one that ignores the cap is stopped there, having proved it, instead of streaming until
    the context is full (thousands of tokens, and on a slow server the suite's 60 s timeout, with
    every rule on the stream's end judging an end the suite cut off)."""
    caps = [body.get(field) for field in ("max_tokens", "max_completion_tokens")]
    valid = [cap for cap in caps if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0]
    if body.get("stream") is not True or not valid:
        return None
    n = body.get("n")
    choices = n if isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 128 else 1
    return 8 * choices * (max(valid) + 8) + 64


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()  # pass as a field value to leave a default field out of the body


def reported_tokens(exchange: Exchange) -> int:
    """Total tokens the target says it spent, from the body or the stream's usage chunk (0 if unknown)."""
    payloads: list[Any] = []
    if exchange.events is not None:
        payloads = [e.data for e in exchange.events[-3:]]
    elif exchange.status == 200 and b'"usage"' in exchange.body:  # no decoded copy of a body without usage
        payloads = [exchange.body.decode("utf-8", "replace")]
    for raw in payloads:
        if '"usage"' not in raw:
            continue
        try:
            usage = json.loads(raw).get("usage") or {}
            total = usage.get("total_tokens")
            if isinstance(total, int):
                return total
        except (ValueError, AttributeError):
            continue
    return 0
