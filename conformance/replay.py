"""Replay: judge the exchanges a run recorded again, with the suite of today, offline.

Each scenario of the recorded run is replaced by one that hands the runner its recorded evidence
(`cassette.rebuild`), and the ordinary runner judges it with every check the run's profile
selects now: new checks judge old traffic, changed checks judge it their way.  A scenario whose
evidence was not recorded whole gives SKIP "needs a live target: <why>" for each of its checks,
never a verdict the recording cannot support.  Nothing is sent anywhere.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import __version__, capabilities, schema
from .cassette import NotReplayable, rebuild
from .engine import Budget, Result, Runner, ScenarioSpec, Skip, Verdict
from .evidence import Evidence
from .profiles import get_profile
from .session import RunConfig, RunReport, _git_commit, honest_skips, select
from .suite import load_suite
from .target import Context, Target
from .wire.client import Limits
from .wire.redact import Redactor

NEEDS_TARGET = "needs a live target"


@dataclasses.dataclass(frozen=True)
class OfflineClient:
    """What checks may read of the client (its limits); there is nothing to send requests to."""

    limits: Limits


def context(document: dict[str, Any]) -> Context:
    """The context the recorded run's checks saw: target, profile, limits and capability claims."""
    provenance = document["provenance"]
    profile = get_profile(document["run"]["profile"])
    if _option(provenance, "require_auth"):
        profile = dataclasses.replace(profile, require_auth=True)
    limits = Limits(**{k: v for k, v in provenance.get("limits", {}).items()
                       if k in {f.name for f in dataclasses.fields(Limits)}})
    target = Target(provenance["target_url"], provenance["model"], embedded=bool(provenance.get("embedded_server")))
    return Context(OfflineClient(limits), target, profile, Budget(), seed=provenance["seed"],  # type: ignore[arg-type]
                   capabilities=_manifest(provenance.get("capabilities"), profile.name))


def _option(provenance: dict[str, Any], name: str) -> Any:
    """An option of the recorded run as it was resolved (None when not recorded)."""
    return (provenance.get("configuration", {}).get(name) or {}).get("value")


def _manifest(recorded: dict[str, Any] | None, profile: str) -> capabilities.Manifest:
    if not recorded:
        return capabilities.default_for(profile)
    probe = (recorded.get("probes") or {}).get("logit_bias")
    return capabilities.Manifest(
        recorded["source"], dict(recorded["claims"]), recorded.get("vendor", ""), tuple(recorded.get("models", ())),
        dict(recorded.get("notes", {})), recorded.get("false_alarm", capabilities.DEFAULT_FALSE_ALARM),
        recorded.get("explicit", True), capabilities.LogitBiasProbe(**probe) if probe else None)


def _checks(document: dict[str, Any], ctx: Context) -> list[Any]:
    """The checks today's suite selects for the recorded run's profile, clause filter and claims."""
    # select() asks only whether the claims were written down (a manifest, the embedded server's
    # own) or stand in for nobody's (the profile's defaults for a target without a manifest).
    config = RunConfig(base_url=None if ctx.capabilities.explicit else ctx.target.base_url, profile=ctx.profile.name,
                       clauses=tuple(_option(document["provenance"], "clause") or ()))
    checks, _ = select(ctx.profile, config)
    return checks


def _scenario(name: str, spec: ScenarioSpec, recording: dict[str, Any] | None, ended: str,
              ctx: Context) -> ScenarioSpec:
    """``spec`` with its function replaced by one that returns the recorded evidence."""

    def replayed(_: Any) -> Evidence:
        if recording is None:
            raise Skip(f"{NEEDS_TARGET}: {ended}")
        try:
            return rebuild(recording, ctx)
        except NotReplayable as exc:
            raise Skip(f"{NEEDS_TARGET}: {exc}") from None

    return dataclasses.replace(spec, func=replayed, judges=False)


def replay(document: dict[str, Any], source: str, on_result: Callable[[Result], None] = lambda r: None) -> RunReport:
    """The recorded run (report.json, expanded form) judged again by today's checks."""
    ctx = context(document)
    recordings = document.get("recordings")
    suite = load_suite()
    first_note = {}
    for result in document["results"]:
        first_note.setdefault(result["scenario"], result["note"])
    names = sorted(set(first_note) | set(recordings or {}))
    scenarios = []
    for name in names:
        if name not in suite.scenarios:
            continue  # the scenario is gone from the suite: its results are "removed" in the comparison
        if recordings is None:
            ended = "the run recorded no exchanges (its report.json is older than replay)"
        else:
            ended = f"the scenario ended before its checks could judge it ({first_note.get(name) or 'no evidence'})"
        scenarios.append(_scenario(name, suite.scenarios[name], (recordings or {}).get(name), ended, ctx))
    started = time.time()
    outcome = Runner(_checks(document, ctx), scenarios, ctx, concurrency=1, on_result=on_result).run()
    results = _as_recorded_where_not_judged(honest_skips(outcome.results), document["results"])
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + uuid.uuid4().hex[:6]
    provenance = dict(document["provenance"], suite_version=__version__, schema_hash=schema.schema_hash(),
                      command=shlex.join(["conformance", *sys.argv[1:]]),
                      replay={"of": document["run"]["id"], "source": source,
                              "recorded_with": document["provenance"]["suite_version"],
                              "recorded_commit": document["provenance"]["suite_commit"],
                              "not_replayed": _not_replayed(results)})
    provenance["suite_commit"] = _git_commit()  # the verdicts are today's suite's
    return RunReport(run_id, ctx.profile, ctx.target, results, started, time.time(), outcome.interrupted, 0, 0,
                     provenance, Redactor([]), dict(recordings or {}))


def _as_recorded_where_not_judged(results: list[Result], recorded: list[dict[str, Any]]) -> list[Result]:
    """A scenario that needs a live target keeps the results it had (each now a SKIP saying why):
    the checks that apply to all its tags but had nothing to judge then have nothing to say now."""
    keys = {r["key"] for r in recorded}
    offline = {r.scenario for r in results if r.verdict is Verdict.SKIP and r.note.startswith(NEEDS_TARGET)}
    return [r for r in results if r.scenario not in offline or r.key in keys]


def _not_replayed(results: list[Result]) -> dict[str, str]:
    """Scenario -> why it could not be judged offline."""
    return {r.scenario: r.note.removeprefix(f"{NEEDS_TARGET}: ") for r in results
            if r.verdict is Verdict.SKIP and r.note.startswith(NEEDS_TARGET)}

