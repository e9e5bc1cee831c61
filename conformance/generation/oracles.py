"""Invariant oracles: rules that hold for any model, judged on one request and its exchange.

Each oracle is a plain function returning the list of ``Violation``s it saw (empty: it holds).
They know the contract (clause ids, schemas) but nothing about Hypothesis or schemathesis, so
the fuzz driver, the schemathesis runner and users' own tests can all call them.

* ``judge_valid``: a valid request is answered 200 (or 4xx with the envelope when it uses an
  optional capability the target may lack, e.g. image input), the answer is schema-valid, has
  ``n`` choices, usage adds up, a ``length`` finish used the whole cap, and a stream is framed
  correctly and reassembles into a valid non-stream response.
* ``judge_invalid``: a request breaking one rule is answered 400 (never 2xx, 5xx or — in the
  strict profile — 422) with the envelope naming the parameter, in both stream modes.
* ``judge_health``: a plain request after the fuzzing is still answered 200.
* ``classify``: whether an arbitrary body (e.g. from schemathesis) is valid, invalid, or of a
  validity the contract does not settle, using the full strict schema plus the rules it cannot
  express.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from .. import schema
from ..stream import StreamView, parse_stream
from ..wire.client import Exchange

Body = dict[str, Any]
_SNIPPET = 200


@dataclass(frozen=True)
class Violation:
    """One broken invariant: the clause, what was expected and what was observed."""

    clause: str
    expected: str
    observed: str


@dataclass(frozen=True)
class Expectation:
    """What a body deserves: ``valid`` ⇒ 200; ``invalid`` ⇒ 400 whose ``error.param`` names one of
    ``params`` (any broken parameter may be reported first); ``either`` ⇒ anything but 5xx."""

    kind: Literal["valid", "invalid", "either"]
    params: tuple[str, ...] = ()
    reason: str = ""


# Parameters whose validation the contract's clauses cover.  A schema violation elsewhere (in a
# field the target may document as ignored, like metadata or audio) is not required to be a 400.
ENFORCED_PARAMS: frozenset[str] = frozenset({
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop", "max_tokens",
    "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "seed", "response_format", "tools", "tool_choice", "parallel_tool_calls",
})
_OPTIONAL_PARTS = {"image_url": "image input", "input_audio": "audio input", "file": "file input"}
# Optional parameters that only some models offer: a clean 4xx for them means "not offered".
_MODEL_SPECIFIC = {"verbosity": "verbosity", "reasoning_effort": "reasoning", "audio": "audio output",
                   "modalities": "output modalities", "prediction": "predicted outputs",
                   "web_search_options": "web search", "service_tier": "service tiers"}
_REQUIRED_PROPERTY = re.compile(r"^'([^']+)' is a required property")
_EXTRA_PROPERTY = re.compile(r"Additional properties are not allowed")


def _snippet(ex: Exchange) -> str:
    text = ex.body[:_SNIPPET].decode("utf-8", "replace").replace("\n", " ")
    return text + ("…" if len(ex.body) > _SNIPPET else "")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _no_response(ex: Exchange) -> Violation | None:
    if ex.status is not None:
        return None
    error = f"{ex.error.kind}: {ex.error.message}" if ex.error else "no response"
    return Violation("HTTP-01", "an HTTP response within the limits", error)


def capabilities_used(body: Body) -> frozenset[str]:
    """Optional capabilities a request relies on; a target may refuse them with a 4xx envelope."""
    used: set[str] = set()
    for message in _list(body.get("messages")):
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else ():
            if isinstance(part, dict) and isinstance(part.get("type"), str) and part["type"] in _OPTIONAL_PARTS:
                used.add(_OPTIONAL_PARTS[part["type"]])
    if body.get("logprobs"):
        used.add("logprobs")
    used.update(label for key, label in _MODEL_SPECIFIC.items() if key in body)
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        used.add("structured output")
    return frozenset(used)


def acceptance_clause(body: Body) -> str:
    """The most specific clause a refused valid request breaks: REQ-03 when it replays an
    assistant tool-call turn with content null, REQ-02 when it uses text-part arrays, else REQ-01."""
    messages = [m for m in _list(body.get("messages")) if isinstance(m, dict)]
    if any(m.get("role") == "assistant" and m.get("tool_calls") and m.get("content", None) is None for m in messages):
        return "REQ-03"
    if any(isinstance(m.get("content"), list) for m in messages):
        return "REQ-02"
    return "REQ-01"


def envelope_problem(ex: Exchange, *, strict: bool) -> str | None:
    """Why an error answer is not the JSON envelope {error: {message, type, param, code}}, or None."""
    if ex.content_type != "application/json":
        return f"HTTP {ex.status} with Content-Type {ex.header('content-type') or '(none)'}"
    try:
        value = ex.json()
    except ValueError:
        return f"HTTP {ex.status} with a non-JSON body: {_snippet(ex)}"
    errors = schema.validate("error", value, strict=strict)
    return f"HTTP {ex.status}: {'; '.join(errors[:3])}" if errors else None


def _cap(body: Body) -> int | None:
    """The largest cap the request sets: which of max_tokens / max_completion_tokens binds when
    both are set is not settled by the contract, so only exceeding both is provable."""
    caps = [body[k] for k in ("max_tokens", "max_completion_tokens") if _is_int(body.get(k))]
    return max(caps) if caps else None


def _usage_violations(usage: Any, finishes: list[Any], body: Body, where: str) -> list[Violation]:
    if not isinstance(usage, dict):
        return []
    p, c, t = (usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens"))
    if not all(_is_int(v) for v in (p, c, t)):
        return []
    out = []
    if p + c != t:
        out.append(Violation("USE-02", f"total_tokens == {p} + {c}", f"{where}: total_tokens = {t}"))
    # Counted over the choices returned (a server ignoring n is CHO-01's finding).  Fewer tokens
    # than the cap can be a right "length" (the context window ran out); more cannot.
    cap, choices = _cap(body), len(finishes)
    if cap is not None and finishes and all(f == "length" for f in finishes) and c > cap * choices:
        out.append(Violation("FIN-02", f"completion_tokens <= {choices} × cap {cap} when every choice finished 'length'",
                             f"{where}: completion_tokens = {c}"))
    return out


def _choice_count(seen: list[Any], body: Body, where: str) -> list[Violation]:
    n = body.get("n") or 1
    if len(seen) != n:
        return [Violation("CHO-01", f"{n} choice(s)", f"{where}: {len(seen)} choice(s), indices {sorted(seen, key=str)}")]
    return []


def judge_valid(body: Body, ex: Exchange, *, strict: bool, vendor: bool = False) -> list[Violation]:
    """Invariants of a valid request's answer (see the module docstring)."""
    missing = _no_response(ex)
    if missing:
        return [missing]
    if ex.status != 200:
        status = ex.status or 0
        if 400 <= status < 500 and capabilities_used(body):
            # A capability the target does not offer, refused cleanly: not an acceptance failure.
            problem = envelope_problem(ex, strict=strict)
            return [Violation("ERR-01", "the error envelope {error: {message, type, param, code}}", problem)] if problem else []
        if status >= 500:
            return [Violation("ERR-03", "HTTP 200 (never 5xx) for a valid request", f"HTTP {status}: {_snippet(ex)}")]
        return [Violation(acceptance_clause(body), "HTTP 200", f"HTTP {status}: {_snippet(ex)}")]
    if body.get("stream") is True:
        return _judge_stream(body, ex, strict=strict)
    if ex.events is not None or ex.content_type != "application/json":
        return [Violation("SSE-15", "Content-Type application/json for a non-stream request",
                          f"Content-Type {ex.header('content-type') or '(none)'}")]
    try:
        value = ex.json()
    except ValueError:
        return [Violation("HTTP-02", "one JSON value as the body", _snippet(ex))]
    errors = schema.validate("response", value, strict=strict, vendor=vendor)
    if errors:
        return [Violation("ENV-01", "a body valid for the response schema", "; ".join(errors[:3]))]
    choices = value["choices"]
    out = _choice_count([c.get("index") for c in choices], body, "body")
    out += _usage_violations(value.get("usage"), [c.get("finish_reason") for c in choices], body, "body")
    return out


def _judge_stream(body: Body, ex: Exchange, *, strict: bool) -> list[Violation]:
    if ex.content_type != "text/event-stream" or ex.events is None:
        return [Violation("SSE-01", "Content-Type text/event-stream", f"Content-Type {ex.header('content-type') or '(none)'}")]
    view = parse_stream(ex.events)
    out: list[Violation] = []
    if not view.done or view.events_after_done:
        out.append(Violation("SSE-03", "the stream ends with data: [DONE] and nothing after it",
                             "no [DONE]" if not view.done else f"{view.events_after_done} event(s) after [DONE]"))
    if view.error_event is not None:
        return out + [Violation("REQ-01", "a complete stream", f"in-band error event: {view.error_event.event.data[:_SNIPPET]}")]
    for chunk in view.chunks:
        errors = ["not JSON: " + chunk.parse_error] if chunk.parse_error else schema.validate("chunk", chunk.payload, strict=strict)
        if errors:
            return out + [Violation("SSE-19", "every chunk valid for the chunk schema", f"chunk #{chunk.position}: {'; '.join(errors[:3])}")]
    out += _choice_count(list(view.choices), body, "stream")
    finishes = [acc.finish_reasons[-1] if acc.finish_reasons else None for acc in view.choices.values()]
    out += _usage_violations(view.final_usage(), finishes, body, "stream usage chunk")
    rebuilt = reassemble(view)
    errors = schema.validate("response", rebuilt, strict=strict)
    if errors:
        out.append(Violation("SSE-18", "the reassembled stream is a valid non-stream response", "; ".join(errors[:3])))
    return out


def reassemble(view: StreamView) -> Body:
    """The ``chat.completion`` object a client SDK builds from the stream's chunks."""
    first = view.json_chunks[0].payload if view.json_chunks else {}
    choices = []
    for index in sorted(view.choices):
        acc = view.choices[index]
        message: Body = {"role": acc.roles[0] if acc.roles else None, "content": acc.content if acc.content_seen else None,
                         "refusal": None}
        if acc.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": call.type, "function": {"name": call.name, "arguments": call.arguments}}
                for _, call in sorted(acc.tool_calls.items())
            ]
        logprobs = {"content": acc.logprob_tokens, "refusal": None} if acc.logprob_tokens else None
        finish = acc.finish_reasons[0] if len(acc.finish_reasons) == 1 else acc.finish_reasons or None
        choices.append({"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish})
    rebuilt: Body = {"id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
                     "model": first.get("model"), "choices": choices}
    usage = view.final_usage()
    if usage is not None:
        rebuilt["usage"] = usage
    return rebuilt


def judge_invalid(body: Any, param: str | tuple[str, ...] | None, ex: Exchange, *, strict: bool) -> list[Violation]:
    """Invariants of the answer to a request breaking a rule (see the module docstring).

    ``param`` is the parameter ``error.param`` should name, or a tuple of acceptable ones.
    """
    missing = _no_response(ex)
    if missing:
        return [missing]
    status = ex.status or 0
    streamed = isinstance(body, dict) and body.get("stream") is True
    if status < 400:
        clause = "SSE-13" if streamed else "ERR-02"
        return [Violation(clause, "HTTP 400", f"HTTP {status} ({ex.content_type or 'no content type'}): {_snippet(ex)}")]
    out: list[Violation] = []
    if status >= 500:
        out.append(Violation("ERR-03", "a 4xx answer", f"HTTP {status}: {_snippet(ex)}"))
    elif status == 422:
        out.append(Violation("ERR-02" if strict else "ERR-08", "HTTP 400", "HTTP 422"))
    elif status != 400:
        out.append(Violation("ERR-02", "HTTP 400", f"HTTP {status}: {_snippet(ex)}"))
    problem = envelope_problem(ex, strict=strict)
    if problem:
        return out + [Violation("ERR-01", '{"error": {"message", "type", "param", "code"}} as JSON', problem)]
    named = ex.json()["error"].get("param")  # type: ignore[index]  # envelope_problem validated the shape
    accepted = (param,) if isinstance(param, str) else tuple(param or ())
    if accepted and status < 500 and not any(_names(named, p) for p in accepted):
        out.append(Violation("ERR-04", f"error.param naming {' or '.join(map(repr, accepted))}", f"error.param = {json.dumps(named)}"))
    return out


def _names(named: Any, param: str) -> bool:
    """error.param names ``param`` itself or a path inside it (``messages[2].content``)."""
    return isinstance(named, str) and (named == param or re.split(r"[.\[]", named, maxsplit=1)[0] == param)


def judge_health(ex: Exchange) -> list[Violation]:
    """After the fuzzing, a plain request must still be answered 200."""
    missing = _no_response(ex)
    if missing:
        return [Violation("REQ-01", "the target still answers after invalid requests", missing.observed)]
    if ex.status != 200:
        return [Violation("REQ-01", "the target still answers 200 after invalid requests", f"HTTP {ex.status}: {_snippet(ex)}")]
    return []


def judge(expectation: Expectation, body: Any, ex: Exchange, *, strict: bool, vendor: bool = False) -> list[Violation]:
    """Apply the oracle an expectation calls for."""
    if expectation.kind == "valid":
        return judge_valid(body, ex, strict=strict, vendor=vendor)
    if expectation.kind == "invalid":
        return judge_invalid(body, expectation.params, ex, strict=strict)
    missing = _no_response(ex)
    if missing:
        return [missing]
    if ex.status is not None and ex.status >= 500:
        return [Violation("ERR-03", "not a 5xx answer", f"HTTP {ex.status}: {_snippet(ex)}")]
    if ex.status is not None and ex.status >= 400:
        problem = envelope_problem(ex, strict=strict)
        if problem:
            return [Violation("ERR-01", '{"error": {"message", "type", "param", "code"}} as JSON', problem)]
    return []


# --- classification of arbitrary bodies --------------------------------------------------------

def classify(body: Any, *, strict: bool, vendor: bool = False) -> Expectation:
    """Whether ``body`` must be accepted, must be rejected (naming which parameter), or either.

    Valid: the full strict schema (cross-field rules included) and ``semantic_problems`` find
    nothing.  Invalid: some problem is in a parameter the contract enforces, or — in the strict
    profile only — is an unknown key at the top level or inside an enforced parameter.  Either: every problem is an unknown key outside the strict
    profile or lies in a field the contract does not enforce (``ENFORCED_PARAMS``).
    """
    if not isinstance(body, dict):
        return Expectation("invalid", (), "the body is not a JSON object")
    problems: list[tuple[str | None, bool, str]] = []  # (top-level param, binding, reason)
    for error in schema.validate("request", body, strict=True, vendor=vendor):
        path, message = error.split(": ", 1)
        param = _top_level(path, message)
        extra = bool(_EXTRA_PROPERTY.search(message))
        binding = param in ENFORCED_PARAMS and (strict or not extra) or (strict and extra and path == "$")
        problems.append((param, binding, error))
    problems += [(param, True, reason) for param, reason in semantic_problems(body)]
    problems += [(key, False, f"$.{key}: the contract does not model this field") for key in body if key in _unmodelled()]
    if not problems:
        return Expectation("valid")
    known = _properties(vendor)
    named = [p for p, _, _ in problems if p is not None] + [k for k in body if k not in known]
    named += [partner for p in named for partner in _partners().get(p, ())]
    params = tuple(dict.fromkeys(named))
    binding = [reason for _, bound, reason in problems if bound]
    if binding:
        return Expectation("invalid", params, binding[0])
    return Expectation("either", params, problems[0][2])


@cache
def _properties(vendor: bool) -> frozenset[str]:
    return frozenset(schema.request_schema(strict=True, vendor=vendor)["properties"])


@cache
def _partners() -> dict[str, tuple[str, ...]]:
    """For each field a cross-field rule requires, the fields that trigger the rule: an error about
    either may name the other (``stream`` missing for ``stream_options``)."""
    partners: dict[str, list[str]] = {}
    for rule in schema.request_schema(strict=True).get("allOf", ()):
        triggers = rule.get("if", {}).get("required", [])
        for needed in rule.get("then", {}).get("required", []):
            partners.setdefault(needed, []).extend(triggers)
    return {k: tuple(v) for k, v in partners.items()}


@cache
def _unmodelled() -> frozenset[str]:
    """Top-level request fields the schema names without constraining them (any value may be refused)."""
    annotations = {"$comment", "description", "deprecated", "x-note"}
    properties = schema.request_schema(strict=True, vendor=True)["properties"]
    return frozenset(k for k, v in properties.items() if isinstance(v, dict) and not set(v) - annotations)


def _top_level(path: str, message: str) -> str | None:
    parts = re.findall(r"\.([A-Za-z0-9_$-]+)", path)
    if parts:
        return parts[0]
    match = _REQUIRED_PROPERTY.match(message)
    if match:
        return match.group(1)
    extra = re.findall(r"'([^']+)'", message) if _EXTRA_PROPERTY.search(message) else []
    return extra[0] if extra else None


def semantic_problems(body: Body) -> list[tuple[str, str]]:
    """Rules the schema cannot express, as (param, reason): tool messages answer an earlier
    tool call id; an assistant's tool_calls array is not empty; a named tool_choice (or
    allowed_tools entry) names a declared function tool.  (Whether an assistant content array may
    mix text and refusal parts is left open: the OpenAPI schema allows it, the prose does not.)"""
    problems: list[tuple[str, str]] = []
    seen_ids: set[str] = set()
    for i, message in enumerate(_list(body.get("messages"))):
        if not isinstance(message, dict):
            continue
        for call in _list(message.get("tool_calls")):
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                seen_ids.add(call["id"])
        call_id = message.get("tool_call_id")
        if message.get("role") == "tool" and isinstance(call_id, str) and call_id not in seen_ids:
            problems.append(("messages", f"messages[{i}].tool_call_id answers no earlier tool call"))
        if message.get("role") == "assistant" and message.get("tool_calls") == []:
            # api.openai.com: "Invalid 'messages[1].tool_calls': empty array. Expected an array with minimum length 1"
            problems.append(("messages", f"messages[{i}].tool_calls is an empty array"))
    declared = {t["function"]["name"] for t in _list(body.get("tools"))
                if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict)
                and isinstance(t["function"].get("name"), str)}
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        function = choice.get("function")
        if choice.get("type") == "function" and isinstance(function, dict) and not (isinstance(function.get("name"), str) and function["name"] in declared):
            problems.append(("tool_choice", "tool_choice names a function that is not among the tools"))
        allowed = choice.get("allowed_tools")
        if choice.get("type") == "allowed_tools" and isinstance(allowed, dict):
            for entry in _list(allowed.get("tools")):
                function = entry.get("function") if isinstance(entry, dict) else None
                if not isinstance(function, dict) or not (isinstance(function.get("name"), str) and function["name"] in declared):
                    problems.append(("tool_choice", "allowed_tools names a function that is not among the tools"))
                    break
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
