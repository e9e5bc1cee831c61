"""Baselines: known failures waived in CI, each with a reason and an expiry date.

The file is YAML (or JSON, when its name ends in .json; either is read)::

    # conformance baseline: known failures waived by `conformance run --baseline FILE`
    version: 1
    entries:
      - key: "envelope.object_type[basic]"   # result key, check[scenario], as in report.json
        clause: ENV-02                        # for humans; matching is by key only
        reason: "VENDOR-123: fixed in 2.4"
        expires: 2026-12-31                   # waived through this day (UTC); failing again after it

Gate (`evaluate`): a result whose verdict the gate counts (`--fail-on fail`: FAIL and ERROR;
`warn`: also WARN) fails the build unless an unexpired entry names its key.  Entries whose result
now passes are "fixed" (the entry can be removed); entries whose result is absent, skipped or
inconclusive are "not run" and kept.  The comparison is the one `conformance diff` makes
(`reports.compare.transitions`), with the baseline's entries standing for failures.  Waivers are
never honoured in certification runs: the `run` command refuses `--baseline` with the certify
profile and `certify` has no such option.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .reports import atomic, compare

VERSION = 1
FAILING = ("FAIL", "ERROR", "WARN")
_HEADER = "# conformance baseline: known failures waived by `conformance run --baseline FILE`\n"


class _PlainDumper(yaml.SafeDumper):
    """Never writes YAML anchors/aliases (entries sharing one date object would get `*id001`)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class BaselineError(Exception):
    """The baseline file is missing, unreadable or malformed, or an operation's input is invalid."""


@dataclass(frozen=True)
class Waiver:
    key: str
    clause: str
    reason: str
    expires: dt.date

    def expired(self, today: dt.date) -> bool:
        """True after the expiry day (the waiver still holds on that day)."""
        return today > self.expires

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "clause": self.clause, "reason": self.reason, "expires": self.expires}


@dataclass
class Baseline:
    entries: dict[str, Waiver] = field(default_factory=dict)

    def dump(self) -> str:
        """The YAML text of the baseline, entries sorted by key."""
        body = {"version": VERSION, "entries": [self.entries[k].to_dict() for k in sorted(self.entries)]}
        return _HEADER + yaml.dump(body, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)

    def dump_json(self) -> str:
        """The same structure as JSON (dates as YYYY-MM-DD)."""
        entries = [{**self.entries[k].to_dict(), "expires": self.entries[k].expires.isoformat()} for k in sorted(self.entries)]
        return json.dumps({"version": VERSION, "entries": entries}, indent=2, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> Path:
        """Write YAML, or JSON when the file name ends in .json."""
        return atomic.write_text(path, self.dump_json() if path.suffix.lower() == ".json" else self.dump())


def parse_date(value: object, where: str = "expires") -> dt.date:
    """A date from YAML (already a date) or from text `YYYY-MM-DD`; BaselineError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BaselineError(f"{where}: {value!r} is not a date YYYY-MM-DD")


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def load(path: Path) -> Baseline:
    """Read and check a baseline file; BaselineError names the first problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BaselineError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("entries"), list):
        raise BaselineError(f"{path}: expected a mapping with version: {VERSION} and an entries list")
    baseline = Baseline()
    for n, item in enumerate(data["entries"]):
        where = f"{path}: entries[{n}]"
        if not isinstance(item, dict):
            raise BaselineError(f"{where}: expected a mapping")
        missing = [k for k in ("key", "clause", "reason", "expires") if k not in item]
        if missing:
            raise BaselineError(f"{where}: missing {', '.join(missing)}")
        key, clause, reason = (str(item[k]).strip() for k in ("key", "clause", "reason"))
        if not key or not reason:
            raise BaselineError(f"{where}: key and reason must not be empty")
        if key in baseline.entries:
            raise BaselineError(f"{where}: duplicate key {key!r}")
        baseline.entries[key] = Waiver(key, clause, reason, parse_date(item["expires"], f"{where}.expires"))
    return baseline


def _check_new_waiver(reason: str, expires: dt.date, today: dt.date) -> None:
    if not reason.strip():
        raise BaselineError("a waiver needs a reason")
    if expires < today:
        raise BaselineError(f"expiry {expires} is in the past")


def create(document: dict[str, Any], reason: str, expires: dt.date, *, include_warn: bool = False,
           today: dt.date | None = None) -> Baseline:
    """A baseline waiving every FAIL and ERROR (and WARN if asked) of a report.json document."""
    _check_new_waiver(reason, expires, today or today_utc())
    verdicts = FAILING if include_warn else ("FAIL", "ERROR")
    return Baseline({r["key"]: Waiver(r["key"], r["clause"], reason.strip(), expires)
                     for r in document["results"] if r["verdict"] in verdicts})


@dataclass
class UpdateSummary:
    removed: list[str] = field(default_factory=list)  # fixed: the result passes now
    kept: list[str] = field(default_factory=list)     # still failing (expiry refreshed when asked)
    not_run: list[str] = field(default_factory=list)  # absent, skipped or inconclusive: kept as they were
    added: list[str] = field(default_factory=list)    # new failures, only with add_new


def update(baseline: Baseline, document: dict[str, Any], *, expires: dt.date | None = None, reason: str | None = None,
           add_new: bool = False, include_warn: bool = False, today: dt.date | None = None) -> tuple[Baseline, UpdateSummary]:
    """Drop entries whose result passes now, keep the others (with `expires`, refresh their expiry), and with
    `add_new` add the run's unwaived failures with `reason` and `expires`."""
    today = today or today_utc()
    if expires is not None and expires < today:
        raise BaselineError(f"expiry {expires} is in the past")
    if add_new:
        if reason is None or expires is None:
            raise BaselineError("adding new failures needs --reason and --expires")
        _check_new_waiver(reason, expires, today)
    kinds = _against_waivers(baseline, document)
    out, summary = Baseline(), UpdateSummary()
    summary.removed = kinds["fixed"]
    for key in kinds["still"]:
        waiver = baseline.entries[key]
        out.entries[key] = Waiver(key, waiver.clause, waiver.reason, expires or waiver.expires)
        summary.kept.append(key)
    for key in kinds["not_run"]:
        out.entries[key] = baseline.entries[key]
        summary.not_run.append(key)
    if add_new:
        gated, new = gated_verdicts("warn" if include_warn else "fail"), set(kinds["new"])
        for r in document["results"]:
            if r["key"] in new and r["verdict"] in gated:
                out.entries[r["key"]] = Waiver(r["key"], r["clause"], str(reason).strip(), expires)  # type: ignore[arg-type]
                summary.added.append(r["key"])
    return out, summary


def gated_verdicts(fail_on: str) -> tuple[str, ...]:
    """The verdicts that fail the build under `--fail-on`."""
    return {"fail": ("FAIL", "ERROR"), "warn": FAILING, "never": ()}[fail_on]


@dataclass
class Gate:
    """The outcome of gating one run with a baseline; lists hold result keys."""

    file: str
    gated_verdicts: tuple[str, ...]
    new: list[str] = field(default_factory=list)
    waived: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """New failures or expired waivers fail the build."""
        return bool(self.new or self.expired)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "gated_verdicts": list(self.gated_verdicts), "failed": self.failed,
                "new": self.new, "waived": self.waived, "expired": self.expired, "fixed": self.fixed,
                "not_run": self.not_run}


def evaluate(document: dict[str, Any], baseline: Baseline, *, file: str, fail_on: str = "fail",
             today: dt.date | None = None) -> Gate:
    """Gate a report.json document with a baseline (see the module docstring for the rules)."""
    today = today or today_utc()
    gate = Gate(file, gated_verdicts(fail_on))
    kinds = _against_waivers(baseline, document)
    verdict = compare.verdicts(document)
    gate.new = [key for key in kinds["new"] if verdict[key] in gate.gated_verdicts]
    for key in kinds["still"]:
        if verdict[key] in gate.gated_verdicts and baseline.entries[key].expired(today):
            gate.expired.append(key)
        else:
            gate.waived.append(key)
    gate.fixed, gate.not_run = kinds["fixed"], kinds["not_run"]
    return gate


def _against_waivers(baseline: Baseline, document: dict[str, Any]) -> dict[str, list[str]]:
    """The run compared with the failures its baseline waives (`compare.transitions`, every finding
    counting as a failure): waived keys are "still" failing, "fixed" or "not_run"; unwaived
    findings are "new"."""
    waived = dict.fromkeys(baseline.entries, "FAIL")  # each entry stands for a failure
    return compare.transitions(waived, compare.verdicts(document), FAILING)


def describe(gate: Gate) -> str:
    """A few lines for the terminal."""
    lines = [f"baseline {gate.file}: {len(gate.new)} new, {len(gate.expired)} expired, {len(gate.waived)} waived, "
             f"{len(gate.fixed)} fixed, {len(gate.not_run)} not run"]
    lines += [f"  NEW      {k}" for k in gate.new]
    lines += [f"  EXPIRED  {k}" for k in gate.expired]
    lines += [f"  FIXED    {k} (can be removed: `conformance baseline update`)" for k in gate.fixed]
    return "\n".join(lines)

