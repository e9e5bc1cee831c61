"""docs/contract.md, written from the clause table and the checks' own rule statements, so the
contract the code cites is the one the code enforces.

    python -m conformance.contract > docs/contract.md
"""

from __future__ import annotations

from .clauses import CLAUSES
from .suite import load_suite

INTRO = """# The contract

What an OpenAI-compatible Chat Completions server (`POST /v1/chat/completions`) must do, as this
suite checks it. Each clause has an id (cited by checks, defects and reports), an RFC 2119 level
(a violated MUST is a FAIL, a violated SHOULD a WARN, a MAY is recorded) and an area. Under each
clause, every check that enforces it states its rule in its own words; a check is the only
implementation of its rule.

Profiles read the schemas in `schemas/` two ways: **lenient** (`compatible`, `vendor`, `certify`:
what real clients need; keys the OpenAI API always sends but clients do not read may be absent)
and **strict** (`openai-strict`: every key the OpenAI schema requires, unknown request parameters
rejected with 400). Streams are Server-Sent Events: `data: <json>` events separated by a blank
line, chunks of object `chat.completion.chunk`, closed by `data: [DONE]`.

Generated from the code by `python -m conformance.contract`; a test keeps this file current.
"""


def render() -> str:
    suite = load_suite()
    out = [INTRO]
    areas: dict[str, list[str]] = {}
    for clause in CLAUSES.values():
        areas.setdefault(clause.area, []).append(clause.id)
    for area, ids in areas.items():
        out += [f"## {area}", ""]
        for cid in ids:
            clause = CLAUSES[cid]
            out.append(f"### {cid} ({clause.level.value}): {clause.title}")
            out.append("")
            for check in sorted((c for c in suite.checks.values() if c.rule.id == cid), key=lambda c: c.name):
                rule = " ".join(check.doc.split())
                out.append(f"- `{check.name}`: {rule}")
            out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
