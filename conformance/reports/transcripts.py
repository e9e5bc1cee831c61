"""transcripts/: one plain-text reproduction file per result that carries exchanges (every verdict
but PASS).

Each file names the result (key, verdict, clause, level, expected/observed), then for every
recorded exchange the runnable curl line (the key is read from the environment, never written),
the redacted request and the response transcript (SSE events with arrival times).  The
directory is built beside the old one and swapped in whole, so a re-render never leaves files of
another run behind, and a failed one leaves the old directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import atomic
from .findings import FINDING_ORDER, findings, printable, transcript_name

DIRNAME = "transcripts"


def _comment(label: str, value: object) -> list[str]:
    lines = printable(value).splitlines() or [""]
    return [f"# {label}: {lines[0]}"] + [f"#   {line}" for line in lines[1:]]


def build(result: dict[str, Any]) -> str:
    """The text of one result's reproduction file."""
    out = [f"# oai-conformance reproduction: {printable(result['key'])}"]
    out += _comment("verdict", f"{result['verdict']}  clause {result['clause']} ({result['level']})  area {result['area']}")
    out += _comment("rule", result["title"])
    for label in ("expected", "observed", "note"):
        if result[label]:
            out += _comment(label, result[label])
    out.append("# The API key is not in this file: the curl line reads it from the environment variable it names.")
    for n, artifact in enumerate(result["artifacts"], 1):
        request = artifact.get("request", {})
        out += ["", f"## exchange {n}: {printable(artifact.get('label', ''))}", "", printable(artifact.get("curl", "")), "",
                "### request", f"{printable(request.get('method', ''))} {printable(request.get('url', ''))}"]
        out += [f"{printable(k)}: {printable(v)}" for k, v in request.get("headers", [])]
        out += ["", printable(request.get("body", "")), "", "### response", printable(artifact.get("transcript", ""))]
    return "\n".join(out) + "\n"


def write(document: dict[str, Any], run_dir: Path) -> Path:
    """Write run_dir/transcripts/<key>.txt for every result with artifacts; returns the directory."""
    def fill(directory: Path) -> None:
        for result in findings(document, FINDING_ORDER):
            if result["artifacts"]:
                (directory / transcript_name(result["key"])).write_text(build(result), encoding="utf-8")

    return atomic.replace_dir(run_dir / DIRNAME, fill)
