"""pytest plugin (entry point ``pytest11``): the conformance suite as pytest items, and public fixtures.

Inactive unless asked for: without ``--target-url`` or ``--conformance`` it adds no item and
imports nothing beyond this module and the clause table (for marker registration), so installing
the package does not change or slow down an unrelated project's test run.

    pytest --target-url http://127.0.0.1:8000/v1 --target-model my-model -m "stream and must"
    pytest --conformance -n auto            # the embedded reference server, sharded over workers

Items are ``conformance::<clause>::<check>[<scenario>]``; their results come from the same
engine run as ``conformance run`` and the same report files are written.  Fixtures for users'
own checks: ``conformance_target``, ``conformance_client``, ``conformance_context``,
``conformance_strategies`` (they skip the test when no target was given).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .shards import ROOT

if TYPE_CHECKING:
    from ..target import Context, Target
    from ..wire.client import RawClient
    from .state import RunState
    from .strategies import TargetStrategies

STATE: pytest.StashKey[RunState] = pytest.StashKey()
_SHARDED_DIST_MODES = ("load", "loadgroup", "loadscope")


class ConformanceWarning(UserWarning):
    """A SHOULD clause was violated (verdict WARN): the item passes; `-W error::conformance.pytest_plugin.ConformanceWarning` fails it."""


def pytest_addoption(parser: pytest.Parser) -> None:
    from ..options import add_to_pytest

    g = parser.getgroup("conformance", "OpenAI-compatible Chat Completions conformance suite")
    g.addoption("--conformance", action="store_true", dest="conformance_enabled",
                help="run the conformance suite (against the embedded reference server unless --target-url is given)")
    add_to_pytest(g)  # the run options, declared once in conformance.options (as `conformance run` has them)
    g.addoption("--conformance-shard", dest="conformance_shard", metavar="K/N",
                help="run only shard K of N (scenarios split deterministically), e.g. one shard per CI host")


def pytest_configure(config: pytest.Config) -> None:
    from ..clauses import CLAUSES

    config.addinivalue_line("markers", "conformance: an item of the OpenAI-compatible conformance suite")
    for level in ("must", "should", "may"):
        config.addinivalue_line("markers", f"{level}: conformance item judging a {level.upper()} clause")
    for area in sorted({c.area for c in CLAUSES.values()}):
        config.addinivalue_line("markers", f"{area}: conformance items of the {area} area")
    # Only these flags turn the suite on: OPENAI_BASE_URL or a config file alone must not change a project's tests.
    if config.getoption("conformance_base_url") or config.getoption("conformance_enabled"):
        from .state import PluginOptions, RunState

        config.stash[STATE] = RunState(config, PluginOptions.from_config(config))


def pytest_sessionstart(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None and not state.is_worker and not session.config.option.collectonly:
        state.check_setup()


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None:
        state.close()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    report = yield
    if isinstance(collector, pytest.Session) and report.passed and STATE in collector.config.stash:
        from .items import ConformanceRoot

        report.result.append(ConformanceRoot.from_parent(collector, name=ROOT, nodeid=ROOT))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.options.shard is None:
        return
    from .items import ConformanceItem

    elsewhere = state.outside_host_shard({i.scenario.name for i in items if isinstance(i, ConformanceItem)})
    dropped = [i for i in items if isinstance(i, ConformanceItem) and i.scenario.name in elsewhere]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not (isinstance(i, ConformanceItem) and i.scenario.name in elsewhere)]


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None:
        from .items import ConformanceItem

        state.collected([(i.check, i.scenario) for i in session.items if isinstance(i, ConformanceItem)])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    if state.is_worker:
        session.config.workeroutput["conformance"] = state.export()  # type: ignore[attr-defined]
    else:
        state.write_report(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.run_dir is None:
        return
    terminalreporter.write_sep("-", "conformance report")
    terminalreporter.write_line(f"{str(state.status).upper()}: {state.run_dir / 'report.json'}")


# --- pytest-xdist (optional hooks: absent xdist, pytest never calls them) ---------------------


def _sharded(config: pytest.Config) -> bool:
    return config.getoption("dist", "no") in _SHARDED_DIST_MODES


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    state = config.stash.get(STATE, None)
    if state is None or not _sharded(config):
        return None
    from .scheduler import ShardScheduling

    return ShardScheduling(config, log, state.weights())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    state = node.config.stash.get(STATE, None)
    if state is not None:
        node.workerinput["conformance"] = state.shared_for_workers(_sharded(node.config))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    state = node.config.stash.get(STATE, None)
    payload = getattr(node, "workeroutput", {}).get("conformance")
    if state is not None and payload:
        state.absorb(payload)


# --- public fixtures ------------------------------------------------------------------------------


def _state(request: pytest.FixtureRequest) -> RunState:
    state = request.config.stash.get(STATE, None)
    if state is None:
        pytest.skip("no conformance target: run pytest with --target-url URL --target-model M, or --conformance")
    return state


@pytest.fixture(scope="session")
def conformance_target(request: pytest.FixtureRequest) -> Target:
    """The server under test (base_url, model, api_key, auth header); skips the test when none was given."""
    return _state(request).target()


@pytest.fixture(scope="session")
def conformance_client(request: pytest.FixtureRequest, conformance_target: Target) -> Iterator[RawClient]:
    """The suite's pooled, recording, redacting client for the target (never follows redirects, enforces the run's limits)."""
    from ..wire.client import RawClient

    state = _state(request)
    t = conformance_target
    with RawClient(t.base_url, api_key=t.api_key, auth_header=t.auth_header, auth_scheme=t.auth_scheme,
                   limits=state.options.limits, key_env=state.options.api_key_env) as client:
        yield client


@pytest.fixture(scope="session")
def conformance_context(request: pytest.FixtureRequest, conformance_client: RawClient, conformance_target: Target) -> Context:
    """What the suite's own scenarios get: ``ctx.body(prompt, **fields)`` and ``ctx.send(body)`` for the target's model."""
    from ..engine import Budget
    from ..target import Context

    state = _state(request)
    return Context(conformance_client, conformance_target, state.profile, Budget(), seed=state.options.seed)


@pytest.fixture(scope="session")
def conformance_strategies(request: pytest.FixtureRequest, conformance_target: Target) -> TargetStrategies:
    """Hypothesis strategies for valid and invalid chat requests, bound to the target's model and profile."""
    from .strategies import TargetStrategies

    state = _state(request)
    return TargetStrategies(conformance_target.model, state.profile.strict, state.profile.vendor)
