"""A stream over time (TIM-01, TIM-02), an abandoned stream (TIM-03), a slow reader (TIM-04) and
parallel streams kept apart (HTTP-05).

Every threshold is a ratio of the stream's own timeline (or the target's own non-stream latency),
so a slow GPU server and a fast mock are judged by one rule; the one absolute figure is the floor
below which a whole answer arrives too quickly for buffering to matter to a reader.
"""

from __future__ import annotations

import re
from typing import Any

from ..engine import NotApplicable, Outcome, Skip, fail, inconclusive, info, passed, warn
from ..evidence import Evidence
from ..latency import GAPS_KEY, TTFT_KEY, spread
from ..scenarios.disconnect import MIN_EFFECT, MIN_GENERATION_S
from ..stats import Decision
from ..stream import Chunk, StreamView, parse_stream
from ..suite import SUITE
from .common import short

check = SUITE.check

MIN_TOKEN_CHUNKS = 8  # fewer chunks cannot show how a stream is spread over time
MIN_WINDOW_S = 1.0  # a whole answer arriving sooner is too quick for buffering to delay a reader
STREAMED_SPREAD = 0.25  # token chunks spread over at least this share of the stream: streamed
BURST_SPREAD = 0.05  # ... over at most this share, all of it late: buffered
LATE_FIRST = 0.8  # the first token chunk arrives after this share of the stream
NON_STREAM_FACTOR = 2.0  # ... within this factor of the same request's non-stream latency
_NUMBER = re.compile(r"\d+")


def _carries_token(chunk: Chunk) -> bool:
    """A chunk whose delta carries generated text or a tool-call fragment."""
    for choice in chunk.choices:
        delta = choice.get("delta")
        if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")
                                        or any(delta.get(k) for k in ("reasoning_content", "reasoning"))):
            return True
    return False


def _token_times(stream: StreamView) -> list[float]:
    return [c.event.at for c in stream.json_chunks if _carries_token(c)]


@check("TIM-01", on="timed")
def not_buffered(ev: Evidence) -> Outcome:
    """A stream delivers its chunks as they are generated: the chunks carrying tokens arrive spread over the stream's duration, not in one burst at its end after a silence as long as a whole non-stream answer (fake streaming: the server, or a proxy in front of it, buffers the answer).  Judged on a 30-number count: PASS when the token chunks arrive over at least a quarter of the time to the last one, or when the whole answer arrives within 1 s (too quick for buffering to delay a reader); a WARN when they all arrive within 5 % of it, the first after 80 % of it, and the first as late as a whole non-stream answer to the same request (within a factor 2 of its latency: the stream waited for generation to end); INCONCLUSIVE in between (a late burst without a comparably slow non-stream answer is a stall, not proof of buffering), or with fewer than 8 token chunks."""
    times = _token_times(ev.stream)
    if len(times) < MIN_TOKEN_CHUNKS:
        return inconclusive(f"only {len(times)} chunk(s) carried tokens: too few to tell streaming from buffering")
    first, last = times[0], times[-1]
    whole = ev.data.get("non_stream_latency")
    figures: dict[str, Any] = {"first_token_s": round(first, 4), "last_token_s": round(last, 4),
                               "token_chunks": len(times), "non_stream_s": round(whole, 4) if whole else None}
    if last < MIN_WINDOW_S:
        return passed(f"the whole answer arrived within {last:.3f} s: too quick for buffering to delay a reader", **figures)
    if last - first >= STREAMED_SPREAD * last:
        return passed(f"{len(times)} token chunks arrived from {first:.3f} s to {last:.3f} s", **figures)
    burst = last - first <= BURST_SPREAD * last and first >= LATE_FIRST * last
    if burst and whole and whole / NON_STREAM_FACTOR <= first <= whole * NON_STREAM_FACTOR:
        return fail("token chunks delivered as they are generated, spread over the stream",
                    f"all {len(times)} token chunks arrived within {(last - first) * 1000:.0f} ms, after "
                    f"{first:.3f} s of silence; the same request without streaming took {whole:.3f} s",
                    note="the answer is buffered and sent at once (fake streaming); a reader sees nothing until "
                         "generation is over", **figures)
    if burst:
        return inconclusive(f"all {len(times)} token chunks arrived in one burst after {first:.3f} s, but the non-stream "
                            f"answer took {f'{whole:.3f} s' if whole else 'no measurable time (no 200 answer)'}: a stall "
                            "of this stream, not proof of buffering", **figures)
    return inconclusive(f"{len(times)} token chunks arrived from {first:.3f} s to {last:.3f} s: neither spread over the "
                        "stream nor one late burst", **figures)


@check("TIM-02", on="stream")
def latency_within_limits(ev: Evidence) -> Outcome:
    """Recorded for every stream: the time to the first chunk carrying a token and the gaps between consecutive chunks (p50, p90, max), also in report.json's timing section.  A WARN when the user set a limit (--max-ttft, --max-gap, in seconds) and the stream exceeded it; INFO otherwise.  Streams are measured while the suite runs --concurrency scenarios at once: gate on latency with --concurrency 1."""
    stream = ev.stream
    times = _token_times(stream)
    if not times:
        raise NotApplicable  # no token was streamed: nothing to time
    arrivals = [c.event.at for c in stream.chunks]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    ttft = times[0]
    figures: dict[str, Any] = {TTFT_KEY: round(ttft, 4), GAPS_KEY: [round(g * 1000, 1) for g in gaps]}
    shown = f"time to first token {ttft:.3f} s" + (
        "; gaps between chunks " + ", ".join(f"{k} {v:.3f} s" for k, v in spread(gaps).items()) if gaps else "")
    max_ttft, max_gap = ev.ctx.facts.get("max_ttft"), ev.ctx.facts.get("max_gap")
    over = []
    if max_ttft is not None and ttft > max_ttft:
        over.append(f"time to first token {ttft:.3f} s > --max-ttft {max_ttft:g} s")
    if max_gap is not None and gaps and max(gaps) > max_gap:
        over.append(f"a gap of {max(gaps):.3f} s between chunks #{gaps.index(max(gaps))} and "
                    f"#{gaps.index(max(gaps)) + 1} > --max-gap {max_gap:g} s")
    if over:
        return warn("latency within the limits set", "; ".join(over), note=shown, **figures)
    return info(shown, **figures)


@check("TIM-03", on="disconnect")
def abandoned_stream_cancelled(ev: Evidence) -> Outcome:
    """A stream the client closes is no longer generated: a short request sent right after the suite closed a long stream (after its first event) is not as late as one sent beside a long stream that is read to its end.  Thresholds are shares of the target's own latencies: the short request's on the idle target, and how much later a live generation makes it (the effect).  Sequential test: a delay of at least half the effect is suspicious, one of at most a quarter reassuring; 4 suspicious trials in a row are a WARN.  INFO when a whole long generation takes under 1 s (nothing to keep anyone waiting); INCONCLUSIVE when a live generation does not delay the short request by its own idle latency (the target serves both at once, so a ghost generation would not show) or the test runs out of trials."""
    data = ev.data
    if ev.exchange.status != 200 or not data.get("token_events") or any(
            ex.status != 200 for label, ex in ev.related.items() if label.startswith("idle")):
        raise Skip("the long count was not streamed or a short count failed; judged by REQ-01 / SSE-17")
    generation = data["generation_s"]
    if generation < MIN_GENERATION_S:
        return info(f"a whole long generation took {generation:.3f} s: too quick for an abandoned one to keep anyone "
                    "waiting; not judged", **data)
    effect = data.get("effect_s")
    baseline = data.get("baseline_s", 0.0)
    if effect is None or effect < MIN_EFFECT * baseline:
        beside = data.get("beside_live_s")
        return inconclusive(f"beside a live generation the short count took {beside if beside is not None else '?'} s, "
                            f"alone {baseline:.3f} s: the target serves both at once, so a generation for a client "
                            "that went away would not show", **data)
    sampling = data.get("sampling", {})
    figures = {k: v for k, v in data.items() if k != "sampling"} | sampling
    if sampling.get("decision") == Decision.ACCEPT.value:
        return passed(f"after an abandoned stream the short count was {data['delays_s'][-1]:.3f} s late, beside a "
                      f"live generation {effect:.3f} s late", **figures)
    if sampling.get("decision") == Decision.REJECT.value:
        return fail("generation stops when the client closes the stream",
                    f"{sampling['suspicious']} times in a row a short count sent right after the suite closed a long "
                    f"stream was {', '.join(f'{d:.3f}' for d in data['delays_s'])} s late; beside a live generation "
                    f"{effect:.3f} s late, on an idle target {baseline:.3f} s",
                    note="the target goes on generating for a client that went away: its slot stays busy", **figures)
    return inconclusive(f"no decision: {sampling.get('stopped') or 'trial cap reached'}", **figures)


def _ended(stream: StreamView) -> bool:
    """[DONE] arrived and choice 0 got a finish_reason."""
    return stream.done and 0 in stream.choices and bool(stream.choices[0].finish_reasons)


SLOWER = 1.5  # a slow read that took this many times the normal read's time made the target wait


@check("TIM-04", on="slow_reader")
def slow_reader_served_whole(ev: Evidence) -> Outcome:
    """A stream read slowly (through a small receive window, taking nothing for twice the time a normal read takes, 4 to 60 s, after its first piece) carries the same answer as the same deterministic request read at full speed, and ends properly ([DONE] and a finish_reason): the target neither drops chunks nor ends the stream of a client that falls behind.  A WARN with both transcripts when the slow read is cut (broken, no [DONE] or no finish_reason) or misses numbers the normal read carries; PASS when the answers are equal and the slow read took at least 1.5 times as long (the target had to hold data for it); INCONCLUSIVE when it did not (the target generated more slowly than the suite read), when the normal read took so long that the slow one was not sent, when the suite's own bound ended the read, or when both ended properly with answers that differ otherwise (best-effort determinism)."""
    normal = ev.stream
    if not _ended(normal) or ev.exchange.error is not None:
        raise Skip("the normally read stream did not end properly; judged by SSE-03 / SSE-07")
    figures = dict(ev.data, normal_events=len(normal.chunks))
    if "slow" not in ev.related:
        return inconclusive(f"the normal read took {ev.data['normal_s']:.1f} s: a target this slow would not have to "
                            "hold data for a reader pausing at most a minute, so the slow read was not sent", **figures)
    slow_ex = ev.related["slow"]
    if slow_ex.error is not None and slow_ex.error.kind == "total-timeout":
        return inconclusive(f"the suite's own bound ended the slow read after {slow_ex.elapsed:.1f} s", **figures)
    if slow_ex.status != 200 or slow_ex.events is None:
        return inconclusive(f"the slowly read request was answered HTTP {slow_ex.status} without a stream", **figures)
    slow = parse_stream(slow_ex.events)
    figures["slow_events"] = len(slow.chunks)
    text, slow_text = normal.text(0), slow.choices[0].content if 0 in slow.choices else ""
    numbers, slow_numbers = _NUMBER.findall(text), _NUMBER.findall(slow_text)
    if slow_ex.error is not None or not _ended(slow):
        how = slow_ex.error.message if slow_ex.error is not None else "no [DONE] or no finish_reason"
        return fail("the slowly read stream whole, ended by [DONE] and a finish_reason",
                    f"read slowly, the stream ended after {len(slow.chunks)} of {len(normal.chunks)} chunks "
                    f"({len(slow_numbers)} of {len(numbers)} numbers): {how}",
                    note="the target ends the stream of a client that reads slowly; both transcripts attached", **figures)
    if slow_text == text:
        if ev.data["slow_s"] < SLOWER * ev.data["normal_s"]:
            return inconclusive(f"the slow read took {ev.data['slow_s']:.1f} s, the normal one {ev.data['normal_s']:.1f} s: "
                                "the target generated more slowly than the suite read, so it never had to wait", **figures)
        return passed(f"read over {ev.data['slow_s']:.1f} s instead of {ev.data['normal_s']:.1f} s, the stream carried "
                      f"the same {len(numbers)} numbers and ended properly", **figures)
    missing = sorted(set(numbers) - set(slow_numbers), key=int)
    if missing and set(slow_numbers) <= set(numbers):
        return fail("every chunk of the answer delivered to a slow reader",
                    f"read slowly, the stream lacked {len(missing)} number(s) the normal read carried "
                    f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})",
                    note="the target drops data for a client that reads slowly; both transcripts attached", **figures)
    return inconclusive(f"both streams ended properly but their answers differ: {short(slow_text, 80)} vs "
                        f"{short(text, 80)} (best-effort determinism)", **figures)


# --- parallel streams ---------------------------------------------------------------------------

def _ids(stream: StreamView) -> set[Any]:
    return {c.payload.get("id") for c in stream.json_chunks if c.choices}


def _call_ids(stream: StreamView) -> set[str]:
    return {call.id for choice in stream.choices.values() for call in choice.tool_calls.values() if call.id}


def _parallel(ev: Evidence) -> tuple[dict[str, tuple[StreamView, int, range | None]], list[str]]:
    """Each stream of the isolation probe as (stream, n, the numbers it counts; None for the tool
    stream), and notes on the optional ones (n=2, the tool call) a target refused."""
    length, two_choices = ev.data["length"], ev.data.get("two_choices")
    streams: dict[str, tuple[StreamView, int, range | None]] = {}
    refused = []
    for i, start in enumerate(ev.data["starts"]):
        label, n = f"stream {start}", 2 if start == two_choices else 1
        one = ev if i == 0 else ev.twin(label)
        if (one is None or one.exchange.status != 200) and n > 1:
            refused.append(f"{label} (n={n}) not answered 200")
        elif one is None or one.exchange.status != 200:
            raise Skip(f"{label}: no 200 answer; judged by HTTP-01 / REQ-01")
        else:
            streams[label] = (one.stream, n, range(start, start + length))
    tool = ev.twin("tool stream")
    if tool is not None and tool.exchange.status == 200:
        streams["tool stream"] = (tool.stream, 1, None)
    elif tool is not None:
        refused.append("tool stream not answered 200")
    return streams, refused


@check("HTTP-05", on="isolation")
def parallel_streams_kept_apart(ev: Evidence) -> Outcome:
    """Streams in flight at the same time each carry their own answer (five streams sent together: counts of 101-112, 201-212, 301-312, 401-412 with n=2, and a get_weather call with tool_choice required): none carries a chunk id or a tool-call id of another, a choice index outside 0..n-1 of its own request, a tool call when it was asked to count, or numbers another stream was asked to count; and none is cut short ([DONE] and a finish_reason) while another ends properly (when all end the same way, that is how the server streams: SSE-03 and SSE-07 judge it).  A server that cuts one off or mixes their chunks when another request arrives FAILs, with every stream's transcript.  The n=2 and tool streams are left out when the target refuses them."""
    streams, refused = _parallel(ev)
    # A choice missing, or without its own finish_reason, is n ignored or SSE-07's finding (CHO-01,
    # PAR-04 judge them), not a stream cut short.
    ended = {label: stream.done and any(c.finish_reasons for c in stream.choices.values())
             for label, (stream, _, _) in streams.items()}
    problems = [f"[{label}] cut short (no [DONE] or no finish_reason) while another stream ended"
                for label, whole in ended.items() if not whole and any(ended.values())]
    for label, (stream, n, counted) in streams.items():
        others = [s for o, (s, _, _) in streams.items() if o != label]
        ids = _ids(stream)
        borrowed = sorted({str(i) for i in ids for other in others if i in _ids(other)}) if len(ids) > 1 else []
        if borrowed:
            problems.append(f"[{label}] carries chunk id(s) {', '.join(borrowed)} of another stream")
        shared_calls = sorted({i for other in others for i in _call_ids(stream) & _call_ids(other)})
        if shared_calls:
            problems.append(f"[{label}] carries tool-call id(s) {', '.join(shared_calls)} of another stream")
        if counted is not None and _call_ids(stream):
            problems.append(f"[{label}] asked to count, carries tool call(s) {', '.join(sorted(_call_ids(stream)))}")
        stray = sorted(i for i in stream.choices if i not in range(n))
        if stray:
            problems.append(f"[{label}] carries choice index(es) {', '.join(map(str, stray))} (asked for n={n})")
        if counted is None:
            continue  # the tool stream's text is free
        foreign = [number for choice in stream.choices.values() for number in map(int, _NUMBER.findall(choice.text))
                   if number not in counted and any(number in r for o, (_, _, r) in streams.items() if o != label and r)]
        if foreign:
            problems.append(f"[{label}] content holds {', '.join(map(str, foreign[:5]))}, counted by another stream")
    left_out = f" ({'; '.join(refused)}: left out)" if refused else ""
    if problems:
        return fail("each of the parallel streams whole and carrying only its own answer", "; ".join(problems) + left_out,
                    note="the server mixes or cuts streams that are in flight together; every stream's transcript "
                         "is attached")
    return passed(f"{len(streams)} parallel streams each carried only its own answer{left_out}")
