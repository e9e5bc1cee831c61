"""Stream framing and chunk-sequence rules SSE-01..SSE-19 (docs/contract.md, area stream)."""

from __future__ import annotations

import json
from typing import Any

from .. import schema
from ..engine import NotApplicable, Outcome, Skip, fail, passed, warn
from ..evidence import Evidence
from ..suite import SUITE
from .common import req, short, spells_content

check = SUITE.check


@check("SSE-01", on="stream", covers=("request.stream:set",))
def event_stream_content_type(ev: Evidence) -> Outcome:
    """stream:true is answered 200 with Content-Type text/event-stream."""
    ex = ev.require_response()
    if ex.status != 200:
        raise Skip(f"HTTP {ex.status}; judged by REQ-01")
    if ex.content_type != "text/event-stream":
        return fail("Content-Type: text/event-stream", f"Content-Type: {ex.header('content-type') or '(none)'}")
    return passed()


@check("SSE-02", on="stream")
def data_events_are_json(ev: Evidence) -> Outcome:
    """Every data event carries exactly one JSON object (UTF-8, as SSE requires), or the literal [DONE]."""
    stream = ev.stream
    if ev.exchange.framing is not None and ev.exchange.framing.invalid_utf8:
        return fail("a UTF-8 event stream", "bytes that are not valid UTF-8 (decoded as U+FFFD)",
                    note="clients decode strictly or replace silently: the text changes either way")
    for chunk in stream.chunks:
        if chunk.parse_error is not None or not isinstance(chunk.payload, dict):
            return fail("one JSON object per data event", f"event #{chunk.position}: {short(chunk.event.data)}",
                        note=chunk.parse_error or "")
    return passed()


@check("SSE-03", on="stream")
def ends_with_done(ev: Evidence) -> Outcome:
    """The stream ends with `data: [DONE]` and a blank line; no event follows it."""
    ex, stream = ev.exchange, ev.whole_stream
    if not stream.done:
        tail = ex.events[-1].data if ex.events else "(no events)"
        how = f"; transport: {ex.error.kind}" if ex.error else ""
        return fail("a final data: [DONE] event", f"stream ended without [DONE]; last event {short(tail)}{how}")
    if stream.events_after_done:
        return fail("nothing after [DONE]", f"{stream.events_after_done} event(s) after [DONE]")
    if ex.framing is not None and ex.framing.unterminated_tail:
        return fail("[DONE] followed by a blank line", "the stream ended inside an unterminated event")
    if ex.open_after_done:
        return fail("the connection closes after [DONE]", f"still open {ev.ctx.client.limits.done_grace:g} s after [DONE]")
    return passed()


@check("SSE-04", on="stream")
def canonical_framing(ev: Evidence) -> Outcome:
    """Framing is canonical (`data: ` with a space, LF line ends, no comments, no event: lines); other valid SSE is a WARN because naive clients break on it."""
    ex = ev.require_ok()
    facts = ex.framing
    if facts is None:
        raise Skip("no event stream; judged by SSE-01")
    unusual = []
    if facts.data_without_space:
        unusual.append(f"{facts.data_without_space} data: field(s) without the space")
    if facts.line_endings - {"LF"}:
        unusual.append(f"line endings {sorted(facts.line_endings)}")
    if facts.comments:
        unusual.append(f"{len(facts.comments)} comment line(s), e.g. {short(facts.comments[0], 40)}")
    if facts.event_fields:
        unusual.append(f"event: fields {sorted(set(facts.event_fields))[:3]}")
    if facts.multi_line_data_events:
        unusual.append(f"{facts.multi_line_data_events} event(s) split over several data: lines")
    if facts.other_fields:
        unusual.append(f"other fields {sorted(set(facts.other_fields))[:3]}")
    if facts.bom:
        unusual.append("a byte-order mark")
    if unusual:
        return warn("canonical `data: <json>\\n\\n` framing", "; ".join(unusual),
                    note="valid SSE, but hand-rolled clients often break on it")
    return passed()


@check("SSE-05", on="stream", covers=("chunk.id:value", "chunk.created:value", "chunk.model:value"))
def stable_envelope(ev: Evidence) -> Outcome:
    """Every chunk carries the same id, created and model."""
    chunks = ev.stream.json_chunks
    if not chunks:
        raise Skip("no JSON chunks; judged by SSE-17")
    for key in ("id", "created", "model"):
        values = {json.dumps(c.payload.get(key)) for c in chunks}
        if len(values) > 1:
            return fail(f"one {key} on every chunk", f"{key} values {sorted(values)[:4]}")
    if ev.stream.filter_chunks:
        first = ev.stream.filter_chunks[0]
        return warn("one envelope on every chunk", f"chunk #{first.position} is an Azure-style prompt-filter chunk "
                    f"(id {short(first.payload.get('id'))}, created {short(first.payload.get('created'))}, choices [])",
                    note="tolerated outside openai-strict; strict deserialisers reject the blank envelope")
    return passed()


@check("SSE-06", on="stream", covers=("chunk.choices[].delta.role:value",))
def role_on_first_delta(ev: Evidence) -> Outcome:
    """The first delta of each choice has role "assistant"; later deltas carry no role, and role is never "" or null."""
    for index, acc in ev.stream.choices.items():
        first = _first_delta(ev, index)
        if first.get("role") != "assistant":
            return fail(f'choice {index}: first delta role "assistant"', f"first delta {short(first)}")
        if len(acc.roles) > 1:
            return warn("role only on the first delta", f"choice {index}: role on {len(acc.roles)} deltas ({short(acc.roles[:4])})")
    return passed()


@check("SSE-07", on="stream", covers=("chunk.choices[].finish_reason:value",))
def finish_reason_per_choice(ev: Evidence) -> Outcome:
    """Every streamed choice object has a finish_reason key (null until the end) and each index gets exactly one non-null value, on its last chunk."""
    stream = ev.whole_stream
    for chunk in stream.json_chunks:
        for choice in chunk.choices:
            if "finish_reason" not in choice:
                return fail("finish_reason key on every choice (null while streaming)",
                            f"chunk #{chunk.position}: choice {choice.get('index')} has no finish_reason key")
    for index, acc in stream.choices.items():
        if len(acc.finish_reasons) != 1:
            return fail(f"choice {index}: exactly one non-null finish_reason",
                        f"{len(acc.finish_reasons)} non-null values {short(acc.finish_reasons[:5])}")
        last_with_reason = max(c.position for c in stream.json_chunks for ch in c.choices
                               if ch.get("index") == index and ch.get("finish_reason") is not None)
        if last_with_reason != acc.last_position:
            return fail(f"choice {index}: finish_reason on its last chunk",
                        f"finish_reason at chunk #{last_with_reason}, choice continued to #{acc.last_position}")
    return passed()


@check("SSE-08", on="stream")
def finish_chunk_without_content(ev: Evidence) -> Outcome:
    """The chunk that finishes a choice (its last non-null finish_reason) has an empty delta: no content or tool calls mixed in."""
    finishing: dict[object, tuple[int, dict[str, Any]]] = {}
    for chunk in ev.stream.json_chunks:
        for choice in chunk.choices:
            if choice.get("finish_reason") not in (None, ""):
                delta = choice["delta"] if isinstance(choice.get("delta"), dict) else {}
                finishing[choice.get("index")] = (chunk.position, delta)
    for position, delta in finishing.values():
        if delta.get("content") or delta.get("tool_calls"):
            return fail("finish chunk delta {}", f"chunk #{position}: delta {short(delta)}")
    return passed()


@check("SSE-11", on="stream",
       covers=("request.stream_options:set", "request.stream_options:off", "chunk.usage:value"))
def usage_only_when_asked(ev: Evidence) -> Outcome:
    """With include_usage, one final chunk before [DONE] has choices [] and usage, and every other chunk has usage null; without it no chunk carries usage or choices []."""
    stream = ev.whole_stream
    stream.require_choices()
    asked = bool((req(ev, "stream_options") or {}).get("include_usage"))
    chunks = stream.json_chunks
    empty_choices = [c.position for c in chunks if c.payload.get("choices") == []]
    with_usage = [c.position for c in chunks if c.payload.get("usage") is not None]
    if not asked:
        if with_usage or empty_choices:
            return fail("no usage and no choices [] chunk (include_usage not requested)",
                        f"usage on chunks {with_usage[:5]}, choices [] on chunks {empty_choices[:5]}")
        return passed()
    if chunks and chunks[-1].payload.get("choices") and len(with_usage) == 1 and with_usage[0] == chunks[-1].position:
        return warn("a separate final chunk with choices [] and usage", "usage rides on the last chunk, which still has choices",
                    note="readers of the usage chunk that expect choices [] may miss it")
    if not chunks or chunks[-1].payload.get("choices") != [] or chunks[-1].payload.get("usage") is None:
        last = short(chunks[-1].payload) if chunks else "(none)"
        return fail("a final chunk with choices [] and usage", f"last chunk {last}")
    if len(with_usage) != 1:
        return fail("usage on the final chunk only", f"usage on chunks {with_usage[:6]}")
    missing_key = [c.position for c in chunks[:-1] if "usage" not in c.payload]
    if missing_key:
        return warn('"usage": null on every other chunk', f"no usage key on chunks {missing_key[:6]}")
    return passed()


@check("SSE-12", on="multi_choice", covers=("request.n:set",))
def each_choice_streams_fully(ev: Evidence) -> Outcome:
    """With n > 1 every choice index 0..n-1 is streamed and gets its own finish_reason (role and duplicates: SSE-06/07)."""
    if not ev.streamed:
        raise NotApplicable
    n = req(ev, "n", 1)
    stream = ev.whole_stream
    stream.require_choices()
    for index in range(n):
        acc = stream.choices.get(index)
        if acc is None:
            return fail(f"choice {index} streamed", f"indices seen {sorted(stream.choices)}")
        if not acc.finish_reasons and any(other.finish_reasons for other in stream.choices.values()):
            return fail(f"choice {index}: its own finish chunk", f"choice {index} never got a finish_reason")
    return passed()


@check("SSE-14", on="stream")
def in_band_error_shape(ev: Evidence) -> Outcome:
    """An in-band error event is {"error": {"message": ...}}, comes last, and a valid request needs none."""
    stream = ev.stream
    if stream.error_event is None:
        return passed()
    error = stream.error_event.payload.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return fail('{"error": {"message": ...}}', short(stream.error_event.payload))
    later = [c for c in stream.chunks if c.position > stream.error_event.position]
    if later:
        return fail("the error event is the last data event", f"{len(later)} chunk(s) after it")
    return fail("no error for a valid request", f"in-band error: {short(error.get('message'))}")


@check("SSE-16", on="logprobs",
       covers=("request.logprobs:set", "chunk.choices[].logprobs.content[].token:value",
               "chunk.choices[].logprobs.content[].bytes:value"))
def streamed_logprobs(ev: Evidence) -> Outcome:
    """With logprobs:true each streamed token carries its logprob entry; they concatenate to the streamed text (their bytes, when multi-byte characters are split across tokens)."""
    if not ev.streamed:
        raise NotApplicable
    acc = ev.stream.choices.get(0)
    if acc is None:
        raise Skip("no choice streamed; judged by SSE-17")
    text = acc.content
    if not acc.logprob_tokens:
        return fail("choices[].logprobs.content entries on content chunks", "no streamed logprobs")
    return spells_content(acc.logprob_tokens, text)


@check("SSE-17", on="stream")
def has_a_choice_chunk(ev: Evidence) -> Outcome:
    """A successful stream carries at least one chunk with a choice before [DONE]."""
    if not ev.stream.choices:
        return fail("at least one chunk with a choice", f"{len(ev.stream.chunks)} chunk(s), none with a choice")
    return passed()


@check("SSE-19", on="stream", covers=("chunk.*:type",))
def chunks_match_schema(ev: Evidence) -> Outcome:
    """Every chunk validates against the stream chunk schema of the profile."""
    for chunk in ev.stream.json_chunks:
        errors = schema.validate("chunk", chunk.payload, strict=ev.strict, vendor=ev.vendor)
        if errors:
            return fail("chunks valid for the chunk schema", f"chunk #{chunk.position}: {'; '.join(errors[:4])}",
                        errors=errors)
    return passed()


def _first_delta(ev: Evidence, index: int) -> dict[str, Any]:
    for chunk in ev.stream.json_chunks:
        for choice in chunk.choices:
            if choice.get("index") == index or (index == -1 and not isinstance(choice.get("index"), int)):
                delta = choice.get("delta")
                return delta if isinstance(delta, dict) else {}
    return {}
