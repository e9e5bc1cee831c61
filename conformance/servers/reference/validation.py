"""Request validation, the way api.openai.com does it.

``parse_body`` turns raw bytes into a JSON object (or raises a 400/413 ``ApiError``);
``validate`` checks every documented field, cross-field rule and the seed vendor's ``top_k`` /
``repetition_penalty``, and returns a normalised ``ChatRequest``.  Every failure is an
``ApiError`` with status 400 (404 for an unknown model), ``type: invalid_request_error`` and
``param`` naming the offending field; unknown top-level keys give ``code: unknown_parameter``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, invalid
from .tokenizer import count_tokens

MAX_BODY_BYTES = 2 * 1024 * 1024
# Deeper JSON is refused up front, so nothing downstream (copies, encoders, defect hooks) can recurse too far.
MAX_JSON_DEPTH = 64
CONTEXT_TOKENS = 4096
MODELS: tuple[str, ...] = ("reference-model", "reference-model-mini")

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_TOKEN_ID_RE = re.compile(r"^\d{1,18}$")  # longer digit strings are no token id (and int() refuses 4300+)

# Documented OpenAI parameters the toy model accepts and ignores (type-checked only).
_IGNORED: dict[str, tuple[type, ...]] = {
    "user": (str,),
    "metadata": (dict,),
    "store": (bool,),
    "service_tier": (str,),
    "safety_identifier": (str,),
    "prompt_cache_key": (str,),
    "prompt_cache_retention": (str,),
    "prompt_cache_options": (dict,),
    "reasoning_effort": (str,),
    "verbosity": (str,),
    "modalities": (list,),
    "audio": (dict,),
    "prediction": (dict,),
    "web_search_options": (dict,),
    "functions": (list,),
    "function_call": (str, dict),
}
_HANDLED = frozenset({
    "model", "messages", "temperature", "top_p", "n", "stream", "stream_options", "stop",
    "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
    "logprobs", "top_logprobs", "seed", "response_format", "tools", "tool_choice",
    "parallel_tool_calls", "top_k", "repetition_penalty",
})
_TEXT_PARTS = frozenset({"text"})
KNOWN_PARAMETERS = _HANDLED | frozenset(_IGNORED)
_USER_PARTS = frozenset({"text", "image_url", "input_audio", "file"})
_ASSISTANT_PARTS = frozenset({"text", "refusal"})


@dataclass(frozen=True)
class ChatRequest:
    """A validated request with defaults applied."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    logit_bias: dict[int, float] = field(default_factory=dict)
    logprobs: bool = False
    top_logprobs: int = 0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "none"
    parallel_tool_calls: bool = True
    top_k: int = 0
    repetition_penalty: float = 1.0


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a JSON object body; anything else (wrong type, bad UTF-8, bad JSON, too deep) is 400."""
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"Request body too large: the limit is {MAX_BODY_BYTES} bytes.", code="request_too_large")
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        raise invalid(f"Unsupported Content-Type {media or '(none)'!r}: send application/json.", code="invalid_content_type")
    if not raw.strip():
        raise invalid("The request body is empty: send a JSON object.", code="invalid_json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("The request body is not valid UTF-8.", code="invalid_json") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise invalid("The request body is nested too deeply.", code="invalid_json") from None
    except ValueError as exc:
        raise invalid(f"We could not parse the JSON body of your request: {exc}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", code="invalid_json")
    if _depth(body) > MAX_JSON_DEPTH:
        raise invalid(f"The request body is nested too deeply: the limit is {MAX_JSON_DEPTH} levels.", code="invalid_json")
    return body


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON (a scalar is 0), computed without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level) for child in node)
    return deepest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def validate(body: dict[str, Any]) -> ChatRequest:
    """Validate a decoded body against the Chat Completions contract; see the module docstring."""
    for key in body:
        if key not in _HANDLED and key not in _IGNORED:
            raise invalid(f"Unknown parameter: '{key}'.", param=key, code="unknown_parameter")
    for key, types in _IGNORED.items():
        value = body.get(key)
        if value is not None and not isinstance(value, types):
            raise invalid(f"Invalid type for '{key}'.", param=key, code="invalid_type")
    if "model" not in body or body["model"] is None:
        raise invalid("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if not isinstance(body["model"], str) or not body["model"]:
        raise invalid("Invalid type for 'model': expected a non-empty string.", param="model", code="invalid_type")
    messages = _messages(body.get("messages"))
    stream = _bool(body, "stream") or False
    stream_options = body.get("stream_options")
    include_usage = False
    if stream_options is not None:
        if not stream:
            raise invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options", code="invalid_value")
        if not isinstance(stream_options, dict):
            raise invalid("Invalid type for 'stream_options': expected an object.", param="stream_options", code="invalid_type")
        for key, value in stream_options.items():
            if key not in ("include_usage", "include_obfuscation"):
                raise invalid(f"Unknown parameter: 'stream_options.{key}'.", param=f"stream_options.{key}", code="unknown_parameter")
            if not isinstance(value, bool):
                raise invalid(f"Invalid type for 'stream_options.{key}': expected a boolean.", param=f"stream_options.{key}", code="invalid_type")
        include_usage = stream_options.get("include_usage", False)
    temperature = _number(body, "temperature", 0, 2)
    top_p = _number(body, "top_p", 0, 1)
    n = _integer(body, "n", 1, 128)
    presence = _number(body, "presence_penalty", -2, 2)
    frequency = _number(body, "frequency_penalty", -2, 2)
    max_tokens = _integer(body, "max_tokens", 1, None)
    max_completion = _integer(body, "max_completion_tokens", 1, None)
    caps = [cap for cap in (max_tokens, max_completion) if cap is not None]
    logprobs = _bool(body, "logprobs") or False
    top_logprobs = _integer(body, "top_logprobs", 0, 20)
    if top_logprobs is not None and not logprobs:
        raise invalid("Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.", param="top_logprobs", code="invalid_value")
    seed = _integer(body, "seed", -(2**63), 2**63 - 1)
    tools = _tools(body.get("tools"))
    tool_choice = _tool_choice(body, tools)
    parallel = _parallel_tool_calls(body, tools)
    top_k = _top_k(body)
    repetition = _repetition_penalty(body)
    request = ChatRequest(
        model=body["model"],
        messages=messages,
        stream=stream,
        include_usage=include_usage,
        n=1 if n is None else n,
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        seed=seed,
        stop=_stop(body.get("stop")),
        max_tokens=min(caps) if caps else None,
        logit_bias=_logit_bias(body.get("logit_bias")),
        logprobs=logprobs,
        top_logprobs=top_logprobs or 0,
        presence_penalty=presence or 0.0,
        frequency_penalty=frequency or 0.0,
        response_format=_response_format(body.get("response_format")),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        top_k=top_k,
        repetition_penalty=repetition,
    )
    if request.model not in MODELS:
        raise ApiError(404, f"The model '{request.model}' does not exist or you do not have access to it.", param="model", code="model_not_found")
    prompt = prompt_tokens(messages)
    if prompt > CONTEXT_TOKENS:
        raise invalid(
            f"This model's maximum context length is {CONTEXT_TOKENS} tokens. However, your messages resulted in {prompt} tokens.",
            param="messages", code="context_length_exceeded",
        )
    return request


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """3 per message + the tokens of its content (each text part counted on its own) and of its
    tool calls' names and arguments."""
    total = 0
    for message in messages:
        total += 3 + count_tokens(message_text(message))
        if message.get("role") != "assistant":  # only assistant tool calls are validated (and meaningful)
            continue
        for call in message.get("tool_calls") or ():
            total += count_tokens(call["function"]["name"]) + count_tokens(call["function"]["arguments"])
    return total


def message_text(message: dict[str, Any]) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(part) for part in content)
    return ""


def _part_text(part: dict[str, Any]) -> str:
    """The text of a text or refusal part ("" for other parts, whatever keys they carry)."""
    text = part.get(part.get("type")) if part.get("type") in ("text", "refusal") else None
    return text if isinstance(text, str) else ""


# --- scalar helpers -------------------------------------------------------------------------

def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _bad_type(name: str, expected: str, value: Any) -> ApiError:
    return invalid(f"Invalid type for '{name}': expected {expected}, but got {_type_name(value)} instead.", param=name, code="invalid_type")


def _number(body: dict[str, Any], name: str, lo: float, hi: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad_type(name, "a decimal", value)
    if value < lo:
        raise invalid(f"Invalid '{name}': decimal below minimum value. Expected a value >= {lo}, but got {value} instead.", param=name, code="decimal_below_min_value")
    if value > hi:
        raise invalid(f"Invalid '{name}': decimal above maximum value. Expected a value <= {hi}, but got {value} instead.", param=name, code="decimal_above_max_value")
    return float(value)


def _integer(body: dict[str, Any], name: str, lo: int, hi: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad_type(name, "an integer", value)
    if value < lo:
        raise invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= {lo}, but got {value} instead.", param=name, code="integer_below_min_value")
    if hi is not None and value > hi:
        raise invalid(f"Invalid '{name}': integer above maximum value. Expected a value <= {hi}, but got {value} instead.", param=name, code="integer_above_max_value")
    return value


def _bool(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad_type(name, "a boolean", value)
    return value


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if not isinstance(value, list):
        raise _bad_type("stop", "a string or an array of strings", value)
    if not 1 <= len(value) <= 4:
        raise invalid(f"Invalid 'stop': expected an array of 1 to 4 strings, but got {len(value)}.", param="stop", code="invalid_value")
    for item in value:
        if not isinstance(item, str):
            raise _bad_type("stop", "an array of strings", item)
    return tuple(item for item in value if item)


def _logit_bias(value: Any) -> dict[int, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad_type("logit_bias", "an object", value)
    bias: dict[int, float] = {}
    for key, weight in value.items():
        if not _TOKEN_ID_RE.match(key):
            raise invalid(f"Invalid key in 'logit_bias': {key!r} is not a token id.", param="logit_bias", code="invalid_value")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise _bad_type("logit_bias", "a number for every token id", weight)
        if not -100 <= weight <= 100:
            raise invalid(f"Invalid value for 'logit_bias': {weight} for token {key} is outside -100..100.", param="logit_bias", code="invalid_value")
        bias[int(key)] = float(weight)
    return bias


def _top_k(body: dict[str, Any]) -> int:
    value = body.get("top_k")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad_type("top_k", "a number", value)
    if value in (-1, 0):
        return 0
    if value < 1 or (isinstance(value, float) and not value.is_integer()):
        raise invalid("Invalid 'top_k': expected -1, 0 or an integer >= 1.", param="top_k", code="invalid_value")
    return int(value)


def _repetition_penalty(body: dict[str, Any]) -> float:
    value = body.get("repetition_penalty")
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad_type("repetition_penalty", "a number", value)
    if value <= 0:
        raise invalid("Invalid 'repetition_penalty': expected a number > 0.", param="repetition_penalty", code="invalid_value")
    try:
        penalty = float(value)
    except OverflowError:
        penalty = math.inf
    if math.isinf(penalty):
        raise invalid("Invalid 'repetition_penalty': expected a finite number > 0.", param="repetition_penalty", code="invalid_value")
    return penalty


# --- messages -------------------------------------------------------------------------------

def _messages(value: Any) -> list[dict[str, Any]]:
    if value is None:
        raise invalid("Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    if not isinstance(value, list):
        raise _bad_type("messages", "an array", value)
    if not value:
        raise invalid("Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages", code="empty_array")
    call_ids: set[str] = set()
    for i, message in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _bad_type(where, "an object", message)
        role = message.get("role")
        if role is None:
            raise invalid(f"Missing required parameter: '{where}.role'.", param=f"{where}.role", code="missing_required_parameter")
        if role not in ("system", "developer", "user", "assistant", "tool", "function"):
            raise invalid(f"Invalid value: '{role}'. Supported values are: 'system', 'developer', 'user', 'assistant', 'tool' and 'function'.", param=f"{where}.role", code="invalid_value")
        name = message.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad_type(f"{where}.name", "a string", name)
        if role in ("system", "developer", "tool"):
            _content(message, where, _TEXT_PARTS, nullable=False)
        elif role == "user":
            _content(message, where, _USER_PARTS, nullable=False)
        elif role == "function":
            if not isinstance(name, str):
                raise invalid(f"Missing required parameter: '{where}.name'.", param=f"{where}.name", code="missing_required_parameter")
            if message.get("content") is not None and not isinstance(message["content"], str):
                raise _bad_type(f"{where}.content", "a string or null", message["content"])
        else:
            call_ids |= _assistant(message, where)
        if role == "tool":
            tool_call_id = message.get("tool_call_id")
            if tool_call_id is None:
                raise invalid(f"Missing required parameter: '{where}.tool_call_id'.", param=f"{where}.tool_call_id", code="missing_required_parameter")
            if not isinstance(tool_call_id, str):
                raise _bad_type(f"{where}.tool_call_id", "a string", tool_call_id)
            if tool_call_id not in call_ids:
                raise invalid(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                    param=f"{where}.tool_call_id", code="invalid_tool_call_id",
                )
    return value


def _content(message: dict[str, Any], where: str, allowed: frozenset[str], *, nullable: bool) -> None:
    param = f"{where}.content"
    if "content" not in message or message["content"] is None:
        if nullable:
            return
        raise invalid(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    content = message["content"]
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _bad_type(param, "a string or an array of content parts", content)
    if not content:
        raise invalid(f"Invalid '{param}': empty array. Expected an array with minimum length 1.", param=param, code="empty_array")
    for j, part in enumerate(content):
        part_param = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise _bad_type(part_param, "an object", part)
        kind = part.get("type")
        if not isinstance(kind, str) or kind not in allowed:
            raise invalid(f"Invalid value: '{kind}'. Supported values are: {', '.join(sorted(allowed))}.", param=f"{part_param}.type", code="invalid_value")
        key = kind
        if key not in part:
            raise invalid(f"Missing required parameter: '{part_param}.{key}'.", param=f"{part_param}.{key}", code="missing_required_parameter")
        if kind in ("text", "refusal") and not isinstance(part[key], str):
            raise _bad_type(f"{part_param}.{key}", "a string", part[key])
        if kind == "image_url" and not (isinstance(part[key], dict) and isinstance(part[key].get("url"), str)):
            raise invalid(f"Invalid '{part_param}.image_url': expected an object with a 'url' string.", param=f"{part_param}.image_url", code="invalid_value")
        if kind == "input_audio":
            audio = part[key]
            if not (isinstance(audio, dict) and isinstance(audio.get("data"), str) and audio.get("format") in ("wav", "mp3")):
                raise invalid(f"Invalid '{part_param}.input_audio': expected an object with a 'data' string and a 'format' "
                              "of 'wav' or 'mp3'.", param=f"{part_param}.input_audio", code="invalid_value")
        if kind == "file":
            file = part[key]
            if not (isinstance(file, dict) and set(file) <= {"filename", "file_data", "file_id"}
                    and all(isinstance(v, str) for v in file.values())):
                raise invalid(f"Invalid '{part_param}.file': expected an object with string filename, file_data or "
                              "file_id.", param=f"{part_param}.file", code="invalid_value")


def _assistant(message: dict[str, Any], where: str) -> set[str]:
    calls = message.get("tool_calls")
    ids: set[str] = set()
    if calls is not None:
        if not isinstance(calls, list):
            raise _bad_type(f"{where}.tool_calls", "an array", calls)
        if not calls:
            raise invalid(f"Invalid '{where}.tool_calls': empty array. Expected an array with minimum length 1.", param=f"{where}.tool_calls", code="empty_array")
        for j, call in enumerate(calls):
            call_param = f"{where}.tool_calls[{j}]"
            if not isinstance(call, dict):
                raise _bad_type(call_param, "an object", call)
            if not isinstance(call.get("id"), str):
                raise invalid(f"Missing required parameter: '{call_param}.id'.", param=f"{call_param}.id", code="missing_required_parameter")
            if call.get("type") != "function":
                raise invalid(f"Invalid value for '{call_param}.type': expected 'function'.", param=f"{call_param}.type", code="invalid_value")
            function = call.get("function")
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise invalid(f"Missing required parameter: '{call_param}.function.name'.", param=f"{call_param}.function.name", code="missing_required_parameter")
            if not isinstance(function.get("arguments"), str):
                raise _bad_type(f"{call_param}.function.arguments", "a string", function.get("arguments"))
            ids.add(call["id"])
    has_calls = bool(ids) or message.get("function_call") is not None
    if not has_calls and message.get("content") is None:
        raise invalid(f"Missing required parameter: '{where}.content'.", param=f"{where}.content", code="missing_required_parameter")
    _content(message, where, _ASSISTANT_PARTS, nullable=True)
    refusal = message.get("refusal")
    if refusal is not None and not isinstance(refusal, str):
        raise _bad_type(f"{where}.refusal", "a string or null", refusal)
    return ids


# --- tools and response_format --------------------------------------------------------------

def _tools(value: Any) -> list[dict[str, Any]]:
    """Function tools (``tools: []`` counts as no tools); custom tools are accepted but never called."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad_type("tools", "an array", value)
    if len(value) > 128:
        raise invalid("Invalid 'tools': array too long. Expected an array with maximum length 128.", param="tools", code="array_above_max_length")
    tools: list[dict[str, Any]] = []
    for i, tool in enumerate(value):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise _bad_type(where, "an object", tool)
        kind = tool.get("type")
        if kind not in ("function", "custom"):
            raise invalid(f"Invalid value: '{kind}'. Supported values are: 'function' and 'custom'.", param=f"{where}.type", code="invalid_value")
        spec = tool.get(kind)
        if not isinstance(spec, dict):
            raise invalid(f"Missing required parameter: '{where}.{kind}'.", param=f"{where}.{kind}", code="missing_required_parameter")
        name = spec.get("name")
        if kind == "custom" and not isinstance(name, str):  # the contract sets no pattern for custom tool names
            raise _bad_type(f"{where}.custom.name", "a string", name)
        if kind == "function" and (not isinstance(name, str) or not _NAME_RE.match(name)):
            raise invalid(f"Invalid '{where}.{kind}.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.", param=f"{where}.{kind}.name", code="invalid_value")
        if kind == "function":
            parameters = spec.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                raise _bad_type(f"{where}.function.parameters", "an object", parameters)
            tools.append(spec)
    return tools


def _function_name(choice: dict[str, Any]) -> str | None:
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


def _tool_choice(body: dict[str, Any], tools: list[dict[str, Any]]) -> str | dict[str, Any]:
    if "tool_choice" not in body:
        return "auto" if tools else "none"
    choice = body["tool_choice"]
    if choice is None:
        raise invalid("Invalid type for 'tool_choice': expected one of 'none', 'auto', 'required', or an object, but got null instead.", param="tool_choice", code="invalid_type")
    names = {tool["name"] for tool in tools}
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise invalid(f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.", param="tool_choice", code="invalid_value")
        if choice != "none" and not tools:
            raise invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", param="tool_choice", code="invalid_value")
        return choice
    if not isinstance(choice, dict):
        raise _bad_type("tool_choice", "a string or an object", choice)
    if not tools:
        raise invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", param="tool_choice", code="invalid_value")
    kind = choice.get("type")
    if kind == "function":
        name = _function_name(choice)
        if name not in names:
            raise invalid(f"Invalid value for 'tool_choice': function '{name}' is not among the provided tools.", param="tool_choice", code="invalid_value")
        return choice
    if kind == "allowed_tools":
        allowed = choice.get("allowed_tools")
        if not isinstance(allowed, dict) or allowed.get("mode") not in ("auto", "required") or not isinstance(allowed.get("tools"), list):
            raise invalid("Invalid value for 'tool_choice.allowed_tools': expected {mode: 'auto'|'required', tools: [...]}.", param="tool_choice.allowed_tools", code="invalid_value")
        for entry in allowed["tools"]:
            if not isinstance(entry, dict) or _function_name(entry) not in names:
                raise invalid("Invalid value for 'tool_choice.allowed_tools.tools': every entry must name a provided function.", param="tool_choice.allowed_tools.tools", code="invalid_value")
        return choice
    if kind == "custom":
        return choice
    raise invalid(f"Invalid value for 'tool_choice.type': '{kind}'.", param="tool_choice.type", code="invalid_value")


def _parallel_tool_calls(body: dict[str, Any], tools: list[dict[str, Any]]) -> bool:
    if "parallel_tool_calls" not in body:
        return True
    value = body["parallel_tool_calls"]
    if not isinstance(value, bool):
        raise _bad_type("parallel_tool_calls", "a boolean", value)
    if not tools:
        raise invalid("Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", param="parallel_tool_calls", code="invalid_value")
    return value


def _response_format(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad_type("response_format", "an object", value)
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return value
    if kind != "json_schema":
        raise invalid(f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object' and 'json_schema'.", param="response_format.type", code="invalid_value")
    spec = value.get("json_schema")
    if not isinstance(spec, dict):
        raise invalid("Missing required parameter: 'response_format.json_schema'.", param="response_format.json_schema", code="missing_required_parameter")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise invalid("Invalid 'response_format.json_schema.name': expected a string matching '^[a-zA-Z0-9_-]{1,64}$'.", param="response_format.json_schema.name", code="invalid_value")
    schema = spec.get("schema")
    if schema is not None and not isinstance(schema, dict):
        raise _bad_type("response_format.json_schema.schema", "an object", schema)
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _bad_type("response_format.json_schema.strict", "a boolean", strict)
    return value
