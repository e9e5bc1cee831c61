"""A chat stream as data: the parsed chunks of an SSE exchange and what they reassemble into.

Parsing is tolerant on purpose: a malformed chunk is recorded (checks judge it), never raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .engine import Skip
from .wire.sse import SSEEvent

DONE = "[DONE]"
# Non-standard fields in which servers put a reasoning model's hidden thinking.
REASONING_KEYS = ("reasoning_content", "reasoning")
CAP_SPENT_ON_REASONING = ("the token cap was spent on reasoning before any answer (finish_reason length); "
                          "give reasoning models a larger budget with --max-tokens")


@dataclass
class Chunk:
    """One data event: its position, the raw event and the parsed JSON (None if it did not parse)."""

    position: int
    event: SSEEvent
    payload: Any
    parse_error: str | None = None

    @property
    def choices(self) -> list[dict[str, Any]]:
        value = self.payload.get("choices") if isinstance(self.payload, dict) else None
        return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


@dataclass
class ToolCallAccumulator:
    index: int
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: str = ""
    deltas: int = 0


@dataclass
class ChoiceAccumulator:
    """Everything streamed for one choice index, in arrival order."""

    index: int
    roles: list[Any] = field(default_factory=list)
    text: str = ""  # the string content deltas, concatenated
    reasoning: str = ""  # reasoning deltas (REASONING_KEYS), concatenated
    content_seen: bool = False  # some delta carried string content ("" included)
    malformed_content: list[int] = field(default_factory=list)  # chunk positions with non-string content
    finish_reasons: list[Any] = field(default_factory=list)  # non-null values only
    tool_calls: dict[int, ToolCallAccumulator] = field(default_factory=dict)
    logprob_tokens: list[dict[str, Any]] = field(default_factory=list)
    first_position: int = -1
    last_position: int = -1

    @property
    def content(self) -> str:
        """The streamed text; a stream whose deltas carried non-string content is judged by ENV-06 only."""
        if self.malformed_content:
            raise Skip(f"delta content is not a string (chunk #{self.malformed_content[0]}); judged by ENV-06")
        if not self.text and self.reasoning and self.finish_reasons[-1:] == ["length"]:
            raise Skip(CAP_SPENT_ON_REASONING)
        return self.text


@dataclass
class StreamView:
    chunks: list[Chunk]  # data events before [DONE], excluding the error event
    done: bool  # a [DONE] event arrived
    events_after_done: int
    error_event: Chunk | None  # an in-band {"error": ...} event
    choices: dict[int, ChoiceAccumulator]
    usage_chunks: list[Chunk]  # chunks with a non-null usage
    filter_chunks: list[Chunk] = field(default_factory=list)  # set aside Azure prompt-filter chunks

    @property
    def json_chunks(self) -> list[Chunk]:
        return [c for c in self.chunks if isinstance(c.payload, dict)]

    def require_choices(self) -> None:
        """Rules about choices cannot be judged on a stream that carried none (SSE-17 judges that)."""
        if not self.choices:
            raise Skip("no choice was streamed; judged by SSE-17")

    def text(self, index: int = 0) -> str:
        self.require_choices()
        choice = self.choices.get(index)
        return choice.content if choice else ""

    def final_usage(self) -> dict[str, Any] | None:
        if not self.usage_chunks:
            return None
        usage = self.usage_chunks[-1].payload.get("usage")
        return usage if isinstance(usage, dict) else None


def _is_filter_chunk(payload: Any) -> bool:
    """Azure OpenAI's leading chunk: no choices, blank envelope, prompt_filter_results."""
    return isinstance(payload, dict) and payload.get("choices") == [] and "prompt_filter_results" in payload


def parse_stream(events: list[SSEEvent], *, set_aside_filter_chunks: bool = False) -> StreamView:
    """Parse data events; with `set_aside_filter_chunks`, Azure's leading prompt-filter chunks are
    kept apart from `chunks` so the lenient reading judges them once (SSE-05) instead of everywhere."""
    chunks: list[Chunk] = []
    filter_chunks: list[Chunk] = []
    done = False
    after_done = 0
    error_event: Chunk | None = None
    for position, event in enumerate(events):
        if done:
            after_done += 1
            continue
        if event.data.strip() == DONE:
            done = True
            continue
        try:
            chunk = Chunk(position, event, json.loads(event.data))
        except ValueError as exc:
            chunk = Chunk(position, event, None, f"{exc}")
        if isinstance(chunk.payload, dict) and chunk.payload.get("error") and "choices" not in chunk.payload:
            error_event = chunk
            continue
        if set_aside_filter_chunks and not any(c.choices for c in chunks) and _is_filter_chunk(chunk.payload):
            filter_chunks.append(chunk)
            continue
        chunks.append(chunk)
    view = StreamView(chunks, done, after_done, error_event, {}, [], filter_chunks)
    for chunk in view.json_chunks:
        if chunk.payload.get("usage") is not None:
            view.usage_chunks.append(chunk)
        for choice in chunk.choices:
            _accumulate(view, chunk, choice)
    return view


def _accumulate(view: StreamView, chunk: Chunk, choice: dict[str, Any]) -> None:
    index = choice.get("index")
    if not isinstance(index, int):
        index = -1  # recorded under -1 so checks can see index-less choices
    acc = view.choices.setdefault(index, ChoiceAccumulator(index))
    if acc.first_position < 0:
        acc.first_position = chunk.position
    acc.last_position = chunk.position
    delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
    if "role" in delta:
        acc.roles.append(delta["role"])
    content = delta.get("content")
    if isinstance(content, str):
        acc.text += content
        acc.content_seen = True
    elif content is not None:
        acc.malformed_content.append(chunk.position)
    acc.reasoning += "".join(delta[key] for key in REASONING_KEYS if isinstance(delta.get(key), str))
    if choice.get("finish_reason") is not None:
        acc.finish_reasons.append(choice["finish_reason"])
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        acc.logprob_tokens.extend(t for t in logprobs["content"] if isinstance(t, dict))
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        call_index = call.get("index")
        key = call_index if isinstance(call_index, int) else -1
        tool = acc.tool_calls.setdefault(key, ToolCallAccumulator(key))
        tool.deltas += 1
        tool.id = tool.id or call.get("id") or None
        tool.type = tool.type or call.get("type")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        tool.name = tool.name or function.get("name") or None
        if isinstance(function.get("arguments"), str):
            tool.arguments += function["arguments"]
