"""Small helpers shared by check modules."""

from __future__ import annotations

import json
from typing import Any

from ..capabilities import CAPABILITIES, error_message
from ..engine import Outcome, Skip, fail, inconclusive, passed
from ..evidence import Evidence
from ..wire.redact import cut

FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


def req(ev: Evidence, key: str, default: Any = None) -> Any:
    """A field of the request body the scenario sent."""
    return ev.request.get(key, default) if isinstance(ev.request, dict) else default


def cut_by_cap(ev: Evidence, reason: object) -> Outcome | None:
    """INCONCLUSIVE when the answer was cut by the token cap (finish_reason "length"): rules that
    need a complete answer (a tool call, its JSON, its finish reason) cannot be judged on it.  A
    "length" with usage below the cap was not cut, so those rules still judge it."""
    if reason != "length":
        return None
    cap = next((req(ev, f) for f in ("max_completion_tokens", "max_tokens") if isinstance(req(ev, f), int)), None)
    used = _completion_tokens(ev)
    if isinstance(cap, int) and isinstance(used, int) and used < cap:
        return None
    return inconclusive(f'the answer was cut by the token cap ({cap} tokens, finish_reason "length"); rules about a '
                        "complete answer cannot be judged on it (raise --max-tokens)", cap=cap, completion_tokens=used)


def _completion_tokens(ev: Evidence) -> Any:
    try:
        usage = (ev.stream.final_usage() if ev.streamed else ev.usage()) or {}
    except Skip:
        return None
    return usage.get("completion_tokens")


def short(value: Any, limit: int = 160) -> str:
    """A compact one-line rendering of a value for expected/observed texts; secrets are redacted
    before it is cut, so a cut never leaves part of one."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return cut(text, limit)


def payloads(ev: Evidence) -> list[tuple[str, dict[str, Any]]]:
    """The JSON objects a success answer consists of: the body, or every chunk of the stream."""
    if ev.streamed:
        return [(f"chunk #{c.position}", c.payload) for c in ev.stream.json_chunks]
    return [("body", ev.body)]


def spells_content(entries: list[Any], content: str) -> Outcome:
    """Logprob tokens concatenate to ``content``: their texts, or, for byte-level tokens whose text
    cannot hold a split multi-byte character, their ``bytes`` decoded as UTF-8.  A mismatch on
    non-ASCII content without bytes to reassemble is INCONCLUSIVE, not a FAIL."""
    entries = [e for e in entries if isinstance(e, dict)]
    joined = "".join(e["token"] for e in entries if isinstance(e.get("token"), str))
    if joined == content:
        return passed()
    raw = [e.get("bytes") for e in entries]
    if all(isinstance(b, list) and all(isinstance(x, int) and 0 <= x < 256 for x in b) for b in raw):
        if bytes(x for b in raw for x in b).decode("utf-8", "replace") == content:
            return passed("the token bytes concatenate to the content (multi-byte characters split across tokens)")
    elif not content.isascii():
        return inconclusive("the token texts do not concatenate to the non-ASCII content, and without bytes on every "
                            f"entry split multi-byte characters cannot be reassembled: {short(joined)} vs {short(content)}")
    return fail("tokens concatenate to the content", f"tokens {short(joined)} vs content {short(content)}")


def refusal(ev: Evidence, clause: str) -> Outcome | None:
    """For ``clause``: None when answered 200; the FAIL of the claim when ``clause`` judges the
    capability the evidence probes; otherwise a SKIP naming the clauses that do.  Only reached for
    claimed capabilities (``Evidence.gate`` turned unclaimed refusals into SKIPs)."""
    ex = ev.require_response()
    if ex.status == 200:
        return None
    capability = ev.capability
    judges = CAPABILITIES[capability].clauses if capability in CAPABILITIES else ()
    if capability is None or clause not in judges:
        raise Skip(f"no 200 answer (HTTP {ex.status}); judged by {', '.join(judges) or 'REQ-01 / ERR-*'}")
    manifest = ev.ctx.capabilities
    return fail(f"HTTP 200: {capability} is claimed ({manifest.source})", f"HTTP {ex.status} {error_message(ex)}",
                note=manifest.notes.get(capability, ""), capability=capability)
