"""A diff document (see compare.py) for people: the terminal, and Markdown for PR comments."""

from __future__ import annotations

from typing import Any

from .markdown import text as md

MAX_CAUSES = 50  # per section of the Markdown: a PR comment stays readable (the JSON has them all)
HEADINGS = {
    "new": "New failures", "fixed": "Fixed", "changed": "Changed verdicts",
    "not_run": "Failing before, not judged now", "still": "Still failing",
}
_LABEL = {"new": "NEW", "fixed": "FIXED", "changed": "CHANGED", "not_run": "NOT RUN", "still": "STILL"}
_COUNTED = (("new", "new failures"), ("fixed", "fixed"), ("changed", "changed"), ("not_run", "not run"),
            ("still", "still failing"), ("added", "added"), ("removed", "removed"), ("same", "unchanged"))


def _run(side: dict[str, Any]) -> str:
    return f"{side['run_id']} ({side['model']} at {side['target_url']}, profile {side['profile']}, suite {side['suite_version']})"


def _move(cause: dict[str, Any]) -> str:
    before, after = cause["before"] or "absent", cause["after"] or "absent"
    return after if cause["kind"] == "new" and before == "absent" else f"{before}→{after}"


def counts_line(diff: dict[str, Any]) -> str:
    return ", ".join(f"{diff['counts'][kind]} {label}" for kind, label in _COUNTED)


def console(diff: dict[str, Any]) -> str:
    """Header, counts, then one block per cause of each listed kind."""
    out = [f"before: {_run(diff['before'])}", f"after:  {_run(diff['after'])}", counts_line(diff)]
    for kind in _LABEL:
        for cause in (c for c in diff["causes"] if c["kind"] == kind):
            out.append(f"{_LABEL[kind]:8} {_move(cause):13} {cause['clause']} ({cause['level']}) {cause['check']} "
                       f"[{', '.join(cause['scenarios'])}]")
            if kind != "still" and (cause["expected"] or cause["observed"]):
                out.append(f"{'':9}expected: {cause['expected']}")
                out.append(f"{'':9}observed: {cause['observed']}")
            elif kind != "still" and cause["note"]:
                out.append(f"{'':9}note:     {cause['note']}")
    return "\n".join(out)


def markdown(diff: dict[str, Any]) -> str:
    """A PR comment: verdict line, counts table, a list per kind (still failing folded away)."""
    new, causes = diff["counts"]["new"], sum(1 for c in diff["causes"] if c["kind"] == "new")
    badge = f"❌ {new} new failure{'s' if new != 1 else ''} ({causes} cause{'s' if causes != 1 else ''})" if new \
        else "✅ no new failures"
    out = [f"### Conformance diff: {badge}", "",
           f"before: {md(_run(diff['before']))}  ", f"after: {md(_run(diff['after']))}", "",
           "| " + " | ".join(label for _, label in _COUNTED) + " |", "|" + "---:|" * len(_COUNTED),
           "| " + " | ".join(str(diff["counts"][kind]) for kind, _ in _COUNTED) + " |"]
    for kind, heading in HEADINGS.items():
        causes = [c for c in diff["causes"] if c["kind"] == kind]
        if not causes:
            continue
        lines = [_cause_line(c) for c in causes[:MAX_CAUSES]]
        if len(causes) > MAX_CAUSES:
            lines.append(f"- … and {len(causes) - MAX_CAUSES} more causes (see the JSON diff)")
        if kind == "still":
            out += ["", f"<details><summary>{heading} ({len(causes)})</summary>", "", *lines, "", "</details>"]
        else:
            out += ["", f"#### {heading}", "", *lines]
    return "\n".join(out) + "\n"


def _cause_line(cause: dict[str, Any]) -> str:
    line = (f"- **{_move(cause)}** {md(cause['clause'])} ({cause['level']}) {md(cause['check'], 120)}: "
            f"{md(cause['title'], 160)}; in {md(', '.join(cause['scenarios']), 200)}")
    if cause["kind"] != "still" and (cause["expected"] or cause["observed"]):
        line += f"<br>expected {md(cause['expected'], 200)}; observed {md(cause['observed'], 200)}"
    return line
