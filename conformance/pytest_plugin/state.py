"""One conformance run inside one pytest process: options, target, lazy shard execution, report.

Items never re-implement checks: the first item of a shard runs the engine
(``session.execute``) once for all scenarios of that shard, and every item then reports its own
``Result``.  Without xdist there is one shard (the whole selection, run concurrently as the CLI
does).  Under xdist each worker runs only the shards it was given, exports its results through
``workeroutput``, and the controller merges them into one report written exactly like the CLI's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shlex
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..engine import CheckSpec, Result, ScenarioSpec, Verdict
from ..options import OPTIONS
from ..profiles import get_profile
from ..reports.differences import merged_sections
from ..session import (
    EMBEDDED_MODEL,
    REFERENCE_CAPABILITIES,
    RunConfig,
    RunReport,
    SetupError,
    TargetUnreachable,
    comparison_of,
    execute,
    resolve_target,
    select,
)
from ..settings import Resolved
from ..suite import load_suite
from ..target import Target
from ..wire.client import Limits
from ..wire.redact import Redactor, url_secrets
from .shards import parse_shard, partition

if TYPE_CHECKING:
    from ..baseline import Baseline
    from ..differential import Comparison

Pair = tuple[CheckSpec, ScenarioSpec]


@dataclass(frozen=True)
class PluginOptions:
    """The plugin's options, resolved like the CLI's (config file < environment < flags) and validated."""

    resolved: Resolved
    reports_dir: Path
    shard: tuple[int, int] | None
    waivers: Baseline | None

    @classmethod
    def from_config(cls, config: pytest.Config) -> PluginOptions:
        """Read and check the options; a pytest.UsageError names what is wrong."""
        from .. import settings
        from ..baseline import BaselineError, load

        names = [o.name for o in OPTIONS if o.plugin_flag]
        flags = {name: config.getoption(f"conformance_{name}") for name in names}
        try:
            resolved = settings.resolve(flags, cwd=config.invocation_params.dir, names=names)
            settings.check(resolved, "pytest")
            shard = parse_shard(config.getoption("conformance_shard")) if config.getoption("conformance_shard") else None
            waivers = load(resolved.baseline) if resolved.baseline is not None else None
        except (settings.OptionError, BaselineError, ValueError) as exc:
            raise pytest.UsageError(str(exc)) from None
        reports = Path(resolved.reports_dir)
        return cls(resolved, reports if reports.is_absolute() else config.invocation_params.dir / reports, shard, waivers)

    @property
    def target_url(self) -> str | None:
        return self.resolved.base_url

    @property
    def model(self) -> str:
        return self.resolved.model or EMBEDDED_MODEL

    @property
    def api_key_env(self) -> str:
        return self.resolved.api_key_env

    @property
    def profile(self) -> str:
        return self.resolved.profile

    @property
    def defects(self) -> tuple[str, ...]:
        return self.resolved.defect

    @property
    def seed(self) -> int:
        return self.resolved.seed

    @property
    def fail_on(self) -> str:
        return self.resolved.fail_on

    @property
    def limits(self) -> Limits:
        return Limits(read_timeout=self.resolved.read_timeout, total_timeout=self.resolved.timeout)


class RunState:
    """Everything the plugin knows in this process (controller, worker or plain pytest)."""

    def __init__(self, config: pytest.Config, options: PluginOptions) -> None:
        self.config = config
        self.options = options
        self.profile = get_profile(options.profile)
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.is_worker = workerinput is not None
        self.workers = int(workerinput["workercount"]) if workerinput else 1
        # Set by the controller for its workers: the shared embedded server, whether shards are kept whole.
        self.shared: dict[str, Any] = dict(workerinput.get("conformance", {})) if workerinput else {}
        self.embedded = options.target_url is None
        self.command = self.shared.get("command") or ["pytest", *config.invocation_params.args]
        self._server: Any = None  # ReferenceServer, started lazily when this process needs it
        self._api_key: str | None = self.shared.get("api_key")
        self._lock = threading.Lock()
        self.selected: dict[str, Pair] = {}
        self.shard_of: dict[str, int] = {}
        self._outcome: dict[int, str | None] = {}  # shard -> None (ran) or why it could not run
        self.results: dict[str, Result] = {}
        self.runs: list[dict[str, Any]] = []
        self.run_dir: Path | None = None
        self.status: str | None = None
        self.setup_requests = 0  # sent by check_setup on the controller
        self.compare_setup_requests = 0  # sent to the comparison target (--conformance-compare-to) by check_setup

    # --- selection ---------------------------------------------------------------------------

    def pairs(self) -> list[Pair]:
        """Every (check, scenario) the profile selects, ordered by clause, check, scenario."""
        # The same claims as the runs will use, without starting anything at collection time.
        config = RunConfig(base_url=self.options.target_url, profile=self.options.profile,
                           capabilities=self._capabilities(), clauses=self.options.resolved.clause,
                           scenarios=self.options.resolved.scenario)
        checks, scenarios = select(self.profile, config)
        pairs = [(c, s) for c in checks for s in scenarios if c.applies_to(s)]
        return sorted(pairs, key=lambda p: (p[0].rule.id, p[0].name, p[1].name))

    def weights(self) -> dict[str, int]:
        return {name: spec.requests for name, spec in load_suite().scenarios.items()}

    def outside_host_shard(self, scenarios: set[str]) -> set[str]:
        """With --conformance-shard K/N: the scenarios that belong to other hosts' shards."""
        if self.options.shard is None:
            return set()
        mine, count = self.options.shard
        shard_of = partition(scenarios, self.weights(), count)
        return {s for s in scenarios if shard_of[s] != mine}

    def collected(self, pairs: list[Pair]) -> None:
        """Record the items that will run (after -k/-m/--lf) and split their scenarios into shards."""
        self.selected = {f"{c.name}[{s.name}]": (c, s) for c, s in pairs}
        names = {s.name for _, s in pairs}
        if not self.is_worker or self.shared.get("sharded"):
            self.shard_of = partition(names, self.weights(), self.workers)
        else:  # items of one scenario may reach several workers: the smallest unit is one scenario
            self.shard_of = {name: i for i, name in enumerate(sorted(names))}

    # --- target ------------------------------------------------------------------------------

    def target_url(self) -> str:
        if self.options.target_url:
            return self.options.target_url
        if "url" in self.shared:
            return str(self.shared["url"])
        with self._lock:
            if self._server is None:
                from ..servers.launcher import ReferenceServer

                self._api_key = f"sk-embedded-{secrets.token_hex(12)}"
                self._server = ReferenceServer(api_key=self._api_key).start()
        return self._server.url_for(*self.options.defects)

    def shared_for_workers(self, sharded: bool) -> dict[str, Any]:
        """What the controller sends each worker: one embedded server for all, and whether shards stay whole."""
        out: dict[str, Any] = {"sharded": sharded, "command": self.command}
        if self.embedded:
            out["url"] = self.target_url()
            out["api_key"] = self._api_key
        return out

    def run_config(self, scenarios: tuple[str, ...] = ()) -> RunConfig:
        """The engine's configuration for one shard (the controller has run the preflight diagnosis)."""
        from .. import settings

        o = self.options
        base = settings.run_config(o.resolved, o.profile, self.command)
        return dataclasses.replace(
            base, base_url=self.target_url(), model=o.model, api_key=self._api_key, defects=(), scenarios=scenarios,
            clauses=o.resolved.clause, max_requests=self._left("max_requests", "requests"),
            max_tokens_total=self._left("max_tokens_total", "tokens"), capabilities=self._capabilities(),
            diagnose=False, wait=0.0,
        )

    def check_setup(self) -> None:
        """The preflight diagnosis, once per session on the controller: a wrong key, base URL or
        model is a pytest.UsageError, not hundreds of failed items."""
        from ..engine import Budget
        from ..preflight import preflight
        from ..wire.client import RawClient

        comparison = self._comparison()
        if comparison is not None:
            from ..differential import check_reachable

            spent = Budget()
            try:
                check_reachable(comparison, spent)
            except SetupError as exc:
                raise pytest.UsageError(f"conformance: {exc}") from None
            finally:
                self.compare_setup_requests = spent.requests
        if self.embedded:
            return
        config, budget = self.run_config(), Budget()
        with resolve_target(config) as t, RawClient(
                t.base_url, api_key=t.api_key, auth_header=t.auth_header, auth_scheme=t.auth_scheme,
                extra_headers=dict(config.headers), secret_headers=config.secret_headers, limits=config.limits,
                budget=budget, key_env=config.api_key_env) as client:
            try:
                preflight(client, config.limits, model=t.model, key_env=config.api_key_env, wait=self.options.resolved.wait)
            except SetupError as exc:
                prefix = "target unreachable: " if isinstance(exc, TargetUnreachable) else ""
                raise pytest.UsageError(f"conformance: {prefix}{exc}") from None
            finally:
                self.setup_requests = budget.requests

    def _comparison(self) -> Comparison | None:
        """--conformance-compare-to's target (None without it); no embedded server is started for it."""
        from .. import settings

        return comparison_of(settings.run_config(self.options.resolved, self.options.profile, self.command))

    def _capabilities(self) -> str | None:
        """--conformance-capabilities; the embedded server is judged against its own manifest, as `conformance run` does."""
        manifest = self.options.resolved.capabilities
        if manifest is not None:
            return str(manifest)
        return str(REFERENCE_CAPABILITIES) if self.embedded else None

    def _left(self, option: str, spent: str) -> int | None:
        """A whole-run cap (--conformance-max-requests, --conformance-max-tokens-total): each xdist
        worker gets an equal part of it, less what its earlier shards spent."""
        cap: int | None = self.options.resolved.values[option]
        if cap is None:
            return None
        return max(1, cap // self.workers - sum(run[spent] for run in self.runs))

    def target(self) -> Target:
        """The target as the fixtures expose it (the embedded server is started if needed)."""
        with resolve_target(self.run_config()) as target:
            return dataclasses.replace(target, embedded=self.embedded)

    def close(self) -> None:
        """Stop the embedded server if this process started it."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    # --- execution ---------------------------------------------------------------------------

    def result_for(self, key: str) -> Result | None:
        """The engine's result for one item, running the item's shard first if this process has not yet."""
        shard = self.shard_of[self.selected[key][1].name]
        if shard not in self._outcome:
            self._outcome[shard] = self._run_shard(shard)
        problem = self._outcome[shard]
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return self.results.get(key)

    def _run_shard(self, shard: int) -> str | None:
        scenarios = tuple(sorted(name for name, s in self.shard_of.items() if s == shard))
        try:
            report = execute(self.run_config(scenarios))
        except TargetUnreachable as exc:
            return f"target unreachable: {exc}"
        except (SetupError, ValueError, RuntimeError) as exc:
            return f"the conformance run could not start: {exc}"
        self.results.update((r.key, r) for r in report.results if r.key in self.selected)
        self.runs.append(_run_meta(report, self.embedded))
        return None

    def interrupted(self) -> bool:
        """Whether a shard run in this process was interrupted (a missing result then means 'not run')."""
        return any(run["interrupted"] for run in self.runs)

    # --- merge and report --------------------------------------------------------------------

    def export(self) -> str:
        """This worker's results and run records, as JSON for xdist's workeroutput."""
        return json.dumps({"results": [r.to_dict() for r in self.results.values()], "runs": self.runs}, default=str)

    def absorb(self, payload: str) -> None:
        """Merge one worker's export (controller side)."""
        data = json.loads(payload)
        for item in data["results"]:
            result = _result_from_dict(item)
            self.results[result.key] = result
        self.runs.extend(data["runs"])

    def write_report(self, interrupted: bool) -> None:
        """Write reports/<run-id>/ exactly as `conformance run` does, when any shard ran."""
        if not self.runs:
            return
        from ..service import Outputs, conclude

        baseline = self.options.resolved.baseline
        finished = conclude(self._merged(interrupted), Outputs(
            self.options.reports_dir, self.options.fail_on, self.options.waivers, str(baseline) if baseline else None,
            self.options.resolved.keep))
        if finished.run_dir is None:
            raise OSError("; ".join(finished.problems))
        for problem in finished.problems:  # report.json is written; another format is not
            print(f"error: {problem}", file=sys.stderr)
        self.run_dir = finished.run_dir
        self.status = finished.document["summary"]["status"]

    def _merged(self, interrupted: bool) -> RunReport:
        started = min(r["started_at"] for r in self.runs)
        provenance = dict(self.runs[0]["provenance"])
        comparison = self._comparison()
        redactor = Redactor([*(k for k in (self._api_key, os.environ.get(self.options.api_key_env)) if k),
                             *url_secrets(provenance["target_url"]), *(comparison.secrets() if comparison else ())])
        provenance["command"] = redactor.text(shlex.join(self.command))
        provenance["front_end"] = "pytest"
        if self.options.shard is not None:  # `conformance merge` checks that every shard of the run is there
            provenance["shard"] = f"{self.options.shard[0] + 1}/{self.options.shard[1]}"
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + uuid.uuid4().hex[:6]
        target = Target(provenance["target_url"], provenance["model"], embedded=self.embedded)
        return RunReport(
            run_id, self.profile, target, list(self.results.values()), started,
            max(r["finished_at"] for r in self.runs), interrupted or any(r["interrupted"] for r in self.runs),
            self.setup_requests + sum(r["requests"] for r in self.runs), sum(r["tokens"] for r in self.runs),
            provenance, redactor, {name: rec for run in self.runs for name, rec in run.get("recordings", {}).items()},
            merged_sections([run["differences"] for run in self.runs if run.get("differences") is not None],
                            self.compare_setup_requests),
        )


def _run_meta(report: RunReport, embedded: bool) -> dict[str, Any]:
    provenance = dict(report.provenance, embedded_server=embedded)
    return {"started_at": report.started_at, "finished_at": report.finished_at, "interrupted": report.interrupted,
            "requests": report.requests, "tokens": report.tokens, "provenance": provenance,
            "recordings": report.recordings, "differences": report.differences}


def _result_from_dict(data: dict[str, Any]) -> Result:
    values = {f.name: data[f.name] for f in dataclasses.fields(Result) if f.name in data}
    values["verdict"] = Verdict(data["verdict"])
    return Result(**values)
