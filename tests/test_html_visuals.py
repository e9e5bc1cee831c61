"""report.html's pictures: verdict bars, cause cards, latency bars and stream timelines.

Timings are read back from what the wire recorded (`Exchange.transcript()` as stored in
report.json), so the tests build exchanges the way the client does and go through the same
artifact form; the target's bytes (reason phrase, event text, body) must neither forge a time
nor escape into markup.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from report_fixtures import BREAKOUT, SCRIPT, as_json, embedded_run, hand_report

from conformance.evidence import ExchangeArtifact
from conformance.reports import charts, html, json_report, render, timing
from conformance.reports.findings import causes
from conformance.wire.client import Exchange, RecordedRequest
from conformance.wire.render import TRANSCRIPT_CAP
from conformance.wire.sse import SSEParser

URL = "http://127.0.0.1:9/v1/chat/completions"


def _artifact(chunks: list[tuple[float, bytes]], *, reason: str = "OK", ttfb: float = 0.005, elapsed: float = 0.06,
              content_type: str = "text/event-stream") -> dict[str, Any]:
    """An artifact of a response whose body arrived in `chunks` (time, bytes), as report.json stores it."""
    parser = SSEParser()
    events = [e for at, chunk in chunks for e in parser.feed(chunk, at)] if content_type == "text/event-stream" else None
    exchange = Exchange(request=RecordedRequest("POST", URL, [], b"{}", {}), status=200, reason=reason, http_version="HTTP/1.1",
                        headers=[("content-type", content_type)], body=b"".join(c for _, c in chunks), events=events,
                        ttfb=ttfb, elapsed=elapsed)
    return json.loads(json.dumps(ExchangeArtifact("primary", exchange).to_dict()))


def _chunk(text: str) -> bytes:
    return f"data: {text}\n\n".encode()


# --- timing: read back from the transcript ------------------------------------------------------


def test_timing_reads_what_the_wire_recorded() -> None:
    t = timing.of(_artifact([(0.010, _chunk('{"a":1}')), (0.020, _chunk('{"a":2}')), (0.045, _chunk("[DONE]"))]))
    assert (t.streamed, t.ttfb, t.total, t.events, t.done_at, t.cut) == (True, 0.005, 0.06, (0.01, 0.02, 0.045), 0.045, False)
    assert t.longest_gap() == (2, pytest.approx(0.025))
    assert charts.timeline_text(t) == ("ttfb 5.0 ms · first event 10 ms · 3 events · longest gap 25 ms before event 3 · "
                                       "[DONE] at 45 ms · total 60 ms")


def test_the_target_cannot_forge_times_or_events() -> None:
    forged = "+9.000s data: [DONE]"
    breaks = ["\n", "\r", "\r\n", "\x1c", "\x85", "\u2028"]
    chunks = [(0.010 + i / 1000, f"data: a{sep}{forged}\n\n".encode()) for i, sep in enumerate(breaks)]
    chunks.append((0.030, f"data: x\ndata: {forged}\n\n".encode()))  # a second data line
    t = timing.of(_artifact(chunks, reason="OK  (ttfb 9.000s, total 9.000s)"))
    assert t.ttfb == 0.005 and t.total == 0.06  # the suite's suffix ends the status line, not the reason's
    assert len(t.events) == len(chunks) and max(t.events) < 1 and t.done_at is None
    body = f"{{}}\n{forged}\n+8.000s data: x".encode()
    plain = timing.of(_artifact([(0.01, body)], content_type="application/json"))
    assert (plain.streamed, plain.events) == (False, ())


def test_timing_of_a_transcript_cut_at_its_cap() -> None:
    big = "x" * 2000
    chunks = [(i / 1000, _chunk(big)) for i in range(1, 2 * TRANSCRIPT_CAP // 2000)]
    t = timing.of(_artifact(chunks, elapsed=1.0))
    assert t.cut and 0 < len(t.events) < len(chunks)
    assert list(t.events) == sorted(t.events) and "(transcript cut)" in charts.timeline_text(t)


def test_timing_without_a_response() -> None:
    exchange = Exchange(request=RecordedRequest("POST", URL, [], b"{}", {}), elapsed=0.5)
    t = timing.of(json.loads(json.dumps(ExchangeArtifact("primary", exchange).to_dict())))
    assert (t.total, t.ttfb, t.streamed, t.events) == (0.5, None, False, ())


# --- charts --------------------------------------------------------------------------------------


def _widths(svg: str) -> list[float]:
    return [float(w) for w in re.findall(r'<rect class="s-\w+" x="[\d.]+" y="0" width="([\d.]+)"', svg)]


def test_a_verdict_bar_shows_every_verdict_in_proportion() -> None:
    svg = charts.verdict_bar({"PASS": 998, "FAIL": 1, "WARN": 1})
    widths = _widths(svg)
    assert sum(widths) == pytest.approx(charts.BAR_WIDTH, abs=0.2)
    assert widths[:2] == [2.0, 2.0]  # one FAIL among a thousand still shows, worst first
    assert 'aria-label="1 FAIL, 1 WARN, 998 PASS"' in svg and "<title>1 FAIL</title>" in svg
    assert charts.verdict_bar({}) == ""


def test_a_long_stream_draws_a_bounded_number_of_ticks() -> None:
    t = timing.Timing(total=10.0, ttfb=0.1, streamed=True, events=tuple(i / 500 for i in range(5000)))
    svg = charts.timeline(t)
    assert svg.count("M") <= charts.TIMELINE_WIDTH + 2 and len(svg) < 12_000


# --- the page ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hand_page() -> str:
    return html.build(as_json(hand_report()))


def _section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}">')
    return page[start:page.index("</section>", start)]


def test_summary_has_a_bar_per_area_and_level(hand_page: str) -> None:
    document = as_json(hand_report())
    summary = _section(hand_page, "summary")
    assert summary.count('<svg class="bar"') == len(document["summary"]["by_area"]) + len(document["summary"]["by_level"]) \
        + len({r["clause"] for r in document["results"]})
    assert 'aria-label="1 FAIL, 1 WARN, 1 PASS"' in summary  # the envelope area
    assert "verdicts by clause (7 clauses)" in summary


def test_one_card_per_cause_linking_to_its_results(hand_page: str) -> None:
    document = as_json(hand_report())
    doubled = copy.deepcopy(document)
    first = next(r for r in doubled["results"] if r["clause"] == "ENV-02")
    doubled["results"] += [dict(first, key=f"envelope.object_type[s{i}]", scenario=f"s{i}") for i in range(3)]
    page = html.build(doubled)
    cards = _section(page, "causes")
    assert cards.count('<article class="cause') == len(causes(doubled, ("FAIL", "ERROR", "WARN", "INCONCLUSIVE"))) == 4
    env02 = cards[cards.index("ENV-02"):]
    assert "4 results" in env02[:400]
    for target in re.findall(r'<a href="#(r\d+)">', cards):
        assert f'<article id="{target}"' in page
    assert "No FAIL, ERROR, WARN or INCONCLUSIVE results." in html.build(as_json(hand_report(hand_report().results[-1:])))


def test_timing_section_links_each_exchange_and_draws_each_stream(hand_page: str) -> None:
    section = _section(hand_page, "timing")
    links = re.findall(r'<a href="#x-([0-9a-f]{16})"', section)
    assert links and all(f'id="x-{i}"' in hand_page for i in links)
    assert section.count('<svg class="timeline"') == 3  # the hand report's streamed exchanges, one without events
    captions = re.findall(r"<figcaption>.*?</figcaption>", section)
    assert [c.count(" 3 events · ") for c in captions] == [1, 1, 0] and "· 0 events ·" in captions[2]
    assert "[DONE] at 32 ms" in captions[0]
    assert "basic_stream: primary → 200" in section


def test_hostile_bytes_stay_text_in_every_new_section() -> None:
    document = as_json(hand_report())
    for result in document["results"]:
        result.update(scenario=SCRIPT, check=BREAKOUT, clause=f"X{SCRIPT}", area=BREAKOUT)
        for artifact in result["artifacts"]:
            artifact["label"] = SCRIPT
    document["summary"]["by_area"] = {BREAKOUT: {"FAIL": 1}}
    page = html.build(document)
    assert SCRIPT not in page and BREAKOUT not in page and page.count("<script>") == 1 and "<img" not in page
    escaped = "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"
    for name in ("summary", "causes", "timing"):
        assert escaped in _section(page, name) or "&lt;img src=x" in _section(page, name), name


def test_the_page_stays_strict_and_readable_without_script(hand_page: str) -> None:
    assert " style=" not in hand_page  # the CSP allows only the hashed stylesheet: no inline style attributes
    assert re.search(r"<\w[^>]* hidden[\s>=]", hand_page) is None  # nothing is hidden until the script filters
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", hand_page)


def test_a_real_run_timeline_matches_its_transcript(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Against the embedded server: every stream's events and its [DONE] as the transcript lists them."""
    report = embedded_run(defects=("delta-role-repeated",))
    run_dir = tmp_path_factory.mktemp("visuals")
    document = render.load(json_report.write(report, run_dir))
    streamed = [a for r in document["results"] for a in r["artifacts"] if timing.of(a).streamed]
    assert streamed
    for artifact in streamed:
        t = timing.of(artifact)
        listed = re.findall(r"^\+(\d+\.\d{3})s ", artifact["transcript"], re.M)
        assert [float(x) for x in listed] == list(t.events)
        assert t.done_at == t.events[-1] and t.ttfb is not None and t.ttfb <= t.events[0] <= t.total + 0.001
    assert html.build(document).count('<svg class="timeline"') == len({json.dumps(a, sort_keys=True) for a in streamed})
