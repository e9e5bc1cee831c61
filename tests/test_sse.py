"""WHATWG event-stream parsing and framing facts of conformance.wire.sse."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.wire.sse import FACT_CAP, SSEParser, parse_sse


def datas(body: bytes) -> list[str]:
    return [e.data for e in parse_sse(body)[0]]


def test_lf_cr_crlf_line_endings_parse_identically() -> None:
    for eol in (b"\n", b"\r", b"\r\n"):
        body = b"data: a" + eol + eol + b"data: b" + eol + eol
        events, facts = parse_sse(body)
        assert [e.data for e in events] == ["a", "b"]
        assert facts.line_endings == {{b"\n": "LF", b"\r": "CR", b"\r\n": "CRLF"}[eol]}


def test_mixed_line_endings_are_all_recorded() -> None:
    events, facts = parse_sse(b"data: a\r\n\rdata: b\n\n")
    assert [e.data for e in events] == ["a", "b"]
    assert facts.line_endings == {"CRLF", "CR", "LF"}


def test_crlf_split_across_feeds_is_one_line_ending() -> None:
    p = SSEParser()
    assert p.feed(b"data: a\r", 0.1) == []
    assert p.feed(b"\n\r", 0.2)[0].data == "a"  # blank line dispatches at its CR
    assert p.feed(b"\ndata: b\r\n\r\n", 0.3)[0].data == "b"
    p.close()
    assert p.facts.line_endings == {"CRLF"}


def test_split_crlf_lf_belongs_to_the_dispatched_event() -> None:
    p = SSEParser()
    (first,) = p.feed(b"data: a\r\n\r", 1.0)
    p.feed(b"\n", 2.0)
    assert first.raw == b"data: a\r\n\r\n"
    assert first.end == len(first.raw)
    (second,) = p.feed(b"data: b\r\n\r\n", 3.0)
    assert second.raw == b"data: b\r\n\r\n"


def test_cr_at_chunk_end_followed_by_other_byte_is_cr() -> None:
    p = SSEParser()
    p.feed(b"data: a\r", 0.0)
    events = p.feed(b"\rdata: b\r", 0.0)
    assert [e.data for e in events] == ["a"]
    p.close()
    assert p.facts.line_endings == {"CR"}


def test_one_optional_space_after_colon_is_stripped() -> None:
    events, facts = parse_sse(b"data:x\n\ndata: x\n\ndata:  x\n\n")
    assert [e.data for e in events] == ["x", "x", " x"]
    assert facts.data_without_space == 1


def test_comments_are_ignored_and_recorded() -> None:
    events, facts = parse_sse(b": keep-alive\n:no-space\ndata: x\n\n: OPENROUTER PROCESSING\n\n")
    assert [e.data for e in events] == ["x"]
    assert facts.comments == ["keep-alive", "no-space", "OPENROUTER PROCESSING"]


def test_event_and_id_fields() -> None:
    events, facts = parse_sse(b"event: delta\nid: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n")
    assert [(e.event, e.id) for e in events] == [("delta", "7"), (None, "7"), (None, ""), (None, "")]
    assert facts.event_fields == ["delta"]


def test_multi_line_data_joined_with_newline() -> None:
    events, facts = parse_sse(b"data: a\ndata:b\ndata\n\n")
    assert events[0].data == "a\nb\n"
    assert facts.multi_line_data_events == 1


def test_empty_data_line_dispatches_empty_event() -> None:
    assert datas(b"data:\n\ndata\n\n") == ["", ""]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert datas(b"\n\n\nevent: x\n\nid: 1\n\n") == []


def test_field_without_colon_and_unknown_fields() -> None:
    events, facts = parse_sse(b"data\nfoo: bar\nretry: 100\nDATA: no\n\n")
    assert [e.data for e in events] == [""]
    assert facts.other_fields == ["foo", "DATA"]


def test_bom_stripped_only_at_start_and_split_bom() -> None:
    events, facts = parse_sse(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n")
    assert [e.data for e in events] == ["a"]
    assert facts.bom
    assert facts.other_fields == ["\ufeffdata"]
    p = SSEParser()
    for b in (b"\xef", b"\xbb", b"\xbfdata: a\n\n"):
        events = p.feed(b, 0.0)
    assert [e.data for e in events] == ["a"]
    assert p.facts.bom


def test_unterminated_tail_is_discarded() -> None:
    events, facts = parse_sse(b"data: a\n\ndata: [DONE]\n")
    assert [e.data for e in events] == ["a"]
    assert facts.unterminated_tail
    _, facts = parse_sse(b"data: a\n\ndata: [DON")
    assert facts.unterminated_tail
    _, facts = parse_sse(b"data: a\n\n: trailing comment")
    assert not facts.unterminated_tail


def test_invalid_utf8_replaced_and_flagged() -> None:
    events, facts = parse_sse(b"data: \xff\xc3(\n\n")
    assert events[0].data == "\ufffd\ufffd("
    assert facts.invalid_utf8


def test_utf8_split_across_chunks_is_not_invalid() -> None:
    p = SSEParser()
    encoded = "data: h\u00e9llo \u4e16\n\n".encode()
    events = []
    for i in range(len(encoded)):
        events += p.feed(encoded[i : i + 1], 0.0)
    assert events[0].data == "h\u00e9llo \u4e16"
    assert not p.facts.invalid_utf8


def test_raw_end_and_arrival_times() -> None:
    p = SSEParser()
    assert p.feed(b": c\ndata: a\n", 0.5) == []
    (ev,) = p.feed(b"\ndata: b", 0.9)
    assert (ev.raw, ev.at, ev.end) == (b": c\ndata: a\n\n", 0.9, 13)
    (ev2,) = p.feed(b"\n\n", 1.5)
    assert (ev2.raw, ev2.at, ev2.end) == (b"data: b\n\n", 1.5, 22)
    p.close()
    assert p.facts.bytes_total == 22


def test_fact_lists_are_capped() -> None:
    _, facts = parse_sse(b": c\n" * (FACT_CAP + 10) + b"x: 1\n" * (FACT_CAP + 5) + b"data: a\n\n")
    assert len(facts.comments) == FACT_CAP
    assert len(facts.other_fields) == FACT_CAP


CANONICAL = (
    b"\xef\xbb\xbf: hello\r\n"
    b'data: {"id":"chatcmpl-1","choices":[{"delta":{"role":"assistant","content":""}}]}\r\n\r\n'
    b'event: message\nid: 4\ndata:{"a":\n'
    b'data: "caf\xc3\xa9"}\n\n'
    b"data:  two spaces\rretry: 10\r\n"
    b"data: \xff\n\n"
    b"data: [DONE]\r\n\r\n"
    b"data: tail"
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(CANONICAL)), max_size=12))
def test_random_chunking_equals_whole_body(cuts: list[int]) -> None:
    whole_events, whole_facts = parse_sse(CANONICAL)
    bounds = [0, *sorted(cuts), len(CANONICAL)]
    p = SSEParser()
    events = []
    for a, b in itertools.pairwise(bounds):
        events += p.feed(CANONICAL[a:b], 0.0)
    p.close()
    assert events == whole_events
    assert p.facts == whole_facts


def test_byte_at_a_time_equals_whole_body() -> None:
    p = SSEParser()
    events = []
    for i in range(len(CANONICAL)):
        events += p.feed(CANONICAL[i : i + 1], 0.0)
    p.close()
    whole_events, whole_facts = parse_sse(CANONICAL)
    assert events == whole_events
    assert p.facts == whole_facts
    assert [e.data for e in events] == [
        '{"id":"chatcmpl-1","choices":[{"delta":{"role":"assistant","content":""}}]}',
        '{"a":\n"caf\u00e9"}',
        " two spaces\n\ufffd",
        "[DONE]",
    ]
    assert whole_facts.line_endings == {"CRLF", "LF", "CR"}
    assert whole_facts.data_without_space == 1
    assert whole_facts.multi_line_data_events == 2
    assert whole_facts.invalid_utf8 and whole_facts.bom and whole_facts.unterminated_tail
    assert whole_facts.comments == ["hello"]
    assert events[1].event == "message" and events[1].id == "4" and events[3].id == "4"
    assert b"".join(e.raw for e in events) == CANONICAL[3 : CANONICAL.index(b"data: tail")]
