"""The pytest plugin: inert without its flags, pytest-native items, same verdicts and report as the CLI.

Runs pytest and the CLI in subprocesses (the plugin is loaded through its pytest11 entry point,
as in a user's project) inside a temporary project directory.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.engine import Result, Verdict
from conformance.pytest_plugin.items import describe
from conformance.pytest_plugin.shards import parse_shard, partition, scenario_of
from conformance.pytest_plugin.state import _result_from_dict
from conformance.servers.launcher import ReferenceServer
from conformance.suite import load_suite

# In-process pytester runs restore sys.modules afterwards; loading the suite here first keeps
# its modules imported, so a later run does not register the same scenarios a second time.
load_suite()

KEY = f"sk-plugin-test-{secrets.token_hex(8)}"
COMPARED = ("chat_basic", "stream_basic", "stream_include_usage", "stream_tools_required", "tools_required",
            "sdk_chat", "sdk_stream", "sdk_stream_helper", "sdk_invalid_request")
USER_TESTS = '''
from hypothesis import given, settings, strategies as st


def test_greeting_is_answered(conformance_context):
    ctx = conformance_context
    exchange = ctx.send(ctx.body("Say hello."))
    assert exchange.status == 200, exchange.transcript()
    assert exchange.json()["choices"][0]["message"]["role"] == "assistant"


@settings(max_examples=5, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_generated_requests_are_accepted(conformance_context, conformance_strategies, data):
    body = data.draw(conformance_strategies.valid_requests(stream=False))
    exchange = conformance_context.send(body)
    assert exchange.status == 200, exchange.request.curl()
'''


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY) as running:
        yield running


def _project(tmp_path: Path, tests: str = "") -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    if tests:
        (tmp_path / "test_user.py").write_text(tests)
    return tmp_path


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OPENAI_API_KEY=KEY)
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def _report(reports: Path) -> dict:
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    return json.loads((run_dir / "report.json").read_text())


def test_without_flags_the_plugin_adds_nothing_and_imports_little(tmp_path: Path) -> None:
    project = _project(tmp_path, "import sys\n\n\ndef test_own():\n"
                                 "    print('LOADED', sorted(m for m in sys.modules if m.startswith('conformance')))\n")
    ran = _run(project, "-q", "-s", "-p", "no:cacheprovider")
    assert "1 passed" in ran.stdout, ran.stdout
    loaded = set(json.loads(re.search(r"LOADED (\[.*\])", ran.stdout).group(1).replace("'", '"')))
    assert loaded <= {"conformance", "conformance.clauses", "conformance.options", "conformance.profiles",
                      "conformance.pytest_plugin", "conformance.pytest_plugin.shards"}
    assert not (project / "reports").exists()


def test_items_are_named_and_marked_for_k_and_m(pytester: pytest.Pytester) -> None:
    by_mark = pytester.runpytest("--conformance", "--collect-only", "-q", "--strict-markers", "-m", "stream and must")
    ids = [line for line in by_mark.outlines if line.startswith("conformance::")]
    assert ids and all(re.fullmatch(r"conformance::SSE-\d\d::\w+\.\w+\[\w+\]", i) for i in ids), by_mark.outlines
    by_key = pytester.runpytest("--conformance", "--collect-only", "-q", "-k", "SSE-03 and stream_basic")
    assert [line for line in by_key.outlines if line.startswith("conformance::")] == [
        "conformance::SSE-03::stream.ends_with_done[stream_basic]"]


def test_cli_and_plugin_under_xdist_give_the_same_verdicts(tmp_path: Path, server: ReferenceServer) -> None:
    project = _project(tmp_path)
    env = dict(os.environ, OPENAI_API_KEY=KEY)
    cli = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--base-url", server.base_url, "--model", "reference-model",
         *[arg for name in COMPARED for arg in ("--scenario", name)], "--reports-dir", str(tmp_path / "cli"), "--quiet"],
        cwd=project, env=env, capture_output=True, text=True, timeout=240,
    )
    assert cli.returncode in (0, 1), cli.stderr
    plugin = _run(project, "--target-url", server.base_url, "--target-model", "reference-model", "-n", "2",
                  "-k", " or ".join(COMPARED), "--conformance-reports-dir", str(tmp_path / "plugin"), "-q")
    assert plugin.returncode in (0, 1), plugin.stdout + plugin.stderr
    cli_report, plugin_report = _report(tmp_path / "cli"), _report(tmp_path / "plugin")
    verdicts = {r["key"]: r["verdict"] for r in cli_report["results"]}
    assert len(verdicts) > 100
    assert {r["key"]: r["verdict"] for r in plugin_report["results"]} == verdicts
    assert plugin_report["summary"] == cli_report["summary"]
    # The controller's preflight diagnosis (GET /models, one chat request) and one GET /models per worker,
    # against the CLI's one preflight (GET /models, one chat request); every scenario's requests were sent once.
    assert plugin_report["run"]["requests"] == cli_report["run"]["requests"] + 2
    assert plugin_report["provenance"]["front_end"] == "pytest"


def test_differential_mode_merges_the_differences_of_the_workers(tmp_path: Path, server: ReferenceServer) -> None:
    project = _project(tmp_path)
    common = ("--target-url", server.base_url, "--target-model", "reference-model", "-q", "-p", "no:cacheprovider")
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", *common, "-n", "2", "-k", "stream_basic or chat_basic or stream_usage",
         "--conformance-compare-to", server.url_for("sse-no-done"), "--conformance-reports-dir", str(tmp_path / "r")],
        cwd=project, env=dict(os.environ, OPENAI_API_KEY=KEY, COMPARE_API_KEY=KEY), capture_output=True, text=True,
        timeout=240)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    section = _report(tmp_path / "r")["differences"]
    assert [(i["aspect"], i["this"], i["comparison"]) for i in section["items"]] == [("SSE [DONE] sentinel", "present", "absent")]
    assert "stream_basic" in {w["scenario"] for w in section["items"][0]["where"]}
    assert section["requests"] > 2  # the controller's comparison preflight and the workers' requests
    unreachable = _run(project, *common, "--conformance-compare-to", "http://127.0.0.1:9/v1")
    assert unreachable.returncode == 4 and "comparison target unreachable" in unreachable.stderr


def test_failures_rerun_with_lf_and_land_in_junit(pytester: pytest.Pytester) -> None:
    args = ("--conformance", "--conformance-defect", "tool-delta-without-index", "-m", "sdk")
    first = pytester.runpytest(*args, "--junitxml", "junit.xml")
    first.assert_outcomes(passed=5, failed=1, skipped=1)
    first.stdout.fnmatch_lines(["FAILED conformance::SDK-03::openai_sdk.stream_helper_consumed[[]sdk_stream_helper[]]*"])
    assert "observed: TypeError: list indices must be integers" in first.stdout.str()
    junit = (pytester.path / "junit.xml").read_text()
    assert '<property name="clause" value="SDK-03"' in junit and '<property name="verdict" value="FAIL"' in junit
    again = pytester.runpytest(*args, "--lf")
    again.assert_outcomes(failed=1, deselected=len(_all_items(pytester)) - 1)
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure"])


def test_user_checks_use_the_public_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.runpytest("--conformance", "-k", "test_user").assert_outcomes(passed=2, deselected=len(_all_items(pytester)))
    without = pytester.runpytest("-rs")
    without.assert_outcomes(skipped=2)
    assert "no conformance target" in without.stdout.str()


def _all_items(pytester: pytest.Pytester) -> list[str]:
    collected = pytester.runpytest("--conformance", "--collect-only", "-q", "-k", "not test_user")
    return [line for line in collected.outlines if line.startswith("conformance::")]


def test_host_shards_split_the_items_without_overlap(pytester: pytest.Pytester) -> None:
    def ids(*args: str) -> set[str]:
        out = pytester.runpytest("--conformance", "--collect-only", "-q", "-m", "tools", *args)
        return {line for line in out.outlines if line.startswith("conformance::")}

    first, second, every = ids("--conformance-shard", "1/2"), ids("--conformance-shard", "2/2"), ids()
    assert first and second and not first & second and first | second == every


def test_shards_partition_deterministically_and_balanced() -> None:
    weights = {"a": 3, "b": 1, "c": 1, "d": 1, "e": 2}
    shard_of = partition(["e", "d", "c", "b", "a"], weights, 2)
    assert shard_of == partition(sorted(weights), weights, 2)
    loads = [sum(weights[s] for s, k in shard_of.items() if k == i) for i in range(2)]
    assert sorted(loads) == [4, 4]
    assert scenario_of("conformance::SSE-03::stream.ends_with_done[stream_basic]") == "stream_basic"
    assert scenario_of("tests/test_x.py::test_y[1]") is None
    assert parse_shard("2/3") == (1, 3)
    with pytest.raises(ValueError):
        parse_shard("4/3")


def test_results_survive_the_worker_round_trip_and_describe_themselves() -> None:
    result = Result("stream.ends_with_done", "SSE-03", "MUST", "stream", "ends with [DONE]", "rule text", "stream_basic",
                    Verdict.FAIL, "a final [DONE]", "no [DONE]", "", [{"curl": "curl -sS -N http://x"}])
    assert _result_from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert describe(result).splitlines() == [
        "SSE-03 MUST (stream): ends with [DONE]", "rule: rule text", "expected: a final [DONE]",
        "observed: no [DONE]", "reproduce: curl -sS -N http://x"]
