"""Tool calling: tool_choice is obeyed, calls are well formed, streamed deltas reassemble."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from ..engine import NotApplicable, Outcome, Skip, fail, passed
from ..evidence import Evidence
from ..suite import SUITE
from .common import short

check = SUITE.check


def _calls(ev: Evidence) -> list[dict[str, Any]]:
    calls = ev.message(0).get("tool_calls")
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _choice_kind(ev: Evidence) -> str:
    choice = ev.data.get("tool_choice")
    return "named" if isinstance(choice, dict) else str(choice)


def _schema_for(ev: Evidence, name: str | None) -> dict[str, Any] | None:
    for tool in ev.data.get("tools", []):
        if tool["function"]["name"] == name:
            return tool["function"]["parameters"]
    return None


@check("TOOL-01", on="tool_call")
def required_calls_a_tool(ev: Evidence) -> Outcome:
    """tool_choice "required" (or auto with a prompt naming the tool) yields at least one tool call."""
    if _choice_kind(ev) not in ("required", "auto"):
        raise NotApplicable
    if not _calls(ev):
        return fail("at least one tool call", f"no tool_calls; content {short(ev.message(0).get('content'))}")
    return passed()


@check("TOOL-02", on="tool_none")
def none_calls_nothing(ev: Evidence) -> Outcome:
    """tool_choice "none" yields a text answer and no tool call."""
    if _calls(ev):
        return fail("no tool_calls", f"tool_calls {short(_calls(ev))}")
    return passed()


@check("TOOL-03", on="tool_call")
def named_choice_obeyed(ev: Evidence) -> Outcome:
    """A named tool_choice calls exactly the named function."""
    choice = ev.data.get("tool_choice")
    if not isinstance(choice, dict):
        raise NotApplicable
    wanted = choice["function"]["name"]
    names = [(c.get("function") or {}).get("name") for c in _calls(ev)]
    if names != [wanted]:
        return fail(f"one call to {wanted}", f"calls {names}")
    return passed()


@check("TOOL-04", on=("tool_call", "stream_tool_call"))
def arguments_are_json_text(ev: Evidence) -> Outcome:
    """function.arguments is a string holding a JSON object valid for the tool's parameters (streamed: the concatenated fragments)."""
    for name, arguments in _arguments(ev):
        if not isinstance(arguments, str):
            return fail("arguments as a JSON-encoded string", f"{name}: arguments is {type(arguments).__name__} {short(arguments)}")
        try:
            value = json.loads(arguments)
        except ValueError as exc:
            return fail("arguments parse as JSON", f"{name}: {exc}: {short(arguments)}")
        schema = _schema_for(ev, name)
        if not isinstance(value, dict):
            return fail("arguments encode an object", f"{name}: {short(arguments)}")
        if schema is not None:
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(value))
            if errors:
                return fail(f"arguments valid for {name}'s parameters", f"{short(value)}: {errors[0].message}")
    return passed()


@check("TOOL-05", on=("tool_call", "stream_tool_call"))
def call_ids_unique(ev: Evidence) -> Outcome:
    """Every tool call has a non-empty id, unique within the response."""
    ids = _ids(ev)
    if not ids:
        raise Skip("no tool calls; judged by TOOL-01")
    if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
        return fail("non-empty, unique tool-call ids", f"ids {short(ids)}")
    return passed()


@check("TOOL-06", on="round_trip")
def round_trip_accepted(ev: Evidence) -> Outcome:
    """Feeding the server's own tool call back with a tool message answering its id is answered 200 with text."""
    status = ev.require_response().status
    if status != 200:
        return fail("HTTP 200 for the second turn", f"HTTP {status}: {short(ev.exchange.body[:200].decode('utf-8', 'replace'))}")
    if not ev.content(0):
        return fail("a text answer using the tool result", f"message {short(ev.message(0))}")
    return passed()


@check("TOOL-07", on="parallel")
def parallel_calls_distinct(ev: Evidence) -> Outcome:
    """Parallel tool calls carry distinct indices 0..k-1 (streamed) and distinct ids."""
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        indices = sorted(acc.tool_calls) if acc else []
        if len(indices) < 2:
            return fail("two parallel calls (get_weather, get_time)", f"call indices {indices}")
        if indices != list(range(len(indices))):
            return fail(f"indices {list(range(len(indices)))}", f"indices {indices} (-1 = missing index)")
    elif len(_calls(ev)) < 2:
        return fail("two parallel calls (get_weather, get_time)", f"{len(_calls(ev))} call(s)")
    ids = _ids(ev)
    if len(set(ids)) != len(ids):
        return fail("distinct ids", f"ids {short(ids)}")
    return passed()


@check("TOOL-08", on="tool_rules")
def tool_choice_needs_tools(ev: Evidence) -> Outcome:
    """tool_choice other than "none" without tools is rejected with 400."""
    status = ev.require_response().status
    if status != 400:
        return fail("HTTP 400", f"HTTP {status}")
    return passed()


@check("FIN-03", on=("tool_call", "stream_tool_call"))
def tool_calls_finish_reason(ev: Evidence) -> Outcome:
    """When tools were called under tool_choice auto or required, finish_reason is "tool_calls"."""
    if _choice_kind(ev) not in ("auto", "required"):
        raise NotApplicable
    reason, called = _finish_and_called(ev)
    if not called:
        raise Skip("no tool call; judged by TOOL-01")
    if reason != "tool_calls":
        return fail('finish_reason "tool_calls"', f"finish_reason = {short(reason)}")
    return passed()


@check("FIN-04", on="tool_call")
def named_call_finish_reason(ev: Evidence) -> Outcome:
    """A call forced by a named tool_choice ends with "tool_calls" or "stop" (OpenAI itself answers "stop" there)."""
    if _choice_kind(ev) != "named":
        raise NotApplicable
    reason, called = _finish_and_called(ev)
    if called and reason not in ("tool_calls", "stop"):
        return fail('finish_reason "tool_calls" or "stop"', f"finish_reason = {short(reason)}")
    return passed()


@check("SSE-09", on="stream_tool_call")
def tool_deltas_well_formed(ev: Evidence) -> Outcome:
    """Tool-call deltas carry an integer index; the first delta per index has id, type "function" and a name; later ones never send "" for id or name."""
    seen: set[tuple[int, Any]] = set()
    for chunk in ev.stream.json_chunks:
        for choice in chunk.choices:
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                index = call.get("index") if isinstance(call, dict) else None
                if not isinstance(index, int) or isinstance(index, bool):
                    return fail("an integer index on every tool-call delta", f"chunk #{chunk.position}: {short(call)}")
                key = (choice.get("index"), index)
                function = call.get("function") or {}
                if key not in seen:
                    seen.add(key)
                    if not call.get("id") or call.get("type") != "function" or not function.get("name"):
                        return fail("first delta per index with id, type and function.name", f"chunk #{chunk.position}: {short(call)}")
                elif call.get("id") == "" or function.get("name") == "":
                    return fail('continuation deltas omit id/name (never "")', f"chunk #{chunk.position}: {short(call)}")
    if not seen:
        raise Skip("no tool-call deltas; judged by TOOL-01")
    return passed()


@check("SSE-10", on="stream_tool_call")
def stream_tool_finish(ev: Evidence) -> Outcome:
    """A stream in which tools were called (auto/required) ends that choice with finish_reason "tool_calls"."""
    acc = ev.stream.choices.get(0)
    if acc is None or not acc.tool_calls:
        raise Skip("no tool-call deltas; judged by TOOL-01")
    reason = acc.finish_reasons[-1] if acc.finish_reasons else None
    if reason != "tool_calls":
        return fail('finish_reason "tool_calls"', f"finish_reason = {short(reason)}")
    return passed()


@check("TOOL-01", on="stream_tool_call")
def streamed_required_calls_a_tool(ev: Evidence) -> Outcome:
    """tool_choice "required", streamed, yields tool-call deltas (not the call serialised as text)."""
    acc = ev.stream.choices.get(0)
    if acc is None or not acc.tool_calls:
        content = acc.content if acc else ""
        return fail("tool-call deltas", f"no tool_calls deltas; content {short(content)}")
    return passed()


def _arguments(ev: Evidence) -> list[tuple[str | None, Any]]:
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        if acc is None or not acc.tool_calls:
            raise Skip("no tool-call deltas; judged by TOOL-01")
        return [(t.name, t.arguments) for t in acc.tool_calls.values()]
    calls = _calls(ev)
    if not calls:
        raise Skip("no tool calls; judged by TOOL-01")
    return [((c.get("function") or {}).get("name"), (c.get("function") or {}).get("arguments")) for c in calls]


def _ids(ev: Evidence) -> list[Any]:
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        return [t.id for t in acc.tool_calls.values()] if acc else []
    return [c.get("id") for c in _calls(ev)]


def _finish_and_called(ev: Evidence) -> tuple[Any, bool]:
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        if acc is None:
            return None, False
        return (acc.finish_reasons[-1] if acc.finish_reasons else None), bool(acc.tool_calls)
    choice = ev.choices()[0] if ev.choices() else {}
    return choice.get("finish_reason"), bool(_calls(ev))
