"""transcripts/: one plain-text reproduction file per result that carries exchanges (every verdict
but PASS), and each exchange once.

A result's file names the result (key, verdict, clause, level, expected/observed) and, for every
recorded exchange, the runnable curl line (the key is read from the environment, never written)
and the file in `exchanges/` holding it; `exchanges/<id>.txt` (the id of report.json's artifacts
table) holds the curl line, the redacted request and the response transcript (SSE events with
arrival times) -- once, though the checks of one scenario share its exchanges.  The directory is
built beside the old one and swapped in whole, so a re-render never leaves files of another run
behind, and a failed one leaves the old directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import atomic, json_report
from .findings import FINDING_ORDER, findings, printable, transcript_name

DIRNAME = "transcripts"
EXCHANGES = "exchanges"


def _comment(label: str, value: object) -> list[str]:
    lines = printable(value).splitlines() or [""]
    return [f"# {label}: {lines[0]}"] + [f"#   {line}" for line in lines[1:]]


def build(result: dict[str, Any], exchange_ids: list[str] | None = None) -> str:
    """The text of one result's reproduction file; ``exchange_ids`` name its exchanges' files
    (default: computed from their content)."""
    ids = exchange_ids or [json_report.artifact_id(a) for a in result["artifacts"]]
    out = [f"# oai-conformance reproduction: {printable(result['key'])}"]
    out += _comment("verdict", f"{result['verdict']}  clause {result['clause']} ({result['level']})  area {result['area']}")
    out += _comment("rule", result["title"])
    for label in ("expected", "observed", "note"):
        if result[label]:
            out += _comment(label, result[label])
    out.append("# The API key is not in this file: the curl line reads it from the environment variable it names.")
    for n, (artifact, artifact_id) in enumerate(zip(result["artifacts"], ids, strict=True), 1):
        out += ["", f"## exchange {n}: {printable(artifact.get('label', ''))}", "", printable(artifact.get("curl", "")), "",
                f"request, response and SSE transcript: {EXCHANGES}/{artifact_id}.txt"]
    return "\n".join(out) + "\n"


def build_exchange(artifact: dict[str, Any]) -> str:
    """The text of one exchange's file: curl line, redacted request, response transcript."""
    request = artifact.get("request", {})
    out = [f"# exchange: {printable(artifact.get('label', ''))}", "", printable(artifact.get("curl", "")), "",
           "### request", f"{printable(request.get('method', ''))} {printable(request.get('url', ''))}"]
    out += [f"{printable(k)}: {printable(v)}" for k, v in request.get("headers", [])]
    out += ["", printable(request.get("body", "")), "", "### response", printable(artifact.get("transcript", ""))]
    return "\n".join(out) + "\n"


def write(document: dict[str, Any], run_dir: Path) -> Path:
    """Write run_dir/transcripts/<key>.txt for every result with artifacts and
    transcripts/exchanges/<id>.txt for every exchange they refer to; returns the directory."""

    def fill(directory: Path) -> None:
        written: set[str] = set()
        ids: dict[int, str] = {}  # artifacts shared by results are one object after report.json is loaded
        (directory / EXCHANGES).mkdir()
        for result in findings(document, FINDING_ORDER):
            if not result["artifacts"]:
                continue
            for a in result["artifacts"]:
                if id(a) not in ids:
                    ids[id(a)] = json_report.artifact_id(a)
            names = [ids[id(a)] for a in result["artifacts"]]
            for artifact, name in zip(result["artifacts"], names, strict=True):
                if name not in written:
                    written.add(name)
                    (directory / EXCHANGES / f"{name}.txt").write_text(build_exchange(artifact), encoding="utf-8")
            (directory / transcript_name(result["key"])).write_text(build(result, names), encoding="utf-8")

    return atomic.replace_dir(run_dir / DIRNAME, fill)
