"""Views over report.json shared by the renderers: which results are findings, their one-line
message, their order, and the file name of their transcript."""

from __future__ import annotations

import hashlib
import re
from typing import Any

# Verdicts shown as findings, worst first; PASS is only counted.
FINDING_ORDER = ("FAIL", "ERROR", "WARN", "INCONCLUSIVE", "SKIP", "INFO")
VERDICT_ORDER = FINDING_ORDER + ("PASS",)
LEVEL_ORDER = ("MUST", "SHOULD", "MAY")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# What XML 1.0 cannot carry (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/U+FFFF);
# none of it belongs in a rendered report either, and lone surrogates cannot even be encoded.
_UNPRINTABLE = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def printable(value: object) -> str:
    """`str(value)` with every character that XML 1.0 or UTF-8 cannot carry written as `\\xNN` / `\\uNNNN`."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                            str(value))


def findings(document: dict[str, Any], verdicts: tuple[str, ...] = FINDING_ORDER) -> list[dict[str, Any]]:
    """Results whose verdict is in `verdicts`, worst verdict first, then MUST before SHOULD, then by key."""
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    level = {v: i for i, v in enumerate(LEVEL_ORDER)}
    chosen = [r for r in document["results"] if r["verdict"] in verdicts]
    return sorted(chosen, key=lambda r: (rank.get(r["verdict"], 99), level.get(r["level"], 99), r["key"]))


_LABEL = re.compile(r"^[\w:-]+: (?=\S)")
_VARYING = re.compile(r"\d+(?:\.\d+)?|chatcmpl-[\w-]+|call_[\w-]+")


def signature(result: dict[str, Any]) -> tuple[str, str, str, str]:
    """What makes two results one cause: the same check, verdict and observed fact once numbers
    and ids (timestamps, token counts, chunk positions) are masked."""
    fact = _LABEL.sub("", result["observed"] or result["note"])  # which exchange of the scenario: not the cause
    return result["clause"], result["check"], result["verdict"], _VARYING.sub("#", fact)


def causes(document: dict[str, Any], verdicts: tuple[str, ...] = ("FAIL", "ERROR", "WARN")) -> list[list[dict[str, Any]]]:
    """Findings grouped by root cause (see ``signature``), each group in ``findings`` order and
    the groups in the order of their first result: one cause, one entry, its scenarios listed."""
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for result in findings(document, verdicts):
        groups.setdefault(signature(result), []).append(result)
    return list(groups.values())


def message(result: dict[str, Any]) -> str:
    """`CLAUSE (LEVEL): expected … observed …`, or the note when the check said nothing about values."""
    head = f"{result['clause']} ({result['level']})"
    if result["expected"] or result["observed"]:
        return f"{head}: expected {result['expected']}; observed {result['observed']}"
    return f"{head}: {result['note'] or result['title']}"


def first_curl(result: dict[str, Any]) -> str:
    """The repro curl line of the result's first artifact, or ''."""
    artifacts = result.get("artifacts") or []
    return str(artifacts[0].get("curl", "")) if artifacts else ""


def transcript_name(key: str) -> str:
    """A portable file name for a result key: safe characters plus a short hash (keys differing only
    in unsafe characters must not collide)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"{_UNSAFE.sub('_', key).strip('_')[:120]}-{digest}.txt"
