"""Tool calling: tool_choice is obeyed, calls are well formed, streamed deltas reassemble.

The clause a probe exists for (TOOL-01 for required, TOOL-02 for none, TOOL-03 for a named
choice, TOOL-07 for parallel calls) turns a refusal of the claimed capability into a FAIL; the
other clauses SKIP a refused answer.  Under ``auto`` the model may legally answer in text, so
no clause FAILs for the absence of a call there.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from ..engine import NotApplicable, Outcome, Skip, fail, inconclusive, passed, warn
from ..evidence import Evidence
from ..suite import SUITE
from .common import cut_by_cap, refusal, req, short
from .params import legal_reason

check = SUITE.check


def _calls(ev: Evidence) -> list[dict[str, Any]]:
    calls = ev.message(0).get("tool_calls")
    return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _choice_kind(ev: Evidence) -> str:
    choice = ev.data.get("tool_choice")
    return "named" if isinstance(choice, dict) else str(choice)


def _strict(ev: Evidence, name: str | None) -> bool:
    return any(tool["function"]["name"] == name and tool["function"].get("strict") is True for tool in ev.data.get("tools", []))


def _schema_for(ev: Evidence, name: str | None) -> dict[str, Any] | None:
    for tool in ev.data.get("tools", []):
        if tool["function"]["name"] == name:
            parameters: dict[str, Any] = tool["function"]["parameters"]
            return parameters
    return None


@check("TOOL-01", on=("tool_call", "stream_tool_call"), covers=("request.tools:set", "request.tool_choice:set"))
def required_calls_a_tool(ev: Evidence) -> Outcome:
    """tool_choice "required" yields at least one tool call (streamed: tool-call deltas, not the call serialised as text)."""
    if _choice_kind(ev) != "required":
        raise NotApplicable
    refused = refusal(ev, "TOOL-01")
    if refused:
        return refused
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        if acc is None:
            raise Skip("the stream carries no choice; judged by SSE-17")
        if not acc.tool_calls:
            return cut_by_cap(ev, _finish_and_called(ev)[0]) or fail(
                "tool-call deltas", f"no tool_calls deltas; content {short(acc.content)}")
        return passed()
    if not _calls(ev):
        return cut_by_cap(ev, _finish_and_called(ev)[0]) or fail("at least one tool call", f"no tool_calls; content {short(ev.message(0).get('content'))}")
    return passed()


@check("TOOL-02", on="tool_none", covers=("request.tool_choice:off",))
def none_calls_nothing(ev: Evidence) -> Outcome:
    """tool_choice "none" yields a text answer and no tool call."""
    refused = refusal(ev, "TOOL-02")
    if refused:
        return refused
    calls = _calls(ev)
    if calls:
        return fail("no tool_calls", f"tool_calls {short(calls)}")
    return passed()


@check("TOOL-03", on=("tool_call", "stream_tool_call"),
       covers=("request.tool_choice:set", "response.choices[].message.tool_calls[].function.name:value",
               "chunk.choices[].delta.tool_calls[].function.name:value"))
def named_choice_obeyed(ev: Evidence) -> Outcome:
    """A named tool_choice calls exactly the named function (streamed: in the tool-call deltas).  The probe's prompt asks for another tool, so a server that ignores the choice is not saved by a lucky model."""
    choice = ev.data.get("tool_choice")
    if not isinstance(choice, dict):
        raise NotApplicable
    refused = refusal(ev, "TOOL-03")
    if refused:
        return refused
    wanted = choice["function"]["name"]
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        if acc is None:
            raise Skip("the stream carries no choice; judged by SSE-17")
        names = [t.name for _, t in sorted(acc.tool_calls.items())]
    else:
        names = [(c.get("function") or {}).get("name") for c in _calls(ev)]
    if names != [wanted]:
        return cut_by_cap(ev, _finish_and_called(ev)[0]) or fail(f"one call to {wanted}", f"calls {names}")
    return passed()


@check("TOOL-04", on=("tool_call", "stream_tool_call"),
       covers=("request.tools:set", "response.choices[].message.tool_calls[].function.arguments:value",
               "chunk.choices[].delta.tool_calls[].function.arguments:value"))
def arguments_are_json_text(ev: Evidence) -> Outcome:
    """function.arguments is a string holding a JSON object valid for the tool's parameters (streamed: the concatenated fragments).  Only a strict tool binds the model to its schema: off-schema arguments for a non-strict tool are INCONCLUSIVE, and so are arguments cut by the token cap (finish_reason "length")."""
    cut = cut_by_cap(ev, _finish_and_called(ev)[0])
    for name, arguments in _arguments(ev):
        if cut and isinstance(arguments, str) and not _is_json(arguments):
            return cut
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
            if errors and _strict(ev, name):
                return fail(f"arguments valid for {name}'s parameters (strict tool)", f"{short(value)}: {errors[0].message}")
            if errors:
                return inconclusive(f"{name}'s arguments are a JSON object but do not follow its parameters "
                                    f"({errors[0].message}); the tool is not strict, so that is the model's choice, "
                                    "not the server's", arguments=short(value))
    return passed()


@check("TOOL-05", on=("tool_call", "stream_tool_call"),
       covers=("response.choices[].message.tool_calls[].id:value", "chunk.choices[].delta.tool_calls[].id:value"))
def call_ids_unique(ev: Evidence) -> Outcome:
    """Every tool call has a non-empty id, unique within the response."""
    ids = _ids(ev)
    if not ids:
        raise Skip("no tool calls; judged by TOOL-01")
    if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
        return fail("non-empty, unique tool-call ids", f"ids {short(ids)}")
    return passed()


@check("TOOL-06", on="round_trip", covers=("request.messages:set",))
def round_trip_accepted(ev: Evidence) -> Outcome:
    """Feeding the server's own tool call back with a tool message answering its id is answered 200 with text (a further tool call is legal under auto but proves nothing: INCONCLUSIVE)."""
    status = ev.require_response().status
    if status != 200:
        return fail("HTTP 200 for the second turn", f"HTTP {status}: {short(ev.exchange.body[:200].decode('utf-8', 'replace'))}")
    if not ev.content(0) and _calls(ev):
        names = [(c.get("function") or {}).get("name") for c in _calls(ev)]
        return inconclusive(f"the second turn was accepted but answered with another tool call {names} instead of "
                            "text: legal under tool_choice auto, and no proof that the tool result was read")
    if not ev.content(0):
        return fail("a text answer using the tool result", f"message {short(ev.message(0))}")
    return passed()


@check("TOOL-06", on="null_content")
def foreign_history_accepted(ev: Evidence) -> Outcome:
    """A replayed history whose tool-call ids the client made up in OpenAI's format (call_…) is accepted; a clean 4xx is a WARN (clients migrating histories break), a 5xx a FAIL."""
    status = ev.require_response().status
    if status == 200:
        return passed()
    body = short(ev.exchange.body[:200].decode("utf-8", "replace"))
    if status is not None and 400 <= status < 500:
        return warn("HTTP 200 for a history with OpenAI-style tool-call ids", f"HTTP {status}: {body}")
    return fail("HTTP 200 for a history with OpenAI-style tool-call ids", f"HTTP {status}: {body}")


@check("TOOL-07", on="parallel",
       covers=("request.parallel_tool_calls:set", "chunk.choices[].delta.tool_calls[].index:value"))
def parallel_calls_distinct(ev: Evidence) -> Outcome:
    """Parallel tool calls carry distinct indices 0..k-1 (streamed: one index per call, counted by the ids that open calls) and distinct ids; a single call proves nothing (INCONCLUSIVE)."""
    refused = refusal(ev, "TOOL-07")
    if refused:
        return refused
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        indices = sorted(acc.tool_calls) if acc else []
        openings = _openings(ev)
        if not indices:
            raise Skip("no tool-call deltas; judged by TOOL-01 / SSE-09")
        calls = max(len(indices), len(openings))
        if calls < 2:
            return inconclusive("one tool call: parallel calls were not exercised", indices=indices)
        if len(openings) > len(indices):
            return fail(f"{len(openings)} calls with their own indices", f"{len(openings)} call ids share indices {indices}")
        if indices != list(range(len(indices))):
            return fail(f"indices {list(range(len(indices)))}", f"indices {indices} (-1 = missing index)")
    else:
        count = len(_calls(ev))
        if count == 0:
            raise Skip("no tool calls; judged by TOOL-01")
        if count < 2:
            return inconclusive("one tool call: parallel calls were not exercised")
    ids = _ids(ev)
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
        return fail("distinct ids", f"ids {short(ids)}")
    return passed()


@check("TOOL-09", on="parallel", covers=("request.parallel_tool_calls:off",))
def serial_when_parallel_off(ev: Evidence) -> Outcome:
    """parallel_tool_calls false yields at most one tool call: the request that was answered with parallel calls, sent again with parallel_tool_calls false, gets one call (or none).  When parallel calls were not made with it on, turning it off was not exercised: INCONCLUSIVE."""
    serial = ev.twin("serial")
    if serial is None or ev.streamed:
        raise NotApplicable
    ev.require_ok()
    status = serial.exchange.status
    if status != 200:
        return fail("HTTP 200 for parallel_tool_calls false (true was answered)", f"HTTP {status}: "
                    f"{short(serial.exchange.body[:200].decode('utf-8', 'replace'))}")
    calls = _calls(serial)
    if len(calls) > 1:
        names = [(c.get("function") or {}).get("name") for c in calls]
        return fail("at most one tool call with parallel_tool_calls false", f"{len(calls)} calls: {short(names)}")
    parallel = len(_calls(ev))
    if parallel < 2:
        return inconclusive(f"with parallel_tool_calls true the answer made {parallel} call(s): serial calls were not "
                            "exercised")
    return passed(f"{parallel} parallel calls with it on, {len(calls)} with it off")


@check("TOOL-08", on="tool_rules", covers=("request.tool_choice:invalid",))
def tool_choice_needs_tools(ev: Evidence) -> Outcome:
    """tool_choice other than "none" without tools is rejected (the exact 4xx code is ERR-02's / ERR-08's to judge)."""
    status = ev.require_response().status
    if status is not None and 200 <= status < 300:
        return fail("a 4xx rejection", f"HTTP {status}: the request was accepted")
    if status is not None and status >= 500:
        raise Skip(f"HTTP {status}; judged by ERR-03")
    return passed(status=status)


@check("FIN-03", on=("tool_call", "stream_tool_call"),
       covers=("response.choices[].finish_reason:value", "chunk.choices[].finish_reason:value"))
def tool_calls_finish_reason(ev: Evidence) -> Outcome:
    """When tools were called under tool_choice auto or required, finish_reason is "tool_calls"."""
    if _choice_kind(ev) not in ("auto", "required"):
        raise NotApplicable
    reason, called = _finish_and_called(ev)
    if not called:
        raise Skip("no tool call; judged by TOOL-01 (auto may answer in text)")
    legal_reason(reason)
    cut = cut_by_cap(ev, reason)
    if cut:
        return cut
    if reason != "tool_calls":
        return fail('finish_reason "tool_calls"', f"finish_reason = {short(reason)}")
    return passed()


@check("FIN-04", on="tool_call", covers=("response.choices[].finish_reason:value",))
def named_call_finish_reason(ev: Evidence) -> Outcome:
    """A call forced by a named tool_choice ends with "tool_calls" or "stop" (OpenAI itself answers "stop" there)."""
    if _choice_kind(ev) != "named":
        raise NotApplicable
    reason, called = _finish_and_called(ev)
    if not called:
        raise Skip("no tool call; judged by TOOL-03")
    legal_reason(reason)
    cut = cut_by_cap(ev, reason)
    if cut:
        return cut
    if reason not in ("tool_calls", "stop"):
        return fail('finish_reason "tool_calls" or "stop"', f"finish_reason = {short(reason)}")
    return passed()


@check("FIN-02", on="capped_tool", covers=("response.choices[].finish_reason:value",))
def capped_call_says_length(ev: Evidence) -> Outcome:
    """A tool call cut by the token cap (max_tokens 3: its arguments are not complete JSON) ends with finish_reason "length", not "tool_calls"."""
    reason, called = _finish_and_called(ev)
    if not called:
        raise Skip("no tool call under tool_choice required; judged by TOOL-01")
    if all(_is_json(arguments) for _, arguments in _arguments(ev)):
        raise Skip(f"the call fit in {req(ev, 'max_tokens')} tokens, so the cap did not cut it")
    legal_reason(reason)
    if reason != "length":
        return fail('finish_reason "length" for a call cut by the cap', f"finish_reason = {short(reason)}")
    return passed()


@check("SSE-09", on="stream",
       covers=("chunk.choices[].delta.tool_calls[].index:value", "chunk.choices[].delta.tool_calls[].id:value",
               "chunk.choices[].delta.tool_calls[].type:value", "chunk.choices[].delta.tool_calls[].function.name:value"))
def tool_deltas_well_formed(ev: Evidence) -> Outcome:
    """Tool-call deltas carry an integer index; the first delta per index has id, type "function" and a name; later ones keep the id (never "" or a new one); argument fragments are strings that concatenate to one JSON text.  A continuation repeating name "" or a text delta carrying tool_calls [] is a WARN."""
    first: dict[tuple[Any, int], dict[str, Any]] = {}
    arguments: dict[tuple[Any, int], str] = {}
    warnings: list[str] = []
    for chunk in ev.stream.json_chunks:
        for choice in chunk.choices:
            deltas = (choice.get("delta") or {}).get("tool_calls")
            if deltas == []:
                warnings.append(f"chunk #{chunk.position}: tool_calls [] on a delta")
            for call in deltas or []:
                where = f"chunk #{chunk.position}: {short(call)}"
                index = call.get("index") if isinstance(call, dict) else None
                if not isinstance(index, int) or isinstance(index, bool):
                    return fail("an integer index on every tool-call delta", where)
                key = (choice.get("index"), index)
                function = call.get("function") or {}
                fragment = function.get("arguments", "")
                if not isinstance(fragment, str):
                    return fail("argument fragments as strings", where)
                arguments[key] = arguments.get(key, "") + fragment
                if key not in first:
                    first[key] = call
                    if not call.get("id") or call.get("type") != "function" or not function.get("name"):
                        return fail("first delta per index with id, type and function.name", where)
                    continue
                if "id" in call and call["id"] != first[key]["id"]:
                    return fail(f"continuation deltas keep id {short(first[key]['id'])} or omit it", where)
                if function.get("name") == "":
                    warnings.append(f'{where} (name "")')
    if not first and not req(ev, "tools"):
        if warnings:
            return warn("no tool_calls key on text deltas", warnings[0], count=len(warnings))
        raise NotApplicable
    if not first:
        raise Skip("no tool-call deltas; judged by TOOL-01")
    for key, text in arguments.items():
        try:
            json.loads(text)
        except ValueError as exc:
            cut = cut_by_cap(ev, _stream_finish(ev, key[0]))
            if cut:
                return cut
            return fail("argument fragments concatenate to one JSON text", f"call {key[1]}: {exc}: {short(text)}")
    if warnings:
        return warn('continuation deltas omit name (never ""), text deltas omit tool_calls', warnings[0], count=len(warnings))
    return passed()


@check("SSE-10", on="stream_tool_call", covers=("chunk.choices[].finish_reason:value",))
def stream_tool_finish(ev: Evidence) -> Outcome:
    """A stream in which tools were called (auto/required) ends that choice with finish_reason "tool_calls"."""
    if _choice_kind(ev) not in ("auto", "required"):
        raise NotApplicable
    acc = ev.stream.choices.get(0)
    if acc is None or not acc.tool_calls:
        raise Skip("no tool-call deltas; judged by TOOL-01")
    reason = acc.finish_reasons[-1] if acc.finish_reasons else None
    legal_reason(reason)
    cut = cut_by_cap(ev, reason)
    if cut:
        return cut
    if reason != "tool_calls":
        return fail('finish_reason "tool_calls"', f"finish_reason = {short(reason)}")
    return passed()


def _stream_finish(ev: Evidence, index: Any) -> Any:
    acc = ev.stream.choices.get(index if isinstance(index, int) else 0)
    return acc.finish_reasons[-1] if acc and acc.finish_reasons else None


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


def _is_json(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _openings(ev: Evidence) -> list[Any]:
    """Ids of the streamed deltas of choice 0 that open a call (an id and a function name), in arrival order."""
    return [call.get("id") for chunk in ev.stream.json_chunks for choice in chunk.choices
            for call in (choice.get("delta") or {}).get("tool_calls") or []
            if isinstance(call, dict) and call.get("id") and (call.get("function") or {}).get("name")
            and choice.get("index") in (0, None)]


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
