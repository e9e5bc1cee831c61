"""Parameter semantics: the documented controls are honoured, not merely accepted."""

from __future__ import annotations

import json
import re

import jsonschema

from ..engine import NotApplicable, Outcome, Skip, fail, inconclusive, passed
from ..evidence import Evidence
from ..stream import parse_stream
from ..suite import SUITE
from .common import req, short

check = SUITE.check


def _cap(ev: Evidence) -> tuple[str, int]:
    for field in ("max_completion_tokens", "max_tokens"):
        if isinstance(req(ev, field), int):
            return field, req(ev, field)
    raise NotApplicable


def _completion(ev: Evidence) -> tuple[str, int | None, object]:
    """Text, completion_tokens and finish_reason of choice 0, from a body or a stream."""
    if ev.streamed:
        stream = ev.stream
        usage = stream.final_usage() or {}
        acc = stream.choices.get(0)
        reasons = acc.finish_reasons if acc else []
        return stream.text(0), usage.get("completion_tokens"), reasons[-1] if reasons else None
    choice = ev.choices()[0] if ev.choices() else {}
    usage = ev.usage() or {}
    return ev.content(0), usage.get("completion_tokens"), choice.get("finish_reason")


@check("PAR-01", on="capped")
def max_tokens_caps(ev: Evidence) -> Outcome:
    """max_tokens N bounds completion_tokens to N."""
    field, cap = _cap(ev)
    if field != "max_tokens":
        raise NotApplicable
    return _judge_cap(ev, field, cap)


@check("PAR-02", on="capped")
def max_completion_tokens_caps(ev: Evidence) -> Outcome:
    """max_completion_tokens N bounds completion_tokens to N (reasoning tokens included)."""
    field, cap = _cap(ev)
    if field != "max_completion_tokens":
        raise NotApplicable
    return _judge_cap(ev, field, cap)


def _judge_cap(ev: Evidence, field: str, cap: int) -> Outcome:
    text, used, _ = _completion(ev)
    if isinstance(used, int):
        if used > cap:
            return fail(f"completion_tokens <= {cap} ({field})", f"completion_tokens = {used}")
        return passed(completion_tokens=used)
    # No usage to read: a word count is a lower bound on tokens, so it can only prove a violation.
    words = len(text.split())
    if words > cap:
        return fail(f"at most {cap} tokens ({field})", f"{words} words: {short(text)}")
    return inconclusive("no usage reported; the word count does not exceed the cap", words=words)


@check("FIN-02", on="capped")
def capped_answer_says_length(ev: Evidence) -> Outcome:
    """An answer cut by the token cap has finish_reason "length" (the prompt needs far more tokens than the cap)."""
    _, _, reason = _completion(ev)
    if reason != "length":
        return fail('finish_reason "length"', f"finish_reason = {short(reason)}")
    return passed()


@check("PAR-03", on="stopped")
def stop_sequences_honoured(ev: Evidence) -> Outcome:
    """The output never contains a stop sequence and generation ends at the first one (counting to 12 with stop ' 5' ends before 5)."""
    stops = req(ev, "stop")
    stops = [stops] if isinstance(stops, str) else list(stops or [])
    text, _, reason = _completion(ev)
    present = [s for s in stops if s in text]
    if present:
        return fail("no stop sequence in the output", f"{short(present)} found in {short(text)}")
    numbers = [int(t) for t in re.findall(r"\d+", text)]
    first_stop = min((int(s.strip()) for s in stops if s.strip().isdigit()), default=None)
    if first_stop is not None and any(n >= first_stop for n in numbers):
        return fail(f"generation ends before {first_stop}", f"output continues: {short(text)}")
    if reason != "stop":
        return fail('finish_reason "stop"', f"finish_reason = {short(reason)}")
    return passed()


@check("PAR-04", on="multi_choice")
def n_choices_complete(ev: Evidence) -> Outcome:
    """n = 2 returns two complete choices, each with text and a finish_reason."""
    if ev.streamed:
        raise NotApplicable  # SSE-12 judges streams
    n = req(ev, "n", 1)
    choices = ev.choices()
    if len(choices) != n:
        return fail(f"{n} choices", f"{len(choices)} choice(s)")
    texts = [ev.content(i) for i in range(len(choices))]
    empty = [c.get("index") for c, text in zip(choices, texts) if not text]
    if empty:
        return fail("text in every choice", f"empty choices {empty}")
    return passed(distinct=len(set(texts)))


@check("PAR-05", on="json_mode")
def json_object_mode(ev: Evidence) -> Outcome:
    """response_format json_object yields content that parses as a JSON object."""
    content = ev.content(0)
    try:
        value = json.loads(content)
    except ValueError as exc:
        return fail("content parses as JSON", f"{exc}: {short(content)}")
    if not isinstance(value, dict):
        return fail("a JSON object", f"JSON {type(value).__name__}: {short(content)}")
    return passed()


@check("PAR-06", on="json_schema")
def json_schema_mode(ev: Evidence) -> Outcome:
    """response_format json_schema with strict true yields content valid for the given schema."""
    content = ev.content(0)
    try:
        value = json.loads(content)
    except ValueError as exc:
        return fail("content parses as JSON", f"{exc}: {short(content)}")
    errors = sorted(jsonschema.Draft202012Validator(ev.data["schema"]).iter_errors(value), key=lambda e: e.path)
    if errors:
        return fail("content valid for the requested schema", f"{short(value)}: {errors[0].message}")
    return passed()


@check("PAR-07", on="logprobs")
def logprobs_content(ev: Evidence) -> Outcome:
    """logprobs:true returns one entry per token with logprob <= 0, and the tokens concatenate to the content."""
    if ev.streamed:
        raise NotApplicable  # SSE-16 judges streams
    choice = ev.choices()[0] if ev.choices() else {}
    logprobs = choice.get("logprobs")
    entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(entries, list) or not entries:
        return fail("choices[0].logprobs.content: a non-empty array", f"logprobs = {short(logprobs)}")
    bad = [e for e in entries if not isinstance(e, dict) or not isinstance(e.get("logprob"), (int, float)) or e["logprob"] > 0]
    if bad:
        return fail("every entry has a numeric logprob <= 0", f"entry {short(bad[0])}")
    joined = "".join(e.get("token", "") for e in entries if isinstance(e.get("token"), str))
    if joined != ev.content(0):
        return fail("tokens concatenate to the content", f"tokens {short(joined)} vs content {short(ev.content(0))}")
    return passed()


@check("PAR-08", on="logprobs")
def top_logprobs_count(ev: Evidence) -> Outcome:
    """top_logprobs k returns exactly k alternatives per token."""
    k = req(ev, "top_logprobs")
    if not isinstance(k, int):
        raise NotApplicable
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        entries = acc.logprob_tokens if acc else []
    else:
        logprobs = (ev.choices()[0] if ev.choices() else {}).get("logprobs")
        entries = (logprobs or {}).get("content") or [] if isinstance(logprobs, dict) else []
    if not entries:
        raise Skip("no logprob entries; judged by PAR-07 / SSE-16")
    counts = [len(e.get("top_logprobs") or []) for e in entries]
    if any(c != k for c in counts):
        return fail(f"{k} top_logprobs per token", f"counts {counts[:10]}")
    return passed()


@check("PAR-10", on="repeatability")
def seed_reproduces(ev: Evidence) -> Outcome:
    """The same request with the same seed at temperature 0 gives the same text (best effort, hence SHOULD)."""
    first, again = ev.content(0), _content_of(ev, "repeat")
    if first != again:
        return fail("identical text for identical seeded requests", f"{short(first)} vs {short(again)}")
    return passed()


@check("PAR-11", on="variation")
def temperature_varies(ev: Evidence) -> Outcome:
    """Three unseeded samples at temperature 1.5 are not all identical (all-equal is reported, never a FAIL)."""
    texts = {ev.content(0), _content_of(ev, "second"), _content_of(ev, "third")}
    if len(texts) == 1:
        return inconclusive("three samples at temperature 1.5 were identical: sampling may be ignored", text=short(texts.pop()))
    return passed(distinct=len(texts))


@check("SSE-18", on="equivalence")
def stream_matches_non_stream(ev: Evidence) -> Outcome:
    """For a deterministic request (temperature 0, seed) the reassembled stream equals the non-stream answer: text and finish_reason."""
    stream = _stream_of(ev)
    body_choice = ev.choices()[0] if ev.choices() else {}
    acc = stream.choices.get(0)
    if acc is None:
        raise Skip("the stream has no choice; judged by SSE-17")
    if acc.content != ev.content(0):
        return fail(f"stream text {short(ev.content(0))}", f"stream text {short(acc.content)}")
    if (acc.finish_reasons or [None])[-1] != body_choice.get("finish_reason"):
        return fail(f"finish_reason {short(body_choice.get('finish_reason'))}", f"stream finish_reason {short(acc.finish_reasons)}")
    return passed()


@check("USE-04", on="equivalence")
def stream_usage_matches(ev: Evidence) -> Outcome:
    """Stream usage equals non-stream usage for the same deterministic request (±1 token)."""
    usage, streamed = ev.usage(), _stream_of(ev).final_usage()
    if usage is None or streamed is None:
        raise Skip("usage missing on one side; judged by USE-01 / SSE-11")
    for key in ("prompt_tokens", "completion_tokens"):
        a, b = usage.get(key), streamed.get(key)
        if not (isinstance(a, int) and isinstance(b, int)) or abs(a - b) > 1:
            return fail(f"{key} equal in both modes ({a})", f"stream {key} = {b}")
    return passed()


@check("PAR-12", on="vendor_param", marks=("vendor",))
def vendor_top_k_greedy(ev: Evidence) -> Outcome:
    """The seed vendor's top_k is honoured: top_k 1 makes sampling greedy, so two samples at temperature 1.5 agree."""
    first, again = ev.content(0), _content_of(ev, "repeat")
    if first != again:
        return fail("identical text for two top_k 1 samples", f"{short(first)} vs {short(again)}",
                    note="top_k appears to be silently ignored")
    return passed()


def _content_of(ev: Evidence, name: str) -> str:
    other = Evidence(ev.ctx, ev.request, ev.related[name])
    return other.content(0)


def _stream_of(ev: Evidence):
    ex = ev.related["stream"]
    if ex.status != 200 or ex.events is None:
        raise Skip(f"the streamed twin got HTTP {ex.status} / no event stream; judged by SSE-01")
    return parse_stream(ex.events)
