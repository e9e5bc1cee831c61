"""SDK-01..SDK-05: the official SDK consumes what the target answers, and parses it as the wire says.

The raw checks tolerate some answers a real client chokes on (a tool-call delta without index
passes JSON parsing but crashes the SDK's stream helper; a repeated tool-call id is legal on the
wire but the helper concatenates it).  These checks report such breakage at the SDK level.  A
non-200 answer or a broken exchange is not judged here (REQ-*, ERR-*, HTTP-01 judge it).
"""

from __future__ import annotations

from typing import Any

from ..checks.common import short
from ..engine import Outcome, Skip, fail, inconclusive, passed
from ..evidence import Evidence
from ..suite import SUITE
from ..wire.client import Exchange
from . import TESTED_RANGE_TEXT
from .client import version_tested
from .evidence import Digest, SdkCall, ToolCallView

check = SUITE.check


def _call(ev: Evidence) -> SdkCall:
    call = ev.data.get("sdk")
    if not isinstance(call, SdkCall):
        raise Skip("not an SDK scenario")
    return call


def _clean_ok(ev: Evidence) -> Exchange:
    ex = ev.require_ok()
    if ex.error is not None:
        raise Skip(f"the exchange itself failed ({ex.error.kind}); judged by HTTP-01")
    return ex


def _version_note(call: SdkCall) -> str:
    return "" if version_tested(call.version) else f"openai {call.version} is outside the tested range {TESTED_RANGE_TEXT}"


def _consumed(ev: Evidence, what: str) -> Outcome:
    call = _call(ev)
    _clean_ok(ev)
    if call.error is not None and call.error.type.endswith("LengthFinishReasonError"):
        # The helper refuses to parse a strict tool call cut by the cap: the suite's cap, not the target.
        return inconclusive(f"{call.api}() raised LengthFinishReasonError: the probe's token cap "
                            f"({ev.request.get('max_tokens') if isinstance(ev.request, dict) else '?'}) cut the "
                            "answer (finish_reason \"length\"); raise --max-tokens", sdk_version=call.version)
    if call.error is not None:
        return fail(f"{call.api}() {what} without raising", call.error.line(), note=_version_note(call),
                    sdk_version=call.version)
    return passed(sdk_version=call.version)


@check("SDK-01", on="sdk_chat")
def create_consumed(ev: Evidence) -> Outcome:
    """For a 200 answer, client.chat.completions.create() returns a ChatCompletion whose choices[0].message, finish_reason and usage can be read without an exception."""
    return _consumed(ev, "returns a readable ChatCompletion")


@check("SDK-02", on="sdk_stream")
def stream_consumed(ev: Evidence) -> Outcome:
    """For a 200 stream, iterating client.chat.completions.create(stream=True) reaches the end without an exception."""
    return _consumed(ev, "iterates to the end")


@check("SDK-03", on="sdk_helper")
def stream_helper_consumed(ev: Evidence) -> Outcome:
    """For a 200 stream with tool calls, the client.chat.completions.stream() helper yields every event and get_final_completion() without an exception."""
    return _consumed(ev, "streams and returns the final completion")


@check("SDK-04", on="sdk_call")
def parsed_matches_wire(ev: Evidence) -> Outcome:
    """What the SDK hands to the application (content, finish_reason, tool-call ids, names and arguments, usage of choice 0) equals what the raw answer says."""
    call = _call(ev)
    if call.error is not None or call.digest is None:
        raise Skip("the SDK raised; judged by SDK-01..SDK-03")
    _clean_ok(ev)
    differences = call.digest.differences(wire_digest(ev))
    if differences:
        return fail("the SDK's parse equal to the raw answer", short("; ".join(differences), 400),
                    note=_version_note(call), sdk_version=call.version)
    return passed(sdk_version=call.version)


@check("SDK-05", on="sdk_error")
def error_raises_bad_request(ev: Evidence) -> Outcome:
    """An invalid request surfaces in the SDK as openai.BadRequestError carrying the server's error.message (what `except BadRequestError` code relies on)."""
    call = _call(ev)
    status = ev.require_response().status
    if status is None or status < 400:
        raise Skip(f"the target answered HTTP {status} to an invalid request; judged by ERR-02")
    if call.error is None:
        return fail("openai.BadRequestError", f"no exception for HTTP {status}", sdk_version=call.version)
    if call.error.type != "openai.BadRequestError":
        return fail("openai.BadRequestError", f"{call.error.type} for HTTP {status}", sdk_version=call.version)
    wire = _wire_error_message(ev.exchange)
    if wire is not None and call.error.error_message != wire:
        return fail(f"exception body message {short(wire)}", f"{short(call.error.error_message)}", sdk_version=call.version)
    return passed(sdk_version=call.version)


def wire_digest(ev: Evidence) -> Digest:
    """Choice 0 of the raw answer (body or reassembled stream) in the shape the SDK digest has."""
    if ev.streamed:
        stream = ev.stream
        acc = stream.choices.get(0)
        usage = stream.final_usage()
        if acc is None:
            return Digest(None, None, (), _usage(usage))
        calls = tuple(ToolCallView(t.id, t.name, t.arguments) for _, t in sorted(acc.tool_calls.items()))
        return Digest(acc.content if acc.content_seen else None, acc.finish_reasons[-1] if acc.finish_reasons else None,
                      calls, _usage(usage))
    choices = ev.choices()
    if not choices:
        raise Skip("the body has no choices; judged by ENV-01")
    message = ev.message(0)
    raw_calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) else []
    calls = tuple(ToolCallView(c.get("id"), (c.get("function") or {}).get("name"), (c.get("function") or {}).get("arguments"))
                  for c in raw_calls if isinstance(c, dict))
    return Digest(message.get("content"), choices[0].get("finish_reason"), calls, _usage(ev.usage()))


def _usage(value: dict[str, Any] | None) -> tuple[Any, Any, Any] | None:
    if value is None:
        return None
    return value.get("prompt_tokens"), value.get("completion_tokens"), value.get("total_tokens")


def _wire_error_message(ex: Exchange) -> str | None:
    try:
        body = ex.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None
