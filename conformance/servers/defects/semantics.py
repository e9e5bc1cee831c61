"""Parameter-semantics defects: documented parameters ignored or mis-honoured (catalogue section H:
D50-D54, plus determinism and vendor-parameter variants)."""

from __future__ import annotations

import copy
from typing import Any

from conformance.servers.reference.errors import ApiError
from conformance.servers.reference.model import Completion, TokenLogprob
from conformance.servers.reference.pipeline import Context, Stage
from conformance.servers.reference.validation import validate

from .edit import choices
from .registry import defect

Body = dict[str, Any]
Chunks = list[dict[str, Any]]


def validates(payload: Body) -> bool:
    """Whether the reference server accepts ``payload`` as it stands.

    A server that ignores a parameter still parses it, so an out-of-range value is still a 400:
    hooks that ignore or rewrite a parameter act on valid requests only, which keeps each defect
    to its one deviation.
    """
    try:
        validate(copy.deepcopy(payload))
    except ApiError:
        return False
    return True


def _without(payload: Body, *names: str) -> Body:
    """``payload`` minus ``names`` when it is valid (see ``validates``), else unchanged."""
    if not validates(payload):
        return payload
    return {k: v for k, v in payload.items() if k not in names}


def _is_json_schema(payload: Body) -> bool:
    response_format = payload.get("response_format")
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"


@defect("n-ignored", Stage.REQUEST, clause="CHO-01", verdict="FAIL", deviations=("D50",), collateral=("PAR-04", "SSE-12"),
        summary="n is ignored: always one choice")
def n_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "n")


@defect("n-choices-identical", Stage.COMPLETION, clause="PAR-04", verdict="FAIL", deviations=("D50",),
        summary="n > 1 returns n copies of the same choice even at temperature > 0 (beam-style)")
def n_choices_identical(completion: Completion, ctx: Context) -> Completion:
    first = completion.choices[0]
    completion.choices = [copy.deepcopy(first) for _ in completion.choices]
    for index, choice in enumerate(completion.choices):
        choice.index = index
    return completion


@defect("choice-indices-wrong", Stage.COMPLETION, clause="CHO-02", verdict="FAIL", deviations=("D50",), collateral=("SSE-12", "CHO-01", "SSE-06", "SSE-07"),
        summary="Every choice carries index 0")
def choice_indices_wrong(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        choice.index = 0
    return completion


@defect("stop-included", Stage.COMPLETION, clause="PAR-03", verdict="FAIL", deviations=("D51",),
        summary="The matched stop sequence is included at the end of the output")
def stop_included(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        if choice.stop_hit:
            choice.tokens.append(choice.stop_hit)
            if choice.logprobs is not None:
                choice.logprobs.append(TokenLogprob(choice.stop_hit, -0.001, [(choice.stop_hit, -0.001)]))
    return completion


@defect("stop-ignored", Stage.REQUEST, clause="PAR-03", verdict="FAIL", deviations=("D51",),
        summary="stop is accepted but has no effect")
def stop_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "stop")


@defect("max-tokens-ignored", Stage.REQUEST, clause="PAR-01", verdict="FAIL", deviations=("D52",),
        summary="max_tokens is accepted but has no effect")
def max_tokens_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "max_tokens")


# As much as a context window holds: more events than the suite reads from any stream.
_RAMBLE_TOKENS = 6000


@defect("stream-cap-ignored-rambles", Stage.COMPLETION, clause="PAR-01", verdict="FAIL", deviations=("D52",),
        summary="A streamed answer ignores its token cap and goes on until the context is full (6000 tokens; "
                "llama-cpp-python with max_completion_tokens)")
def stream_cap_ignored_rambles(completion: Completion, ctx: Context) -> Completion:
    if not ctx.stream or ctx.request is None or ctx.request.max_tokens is None:
        return completion
    alternatives = max(1, ctx.request.top_logprobs)
    for choice in completion.choices:
        if choice.finish_reason == "length" and not choice.tool_calls:
            words = [f" w{i % 97}" for i in range(_RAMBLE_TOKENS)]
            choice.tokens += words
            if choice.logprobs is not None:
                choice.logprobs += [TokenLogprob(w, -0.5, [(w, -0.5)] + [(f" alt{k}", -1.5 - k) for k in range(1, alternatives)]) for w in words]
    return completion


@defect("silent-default-cap", Stage.REQUEST, clause="PAR-01", verdict="WARN", deviations=("D52",),
        summary="Without a token cap the server silently caps answers at 100 tokens (finish_reason 'length')")
def silent_default_cap(payload: Body, ctx: Context) -> Body:
    if payload.get("max_tokens") is None and payload.get("max_completion_tokens") is None and validates(payload):
        payload["max_tokens"] = 100
    return payload


@defect("response-format-ignored", Stage.REQUEST, clause="PAR-05", verdict="FAIL", deviations=("D53",), collateral=("PAR-06",),
        summary="response_format is accepted but ignored: plain text comes back")
def response_format_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "response_format")


@defect("json-schema-unenforced", Stage.REQUEST, clause="PAR-06", verdict="FAIL", deviations=("D53",),
        summary="json_schema is treated as json_object: valid JSON that does not follow the schema")
def json_schema_unenforced(payload: Body, ctx: Context) -> Body:
    if _is_json_schema(payload) and validates(payload):
        payload["response_format"] = {"type": "json_object"}
    return payload


@defect("json-schema-500", Stage.REQUEST, clause="PAR-06", verdict="FAIL", deviations=("D53", "D59"), collateral=("ERR-03", "REQ-01"),
        summary="Any json_schema response_format fails with HTTP 500 (unsupported grammar)")
def json_schema_500(payload: Body, ctx: Context) -> Body:
    if _is_json_schema(payload) and validates(payload):
        raise ApiError(500, "Either \"json_schema\" or \"grammar\" can be specified, but not both", type="server_error")
    return payload


@defect("logprobs-dropped", Stage.REQUEST, clause="PAR-07", verdict="FAIL", deviations=("D54",), collateral=("PAR-08", "SSE-16"),
        summary="logprobs:true is accepted but the answer has logprobs null")
def logprobs_dropped(payload: Body, ctx: Context) -> Body:
    return _without(payload, "logprobs", "top_logprobs")


@defect("logprobs-legacy-shape", Stage.BODY, clause="PAR-07", verdict="FAIL", deviations=("D54",), collateral=("ENV-01",),
        summary="logprobs use the legacy completions shape {tokens, token_logprobs, top_logprobs, text_offset}")
def logprobs_legacy_shape(body: Body, ctx: Context) -> Body:
    for choice in body["choices"]:
        entries = (choice.get("logprobs") or {}).get("content")
        if entries is None:
            continue
        offsets, position = [], 0
        for entry in entries:
            offsets.append(position)
            position += len(entry["token"])
        choice["logprobs"] = {
            "tokens": [e["token"] for e in entries],
            "token_logprobs": [e["logprob"] for e in entries],
            "top_logprobs": [{t["token"]: t["logprob"] for t in e["top_logprobs"]} for e in entries],
            "text_offset": offsets,
        }
    return body


@defect("top-logprobs-capped-at-5", Stage.COMPLETION, clause="PAR-08", verdict="FAIL", deviations=("D54",),
        summary="At most 5 top_logprobs alternatives are returned whatever was requested (MLC-LLM)")
def top_logprobs_capped(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        for entry in choice.logprobs or ():
            entry.top = entry.top[:5]
    return completion


@defect("stream-logprobs-float", Stage.CHUNKS, clause="SSE-16", verdict="FAIL", deviations=("D54",), collateral=("SSE-19", "PAR-07"),
        summary="Streamed logprobs are a bare float per chunk instead of {content: [...]} (Together)")
def stream_logprobs_float(chunks: Chunks, ctx: Context) -> Chunks:
    for choice in choices(chunks):
        logprobs = choice.get("logprobs")
        if logprobs is not None:
            entries = logprobs.get("content") or [{"logprob": 0.0}]
            choice["logprobs"] = entries[0]["logprob"]
    return chunks


@defect("logprobs-unrequested", Stage.REQUEST, clause="PAR-09", verdict="WARN", deviations=("D54",),
        summary="logprobs are returned although they were not requested")
def logprobs_unrequested(payload: Body, ctx: Context) -> Body:
    if payload.get("logprobs") is None and validates(payload):
        payload["logprobs"] = True
    return payload


@defect("stream-text-differs", Stage.CHUNKS, clause="SSE-18", verdict="FAIL",
        summary="The streamed text loses its last token, so it differs from the non-stream answer")
def stream_text_differs(chunks: Chunks, ctx: Context) -> Chunks:
    last = max((p for p, chunk in enumerate(chunks) if any(c["delta"].get("content") for c in chunk.get("choices") or ())), default=None)
    return chunks if last is None else chunks[:last] + chunks[last + 1:]


@defect("nondeterministic-at-temperature-zero", Stage.REQUEST, clause="PAR-10", verdict="WARN", collateral=("PAR-13", "PAR-14"),
        summary="temperature 0 and seed are ignored: every call samples freshly")
def nondeterministic(payload: Body, ctx: Context) -> Body:
    if not validates(payload):
        return payload
    return dict(_without(payload, "seed", "top_p", "top_k"), temperature=1.0)


@defect("temperature-ignored", Stage.REQUEST, clause="PAR-11", verdict="WARN",
        summary="temperature is ignored: output is always greedy, identical across calls")
def temperature_ignored(payload: Body, ctx: Context) -> Body:
    if not validates(payload):
        return payload
    return dict(_without(payload, "seed"), temperature=0)


@defect("vendor-params-ignored", Stage.REQUEST, clause="PAR-12", verdict="WARN", profile="vendor",
        summary="top_k / repetition_penalty are accepted but have no effect")
def vendor_params_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "top_k", "repetition_penalty")


@defect("top-p-ignored", Stage.REQUEST, clause="PAR-13", verdict="WARN",
        summary="top_p is accepted but has no effect: a tiny top_p still samples freely")
def top_p_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "top_p")


@defect("seed-ignored", Stage.REQUEST, clause="PAR-14", verdict="WARN",
        summary="seed is accepted but has no effect: seeded sampling is not reproducible")
def seed_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "seed")


@defect("logit-bias-ignored", Stage.REQUEST, clause="PAR-15", verdict="FAIL",
        summary="logit_bias is accepted but has no effect: a banned token is still generated")
def logit_bias_ignored(payload: Body, ctx: Context) -> Body:
    return _without(payload, "logit_bias")


@defect("top-logprobs-shifted", Stage.COMPLETION, clause="PAR-16", verdict="FAIL",
        summary="top_logprobs come from another distribution than the chosen tokens' logprobs (0.5 lower): the chosen token is likelier than the likeliest alternative")
def top_logprobs_shifted(completion: Completion, ctx: Context) -> Completion:
    for choice in completion.choices:
        for entry in choice.logprobs or []:
            entry.top = [(token, logprob - 0.5) for token, logprob in entry.top]
    return completion


@defect("top-logprobs-zero-means-default", Stage.REQUEST, clause="PAR-08", verdict="FAIL",
        summary="top_logprobs 0 is read as 'not given' (a falsy-value bug) and the server's default of 5 "
                "alternatives per token is listed")
def top_logprobs_zero_means_default(payload: Body, ctx: Context) -> Body:
    if payload.get("logprobs") is True and payload.get("top_logprobs") == 0:
        payload["top_logprobs"] = 5
    return payload
