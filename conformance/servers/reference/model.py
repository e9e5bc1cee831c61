"""The toy model: deterministic, honours every parameter, behaviour chosen by the last user message.

Intents (matched case-insensitively on the last user message):

* ``count from A to B`` -> ``"A A+1 ... B"`` separated by single spaces (descending if A > B), or
  one number per line when the prompt says "one per line"; when it says "introduce the numbers"
  the count follows a line ``Here are the numbers from A to B:``.
* ``write N words`` / ``say N words`` -> exactly N vocabulary words.
* ``long story`` / ``essay`` -> 300 vocabulary words.
* anything else -> a short sentence of 12-20 vocabulary words.
* last message from a ``tool`` -> ``The tool returned: "<result>"`` (the round trip's answer).

Sampling over the vocabulary (``tokenizer.VOCABULARY``): each position has fixed per-prompt logits.
Temperature 0, ``top_p <= 0.01`` or vendor ``top_k == 1`` pick the arg-max (fully deterministic);
otherwise tokens are drawn from ``softmax(logits / temperature)`` restricted by ``top_k``/``top_p``,
with an RNG seeded from (prompt, ``seed``, choice index) when a seed is given and from the OS
otherwise.  ``logit_bias`` adds ``bias / 10`` to a word's logit and -100 bans it;
``presence_penalty``/``frequency_penalty`` subtract from used words' logits;
``repetition_penalty > 1`` never repeats a word.  ``max_tokens`` / ``max_completion_tokens``
cut the output (``finish_reason: "length"``); ``stop`` cuts before the first stop string.

``response_format`` json_object gives ``{"answer": "<sentence>"}`` (300 words instead of a
sentence when the prompt says "in detail"); json_schema gives a minimal valid instance of the schema.  Tool calls follow ``tool_choice`` (see ``_tool_targets``):
arguments are a valid instance of the tool's ``parameters`` whose strings echo a prompt word,
streamed as 2+ fragments.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from .schema_instance import instance
from .tokenizer import TOKEN_IDS, VOCABULARY, tokenize
from .validation import ChatRequest, message_text, prompt_tokens

MAX_OUTPUT_TOKENS = 4096
# The toy model's context: output tokens of one request, shared by its n choices (each gets
# 1/n of it and ends with finish_reason "length" there), as a real server's context bounds what
# one request can generate.  n=128 × max_tokens=4096 × top_logprobs=20 would otherwise be 70 MB.
CONTEXT_OUTPUT_TOKENS = 2048
LONG_TOKENS = 300
_LOGIT_SPREAD = 4.0
# Bounded digit runs: int() refuses 4300+ digits, and no prompt needs more than nine.
_COUNT_RE = re.compile(r"count from (-?\d{1,9}) to (-?\d{1,9})\b")
_WORDS_RE = re.compile(r"\b(?:write|say)\s+(?:exactly\s+)?(\d{1,9})\s+words?\b")
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|(?<!\w)'([^']+)'(?!\w)")
_PARALLEL_RE = re.compile(r"in parallel|\beach\b")
_ALNUM = string.ascii_letters + string.digits


@dataclass
class TokenLogprob:
    """One generated token with its log-probability and the best alternatives; ``raw`` is its
    bytes when they differ from ``token`` encoded (a byte-level piece of a multi-byte character)."""

    token: str
    logprob: float
    top: list[tuple[str, float]]
    raw: bytes | None = None


@dataclass
class ToolCall:
    """A tool call; ``fragments`` (>= 2 when the arguments allow) are its streamed argument pieces."""

    id: str
    name: str
    fragments: list[str]

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


@dataclass
class Choice:
    """One generated choice; ``stop_hit`` is the stop string that ended it, if any."""

    index: int
    tokens: list[str] = field(default_factory=list)
    logprobs: list[TokenLogprob] | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    stop_hit: str | None = None

    @property
    def content(self) -> str | None:
        return None if self.tool_calls and not self.tokens else "".join(self.tokens)

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens) + sum(len(call.fragments) for call in self.tool_calls)


@dataclass
class Completion:
    """The model's answer to one request, before it is rendered as a body or as chunks."""

    choices: list[Choice]
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return sum(choice.completion_tokens for choice in self.choices)


def generate(request: ChatRequest) -> Completion:
    """Run the toy model for every choice of ``request``."""
    key = hashlib.sha256(json.dumps([request.model, request.messages], sort_keys=True).encode()).digest()
    prompt = _prompt_text(request.messages)
    targets = _tool_targets(request, prompt)
    choices = []
    for index in range(request.n):
        if targets:
            choices.append(_tool_choice(request, index, targets))
        else:
            choices.append(_text_choice(request, index, key, prompt))
    return Completion(choices=choices, prompt_tokens=prompt_tokens(request.messages))


def _prompt_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return message_text(messages[-1])


def prompt_word(prompt: str) -> str:
    """The word a string value echoes: the first quoted item, else the last capitalised word that
    does not start a sentence, else the last word."""
    quoted = [a or b for a, b in _QUOTED_RE.findall(prompt)]
    if quoted:
        return quoted[0]
    words = [(m.group(), prompt[: m.start()].rstrip()) for m in re.finditer(r"[A-Za-z][A-Za-z0-9_-]*", prompt)]
    names = [word for word, before in words if word[0].isupper() and before and before[-1] not in ".?!"]
    if names:
        return names[-1]
    return words[-1][0] if words else "value"


# --- text -----------------------------------------------------------------------------------

def _text_choice(request: ChatRequest, index: int, key: bytes, prompt: str) -> Choice:
    cap = min(MAX_OUTPUT_TOKENS, max(1, CONTEXT_OUTPUT_TOKENS // request.n))
    if request.max_tokens is not None:
        cap = min(cap, request.max_tokens)
    limit = min(MAX_OUTPUT_TOKENS, cap + 8)
    sampler = _Sampler(request, key, index)
    last = request.messages[-1]
    lowered = prompt.lower()
    if last.get("role") == "tool":
        tokens = _forced(tokenize(f'The tool returned: "{message_text(last)}"'), limit)
    elif request.response_format is not None:
        tokens = _forced(tokenize(_json_content(request, sampler, prompt)), limit)
    elif match := _COUNT_RE.search(lowered):
        separator = "\n" if "one per line" in lowered else " "
        numbers = _count(int(match[1]), int(match[2]), limit, separator)
        if "introduce the numbers" in lowered:
            numbers = [*tokenize(f"Here are the numbers from {match[1]} to {match[2]}:"), "\n" + numbers[0], *numbers[1:]]
        tokens = _forced(numbers, limit)
    elif match := _WORDS_RE.search(lowered):
        tokens = sampler.words(min(int(match[1]), limit))
    elif "long story" in lowered or "essay" in lowered:
        tokens = sampler.words(min(LONG_TOKENS, limit))
    else:
        tokens = sampler.words(sampler.sentence_length())
    choice = Choice(index=index)
    _apply_stop(choice, tokens, request.stop)
    if len(tokens) > cap:
        del tokens[cap:]
        choice.finish_reason = "length"
        choice.stop_hit = None
    choice.tokens = [token for token, _ in tokens]
    if request.logprobs:
        choice.logprobs = [_entry(token, logprob, top, request.top_logprobs) for token, (logprob, top) in tokens]
    return choice


_Token = tuple[str, tuple[float, list[tuple[str, float]]]]


def _forced(texts: list[str], limit: int) -> list[_Token]:
    """Tokens whose text is fixed: a near-zero logprob and vocabulary alternatives."""
    out: list[_Token] = []
    for position, token in enumerate(texts[:limit]):
        logprob = -0.001 * (1 + position % 5)
        lead = token[: len(token) - len(token.lstrip())] or ("" if position == 0 else " ")
        alternatives = [(lead + VOCABULARY[(position + j) % len(VOCABULARY)], -6.0 - 0.5 * j) for j in range(21)]
        out.append((token, (logprob, [(token, logprob)] + [alt for alt in alternatives if alt[0] != token])))
    return out


def _entry(token: str, logprob: float, top: list[tuple[str, float]], k: int) -> TokenLogprob:
    return TokenLogprob(token=token, logprob=logprob, top=top[:k])


def _count(start: int, end: int, limit: int, separator: str = " ") -> list[str]:
    step = 1 if end >= start else -1
    numbers = []
    for value in range(start, end + step, step):
        numbers.append(str(value) if not numbers else f"{separator}{value}")
        if len(numbers) >= limit:
            break
    return numbers


def _json_content(request: ChatRequest, sampler: _Sampler, prompt: str) -> str:
    assert request.response_format is not None
    if request.response_format["type"] == "json_object":
        count = LONG_TOKENS if "in detail" in prompt.lower() else sampler.sentence_length()
        words = "".join(token for token, _ in sampler.words(count))
        return json.dumps({"answer": words})
    schema = request.response_format["json_schema"].get("schema") or {}
    return json.dumps(instance(schema, prompt_word(prompt)))


def _apply_stop(choice: Choice, tokens: list[_Token], stops: tuple[str, ...]) -> None:
    """Cut ``tokens`` in place before the earliest stop string; the stop text is never kept."""
    if not stops:
        return
    text = "".join(token for token, _ in tokens)
    hits = [(text.find(stop), stop) for stop in stops if stop in text]
    if not hits:
        return
    cut, stop = min(hits)
    kept: list[_Token] = []
    position = 0
    for token, info in tokens:
        if position + len(token) <= cut:
            kept.append((token, info))
        elif position < cut:
            kept.append((token[: cut - position], info))
        position += len(token)
    tokens[:] = kept
    choice.stop_hit = stop


class _Sampler:
    """Draws vocabulary words; see the module docstring for how every parameter applies."""

    def __init__(self, request: ChatRequest, key: bytes, index: int) -> None:
        self.request = request
        self.key = int.from_bytes(key[:8], "big")
        self.greedy = request.temperature == 0 or request.top_p <= 0.01 or request.top_k == 1
        if self.greedy:
            self.rng = random.Random(self.key)
        elif request.seed is not None:
            self.rng = random.Random(hashlib.sha256(f"{self.key}:{request.seed}:{index}".encode()).digest())
        else:
            self.rng = random.Random(secrets.randbits(64) ^ index)
        ids = {token_id: bias for token_id, bias in request.logit_bias.items()}
        self.bias = {word: ids[TOKEN_IDS[word]] for word in VOCABULARY if TOKEN_IDS[word] in ids}

    def sentence_length(self) -> int:
        return 12 + self.rng.randrange(9)

    def words(self, count: int) -> list[_Token]:
        out: list[_Token] = []
        used: dict[str, int] = {}
        for position in range(count):
            picked = self._pick(position, used)
            if picked is None:
                break
            word, logprob, top = picked
            used[word] = used.get(word, 0) + 1
            lead = "" if position == 0 else " "
            out.append((lead + word, (logprob, [(lead + w, lp) for w, lp in top])))
        return out

    def _pick(self, position: int, used: dict[str, int]) -> tuple[str, float, list[tuple[str, float]]] | None:
        request = self.request
        base = random.Random(hash((self.key, position)))
        logits: dict[str, float] = {}
        for word in VOCABULARY:
            logit = base.random() * _LOGIT_SPREAD
            bias = self.bias.get(word, 0.0)
            count = used.get(word, 0)
            if bias <= -100 or (request.repetition_penalty > 1 and count):
                continue
            logit += bias / 10 - request.presence_penalty * (count > 0) - request.frequency_penalty * count
            logits[word] = logit
        if not logits:
            return None
        ranked = sorted(logits, key=logits.__getitem__, reverse=True)
        norm = math.log(sum(math.exp(v) for v in logits.values()))
        top = [(word, round(logits[word] - norm, 6)) for word in ranked[:20]]
        word = ranked[0] if self.greedy else self._sample(ranked, logits)
        return word, round(logits[word] - norm, 6), top

    def _sample(self, ranked: list[str], logits: dict[str, float]) -> str:
        request = self.request
        pool = ranked[: request.top_k] if request.top_k > 1 else ranked
        weights = [math.exp((logits[w] - logits[pool[0]]) / request.temperature) for w in pool]
        total = sum(weights)
        kept, mass = [], 0.0
        for word, weight in zip(pool, weights):
            kept.append((word, weight))
            mass += weight / total
            if mass >= request.top_p:
                break
        return self.rng.choices([w for w, _ in kept], weights=[wt for _, wt in kept])[0]


# --- tools ----------------------------------------------------------------------------------

def _tool_targets(request: ChatRequest, prompt: str) -> list[tuple[dict[str, Any], str]]:
    """(tool, echoed word) per call to make, or [] for a text answer.

    ``none`` -> text.  Named function -> that function.  ``required`` -> the tools named in the
    prompt, else the first tool.  ``auto`` -> the tools named in the prompt, else text; a ``tool``
    message last under ``auto`` is answered with text.  ``allowed_tools`` restricts the tools and
    acts as ``auto``/``required`` by its mode.  "in parallel"/"each" (unless
    ``parallel_tool_calls: false``) makes one call per quoted item, or one per target tool.
    """
    choice = request.tool_choice
    tools = request.tools
    forced: str | None = None
    mode = choice if isinstance(choice, str) else "auto"
    if isinstance(choice, dict):
        if choice.get("type") == "function":
            forced = choice["function"]["name"]
            mode = "required"
        elif choice.get("type") == "allowed_tools":
            allowed = {entry["function"]["name"] for entry in choice["allowed_tools"]["tools"]}
            tools = [tool for tool in tools if tool["name"] in allowed]
            mode = choice["allowed_tools"]["mode"]
        else:
            return []
    if mode == "none" or not tools:
        return []
    if mode == "auto" and request.messages[-1].get("role") == "tool":
        return []
    lowered = prompt.lower()
    mentioned = [tool for tool in tools if tool["name"].lower() in lowered]
    if forced is not None:
        targets = [tool for tool in tools if tool["name"] == forced]
    elif mentioned:
        targets = mentioned
    elif mode == "required":
        targets = tools[:1]
    else:
        return []
    quoted = [a or b for a, b in _QUOTED_RE.findall(prompt)]
    if request.parallel_tool_calls and _PARALLEL_RE.search(lowered):
        if quoted:
            return [(targets[0], item) for item in quoted]
        if forced is None and len(targets) == 1:
            targets = tools
        return [(tool, prompt_word(prompt)) for tool in targets]
    return [(targets[0], prompt_word(prompt))]


def new_call_id() -> str:
    """``call_`` + 24 random alphanumerics, like OpenAI's ids."""
    return "call_" + "".join(secrets.choice(_ALNUM) for _ in range(24))


def fragments(arguments: str) -> list[str]:
    """Split an argument string into token fragments, at least two when it has two characters."""
    pieces = tokenize(arguments)
    if len(pieces) < 2 and len(arguments) >= 2:
        middle = len(arguments) // 2
        pieces = [arguments[:middle], arguments[middle:]]
    return pieces


def _tool_choice(request: ChatRequest, index: int, targets: list[tuple[dict[str, Any], str]]) -> Choice:
    choice = Choice(index=index, finish_reason="tool_calls")
    budget = request.max_tokens
    for tool, word in targets:
        pieces = fragments(json.dumps(instance(tool.get("parameters") or {"type": "object"}, word)))
        if budget is not None:
            if budget <= 0:
                choice.finish_reason = "length"
                break
            if len(pieces) > budget:
                pieces = pieces[:budget]
                choice.finish_reason = "length"
            budget -= len(pieces)
        choice.tool_calls.append(ToolCall(id=new_call_id(), name=tool["name"], fragments=pieces))
    if request.logprobs:
        choice.logprobs = []
    return choice
