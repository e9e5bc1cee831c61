"""One conformance run, front-end agnostic: the CLI and the pytest plugin both call `execute`.

It resolves the target (or starts the embedded reference server), runs a preflight, runs the
selected scenarios and checks concurrently, and returns a `RunReport` with provenance.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import __version__, capabilities, coverage, differential, interrupts, schema, selection
from .cassette import Recorder
from .engine import Budget, CheckSpec, Handler, PhaseChanged, Result, ResultReady, Runner, RunStarted, ScenarioSpec, Verdict
from .engine.events import ignore
from .engine.runner import RunOutcome
from .preflight import SetupError, TargetUnreachable, preflight
from .profiles import DEFAULT_PROFILE, Profile, get_profile
from .selection import check_filters
from .target import Context, Target
from .wire.client import Limits, RawClient
from .wire.redact import Redactor, url_secrets

T = TypeVar("T")

EMBEDDED_MODEL = "reference-model"
REPO_ROOT = Path(__file__).resolve().parent.parent
# The reference server's own manifest: what it supports, plus the token for the logit_bias probe.
REFERENCE_CAPABILITIES = Path(__file__).resolve().parent / "servers" / "reference" / "capabilities.yaml"


__all__ = ["RunConfig", "RunReport", "SetupError", "TargetUnreachable", "comparison_of", "execute", "resolve_target", "select"]


@dataclass
class RunConfig:
    base_url: str | None = None  # None: start the embedded reference server
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    api_key: str | None = None  # set programmatically (tests); otherwise read from api_key_env
    auth_header: str = "Authorization"
    auth_scheme: str | None = "Bearer"
    profile: str = DEFAULT_PROFILE
    concurrency: int = 8
    max_requests: int | None = None
    max_tokens_total: int | None = None
    limits: Limits = field(default_factory=Limits)
    seed: int = 0
    max_tokens: int = 16  # max_tokens of probes that do not test a cap themselves
    clauses: tuple[str, ...] = ()  # only these clause ids (prefix match, e.g. "SSE")
    scenarios: tuple[str, ...] = ()  # only these scenario names
    defects: tuple[str, ...] = ()  # embedded server only: run against a mutant
    capabilities: str | None = None  # capability manifest (YAML/TOML); None: the profile's claims
    fuzz_examples: int | None = None  # override the profile's generated-request count
    headers: tuple[tuple[str, str], ...] = ()  # extra request headers (name, value), sent with every request
    secret_headers: tuple[str, ...] = ()  # header names whose values are secrets (redacted like the key)
    max_ttft: float | None = None  # TIM-02: a stream whose first token comes later is a WARN
    max_gap: float | None = None  # TIM-02: a gap between two chunks longer than this is a WARN
    require_auth: bool = False  # a server answering without a key FAILs ERR-05 (the certify profile always requires it)
    wait: float = 0.0  # seconds to keep polling an unreachable target at preflight
    diagnose: bool = True  # preflight chat request that turns set-up mistakes into SetupError
    compare_to: str | None = None  # differential mode: the comparison target's base URL
    compare_model: str | None = None  # its model; None: the run's
    compare_api_key_env: str = "COMPARE_API_KEY"  # the variable holding its key (never a flag)
    resolved: dict[str, Any] = field(default_factory=dict)  # the options as resolved, for provenance
    command: list[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class RunReport:
    run_id: str
    profile: Profile
    target: Target
    results: list[Result]
    started_at: float
    finished_at: float
    interrupted: bool
    requests: int
    tokens: int
    provenance: dict[str, Any]
    redactor: Redactor
    recordings: dict[str, Any] = field(default_factory=dict)  # scenario -> its evidence, for `conformance replay`
    differences: dict[str, Any] | None = None  # differential mode: see differential.compare
    coverage: dict[str, Any] | None = None  # the contract coverage of what ran (coverage.run_section)


def select(profile: Profile, config: RunConfig,
           manifest: capabilities.Manifest | None = None) -> tuple[list[CheckSpec], list[ScenarioSpec]]:
    """What ``config`` runs in ``profile`` (see selection.select); ``manifest`` when already loaded."""
    manifest = manifest or _manifest(config, profile)
    return selection.select(profile, clauses=config.clauses, scenarios=config.scenarios,
                            reconcile=manifest.explicit)  # claims written down, not implied


def select_checked(profile: Profile, config: RunConfig,
                   manifest: capabilities.Manifest | None = None) -> tuple[list[CheckSpec], list[ScenarioSpec]]:
    """`select`, refusing filters that match nothing (SetupError): 0 checks is no verdict."""
    check_filters(config.clauses, config.scenarios, config.defects)
    checks, scenarios = select(profile, config, manifest)
    if (config.clauses or config.scenarios) and not any(c.applies_to(s) for c in checks for s in scenarios):
        asked = " ".join([*(f"--clause {c}" for c in config.clauses), *(f"--scenario {n}" for n in config.scenarios)])
        raise SetupError(f"{asked} selects no check in profile {profile.name} "
                         f"(`conformance list-checks --profile {profile.name}` shows what it runs)")
    return checks, scenarios


@contextmanager
def resolve_target(config: RunConfig) -> Iterator[Target]:
    """The user's target, or the embedded reference server (started here, stopped on exit)."""
    if config.base_url:
        key = config.api_key if config.api_key is not None else os.environ.get(config.api_key_env) or None
        yield Target(config.base_url.rstrip("/"), config.model or "", key, config.auth_header, config.auth_scheme)
        return
    from .servers.launcher import ReferenceServer

    key = config.api_key or f"sk-embedded-{secrets.token_hex(12)}"
    with ReferenceServer(api_key=key) as server:
        url = server.url_for(*config.defects) if config.defects else server.base_url
        yield Target(url, config.model or EMBEDDED_MODEL, key, "Authorization", "Bearer", embedded=True)


def execute(config: RunConfig, emit: Handler = ignore) -> RunReport:
    """One run, its progress published to ``emit`` (see engine/events.py; RunFinished is the
    caller's to publish, once the report is written).  A KeyboardInterrupt (Ctrl-C, or SIGTERM as the CLI maps it) at any point --
    while the embedded server starts, during the preflight or the run -- stops the server and
    still returns the partial report, marked interrupted.  Raises TargetUnreachable when the
    preflight cannot reach the target, SetupError (its base class) for other set-up mistakes the
    preflight diagnoses, and ValueError for unusable options."""
    profile = get_profile(config.profile)
    if config.fuzz_examples is not None:
        profile = dataclasses.replace(profile, fuzz_examples=config.fuzz_examples)
    if config.require_auth:
        profile = dataclasses.replace(profile, require_auth=True)
    # Placeholders until the target is resolved: an interrupt can arrive at any point (even while
    # the suite is imported or the embedded server starts), and the partial report still needs a
    # target, a manifest and a redactor.
    manifest = capabilities.default_for(profile.name)
    target = Target(config.base_url or "(embedded reference server, not started)", config.model or EMBEDDED_MODEL,
                    embedded=not config.base_url)
    redactor = _config_redactor(config)
    budget = Budget(config.max_requests, config.max_tokens_total)
    facts: dict[str, Any] = {}
    outcome = RunOutcome(started_at=time.time(), interrupted=True)
    covering: Future[dict[str, Any]] | None = None
    owned = interrupts.holding()  # the command's: held again once the guard ends, so its report gets written
    recorder = Recorder()
    comparison = comparison_of(config)
    compare_budget = Budget()
    differences: dict[str, Any] | None = None
    try:
        manifest = _manifest(config, profile)
        checks, scenarios = select_checked(profile, config, manifest)  # imports the whole suite: ~0.5 s, interrupts still held
        # The report's coverage section is computed beside the first requests, not before them.
        covering = _in_background(coverage.run_section, profile.name, (checks, scenarios))
        interrupts.deliver()  # an interrupt held since the CLI started is raised here, inside the guard
        if comparison is not None and config.diagnose:  # the pytest plugin checks it once, before its shards
            emit(PhaseChanged("preflight"))
            differential.check_reachable(comparison, compare_budget)
        if any("sdk" in s.tags for s in scenarios):
            from .sdk.client import preload

            preload()
        with resolve_target(config) as target:
            if not target.model:
                raise ValueError("--model is required with --base-url")
            client = RawClient(
                target.base_url, api_key=target.api_key, auth_header=target.auth_header, auth_scheme=target.auth_scheme,
                extra_headers=dict(config.headers), secret_headers=config.secret_headers, secrets=target.secrets,
                limits=config.limits, budget=budget, stall_limit=stall_limit(config.concurrency), key_env=config.api_key_env,
            )
            redactor = client.redactor
            for secret in comparison.secrets() if comparison is not None else ():
                redactor.add_secret(secret)  # the comparison key never reaches a report either
            with client:
                emit(PhaseChanged("preflight"))
                facts = preflight(client, config.limits, model=target.model if config.diagnose else None,
                                  key_env=config.api_key_env, wait=config.wait)
                facts.update(max_ttft=config.max_ttft, max_gap=config.max_gap)  # TIM-02's limits
                ctx = Context(client, target, profile, budget, max_tokens=config.max_tokens, seed=config.seed, facts=facts,
                              capabilities=manifest)
                main = [s for s in scenarios if "after" not in s.marks]
                on_result = _publisher(emit)
                runner = Runner(checks, main, ctx, concurrency=config.concurrency, redact=client.redactor.text,
                                on_result=on_result, replay_if=_transport_broke, on_evidence=recorder.record,
                                replay_context=lambda context: dataclasses.replace(context, replaying=True))
                emit(RunStarted(len(checks), len(scenarios), sum(1 for c in checks for s in scenarios if c.applies_to(s))))
                emit(PhaseChanged("scenarios"))
                outcome = runner.run()
                after = [s for s in scenarios if "after" in s.marks]
                if after and not outcome.interrupted:
                    facts.update(concurrency=config.concurrency, replays=outcome.replays)
                    emit(PhaseChanged("closing"))
                    closing = Runner(checks, after, ctx, concurrency=1, redact=client.redactor.text,
                                     on_result=on_result, on_evidence=recorder.record).run()
                    outcome.results += closing.results
                    outcome.interrupted = closing.interrupted
                    outcome.finished_at = closing.finished_at  # the run lasts until its closing probes end
            if comparison is not None and not outcome.interrupted:
                emit(PhaseChanged("comparing"))
                differences = differential.compare(
                    recorder.recordings, base_url=target.base_url, model=target.model, comparison=comparison,
                    budget=compare_budget, run_headers=[n for n, _ in config.headers], auth_header=target.auth_header)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        if owned:
            interrupts.defer()
    outcome.finished_at = outcome.finished_at or time.time()
    outcome.results = honest_skips(outcome.results)
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(outcome.started_at)) + "-" + uuid.uuid4().hex[:6]
    provenance = _provenance(config, target, profile, facts, redactor, manifest)
    return RunReport(run_id, profile, target, outcome.results, outcome.started_at, outcome.finished_at,
                     outcome.interrupted, budget.requests, budget.tokens, provenance, redactor, recorder.recordings,
                     differences, covering.result() if covering is not None else None)


def _in_background(work: Callable[..., T], *args: Any) -> Future[T]:
    """``work(*args)`` in a daemon thread; its result (or exception) in the future returned."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work(*args))
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=getattr(work, "__name__", "background"), daemon=True).start()
    return future


def comparison_of(config: RunConfig) -> differential.Comparison | None:
    """Differential mode's target (None without --compare-to)."""
    if not config.compare_to:
        return None
    key = os.environ.get(config.compare_api_key_env) or None
    return differential.Comparison(config.compare_to, config.compare_model or config.model or EMBEDDED_MODEL, key,
                                   config.compare_api_key_env, config.concurrency, config.limits)


def _publisher(emit: Handler) -> Callable[[Result], None]:
    def publish(result: Result) -> None:
        emit(ResultReady(result))

    return publish


# Failures that a request in flight beside another can cause: no complete response, a stream cut
# short (no [DONE], no finish_reason, no choice).  A scenario showing one is replayed alone.
_INTERFERENCE_CLAUSES = frozenset({"HTTP-01", "SSE-03", "SSE-07", "SSE-17"})


_JUDGED_BY = re.compile(r"judged by ((?:[A-Z]+-\d+)(?: / [A-Z]+-\d+)*)")


def honest_skips(results: list[Result]) -> list[Result]:
    """A SKIP that says "judged by X" where X did not run (filtered out, or not in the profile)
    says so instead of pointing at a verdict that does not exist."""
    ran = {r.clause for r in results if r.verdict is not Verdict.SKIP}

    def reword(match: re.Match[str]) -> str:
        named = match.group(1).split(" / ")
        if any(c in ran for c in named):
            return match.group(0)
        return f"for {match.group(1)} to judge, which did not run here"

    for result in results:
        if result.verdict is Verdict.SKIP and "judged by" in result.note:
            result.note = _JUDGED_BY.sub(reword, result.note)
    return results


def _transport_broke(results: list[Result]) -> bool:
    """A scenario is replayed alone when an exchange of it broke or a stream of it was cut short."""
    return any(r.clause in _INTERFERENCE_CLAUSES and r.verdict is Verdict.FAIL for r in results)


def _config_redactor(config: RunConfig) -> Redactor:
    """The secrets known before any client exists: the key and the values of secret headers."""
    secret_names = {n.lower() for n in config.secret_headers}
    values = [config.api_key, os.environ.get(config.api_key_env)]
    values += [v for n, v in config.headers if n.lower() in secret_names]
    values += url_secrets(config.base_url or "") + url_secrets(config.compare_to or "")
    values.append(os.environ.get(config.compare_api_key_env) if config.compare_to else None)
    return Redactor([v for v in values if v], extra_sensitive_headers=config.secret_headers)


def stall_limit(concurrency: int) -> int:
    """Consecutive exchanges ended by a deadline or a cap after which the run stops sending: one
    full wave of concurrent scenarios, so one slow scenario among healthy ones never trips it, and
    a run against a target that stalls every exchange costs about twice the per-exchange deadline
    (the wave that trips it, and the exchanges started while it was ending)."""
    return max(4, concurrency)


def _provenance(config: RunConfig, target: Target, profile: Profile, facts: dict[str, Any],
                redactor: Redactor, manifest: capabilities.Manifest) -> dict[str, Any]:
    return {
        "suite_version": __version__,
        "suite_commit": _git_commit(),
        "schema_hash": schema.schema_hash(),
        "profile": profile.name,
        "command": redactor.text(shlex.join(config.command)),
        "target_url": target.base_url,
        "model": target.model,
        "embedded_server": target.embedded,
        "server_headers": facts.get("server_headers", {}),
        "models_status": facts.get("models_status"),
        "models": redactor.obj(facts.get("models")),
        "seed": config.seed,
        "capabilities": manifest.to_dict(),
        "concurrency": config.concurrency,
        "limits": dataclasses.asdict(config.limits),
        "python": sys.version.split()[0],
        # Every option as resolved from defaults, config file, environment and flags (secrets redacted).
        "configuration": redactor.obj(config.resolved),
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _manifest(config: RunConfig, profile: Profile) -> capabilities.Manifest:
    """The user's capability manifest; for the embedded server its own manifest; otherwise the
    claims the profile stands for."""
    if config.capabilities:
        return capabilities.load(config.capabilities)
    if not config.base_url:
        return capabilities.load(REFERENCE_CAPABILITIES)
    return capabilities.default_for(profile.name)
