"""The README's CI fan-out example ("Shards and CI fan-out: `merge`"), run as GitHub would run it.

The workflow YAML is taken from README.md and every job is executed here, in order, one matrix
combination at a time, each in its own empty workspace: `run:` steps go through `bash -e` with
`${{ matrix.* }}` / `${{ secrets.* }}` and `env:` substituted and `$GITHUB_STEP_SUMMARY` set;
`pip install` steps are skipped (this package is installed); `actions/upload-artifact@v4` and
`actions/download-artifact@v4` are simulated with their documented layout (an upload follows
symbolic links and leaves out hidden files; a download by `pattern` puts each artifact in
`<path>/<artifact name>/`); `actions/checkout` provides the baseline file.  The example's target
URLs are reference servers on 127.0.0.1 (one per host name, each with its own key, so the right
secret must reach each run); `CONFORMANCE_PROFILE=smoke`, a documented environment variable set
only here, keeps the runs small.  The README's pytest-xdist forms run too, the remote-worker one
with a local `popen` gateway in place of `ssh`."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.servers.launcher import ReferenceServer

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "### Shards and CI fan-out: `merge`"
# The README's hosts, each answered by a reference server of its own, and the secret holding its key.
HOSTS = {"https://llm.example.com/v1": "LLM_KEY", "https://vllm.example.com/v1": "VLLM_KEY",
         "https://api.openai.com/v1": "OPENAI_KEY"}
# The README's model names, as the reference server calls its two models.
MODELS = {"my-model": "reference-model", "llama-3.1-8b": "reference-model", "qwen2.5-7b": "reference-model-mini",
          "gpt-4.1-mini": "reference-model"}
BASELINE = "conformance-baseline.yml"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_FORMAT = re.compile(r"format\('([^']*)'((?:\s*,\s*[\w.]+)*)\)")
_ARTIFACT_NAME_FORBIDDEN = set('":<>|*?\r\n\\/')


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    return text[start:text.index("\n### ", start + len(SECTION))]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", _section(), flags=re.M | re.S)


def _workflow() -> dict[str, Any]:
    (block,) = [b for b in _blocks("yaml") if b.startswith("jobs:")]
    workflow: dict[str, Any] = yaml.safe_load(block)
    return workflow


@dataclass
class Step:
    """One step as it ran: the step, its exit code (None: skipped), what it printed."""

    step: dict[str, Any]
    code: int | None
    output: str = ""


@dataclass
class Job:
    """One job of a matrix as it ran, in its workspace."""

    name: str
    matrix: dict[str, Any]
    workspace: Path
    summary: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.code in (0, None) for s in self.steps)

    def run_steps(self) -> list[Step]:
        return [s for s in self.steps if "run" in s.step]


class Runner:
    """The parts of GitHub Actions the example uses: matrices, steps, expressions, artifacts."""

    def __init__(self, root: Path, urls: dict[str, str], secrets: dict[str, str]) -> None:
        self.root, self.urls, self.secrets = root, urls, secrets
        self.artifacts = root / "artifacts"
        self.artifacts.mkdir(parents=True)
        self.jobs: dict[str, list[Job]] = {}

    def run_workflow(self, workflow: dict[str, Any]) -> None:
        for name, job in workflow["jobs"].items():
            needs = job.get("needs", [])
            assert set([needs] if isinstance(needs, str) else needs) <= set(self.jobs), f"{name} needs a later job"
            combinations = _combinations(job.get("strategy", {}))
            self.jobs[name] = [self.run_job(name, job, matrix, f"{name}-{n}") for n, matrix in enumerate(combinations)]

    def run_job(self, name: str, job: dict[str, Any], matrix: dict[str, Any], label: str) -> Job:
        """One job on a fresh runner: its own empty workspace and job summary."""
        workspace = self.root / "jobs" / label
        workspace.mkdir(parents=True)
        ran = Job(name, matrix, workspace, self.root / "jobs" / f"{label}.summary")
        ran.summary.touch()
        for step in job["steps"]:
            condition = str(step.get("if", "success()"))
            assert condition in ("always()", "success()"), condition
            if not ran.ok and condition != "always()":
                ran.steps.append(Step(step, None))
                continue
            ran.steps.append(self.run_step(step, ran, {**job.get("env", {}), **step.get("env", {})}))
        return ran

    def run_step(self, step: dict[str, Any], job: Job, env: dict[str, Any]) -> Step:
        if "uses" in step:
            action, _, version = step["uses"].partition("@")
            inputs = {k: self.expand(str(v), job.matrix) for k, v in step.get("with", {}).items()}
            getattr(self, "uses_" + action.removeprefix("actions/").replace("-", "_"))(version, inputs, job.workspace)
            return Step(step, 0)
        if step["run"].startswith("pip install"):
            assert shlex.split(step["run"])[2].startswith("oai-conformance @ "), step["run"]  # installs this package
            return Step(step, 0)
        script = self.expand(step["run"], job.matrix)
        step_env = {k: self.expand(str(v), job.matrix) for k, v in env.items()}
        done = subprocess.run(["bash", "-e", "-c", script], cwd=job.workspace, capture_output=True, text=True, timeout=300,
                              env={**_runner_env(), "GITHUB_WORKSPACE": str(job.workspace),
                                   "GITHUB_STEP_SUMMARY": str(job.summary), **step_env})
        return Step(step, done.returncode, done.stdout + done.stderr)

    def expand(self, text: str, matrix: dict[str, Any]) -> str:
        """`${{ ... }}` substituted; the README's hosts and models become the reference servers' ones."""
        expanded = _EXPRESSION.sub(lambda m: str(self.evaluate(m.group(1), matrix)), text)
        for url, local in self.urls.items():
            expanded = expanded.replace(url, local)
        for model, local in MODELS.items():
            expanded = re.sub(rf"(?<![\w.-]){re.escape(model)}(?![\w.-])", local, expanded)
        assert "https://" not in expanded, f"a host the test does not serve: {expanded}"
        return expanded

    def evaluate(self, expression: str, matrix: dict[str, Any]) -> Any:
        if expression.startswith("matrix."):
            return matrix[expression.removeprefix("matrix.")]
        if expression.startswith("secrets."):
            return self.secrets[expression.removeprefix("secrets.").upper()]  # secret names ignore case
        if expression.startswith("secrets[") and expression.endswith("]"):
            return self.secrets[str(self.evaluate(expression[len("secrets["):-1], matrix)).upper()]
        if match := _FORMAT.fullmatch(expression):
            args = [self.evaluate(a.strip(), matrix) for a in match.group(2).split(",")[1:]]
            return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), match.group(1))
        raise AssertionError(f"an expression this runner does not know: {expression}")

    def uses_checkout(self, version: str, inputs: dict[str, str], workspace: Path) -> None:
        # The user's repository: the baseline the merge job gates with (no waivers needed on the reference server).
        (workspace / BASELINE).write_text("version: 1\nentries: []\n", encoding="utf-8")

    def uses_setup_python(self, version: str, inputs: dict[str, str], workspace: Path) -> None:
        assert tuple(map(int, inputs["python-version"].split("."))) >= (3, 11)

    def uses_upload_artifact(self, version: str, inputs: dict[str, str], workspace: Path) -> None:
        """v4: one artifact per name in a workflow run; symbolic links followed; hidden files left out."""
        assert version == "v4"
        name = inputs["name"]
        assert name and not _ARTIFACT_NAME_FORBIDDEN & set(name), name
        target = self.artifacts / name
        assert not target.exists(), f"artifact {name} uploaded twice: v4 refuses it"
        source = workspace / inputs["path"]
        for folder, dirs, files in os.walk(source, followlinks=True):  # `latest` is uploaded as a copy of the run
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in (f for f in files if not f.startswith(".")):
                copy = target / Path(folder).relative_to(source) / name
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(folder) / name, copy)

    def uses_download_artifact(self, version: str, inputs: dict[str, str], workspace: Path) -> None:
        """v4 with `pattern` (and no `merge-multiple`): each artifact in `<path>/<artifact name>/`."""
        assert version == "v4" and set(inputs) == {"pattern", "path"}
        for artifact in sorted(self.artifacts.iterdir()):
            if fnmatch.fnmatchcase(artifact.name, inputs["pattern"]):
                shutil.copytree(artifact, workspace / inputs["path"] / artifact.name)


def _combinations(strategy: dict[str, Any]) -> list[dict[str, Any]]:
    matrix = dict(strategy.get("matrix", {}))
    include = matrix.pop("include", [])
    assert not (matrix and include), "only a plain matrix or an include list"
    return [dict(zip(matrix, values, strict=True)) for values in product(*matrix.values())] if matrix else include or [{}]


def _runner_env() -> dict[str, str]:
    """A runner's environment: this interpreter's scripts on PATH, no target options inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONFORMANCE_", "OPENAI_", "PYTEST_"))}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", "CI": "true",
            "CONFORMANCE_PROFILE": "smoke"}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ReferenceServer]]:
    running: dict[str, ReferenceServer] = {}
    try:
        for url, secret in HOSTS.items():
            running[url] = ReferenceServer(api_key=f"key-of-{secret}").__enter__()
        yield running
    finally:
        for server in running.values():
            server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def ran(servers: dict[str, ReferenceServer], tmp_path_factory: pytest.TempPathFactory) -> Runner:
    runner = Runner(tmp_path_factory.mktemp("workflow"), {url: s.base_url for url, s in servers.items()},
                    {secret: f"key-of-{secret}" for secret in HOSTS.values()})
    runner.run_workflow(_workflow())
    return runner


def _report(run_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return document


def test_every_job_of_the_example_succeeds(ran: Runner) -> None:
    for jobs in ran.jobs.values():
        for job in jobs:
            failed = [s for s in job.steps if s.code not in (0, None)]
            assert not failed, f"{job.name} {job.matrix}: {failed[0].step} exited {failed[0].code}\n{failed[0].output}"
            assert all(s.code == 0 for s in job.steps)
    assert {name: len(jobs) for name, jobs in ran.jobs.items()} == {"shard": 4, "merge": 1, "target": 3, "table": 1}


def test_the_merge_job_gates_one_report_of_every_shard(ran: Runner) -> None:
    (job,) = ran.jobs["merge"]
    merged = _report(job.workspace / "reports" / "latest")
    assert [s["shard"] for s in merged["provenance"]["shards"]] == ["1/4", "2/4", "3/4", "4/4"]
    assert merged["run"]["profile"] == "smoke"
    shards = [_report(d) for d in (job.workspace / "shards").glob("shard-*/latest")]
    assert len(merged["results"]) == sum(len(s["results"]) for s in shards) > 0
    assert merged["summary"]["status"] == "conformant"
    summary = (job.workspace / "reports" / "latest" / "summary.md").read_text(encoding="utf-8")
    assert job.summary.read_text(encoding="utf-8") == summary != ""


def test_the_table_job_puts_every_target_and_model_side_by_side(ran: Runner) -> None:
    (job,) = ran.jobs["table"]
    table = json.loads((job.workspace / "reports" / "latest-matrix" / "matrix.json").read_text(encoding="utf-8"))
    targets = sorted((ran.urls[m["url"]], MODELS[m["model"]]) for m in ran_matrix(ran))
    assert sorted((c["base_url"], c["model"]) for c in table["columns"]) == targets
    assert job.summary.read_text(encoding="utf-8") == (job.workspace / "reports" / "latest-matrix" / "matrix.md").read_text(encoding="utf-8")
    assert (ran.artifacts / "compatibility-matrix" / "latest-matrix" / "matrix.html").is_file()


def ran_matrix(ran: Runner) -> list[dict[str, Any]]:
    return [job.matrix for job in ran.jobs["target"]]


def test_a_missing_shard_fails_the_merge_job(ran: Runner) -> None:
    """The README's promise in the merge step's comment, and the summary step still runs."""
    lost = ran.artifacts.with_name("lost-shard")
    (ran.artifacts / "shard-3").rename(lost)
    try:
        job = ran.run_job("merge", _workflow()["jobs"]["merge"], {}, "merge-again")
    finally:
        lost.rename(ran.artifacts / "shard-3")
    *_, merge, summary = job.run_steps()
    assert merge.code == 2 and "missing shard(s) 3/4 of 4" in merge.output
    assert summary.code is not None  # `if: always()`: it ran (and found no merged run to summarise)


def test_the_merge_job_fails_the_workflow_on_a_failure_of_any_shard(tmp_path: Path) -> None:
    """`--conformance-fail-on never` keeps every shard job green; the merged run is what gates."""
    jobs = _workflow()["jobs"]
    with ReferenceServer(defects=["sse-no-done"], api_key="key-of-LLM_KEY") as broken:
        runner = Runner(tmp_path, {"https://llm.example.com/v1": broken.base_url}, {"LLM_KEY": "key-of-LLM_KEY"})
        runner.run_workflow({"jobs": {"shard": jobs["shard"], "merge": jobs["merge"]}})
    assert all(job.ok for job in runner.jobs["shard"])
    (job,) = runner.jobs["merge"]
    *_, merge, summary = job.run_steps()
    assert merge.code == 1 and summary.code == 0
    assert "SSE-03" in job.summary.read_text(encoding="utf-8")


def _xdist_commands() -> list[list[str]]:
    (block,) = [b for b in _blocks("bash") if "--tx" in b]
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


@pytest.mark.parametrize("form", ["local workers", "remote workers"])
def test_the_xdist_forms_write_one_report_of_the_whole_run(form: str, ran: Runner, tmp_path: Path) -> None:
    """The README's commands, with a local `popen` gateway in place of each `ssh` one (same `-d --tx` path)."""
    command = _xdist_commands()[["local workers", "remote workers"].index(form)]
    url = ran.urls["https://llm.example.com/v1"]
    local = {"URL": url, "M": "reference-model"}
    args = [local.get(a, a) for a in command[1:]]
    args = [re.sub(r"^ssh=[^/]+//python=.*$", f"popen//python={sys.executable}", a) for a in args]
    assert args.count(f"popen//python={sys.executable}") == (2 if form == "remote workers" else 0)
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**_runner_env(), "OPENAI_API_KEY": "key-of-LLM_KEY"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    whole = _report(tmp_path / "reports" / "latest")
    (merge,) = ran.jobs["merge"]
    merged = _report(merge.workspace / "reports" / "latest")
    assert {r["key"]: r["verdict"] for r in whole["results"]} == {r["key"]: r["verdict"] for r in merged["results"]}
