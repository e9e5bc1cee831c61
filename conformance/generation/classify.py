"""What a generated request is, and so which rules its answer is judged by.

Nothing here judges an answer: every rule lives in one registered check.  This module tells the
generators and the generated-traffic scenarios what each case is:

* ``classify``: whether an arbitrary body (e.g. from schemathesis) must be accepted, must be
  refused naming a parameter, or is of a validity the contract does not settle, using the full
  strict schema plus the rules it cannot express (``semantic_problems``);
* ``capabilities_used``: the optional capabilities a request relies on (a target may refuse them
  cleanly with a 4xx: not offered is not broken);
* ``case_tags``: the scenario tags a generated exchange carries, the same tags hand-written
  scenarios give their evidence, so the same checks judge it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from .. import schema
from ..wire.client import Exchange

Body = dict[str, Any]


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


def case_tags(expectation: Expectation, body: Any, exchange: Exchange) -> frozenset[str]:
    """The tags of a generated case's evidence, as a hand-written scenario of the same kind would
    carry them.  A valid request using an optional capability that the target refused with a 4xx
    is judged only by the rules on every exchange (the error envelope): not offered is not broken;
    answered 5xx, it is judged as a valid request (REQ-01), not by the acceptance clauses.
    A replayed assistant tool-call turn with content null and text-part arrays have their own
    acceptance clauses (REQ-03, REQ-02), which then stand for REQ-01."""
    tags = {"any"}
    streamed = isinstance(body, dict) and body.get("stream") is True
    if expectation.kind == "invalid":
        return frozenset(tags | {"invalid"} | ({"invalid_stream"} if streamed else set()))
    if expectation.kind == "either":
        return frozenset(tags | {"unsettled"})
    status = exchange.status
    if status is not None and 400 <= status < 500 and capabilities_used(body):
        return frozenset(tags)
    tags.add("stream" if streamed else "chat")
    if status is not None and status >= 500 and capabilities_used(body):
        # A fault, not a clean refusal; the optional capability may be its cause rather than the
        # message forms the acceptance clauses name: only "a valid request is answered 200" is proven.
        return frozenset(tags | {"valid"})
    messages = [m for m in _list(body.get("messages")) if isinstance(m, dict)]
    if any(m.get("role") == "assistant" and m.get("tool_calls") and m.get("content", None) is None for m in messages):
        tags.add("null_content")
    elif any(isinstance(m.get("content"), list) for m in messages):
        tags.add("content_parts")
    else:
        tags.add("valid")
    # The cap rules judge one cap alone: with both set, which one binds is not settled.
    caps = [k for k in ("max_tokens", "max_completion_tokens") if _is_int(body.get(k))]
    n = body.get("n") if _is_int(body.get("n")) else 1
    if len(caps) == 1 and n == 1:
        tags.add("capped")
    elif caps == ["max_tokens"] and n >= 2:
        tags.add("n_capped")
    return frozenset(tags)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    named += [key for key in _MODEL_SPECIFIC if key in body]  # a model may refuse one it does not offer first
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
