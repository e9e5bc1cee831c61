"""Merging shard runs of one target into one run: CI jobs or hosts that each ran part of the
scenarios (`pytest --conformance-shard K/N`, or `conformance run --scenario ...` per job) write
normal run directories; `merge` makes the report of the whole run from them.

Shards must be runs of one target (model, profile, suite version and schema; the URL too unless
each shard started its own embedded server) and must not overlap (no scenario in two shards).
Shards labelled K/N (the pytest plugin records its `--conformance-shard`) must be complete: every
K of one N, once.

Memory stays bounded by the merged run, not by the inputs: shards are read one at a time, their
results kept (small), their artifacts copied to a scratch file inside the output directory as they
are read (each once, by id) and streamed from there into the merged report.json.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from . import atomic, json_report, runs
from .differences import merged_sections
from .render import REPORT_JSON

_SAME_TARGET = ("model", "suite_version", "schema_hash")  # provenance keys every shard must share


class MergeError(Exception):
    """The inputs cannot be merged (different targets, overlapping or missing shards): one line."""


@dataclass
class Shard:
    """What is kept of one input: everything but its artifacts."""

    source: str
    run: dict[str, Any]
    provenance: dict[str, Any]
    results: list[dict[str, Any]]
    recordings: dict[str, Any] | None
    differences: dict[str, Any] | None = None  # differential mode's section of the shard

    @property
    def label(self) -> tuple[int, int] | None:
        """(K, N) when the shard recorded `--conformance-shard K/N`."""
        text = self.provenance.get("shard")
        if not isinstance(text, str):
            return None
        k, _, n = text.partition("/")
        return (int(k), int(n)) if k.isdigit() and n.isdigit() else None

    @property
    def scenarios(self) -> set[str]:
        return {r["scenario"] for r in self.results} | set(self.recordings or {})

    def describe(self) -> dict[str, Any]:
        """The shard's provenance in the merged report."""
        p, r = self.provenance, self.run
        return {"source": self.source, "run_id": r["id"], "shard": p.get("shard"), "started_at": r["started_at"],
                "finished_at": r["finished_at"], "interrupted": r["interrupted"], "requests": r["requests"],
                "tokens": r["tokens"], "results": len(self.results), "scenarios": len(self.scenarios),
                "target_url": p["target_url"], "command": p["command"], "suite_commit": p["suite_commit"],
                "seed": p["seed"]}


@dataclass
class ArtifactSpool:
    """Artifacts of every shard, each once, in a scratch file (one JSON line per artifact)."""

    file: IO[str]
    seen: set[str] = field(default_factory=set)

    def add(self, table: dict[str, Any]) -> None:
        for artifact_id, artifact in table.items():
            if artifact_id not in self.seen:
                self.seen.add(artifact_id)
                self.file.write(json.dumps([artifact_id, artifact], ensure_ascii=False) + "\n")

    def entries(self) -> Iterator[tuple[str, Any]]:
        self.file.seek(0)
        for line in self.file:
            artifact_id, artifact = json.loads(line)
            yield artifact_id, artifact


def read_shards(paths: list[Path], spool: ArtifactSpool) -> list[Shard]:
    """Each input, read one at a time; its artifacts go to ``spool``.  One run reached twice (its
    directory and a `latest` link to it, as CI artifact globs find them) counts once.
    RunInputError for a bad input."""
    shards: dict[str, Shard] = {}
    for path in paths:
        document = runs.read(path)
        if document["run"]["id"] in shards:
            continue
        spool.add(document.pop("artifacts"))
        shards[document["run"]["id"]] = Shard(str(path), document["run"], document["provenance"], document["results"],
                                              document.get("recordings"), document.get("differences"))
    return list(shards.values())


def check_mergeable(shards: list[Shard]) -> None:
    """MergeError when the shards are not parts of one run of one target, overlap, or miss a part."""
    first = shards[0]
    for shard in shards[1:]:
        if shard.run["profile"] != first.run["profile"]:
            raise MergeError(f"{shard.source} ran profile {shard.run['profile']}, {first.source} ran "
                             f"{first.run['profile']}: merge combines shards of one run")
        for key in _SAME_TARGET:
            if shard.provenance[key] != first.provenance[key]:
                raise MergeError(f"{shard.source} and {first.source} differ in {key} ({shard.provenance[key]!r} vs "
                                 f"{first.provenance[key]!r}): merge combines shards of one target (`conformance "
                                 f"merge --matrix` puts runs of several targets side by side)")
        if _target(shard) != _target(first):
            raise MergeError(f"{shard.source} ran against {shard.provenance['target_url']}, {first.source} against "
                             f"{first.provenance['target_url']}: merge combines shards of one target "
                             f"(`conformance merge --matrix` puts several targets side by side)")
    _check_overlap(shards)
    _check_complete(shards)


def _target(shard: Shard) -> str:
    """The target's URL; for the embedded server only its path (its defects): each shard may have
    started its own server on another port."""
    url = shard.provenance["target_url"]
    return urlsplit(url).path if shard.provenance.get("embedded_server") else url


def _check_overlap(shards: list[Shard]) -> None:
    owner: dict[str, str] = {}
    for shard in shards:
        for scenario in sorted(shard.scenarios):
            if scenario in owner:
                raise MergeError(f"overlapping shards: {owner[scenario]} and {shard.source} both ran scenario {scenario}")
            owner[scenario] = shard.source


def _check_complete(shards: list[Shard]) -> None:
    labels = [s.label for s in shards]
    if not any(labels):
        return
    unlabelled = [s.source for s in shards if s.label is None]
    if unlabelled:
        raise MergeError(f"{unlabelled[0]} records no shard K/N while others do: merge the shards of one sharded run")
    counts = {n for _, n in labels}  # type: ignore[misc]
    if len(counts) > 1:
        raise MergeError(f"shards of different splits ({', '.join(f'of {n}' for n in sorted(counts))}): "
                         f"merge the shards of one sharded run")
    total = counts.pop()
    missing = sorted(set(range(1, total + 1)) - {k for k, _ in labels})  # type: ignore[misc]
    if missing:
        raise MergeError(f"missing shard(s) {', '.join(f'{k}/{total}' for k in missing)} of {total}: "
                         f"merge every shard of the run (or run the missing ones)")


def target_label(shard: Shard) -> str:
    """A short name for the target of a run: host, port and path of its URL (without /v1), or
    "embedded" and the defects' path for the embedded server."""
    parts = urlsplit(shard.provenance["target_url"])
    path = parts.path.removesuffix("/").removesuffix("/v1")
    return f"embedded{path}" if shard.provenance.get("embedded_server") else f"{parts.netloc}{path}"


def by_target(paths: list[Path]) -> list[tuple[tuple[str, str, str], list[Path]]]:
    """The runs grouped by (target, model, profile), each group checked as the shards of one run
    (`check_mergeable`), before anything is written.  RunInputError, MergeError as `merge`."""
    groups: dict[tuple[str, str, str], list[Shard]] = {}
    seen: set[str] = set()
    for path in paths:
        document = runs.read(path)
        if document["run"]["id"] in seen:  # one run reached twice counts once, as in `read_shards`
            continue
        seen.add(document["run"]["id"])
        shard = Shard(str(path), document["run"], document["provenance"], document["results"], document.get("recordings"),
                      document.get("differences"))
        key = (target_label(shard), shard.provenance["model"], shard.run["profile"])
        groups.setdefault(key, []).append(shard)
    for shards in groups.values():
        check_mergeable(shards)
    return [(key, [Path(s.source) for s in shards]) for key, shards in groups.items()]


def merged_document(shards: list[Shard], command: str) -> dict[str, Any]:
    """The merged report.json document, without its artifacts table (see `write`)."""
    ordered = sorted(shards, key=lambda s: (s.label or (0, 0), s.run["started_at"]))
    starts = [datetime.fromisoformat(s.run["started_at"]) for s in ordered]
    ends = [datetime.fromisoformat(s.run["finished_at"]) for s in ordered]
    interrupted = any(s.run["interrupted"] for s in ordered)
    results = sorted((r for s in ordered for r in s.results),
                     key=lambda r: (r["area"], r["clause"], r["check"], r["scenario"]))
    run_id = time.strftime("%Y%m%dT%H%M%SZ", min(starts).utctimetuple()) + "-" + uuid.uuid4().hex[:6]
    provenance = dict(ordered[0].provenance, command=command, shards=[s.describe() for s in ordered])
    provenance.pop("shard", None)
    document: dict[str, Any] = {
        "format": json_report.FORMAT,
        "version": json_report.FORMAT_VERSION,
        "run": {"id": run_id, "profile": ordered[0].run["profile"], "started_at": min(starts).isoformat(),
                "finished_at": max(ends).isoformat(),
                "duration_s": round((max(ends) - min(starts)).total_seconds(), 3), "interrupted": interrupted,
                "requests": sum(s.run["requests"] for s in ordered), "tokens": sum(s.run["tokens"] for s in ordered)},
        "provenance": provenance,
        "summary": json_report.summarize(results, interrupted),
        "results": results,
    }
    if all(s.recordings is not None for s in ordered):
        document["recordings"] = {k: v for s in ordered for k, v in (s.recordings or {}).items()}
    differences = merged_sections([s.differences for s in ordered if s.differences is not None])
    if differences is not None:
        document["differences"] = differences
    return document


def write(document: dict[str, Any], spool: ArtifactSpool, run_dir: Path) -> Path:
    """run_dir/report.json: ``document`` plus the spooled artifacts, streamed (compact form)."""
    return atomic.write_chunks(run_dir / REPORT_JSON, (chunk.encode("utf-8") for chunk in _chunks(document, spool)))


def _chunks(document: dict[str, Any], spool: ArtifactSpool) -> Iterator[str]:
    """The text of report.json with ``artifacts`` last, one artifact at a time, indented as `json_report.dump` does."""
    head = json.dumps(document, indent=2, ensure_ascii=False)
    yield head[: head.rfind("\n}")] + ',\n  "artifacts": {'
    first = True
    for artifact_id, artifact in spool.entries():
        body = json.dumps(artifact, indent=2, ensure_ascii=False).replace("\n", "\n    ")
        yield f"{'' if first else ','}\n    {json.dumps(artifact_id)}: {body}"
        first = False
    yield "}\n}\n" if first else "\n  }\n}\n"


def merge(paths: list[Path], reports_dir: Path, command: str,
          annotate: Callable[[dict[str, Any]], None] | None = None) -> tuple[dict[str, Any], Path]:
    """Merge the runs at ``paths`` into reports_dir/<new run id>/report.json; returns the document
    (without artifacts) and the run directory.  ``annotate`` may add to the document before it is
    written (a baseline outcome).  Raises RunInputError for an unreadable input, MergeError for
    inputs that are not one run (nothing is written then)."""
    if not paths:
        raise MergeError("nothing to merge: name the shards' run directories")
    reports_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=reports_dir, prefix=".merge-") as scratch:
        spool = ArtifactSpool(scratch)
        shards = read_shards(paths, spool)
        check_mergeable(shards)
        document = merged_document(shards, command)
        if annotate is not None:
            annotate(document)
        run_dir = reports_dir / document["run"]["id"]
        run_dir.mkdir()
        write(document, spool, run_dir)
    return document, run_dir
