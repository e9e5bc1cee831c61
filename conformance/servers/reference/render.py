"""Render a ``Completion`` exactly as api.openai.com does: a non-stream body or a list of chunks.

Chunks (docs/contract.md, area stream): per choice a first delta ``{"role": "assistant", "content": ""}`` (or
the tool-call first-delta form), one content token per chunk, then a finishing chunk with
``delta: {}``.  Tool calls: the first delta per call index carries id/type/name and
``arguments: ""``, then one ``{index, function: {arguments}}`` delta per fragment.  With n > 1
the choices are interleaved round-robin.  ``include_usage`` adds ``"usage": null`` to every
chunk and a final ``{"choices": [], "usage": {...}}`` chunk.
"""

from __future__ import annotations

import itertools
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from .model import Choice, Completion, TokenLogprob, ToolCall
from .validation import ChatRequest

SYSTEM_FINGERPRINT = "fp_reference"
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Meta:
    """What every chunk (and the body) of one answer shares."""

    id: str
    created: int
    model: str

    @classmethod
    def new(cls, model: str) -> Meta:
        return cls(id="chatcmpl-" + "".join(secrets.choice(_ALNUM) for _ in range(29)), created=int(time.time()), model=model)


def usage(completion: Completion) -> dict[str, Any]:
    """The usage object with OpenAI's detail sub-objects."""
    prompt, generated = completion.prompt_tokens, completion.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": generated,
        "total_tokens": prompt + generated,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _logprob_entry(entry: TokenLogprob) -> dict[str, Any]:
    return {
        "token": entry.token,
        "logprob": entry.logprob,
        "bytes": list(entry.token.encode("utf-8") if entry.raw is None else entry.raw),
        "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))} for t, lp in entry.top],
    }


def _call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def body(completion: Completion, meta: Meta) -> dict[str, Any]:
    """The non-stream ``chat.completion`` object."""
    choices = []
    for choice in completion.choices:
        message: dict[str, Any] = {"role": "assistant", "content": choice.content, "refusal": None}
        if choice.tool_calls:
            message["tool_calls"] = [_call(call) for call in choice.tool_calls]
        logprobs = None
        if choice.logprobs is not None:
            content = [_logprob_entry(e) for e in choice.logprobs] if choice.content is not None else None
            logprobs = {"content": content, "refusal": None}
        choices.append({"index": choice.index, "message": message, "logprobs": logprobs, "finish_reason": choice.finish_reason})
    return {
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
        "usage": usage(completion),
    }


def _choice_events(choice: Choice, want_logprobs: bool) -> list[dict[str, Any]]:
    """The ``choices[0]`` objects of every chunk for one choice, in order."""
    def event(delta: dict[str, Any], logprobs: Any = None, finish: str | None = None) -> dict[str, Any]:
        return {"index": choice.index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}

    events = []
    if choice.tool_calls:
        for position, call in enumerate(choice.tool_calls):
            head = {"index": position, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            if position == 0:
                events.append(event({"role": "assistant", "content": None, "tool_calls": [head], "refusal": None}))
            else:
                events.append(event({"tool_calls": [head]}))
            for fragment in call.fragments:
                events.append(event({"tool_calls": [{"index": position, "function": {"arguments": fragment}}]}))
    else:
        empty = {"content": [], "refusal": None} if want_logprobs else None
        events.append(event({"role": "assistant", "content": ""}, empty))
        entries = choice.logprobs or []
        for position, token in enumerate(choice.tokens):
            logprobs = {"content": [_logprob_entry(entries[position])], "refusal": None} if want_logprobs else None
            events.append(event({"content": token}, logprobs))
    events.append(event({}, None, choice.finish_reason))
    return events


def chunks(completion: Completion, meta: Meta, request: ChatRequest) -> list[dict[str, Any]]:
    """Every ``chat.completion.chunk`` of the stream, in order (``[DONE]`` is framing, not a chunk)."""
    def chunk(choices: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": meta.id,
            "object": "chat.completion.chunk",
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if request.include_usage:
            out["usage"] = None
        return out

    per_choice = [_choice_events(choice, request.logprobs) for choice in completion.choices]
    out = [chunk([event]) for round_ in itertools.zip_longest(*per_choice) for event in round_ if event is not None]
    if request.include_usage:
        final = chunk([])
        final["usage"] = usage(completion)
        out.append(final)
    return out
