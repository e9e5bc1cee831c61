"""The GitHub Action (action.yml): its inputs and outputs, third-party actions pinned by commit SHA,
an artifact name unique per matrix job, no input expanded inside a script, and its own shell steps
run here against the reference server (a failing run, a config file and extra arguments, no
target, an unreachable target, the gate)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from report_fixtures import PLANTED_KEY

from conformance.servers.launcher import ReferenceServer

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
_PINNED = re.compile(r"^\s*uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def _action() -> dict[str, Any]:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def _step(name: str) -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if s.get("id") == name or s["name"] == name)


def test_inputs_and_outputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"base-url", "model", "api-key", "profile", "fail-on", "baseline", "config", "args", "wait", "python-version",
            "cache", "reports-dir", "artifact-name", "compare-to", "compare-model", "compare-api-key"} <= set(action["inputs"])
    assert {"verdict", "exit-code", "report-dir", "report-html", "report-json"} <= set(action["outputs"])
    assert all(i.get("description") for i in action["inputs"].values())
    assert int(action["inputs"]["wait"]["default"]) > 0


def test_third_party_actions_are_pinned_by_commit_sha() -> None:
    uses = [s["uses"] for s in _action()["runs"]["steps"] if "uses" in s]
    assert {u.split("@")[0] for u in uses} >= {"actions/setup-python", "actions/cache/restore", "actions/cache/save",
                                               "actions/upload-artifact"}
    pinned = [m for line in ACTION.read_text(encoding="utf-8").splitlines() if (m := _PINNED.match(line))]
    assert [f"{m.group(1)}@{m.group(2)}" for m in pinned] == uses  # each with its tag in a comment


def test_no_input_is_expanded_inside_a_script() -> None:
    for step in _action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]  # values go through env: no shell injection


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What the runner gives a step, with the inputs as the action maps them."""
    inputs = {"IN_BASE_URL": "", "IN_MODEL": "reference-model", "IN_PROFILE": "", "IN_FAIL_ON": "", "IN_BASELINE": "",
              "IN_CONFIG": "", "IN_ARGS": "", "IN_WAIT": "5", "IN_REPORTS_DIR": "out"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "OPENAI_"))}
    return {**env, **inputs, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(tmp_path / "github-output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary"),
            "RUNNER_TEMP": str(tmp_path), "CONFORMANCE_API_KEY": PLANTED_KEY, **extra}


def _run_step(name: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    outputs = Path(env["GITHUB_OUTPUT"])
    outputs.unlink(missing_ok=True)
    # As the runner runs a composite step with `shell: bash`.
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _step(name)["run"]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    written = outputs.read_text(encoding="utf-8").splitlines() if outputs.exists() else []
    return done, dict(line.split("=", 1) for line in written)


def test_artifact_names_are_unique_per_matrix_job(tmp_path: Path) -> None:
    step = _step("prepare")
    assert step["env"]["JOB_INDEX"] == "${{ strategy.job-index }}"
    assert _step("Upload the reports")["with"]["name"] == "${{ steps.prepare.outputs.artifact-name }}"
    names = []
    for index in ("0", "1"):
        env = _env(tmp_path, ACTION_PATH=str(ROOT), IN_ARTIFACT_NAME="", GITHUB_JOB="conformance", JOB_INDEX=index,
                   GITHUB_RUN_ATTEMPT="2")
        done, outputs = _run_step("prepare", env, tmp_path)
        assert done.returncode == 0, done.stderr
        names.append(outputs["artifact-name"])
        assert re.fullmatch(r"\d+\.\d+", outputs["python"]) and re.fullmatch(r"[0-9a-f]{16}", outputs["dependencies"])
        assert outputs["pip-cache"]
    assert names == ["conformance-conformance-0-2", "conformance-conformance-1-2"]
    chosen = _env(tmp_path, ACTION_PATH=str(ROOT), IN_ARTIFACT_NAME="mine", GITHUB_JOB="j", JOB_INDEX="0", GITHUB_RUN_ATTEMPT="1")
    assert _run_step("prepare", chosen, tmp_path)[1]["artifact-name"] == "mine"


@pytest.fixture(scope="module")
def server() -> Any:
    with ReferenceServer(api_key=PLANTED_KEY) as running:
        yield running


def test_a_failing_run_records_its_outputs_and_the_gate_fails(server: ReferenceServer, tmp_path: Path) -> None:
    env = _env(tmp_path, IN_BASE_URL=server.url_for("body-object-wrong"), IN_PROFILE="smoke",
               IN_ARGS="--scenario chat_basic --scenario 'stream_basic' --max-tokens 8")
    done, outputs = _run_step("run", env, tmp_path)
    assert done.returncode == 0, done.stderr  # the run step records the code; the gate step fails the job
    run_dir = Path(outputs["report-dir"])
    assert run_dir.is_absolute() and run_dir.parent == tmp_path / "out"
    assert outputs == {"exit-code": "1", "verdict": "non-conformant", "report-dir": str(run_dir),
                       "report-html": str(run_dir / "report.html"), "report-json": str(run_dir / "report.json")}
    assert (run_dir / "report.html").exists()
    configuration = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["provenance"]["configuration"]
    assert configuration["scenario"] == {"value": ["chat_basic", "stream_basic"], "from": "flag"}  # args, split
    assert configuration["max_tokens"] == {"value": 8, "from": "flag"}
    assert PLANTED_KEY not in done.stdout + done.stderr + (tmp_path / "step-summary").read_text(encoding="utf-8")
    gate = _step("Gate")["run"]
    assert subprocess.run(["bash", "-e", "-c", gate], env={**env, "CODE": "1"}, capture_output=True).returncode == 1
    assert subprocess.run(["bash", "-e", "-c", gate], env={**env, "CODE": "0"}, capture_output=True).returncode == 0


def test_differential_mode_compares_with_a_second_target_and_keeps_its_key_out(server: ReferenceServer,
                                                                                tmp_path: Path) -> None:
    env = _env(tmp_path, IN_BASE_URL=server.base_url, IN_PROFILE="smoke", IN_ARGS="--scenario stream_basic",
               IN_COMPARE_TO=server.url_for("sse-no-done"), IN_COMPARE_MODEL="reference-model",
               CONFORMANCE_COMPARE_KEY=PLANTED_KEY)
    done, outputs = _run_step("run", env, tmp_path)
    assert done.returncode == 0 and outputs["exit-code"] == "0", done.stderr  # differences are not verdicts
    section = json.loads(Path(outputs["report-json"]).read_text(encoding="utf-8"))["differences"]
    assert [(i["aspect"], i["this"], i["comparison"]) for i in section["items"]] == [("SSE [DONE] sentinel", "present", "absent")]
    summary = (tmp_path / "step-summary").read_text(encoding="utf-8")
    assert "Differences from the comparison target" in summary and PLANTED_KEY not in summary + done.stdout


def test_a_config_file_gives_the_target_and_paths_stay_relative_to_the_workspace(server: ReferenceServer,
                                                                                  tmp_path: Path) -> None:
    config = tmp_path / "ci" / "conformance.toml"
    config.parent.mkdir()
    config.write_text(f'base-url = "{server.base_url}"\nmodel = "reference-model"\nprofile = "smoke"\n', encoding="utf-8")
    done, outputs = _run_step("run", _env(tmp_path, IN_CONFIG="ci/conformance.toml", IN_MODEL=""), tmp_path)
    assert done.returncode == 0, done.stderr
    assert outputs["exit-code"] == "0" and outputs["verdict"] == "conformant"
    assert Path(outputs["report-dir"]).parent == tmp_path / "out"  # reports-dir is the workspace's, not the config's
    wrong = _run_step("run", _env(tmp_path, IN_CONFIG="ci/settings.toml"), tmp_path)
    assert wrong[0].returncode == 2 and "neither a conformance.toml nor a pyproject.toml" in wrong[0].stdout


def test_no_target_is_refused_instead_of_testing_the_embedded_server(tmp_path: Path) -> None:
    done, outputs = _run_step("run", _env(tmp_path), tmp_path)
    assert done.returncode == 2 and outputs == {"exit-code": "2"}
    assert done.stdout.startswith("::error::no target: set the input base-url")
    assert not (tmp_path / "out").exists()


def test_an_unreachable_target_is_one_clear_error_after_the_wait(tmp_path: Path) -> None:
    env = _env(tmp_path, IN_BASE_URL="http://127.0.0.1:9/v1", IN_WAIT="1")
    done, outputs = _run_step("run", env, tmp_path)
    assert done.returncode == 0 and outputs == {"exit-code": "2"}
    error = [line for line in done.stdout.splitlines() if line.startswith("::error::")]
    assert len(error) == 1 and "target unreachable" in error[0] and "after waiting up to 1 s: input wait" in error[0]
