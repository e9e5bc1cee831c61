"""Core requests sent through the official SDK: non-stream, stream, and the stream helper with a tool.

Each scenario does what ordinary application code does with the SDK's answer (read
``choices[0].message``, iterate every chunk, call ``get_final_completion()``) and records either
the resulting ``Digest`` or the exception, next to the raw exchange the SDK's request produced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import Skip
from ..evidence import Evidence
from ..scenarios.prompts import CONSTRAINED_COST, GREETING, WEATHER_PROMPT
from ..suite import SUITE
from ..target import Context
from . import TESTED_RANGE_TEXT
from .client import WireTransport, openai_client, reraise_harness_stop, sdk_version
from .evidence import Digest, SdkCall, SdkError, ToolCallView

scenario = SUITE.scenario

# The stream helper only auto-parses strict function tools, and strict mode wants every property required.
STRICT_WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def _run(ctx: Context, api: str, call: Callable[[Any], Digest]) -> Evidence:
    version = sdk_version()
    if version is None:
        raise Skip(f"the official SDK is not installed (pip install '{TESTED_RANGE_TEXT}')")
    transport = WireTransport(ctx)
    digest: Digest | None = None
    error: SdkError | None = None
    try:
        with openai_client(transport) as client:
            digest = call(client)
    except Exception as exc:  # whatever the SDK raises is the finding
        reraise_harness_stop(exc)
        if not transport.exchanges:
            raise RuntimeError(f"the SDK raised before sending anything: {SdkError.of(exc).line()}") from exc
        error = SdkError.of(exc)
    first, *more = transport.exchanges
    request = first.request.json if isinstance(first.request.json, dict) else first.request.body
    related = {f"sdk_request_{i + 2}": ex for i, ex in enumerate(more)}
    return Evidence(ctx, request, first, related=related, data={"sdk": SdkCall(api, version, digest, error)})


def completion_digest(completion: Any) -> Digest:
    """Read a ChatCompletion the way application code does (attribute access, choice 0)."""
    choice = completion.choices[0]
    message = choice.message
    calls = tuple(ToolCallView(t.id, t.function.name, t.function.arguments) for t in message.tool_calls or [])
    usage = completion.usage
    numbers = None if usage is None else (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
    return Digest(message.content, choice.finish_reason, calls, numbers)


def chunks_digest(stream: Any) -> Digest:
    """Iterate every chunk of an SDK stream and reassemble choice 0 as application code does."""
    parts: list[str] = []
    finish: Any = None
    calls: dict[int, list[Any]] = {}
    usage = None
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.usage.total_tokens)
            for choice in chunk.choices:
                if choice.index != 0:
                    continue
                delta = choice.delta
                if delta.content is not None:
                    parts.append(delta.content)
                if choice.finish_reason is not None:
                    finish = choice.finish_reason
                for tool in delta.tool_calls or []:
                    acc = calls.setdefault(tool.index, [None, None, ""])
                    function = tool.function
                    acc[0] = acc[0] or tool.id
                    acc[1] = acc[1] or (function.name if function else None)
                    acc[2] += (function.arguments if function else None) or ""
    content = "".join(parts) if parts else None
    return Digest(content, finish, tuple(ToolCallView(*calls[i]) for i in sorted(calls)), usage)


@scenario("sdk", "sdk_call", "sdk_chat")
def sdk_chat(ctx: Context) -> Evidence:
    """client.chat.completions.create() without streaming; reads choices[0].message and usage."""
    body = ctx.body(GREETING)
    return _run(ctx, "chat.completions.create", lambda client: completion_digest(client.chat.completions.create(**body)))


@scenario("sdk", "sdk_call", "sdk_stream")
def sdk_stream(ctx: Context) -> Evidence:
    """client.chat.completions.create(stream=True, include_usage); iterates every chunk to the end."""
    body = ctx.body(GREETING, stream=True, stream_options={"include_usage": True})
    return _run(ctx, "chat.completions.create(stream=True)",
                lambda client: chunks_digest(client.chat.completions.create(**body)))


@scenario("sdk", "sdk_call", "sdk_helper", cost=CONSTRAINED_COST)
def sdk_stream_helper(ctx: Context) -> Evidence:
    """client.chat.completions.stream() with a strict tool and tool_choice required; every event, then get_final_completion()."""
    body = ctx.body(WEATHER_PROMPT, tools=[STRICT_WEATHER_TOOL], tool_choice="required", max_tokens=64)

    def call(client: Any) -> Digest:
        with client.chat.completions.stream(**body) as stream:
            for _event in stream:
                pass
            return completion_digest(stream.get_final_completion())

    return _run(ctx, "chat.completions.stream", call)


@scenario("sdk", "sdk_error")
def sdk_invalid_request(ctx: Context) -> Evidence:
    """client.chat.completions.create() with temperature 2.5 (above the maximum): the SDK should raise BadRequestError."""
    body = ctx.body(GREETING, temperature=2.5)
    return _run(ctx, "chat.completions.create", lambda client: completion_digest(client.chat.completions.create(**body)))
