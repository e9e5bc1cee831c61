"""junit.xml: one <testcase> per result (check × scenario), one <testsuite> per area.

Mapping, chosen so that a CI reading JUnit goes red exactly when the suite's default gate does:

* FAIL  → <failure message="CLAUSE (LEVEL): expected …; observed …">, body: rule, note, curl line.
* ERROR → <error> (the suite could not judge: harness or transport trouble).
* SKIP, INCONCLUSIVE → <skipped message="…"> (not judged; INCONCLUSIVE is prefixed so it stays visible).
* WARN, INFO → a passing testcase carrying a `verdict` property and a <system-out> note: a WARN
  is legal behaviour that may break some clients, so it must not turn the build red by itself
  (use `conformance run --fail-on warn` for that).

Every testcase has `clause`, `level` and `verdict` properties; every testsuite carries the run's
provenance as properties.  Characters that XML 1.0 cannot carry (the target's bytes may contain
any) are written as `\\xNN` (see `findings.printable`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from . import atomic
from .findings import first_curl, message, printable

_MESSAGE_CAP = 1000
_PROVENANCE_KEYS = ("suite_version", "suite_commit", "schema_hash", "profile", "target_url", "model", "seed")


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MESSAGE_CAP else flat[: _MESSAGE_CAP - 1] + "…"


def _details(result: dict[str, Any]) -> str:
    lines = [f"{result['verdict']} {result['key']}", f"rule: {result['title']}"]
    if result["expected"] or result["observed"]:
        lines += [f"expected: {result['expected']}", f"observed: {result['observed']}"]
    if result["note"]:
        lines.append(f"note: {result['note']}")
    trace = result.get("evidence", {}).get("traceback")
    if isinstance(trace, str):
        lines.append(trace)
    curl = first_curl(result)
    if curl:
        lines.append(f"repro: {curl}")
    return "\n".join(lines)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: printable(v) for k, v in attrs.items()})
    if text is not None:
        element.text = printable(text)
    return element


def _testcase(suite: ET.Element, result: dict[str, Any]) -> None:
    case = _sub(suite, "testcase", classname=result["area"], name=result["key"], time=f"{result['duration']:.4f}")
    props = _sub(case, "properties")
    for name in ("clause", "level", "verdict"):
        _sub(props, "property", name=name, value=result[name])
    verdict = result["verdict"]
    if verdict == "FAIL":
        _sub(case, "failure", _details(result), message=_one_line(message(result)), type=result["clause"])
    elif verdict == "ERROR":
        _sub(case, "error", _details(result), message=_one_line(message(result)), type=result["clause"])
    elif verdict in ("SKIP", "INCONCLUSIVE"):
        note = result["note"] or result["title"]
        _sub(case, "skipped", message=_one_line(note if verdict == "SKIP" else f"INCONCLUSIVE: {note}"))
    elif verdict in ("WARN", "INFO"):
        _sub(case, "system-out", _details(result))


def build(document: dict[str, Any]) -> ET.ElementTree:
    """The JUnit tree for one report.json document."""
    run, provenance = document["run"], document["provenance"]
    by_area: dict[str, list[dict[str, Any]]] = {}
    for result in document["results"]:
        by_area.setdefault(result["area"], []).append(result)
    root = ET.Element("testsuites", {"name": f"oai-conformance {run['profile']}"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for area, results in sorted(by_area.items()):
        counts = {
            "tests": len(results),
            "failures": sum(r["verdict"] == "FAIL" for r in results),
            "errors": sum(r["verdict"] == "ERROR" for r in results),
            "skipped": sum(r["verdict"] in ("SKIP", "INCONCLUSIVE") for r in results),
        }
        for k, v in counts.items():
            totals[k] += v
        suite = _sub(root, "testsuite", name=area, timestamp=run["started_at"],
                     time=f"{sum(r['duration'] for r in results):.4f}", **counts)
        props = _sub(suite, "properties")
        _sub(props, "property", name="run_id", value=run["id"])
        _sub(props, "property", name="status", value=document["summary"]["status"])
        for key in _PROVENANCE_KEYS:
            _sub(props, "property", name=key, value="" if provenance.get(key) is None else provenance[key])
        for result in results:
            _testcase(suite, result)
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{run['duration_s']:.3f}")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write(document: dict[str, Any], path: Path) -> Path:
    return atomic.write_bytes(path, ET.tostring(build(document).getroot(), encoding="utf-8", xml_declaration=True))
