"""Parameter semantics: the documented controls are honoured, not merely accepted.

Each probe's main clause turns a refusal of a claimed capability into a FAIL
(``common.refusal``); the other clauses on the same answer SKIP it.  Sampled verdicts come
from the sequential tests the scenarios ran (``ev.data["sampling"]``, see ``conformance.stats``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema

from ..counting import count_run, stopped_before
from ..engine import NotApplicable, Outcome, Skip, fail, inconclusive, info, passed, warn
from ..evidence import Evidence
from ..stats import Decision
from ..stream import StreamView, parse_stream
from ..suite import SUITE
from .common import FINISH_REASONS, refusal, req, short, spells_content

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


@check("PAR-01", on="capped",
       covers=("request.max_tokens:set", "response.usage.completion_tokens:value", "chunk.usage.completion_tokens:value"))
def max_tokens_caps(ev: Evidence) -> Outcome:
    """max_tokens N (alone) bounds completion_tokens to N."""
    field, cap = _cap(ev)
    if field != "max_tokens":
        raise NotApplicable
    return refusal(ev, "PAR-01") or _judge_cap(ev, field, cap)


@check("PAR-02", on="capped", covers=("request.max_completion_tokens:set",))
def max_completion_tokens_caps(ev: Evidence) -> Outcome:
    """max_completion_tokens N (alone, no max_tokens) bounds completion_tokens to N (reasoning tokens included)."""
    field, cap = _cap(ev)
    if field != "max_completion_tokens":
        raise NotApplicable
    return refusal(ev, "PAR-02") or _judge_cap(ev, field, cap)


def _judge_cap(ev: Evidence, field: str, cap: int) -> Outcome:
    text, used, reason = _completion(ev)
    if isinstance(used, int):
        if used > cap:
            return fail(f"completion_tokens <= {cap} ({field})", f"completion_tokens = {used}")
        if used < cap and reason != "length":
            # A PASS must show the cap was reached; an answer that ended by itself proves nothing.
            return inconclusive(f"the model stopped on its own after {used} of {cap} tokens, so the cap was not "
                                "exercised", completion_tokens=used)
        return passed(f"{field} works", spelling=field, completion_tokens=used)
    # No usage to read: a word count is a lower bound on tokens, so it can only prove a violation.
    words = len(text.split())
    if words > cap:
        return fail(f"at most {cap} tokens ({field})", f"{words} words: {short(text)}")
    return inconclusive("no usage reported; the word count does not exceed the cap", words=words)


@check("PAR-01", on="uncapped", covers=("request.max_tokens:off", "request.max_completion_tokens:off"))
def no_silent_default_cap(ev: Evidence) -> Outcome:
    """Without max_tokens / max_completion_tokens the answer is not cut by a hidden default cap (finish_reason "length" is a WARN).  It passes when the count reaches 120 or the stream is still going when the suite stops reading; a model that ends its answer early by itself leaves it INCONCLUSIVE."""
    if ev.exchange.stopped_reading:
        return passed(f"{len(ev.exchange.events or [])} chunks arrived without a cut; any default cap is above that")
    text, used, reason = _completion(ev)
    if reason == "length":
        return warn("no cap when none was asked for (the answer needs ~240 tokens)",
                    f'finish_reason "length" after {used if used is not None else "?"} tokens: {short(text[-60:])}',
                    note="the server applies a silent default max_tokens", completion_tokens=used)
    if 120 in count_run(text):
        return passed(completion_tokens=used)
    return inconclusive(f"the model ended its answer by itself (finish_reason {short(reason)}) before the count "
                        f"reached 120, so no default cap was reached: {short(text[-80:])}", completion_tokens=used)


@check("FIN-02", on="capped",
       covers=("response.choices[].finish_reason:value", "chunk.choices[].finish_reason:value"))
def capped_answer_says_length(ev: Evidence) -> Outcome:
    """An answer cut by the token cap has finish_reason "length".  Any other reason is proven wrong only when the same greedy request with a 4x larger cap goes on from the same text past the cap; a model that stopped on its own (fewer tokens than the cap, or the longer answer ends at the same place) is INCONCLUSIVE."""
    field, cap = _cap(ev)
    text, used, reason = _completion(ev)
    if isinstance(used, int) and used > cap:
        raise Skip(f"the cap was not applied ({used} > {cap} tokens); judged by {'PAR-01' if field == 'max_tokens' else 'PAR-02'}")
    legal_reason(reason)
    if reason == "length":
        return passed()
    if isinstance(used, int) and used < cap:
        return inconclusive(f"the model stopped on its own after {used} of {cap} tokens (finish_reason "
                            f"{short(reason)}), so the cap did not cut the answer", completion_tokens=used)
    longer = ev.twin("longer_cap")
    if longer is None or longer.exchange.status != 200:
        return inconclusive(f"finish_reason {short(reason)} at the cap, and no answer with a larger cap to tell a "
                            "model that stopped on its own from a cut answer")
    longer_text, longer_used, _ = _completion(longer)
    if len(longer_text) > len(text) and longer_text.startswith(text) and (longer_used is None or longer_used > cap):
        return fail('finish_reason "length"', f"finish_reason = {short(reason)} after {short(text)}, while the same "
                    f"request with a larger cap goes on: {short(longer_text)}", note="the cap cut the answer")
    if longer_text == text:
        return inconclusive(f"the model stopped on its own: with a larger cap the answer ends at the same place "
                            f"({short(text)})")
    return inconclusive("the target is not deterministic for this greedy request: the answer with a larger cap "
                        f"does not continue the first one ({short(text)} vs {short(longer_text)})")


def legal_reason(reason: object) -> None:
    """Skip unless ``reason`` is a legal finish_reason: an illegal or missing one is FIN-01's / SSE-07's to judge."""
    if reason not in FINISH_REASONS:
        raise Skip(f"finish_reason {short(reason)} is not a legal value; judged by FIN-01 / SSE-07")


def _stops(ev: Evidence) -> list[str]:
    stops = req(ev, "stop")
    return [stops] if isinstance(stops, str) else list(stops or [])


@check("PAR-03", on="stopped", covers=("request.stop:set",))
def stop_sequences_honoured(ev: Evidence) -> Outcome:
    """The output never contains a stop sequence and generation ends at the first one with finish_reason "stop".  A count that ends right before the first stop passes; otherwise the same greedy request without stop decides: the answer must be that answer cut before its first stop sequence.  A model that never writes a stop sequence as given, or a target that is not deterministic for the request, is INCONCLUSIVE."""
    refused = refusal(ev, "PAR-03")
    if refused:
        return refused
    stops = _stops(ev)
    text, _, reason = _completion(ev)
    present = [s for s in stops if s in text]
    if present:
        return fail("no stop sequence in the output", f"{short(present)} found in {short(text)}")
    legal_reason(reason)
    if reason == "stop" and stopped_before(text, stops):
        return passed()
    free = ev.twin("without_stop")
    if free is None or free.exchange.status != 200:
        return inconclusive(f"the answer does not visibly end at a stop sequence ({short(text)}), and there is no "
                            "answer without stop to compare it with")
    free_text = _completion(free)[0]
    cut = min((free_text.find(s) for s in stops if s in free_text), default=-1)
    if cut < 0:
        return inconclusive(f"the model never writes a stop sequence as given, even without stop ({short(free_text)})")
    expected = free_text[:cut]
    if text == expected:
        if reason != "stop":
            return fail('finish_reason "stop"', f"finish_reason = {short(reason)} for an answer ended by a stop sequence")
        return passed()
    if text.startswith(expected):
        return fail(f"generation ends before the first stop sequence, after {short(expected)}",
                    f"{short(text)}, while the same request without stop writes {short(free_text)}",
                    note="the stop sequence was removed from the output, but generation did not stop there")
    return inconclusive("the target is not deterministic for this greedy request: the answers with and without stop "
                        f"differ before the stop sequence ({short(text)} vs {short(free_text)})")


@check("PAR-04", on="multi_choice", covers=("request.n:set",))
def n_choices_complete(ev: Evidence) -> Outcome:
    """n = 2 returns two complete choices, each with text and a finish_reason, and at temperature 1 they are independent samples, not copies (sign test at the false-alarm budget)."""
    if ev.streamed:
        raise NotApplicable  # SSE-12 judges streams
    refused = refusal(ev, "PAR-04")
    if refused:
        return refused
    n = req(ev, "n", 1)
    choices = ev.choices()
    if len(choices) != n:
        return fail(f"{n} choices", f"{len(choices)} choice(s)")
    empty = [c.get("index") for i, c in enumerate(choices) if not ev.content(i)]
    if empty:
        return fail("text in every choice", f"empty choices {empty}")
    sampling = ev.data.get("sampling", {})
    decision = sampling.get("decision")
    if decision == Decision.REJECT.value:
        return fail("independent choices at temperature 1", f"the choices were identical in {sampling['suspicious']} "
                    "trials in a row while single samples differed", **sampling)
    if decision != Decision.ACCEPT.value:
        return inconclusive("the choices were identical and single samples did not tell copies from determinism: "
                            f"{sampling.get('stopped') or 'trial cap reached'}", **sampling)
    return passed(**sampling)


def _json_answer(ev: Evidence, clause: str) -> tuple[Any, Outcome | None]:
    """The first choice's content parsed as JSON, or the outcome that already decides ``clause``
    (a refusal, or content that does not parse)."""
    refused = refusal(ev, clause)
    if refused:
        return None, refused
    content = ev.content(0)
    try:
        return json.loads(content), None
    except ValueError as exc:
        return None, _unparsed_json(ev, content, exc)


@check("PAR-05", on="json_mode", covers=("request.response_format:set",))
def json_object_mode(ev: Evidence) -> Outcome:
    """response_format json_object yields content that parses as a JSON object (an object cut by the probe's token cap, finish_reason "length", is INCONCLUSIVE; a fenced or prefaced object is a FAIL)."""
    value, decided = _json_answer(ev, "PAR-05")
    if decided:
        return decided
    if not isinstance(value, dict):
        return fail("a JSON object", f"JSON {type(value).__name__}: {short(ev.content(0))}")
    return passed()


@check("PAR-06", on="json_schema", covers=("request.response_format:set",))
def json_schema_mode(ev: Evidence) -> Outcome:
    """response_format json_schema with strict true yields content valid for the given schema (an object cut by the probe's token cap is INCONCLUSIVE)."""
    value, decided = _json_answer(ev, "PAR-06")
    if decided:
        return decided
    errors = sorted(jsonschema.Draft202012Validator(ev.data["schema"]).iter_errors(value), key=lambda e: e.path)
    if errors:
        return fail("content valid for the requested schema", f"{short(value)}: {errors[0].message}")
    return passed()


def _unparsed_json(ev: Evidence, content: str, exc: ValueError) -> Outcome:
    """Content that does not parse: a FAIL, unless it is a JSON object the probe's own token cap cut
    off (finish_reason "length"), which only shows that the model is verbose."""
    reason = (ev.choices()[0] if ev.choices() else {}).get("finish_reason")
    if reason == "length" and content.lstrip().startswith("{"):
        return inconclusive(f"the JSON object was cut by the probe's max_tokens {req(ev, 'max_tokens')} "
                            f'(finish_reason "length"): {short(content[-80:])}')
    return fail("content parses as JSON", f"{exc}: {short(content)}")


@check("PAR-07", on="logprobs",
       covers=("request.logprobs:set", "response.choices[].logprobs.content[].token:value",
               "response.choices[].logprobs.content[].bytes:value"))
def logprobs_content(ev: Evidence) -> Outcome:
    """logprobs:true returns one entry per token with logprob <= 0, and the tokens concatenate to the content (their bytes, when multi-byte characters are split across tokens)."""
    if ev.streamed:
        raise NotApplicable  # SSE-16 judges streams
    refused = refusal(ev, "PAR-07")
    if refused:
        return refused
    text = ev.content(0)
    choice = ev.choices()[0] if ev.choices() else {}
    logprobs = choice.get("logprobs")
    entries = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(entries, list) or not entries:
        return fail("choices[0].logprobs.content: a non-empty array", f"logprobs = {short(logprobs)}")
    bad = [e for e in entries if not isinstance(e, dict) or not isinstance(e.get("logprob"), (int, float)) or e["logprob"] > 0]
    if bad:
        return fail("every entry has a numeric logprob <= 0", f"entry {short(bad[0])}")
    return spells_content(entries, text)


@check("PAR-08", on="logprobs",
       covers=("request.top_logprobs:set", "response.choices[].logprobs.content[].top_logprobs:value",
               "chunk.choices[].logprobs.content[].top_logprobs:value"))
def top_logprobs_count(ev: Evidence) -> Outcome:
    """top_logprobs k returns exactly k alternatives per token, each with logprob <= 0."""
    k = req(ev, "top_logprobs")
    if not isinstance(k, int):
        raise NotApplicable
    entries = _logprob_entries(ev)
    counts = [len(e.get("top_logprobs") or []) for e in entries]
    if any(c != k for c in counts):
        return fail(f"{k} top_logprobs per token", f"counts {counts[:10]}")
    positive = [alt for e in entries for alt in e.get("top_logprobs") or []
                if not isinstance(alt, dict) or not isinstance(alt.get("logprob"), (int, float)) or alt["logprob"] > 0]
    if positive:
        return fail("every alternative has a numeric logprob <= 0", f"alternative {short(positive[0])}")
    return passed()


@check("PAR-08", on="boundaries", covers=("request.top_logprobs:off",))
def top_logprobs_zero(ev: Evidence) -> Outcome:
    """top_logprobs 0 (its lower bound, with logprobs true) turns the alternatives off: every logprob entry's top_logprobs list is empty."""
    if req(ev, "top_logprobs") != 0:
        raise NotApplicable
    entries = _logprob_entries(ev)
    listed = [e for e in entries if isinstance(e, dict) and e.get("top_logprobs")]
    if listed:
        return fail("an empty top_logprobs list on every token (top_logprobs 0)",
                    f"{len(listed)} of {len(entries)} tokens list alternatives, e.g. {short(listed[0])}")
    return passed(tokens=len(entries))


def _logprob_entries(ev: Evidence) -> list[Any]:
    """The logprobs.content entries of choice 0 (streamed: every chunk's, in order), or Skip."""
    if ev.streamed:
        acc = ev.stream.choices.get(0)
        entries = acc.logprob_tokens if acc else []
    else:
        logprobs = (ev.choices()[0] if ev.choices() else {}).get("logprobs")
        entries = (logprobs or {}).get("content") or [] if isinstance(logprobs, dict) else []
    if not entries:
        raise Skip("no logprob entries; judged by PAR-07 / SSE-16")
    return list(entries)


_LOGPROB_FIELDS = ("logprob", "bytes", "top_logprobs[].logprob", "top_logprobs[].bytes")


@check("PAR-16", on="logprobs",
       covers=tuple(f"{surface}.choices[].logprobs.content[].{name}:value"
                    for surface in ("response", "chunk") for name in _LOGPROB_FIELDS))
def logprobs_self_consistent(ev: Evidence) -> Outcome:
    """Every logprob entry agrees with its own top_logprobs list: no token twice in the list, the chosen token no likelier than the list's likeliest and, where the list holds it, with the same logprob; every bytes array is the UTF-8 of its token (byte pieces of a split character, no UTF-8 by themselves, are exempt).  A list not in descending order of logprob is a WARN (clients take the first alternative as the likeliest)."""
    unsorted: tuple[int, list[float]] | None = None
    for position, entry in enumerate(_logprob_entries(ev)):
        if not isinstance(entry, dict):
            continue  # the schema's (ENV-01 / SSE-19)
        top = [alt for alt in entry.get("top_logprobs") or [] if isinstance(alt, dict)]
        wrong = next((item for item in (entry, *top) if not _bytes_spell_token(item)), None)
        if wrong is not None:
            return fail("bytes = the UTF-8 of the token", f"token #{position}: {short(wrong.get('token'))} with bytes "
                        f"{short(wrong.get('bytes'))}")
        keys = [_token_key(alt) for alt in top]
        named = [key for key in keys if key is not None]
        if len(set(named)) != len(named):
            return fail("distinct tokens in top_logprobs", f"token #{position}: {short([alt.get('token') for alt in top])}")
        if not top or not _numbers([entry.get("logprob"), *(alt.get("logprob") for alt in top)]):
            continue  # numbers are the schema's; an empty list holds nothing to compare
        values, chosen = [float(alt["logprob"]) for alt in top], float(entry["logprob"])
        if chosen > max(values) and not math.isclose(chosen, max(values), rel_tol=1e-4, abs_tol=1e-4):
            return fail("the chosen token no likelier than the likeliest alternative",
                        f"token #{position} {short(entry.get('token'))}: logprob {chosen} > {max(values)}")
        own = [v for v, key in zip(values, keys) if key is not None and key == _token_key(entry)]
        if own and not math.isclose(own[0], chosen, rel_tol=1e-4, abs_tol=1e-4):
            return fail("the chosen token's logprob equals its own top_logprobs entry",
                        f"token #{position} {short(entry.get('token'))}: logprob {chosen}, in top_logprobs {own[0]}")
        if unsorted is None and values != sorted(values, reverse=True):
            unsorted = (position, values)
    if unsorted is not None:
        return warn("top_logprobs in descending order of logprob", f"token #{unsorted[0]}: logprobs {short(unsorted[1])}")
    return passed()


def _bytes_spell_token(item: dict[str, Any]) -> bool:
    """bytes (when given, and UTF-8 by themselves) decode to the token's text."""
    raw = item.get("bytes")
    if not isinstance(raw, list) or not all(isinstance(b, int) and 0 <= b < 256 for b in raw):
        return True  # null is legal; other shapes are the schema's
    try:
        return bytes(raw).decode("utf-8") == item.get("token")
    except UnicodeDecodeError:
        return True  # a piece of a multi-byte character: its text cannot be its UTF-8


def _token_key(item: dict[str, Any]) -> tuple[Any, ...] | None:
    """What tells two alternatives apart: the text and bytes; None for a text that stands for an
    undecodable piece (U+FFFD) without bytes, which distinct tokens share."""
    token, raw = item.get("token"), item.get("bytes")
    if not isinstance(token, str) or ("\ufffd" in token and not isinstance(raw, list)):
        return None
    return (token, tuple(raw) if isinstance(raw, list) else None)


def _numbers(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


@check("PAR-10", on="repeatability", covers=("request.seed:set",))
def seed_reproduces(ev: Evidence) -> Outcome:
    """The same request with the same seed at temperature 0 gives the same text (best effort, hence SHOULD)."""
    refused = refusal(ev, "PAR-10")
    if refused:
        return refused
    first, again = ev.content(0), _content_of(ev, "repeat")
    if first != again:
        return fail("identical text for identical seeded requests", f"{short(first)} vs {short(again)}")
    return passed()


@check("PAR-14", on="seeded_sampling", covers=("request.seed:set",))
def seeded_sampling_reproduces(ev: Evidence) -> Outcome:
    """At temperature 1 the same seed reproduces the text; a different seed giving the same text too is INCONCLUSIVE (sampling may be off), never a FAIL."""
    refused = refusal(ev, "PAR-14")
    if refused:
        return refused
    first, same, other = ev.content(0), _content_of(ev, "same_seed"), _content_of(ev, "other_seed")
    if first != same:
        return fail("identical text for the same seed", f"{short(first)} vs {short(same)}", note="seed appears to be ignored")
    if first == other:
        return inconclusive("seeds 11 and 12 gave the same text: the seed may be ignored by a non-sampling server",
                            text=short(first))
    return passed()


@check("PAR-11", on="variation", covers=("request.temperature:set",))
def temperature_varies(ev: Evidence) -> Outcome:
    """Samples at temperature 1.5 do not all reproduce the temperature-0 text (sequential test at the false-alarm budget; running out of trials is INCONCLUSIVE)."""
    sampling = ev.data.get("sampling", {})
    decision = sampling.get("decision")
    if decision == Decision.ACCEPT.value:
        return passed(**sampling)
    if decision == Decision.REJECT.value:
        return fail("samples at temperature 1.5 that differ from the greedy text",
                    f"{sampling['suspicious']} samples in a row reproduced it: {short(ev.content(0))}",
                    note="temperature appears to be ignored", **sampling)
    return inconclusive(f"no decision: {sampling.get('stopped') or 'trial cap reached'}", **sampling)


@check("PAR-13", on="nucleus", covers=("request.top_p:set",))
def tiny_top_p_is_stable(ev: Evidence) -> Outcome:
    """top_p 0.001 keeps only the most likely token, so two samples at temperature 1 agree."""
    first, again = ev.content(0), _content_of(ev, "repeat")
    if first != again:
        return fail("identical text for two top_p 0.001 samples", f"{short(first)} vs {short(again)}",
                    note="top_p appears to be ignored")
    return passed()


@check("SSE-18", on="equivalence",
       covers=("chunk.choices[].delta.content:value", "chunk.choices[].delta.tool_calls[].function.arguments:value"))
def stream_matches_non_stream(ev: Evidence) -> Outcome:
    """For a deterministic request (temperature 0, seed) the reassembled stream equals the non-stream answer: text, finish_reason and tool calls (names and arguments).  Real servers are deterministic only on a best-effort basis, so a difference is a FAIL only when a second non-stream answer repeats the first; otherwise INCONCLUSIVE with both texts."""
    stream = ev.twin("stream")
    if stream is None:
        raise NotApplicable
    if stream.exchange.status != 200 or stream.exchange.events is None:
        raise Skip(f"the streamed twin got HTTP {stream.exchange.status} / no event stream; judged by SSE-01")
    text, reason, calls = ev.answer()
    s_text, s_reason, s_calls = stream.answer()
    legal_reason(reason)
    legal_reason(s_reason)
    if (text, reason, calls) == (s_text, s_reason, s_calls):
        return passed()
    if text != s_text:
        expected, observed = f"stream text {short(text)}", f"stream text {short(s_text)}"
    elif reason != s_reason:
        expected, observed = f"finish_reason {short(reason)}", f"stream finish_reason {short(s_reason)}"
    else:
        expected, observed = f"tool calls {short(calls)}", f"stream tool calls {short(s_calls)}"
    repeat = ev.twin("repeat")
    if repeat is None or repeat.exchange.status != 200:
        return inconclusive(f"the answers differ ({expected} vs {observed}), and no second non-stream answer shows "
                            "whether the target is deterministic for this request")
    if repeat.answer() != (text, reason, calls):
        return inconclusive(f"the target is not deterministic for this request: two non-stream answers differ "
                            f"({short(text)} vs {short(repeat.answer()[0])}), so the stream's difference proves nothing")
    return fail(expected, observed, note="a second non-stream answer repeats the first, so the stream is what differs")


@check("USE-05", on="n_capped",
       covers=("response.usage.completion_tokens:value", "chunk.usage.completion_tokens:value"))
def usage_counts_every_choice(ev: Evidence) -> Outcome:
    """With n choices that all finished "length" at max_tokens N, completion_tokens is n x N: every choice's tokens are counted, not one choice's.  A choice that ended by itself leaves the rule unexercised (INCONCLUSIVE)."""
    refused = refusal(ev, "USE-05")
    if refused:
        return refused
    cap = req(ev, "max_tokens")
    if ev.streamed:
        finishes = [acc.finish_reasons[-1] if acc.finish_reasons else None for acc in ev.stream.choices.values()]
        usage = ev.stream.final_usage()
    else:
        finishes = [c.get("finish_reason") for c in ev.choices()]
        usage = ev.usage()
    used = (usage or {}).get("completion_tokens")
    if not isinstance(used, int) or isinstance(used, bool):
        raise Skip("no usage to read; judged by USE-01 / SSE-11")
    if len(finishes) < 2:
        raise Skip(f"{len(finishes)} choice(s) came back; judged by CHO-01")
    if any(f != "length" for f in finishes):
        return inconclusive(f"not every choice reached the cap (finish_reasons {finishes}), so the expected count is unknown")
    if used != len(finishes) * cap:
        return fail(f"completion_tokens = {len(finishes)} choices x {cap} = {len(finishes) * cap}",
                    f"completion_tokens = {used}", note="usage counts only part of the choices")
    return passed(completion_tokens=used)


@check("USE-04", on="equivalence", covers=("chunk.usage.prompt_tokens:value", "chunk.usage.completion_tokens:value"))
def stream_usage_matches(ev: Evidence) -> Outcome:
    """Stream usage equals non-stream usage for the same deterministic request (±1 token)."""
    usage, streamed = ev.usage(), _stream_of(ev).final_usage()
    if usage is None or streamed is None:
        raise Skip("usage missing on one side; judged by USE-01 / SSE-11")
    if ev.answer() != ev.twin("stream").answer():  # type: ignore[union-attr]
        raise Skip("the two answers differ, so their completion_tokens may too; judged by SSE-18")
    for key in ("prompt_tokens", "completion_tokens"):
        a, b = usage.get(key), streamed.get(key)
        if not (isinstance(a, int) and isinstance(b, int)) or abs(a - b) > 1:
            return fail(f"{key} equal in both modes ({a})", f"stream {key} = {b}")
    return passed()


@check("PAR-12", on="vendor_top_k", marks=("vendor",), covers=("request.top_k:set",))
def vendor_top_k_honoured(ev: Evidence) -> Outcome:
    """The seed vendor's top_k is honoured: top_k 1 makes sampling greedy, so two samples at temperature 1.5 agree (rejected or silently ignored is a WARN)."""
    refused = refusal(ev, "PAR-12")
    if refused:
        return refused
    first, again = ev.content(0), _content_of(ev, "repeat")
    if first != again:
        return fail("identical text for two top_k 1 samples", f"{short(first)} vs {short(again)}",
                    note="top_k is silently ignored", verdict="silently ignored")
    return passed("top_k honoured", verdict="honoured")


@check("PAR-12", on="vendor_repetition", marks=("vendor",), covers=("request.repetition_penalty:set",))
def vendor_repetition_penalty_honoured(ev: Evidence) -> Outcome:
    """The seed vendor's repetition_penalty is honoured: penalty 2 changes a greedy answer that repeats one word (an answer without repeats proves nothing: INCONCLUSIVE)."""
    refused = refusal(ev, "PAR-12")
    if refused:
        return refused
    penalised, baseline = ev.content(0), _content_of(ev, "baseline")
    words = baseline.split()
    if len(set(words)) == len(words):
        return inconclusive("the greedy baseline repeats no word, so the penalty has nothing visible to act on",
                            baseline=short(baseline))
    if penalised == baseline:
        return fail("a different text with repetition_penalty 2", f"the same text: {short(baseline)}",
                    note="repetition_penalty is silently ignored", verdict="silently ignored")
    return passed("repetition_penalty honoured", verdict="honoured")


@check("PAR-15", on="logit_bias", covers=("request.logit_bias:set",))
def logit_bias_bans_token(ev: Evidence) -> Outcome:
    """logit_bias -100 bans the manifest's token: the greedy answer that contained its text no longer does.  The same answer, text included, with and without the bias is a FAIL; an unbiased answer without the text proves nothing, and a changed answer that still contains the text may spell it with other tokens (both INCONCLUSIVE)."""
    refused = refusal(ev, "PAR-15")
    if refused:
        return refused
    text = ev.data["probe"].text
    biased, unbiased = ev.content(0), _content_of(ev, "unbiased")
    if text not in unbiased:
        return inconclusive(f"the unbiased answer does not contain {text!r}, so the ban has nothing to remove "
                            "(check the manifest's prompt)", unbiased=short(unbiased))
    if text not in biased:
        return passed(token_id=ev.data["probe"].token_id)
    if biased == unbiased:
        return fail(f"no {text!r} with logit_bias -100 on token {ev.data['probe'].token_id}",
                    f"the same answer as without the bias: {short(biased)}", note="logit_bias appears to be ignored")
    return inconclusive(f"the answer changed but still contains {text!r}: other tokens may spell the same text",
                        biased=short(biased), unbiased=short(unbiased))


def _content_of(ev: Evidence, name: str) -> str:
    other = Evidence(ev.ctx, ev.request, ev.related[name])
    return other.content(0)


def _stream_of(ev: Evidence) -> StreamView:
    ex = ev.related["stream"]
    if ex.status != 200 or ex.events is None:
        raise Skip(f"the streamed twin got HTTP {ex.status} / no event stream; judged by SSE-01")
    return parse_stream(ex.events)


@check("CAP-01", on="gated", marks=("manifest",))
def manifest_matches(ev: Evidence) -> Outcome:
    """What the capability manifest (or the vendor page) claims matches the answer: claimed and answered is PASS; a claimed feature refused, or one that works although not claimed, is recorded (INFO) beside the probe's own verdict."""
    capability = ev.capability
    manifest = ev.ctx.capabilities
    if capability is None or not manifest.explicit:
        raise NotApplicable
    status = ev.require_response().status
    claimed = manifest.claimed(capability)
    note = manifest.notes.get(capability, "")
    if status == 200:
        if claimed:
            return passed(f"{capability}: claimed and answered" + (f" ({note})" if note else ""), capability=capability)
        return info(f"{capability} works although {manifest.source} does not claim it", capability=capability)
    return fail(f"{capability} answered, as {manifest.source} claims", f"HTTP {status}", note=note, capability=capability)
