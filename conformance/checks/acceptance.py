"""Acceptance of valid requests that real clients send: each refusal names its own clause."""

from __future__ import annotations

from ..engine import Outcome, Skip, fail, passed, warn
from ..evidence import Evidence
from ..suite import SUITE
from ..wire.client import Exchange
from .common import short

check = SUITE.check
# Chat templates may render each text part with a separator (a newline, a space): a token or so per part.
PART_TOLERANCE = 3


def _refusal(ex: Exchange) -> str | None:
    """None when the exchange is a 200; otherwise a one-line description of the refusal."""
    if ex.status is None:
        raise Skip("no HTTP response; judged by HTTP-01")
    if ex.status == 200:
        return None
    return f"HTTP {ex.status}: {short(ex.body[:200].decode('utf-8', 'replace'))}"


@check("REQ-02", on="content_parts", covers=("request.messages:set",))
def content_parts_accepted(ev: Evidence) -> Outcome:
    """System and user content given as arrays of text parts is accepted and counted like the same text as strings, within a few tokens (a chat template may render parts with separators); a dropped part costs more than that."""
    refused = _refusal(ev.exchange)
    if refused:
        return fail("HTTP 200 for text-part content", refused)
    strings = ev.related.get("as_strings")
    if strings is None:  # generated traffic: no string form was sent to compare the counts with
        return passed("accepted (no string form of the same request to compare prompt_tokens with)")
    if _refusal(strings):
        raise Skip("the string form was refused too; judged by REQ-01")
    as_strings = Evidence(ev.ctx, ev.request, strings).usage() or {}
    as_parts = ev.usage() or {}
    a, b = as_strings.get("prompt_tokens"), as_parts.get("prompt_tokens")
    if not (isinstance(a, int) and isinstance(b, int)):
        raise Skip("no prompt_tokens to compare; judged by USE-01")
    if abs(a - b) > PART_TOLERANCE:
        return fail(f"prompt_tokens {a} ±{PART_TOLERANCE} (as for string content)",
                    f"prompt_tokens {b}: parts were dropped or mangled")
    return passed(prompt_tokens_strings=a, prompt_tokens_parts=b)


@check("REQ-03", on="null_content", covers=("request.messages:set",))
def null_assistant_content_accepted(ev: Evidence) -> Outcome:
    """A replayed assistant tool-call turn with content null is accepted (MUST); content "" should be too (WARN)."""
    refused = _refusal(ev.exchange)
    if refused:
        return fail("HTTP 200 for assistant content null with tool_calls", refused)
    empty = ev.related.get("empty_string_content")
    refused_empty = _refusal(empty) if empty is not None else None
    if refused_empty:
        return warn('HTTP 200 for assistant content "" with tool_calls', refused_empty)
    return passed()


@check("REQ-04", on="role_orders", covers=("request.messages:set",))
def message_orders_accepted(ev: Evidence) -> Outcome:
    """Orders OpenAI accepts (developer role, consecutive user turns, system after user) are accepted; a clean 4xx is a WARN, 5xx is judged by ERR-03."""
    refused = _refusal(ev.exchange)
    if refused and ev.exchange.status is not None and ev.exchange.status >= 500:
        raise Skip("5xx; judged by ERR-03")
    if refused:
        return fail("HTTP 200", refused)
    return passed()


def _accepted(ev: Evidence) -> Outcome:
    refused = _refusal(ev.exchange)
    return fail("HTTP 200", refused) if refused else passed()


@check("REQ-05", on="boundaries")
def boundary_values_accepted(ev: Evidence) -> Outcome:
    """Every documented parameter at its boundary value (temperature 0 and 2, top_p 0 and 1, penalties ±2, top_logprobs 0 and 20) and at its explicit "off" value (logit_bias {}, response_format text) is accepted."""
    return _accepted(ev)


@check("REQ-07", on="stream_options", covers=("request.stream_options:set",))
def stream_options_accepted(ev: Evidence) -> Outcome:
    """stream_options {include_usage: true} with stream true is accepted."""
    return _accepted(ev)
