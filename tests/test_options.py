"""The run options, declared once: the same set in the CLI and the plugin, resolved file < env < flags,
validated wherever they come from, and recorded (redacted) in the report."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest

from conformance import cli, options, pytest_plugin
from conformance.housekeeping import prune
from conformance.settings import OptionError, resolve
from conformance.suite import load_suite
from conformance.terminal import SafeStream, printable

# In-process pytester runs restore sys.modules afterwards; loading the suite first keeps its
# modules imported, so a later run does not register the same scenarios a second time.
load_suite()

# What each front-end adds around the shared run options: pytest has its own -q and --color.
CLI_ONLY = {"quiet", "no_color"}
PLUGIN_ONLY = {"enabled", "shard"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("CONFORMANCE_", "OPENAI_"))]:
        monkeypatch.delenv(name)


def _cli_dests(command: str) -> set[str]:
    parser, _ = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest for a in sub.choices[command]._actions if a.dest != "help"}


class _Recorder:
    def __init__(self) -> None:
        self.dests: list[str] = []

    def getgroup(self, *args: Any) -> _Recorder:
        return self

    def addoption(self, *flags: str, dest: str, **kwargs: Any) -> None:
        self.dests.append(dest)


def test_the_cli_and_the_plugin_expose_the_same_run_options() -> None:
    recorder = _Recorder()
    pytest_plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    plugin = {d.removeprefix("conformance_") for d in recorder.dests}
    assert len(plugin) == len(recorder.dests)
    assert plugin - PLUGIN_ONLY == _cli_dests("run") - CLI_ONLY == {o.name for o in options.OPTIONS} - CLI_ONLY
    for wanted in ("header", "secret_header", "capabilities", "baseline", "max_tokens", "max_tokens_total", "clause"):
        assert wanted in plugin
    # certify: the same minus what certification fixes itself (profile, filters, waivers)
    assert _cli_dests("certify") - {"signing_key"} == {o.name for o in options.for_command("certify")}


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    (tmp_path / "conformance.toml").write_text('model = "from-file"\nconcurrency = 3\nclause = ["sse"]\n')
    env = {"CONFORMANCE_CONCURRENCY": "4", "OPENAI_BASE_URL": "http://sdk.example/v1"}
    r = resolve({}, cwd=tmp_path, environ=env)
    assert (r.model, r.concurrency, r.clause, r.base_url) == ("from-file", 4, ("sse",), "http://sdk.example/v1")
    assert r.sources["concurrency"] == "env:CONFORMANCE_CONCURRENCY" and r.sources["model"] == "file:conformance.toml"
    r = resolve({"concurrency": 5}, cwd=tmp_path, environ=dict(env, CONFORMANCE_BASE_URL="http://mine.example/v1"))
    assert (r.concurrency, r.base_url, r.sources["concurrency"]) == (5, "http://mine.example/v1", "flag")
    assert r.provenance()["concurrency"] == {"value": 5, "from": "flag"}


def test_pyproject_table_is_read_when_there_is_no_conformance_toml(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.conformance]\nmax-tokens = 64\nno-bearer = true\n')
    r = resolve({}, cwd=tmp_path, environ={})
    assert (r.max_tokens, r.no_bearer) == (64, True)


@pytest.mark.parametrize(("text", "message"), [
    ("timeout = -1\n", "conformance.toml: timeout: must be a number of seconds > 0"),
    ("concurency = 3\n", "conformance.toml: unknown key 'concurency'"),
    ("clause = \"SSE\"\n", "conformance.toml: clause: must be a list"),
    ("quiet = \"yes\"\n", "conformance.toml: quiet: must be true or false"),
    ("timeout = [\n", "conformance.toml: cannot read"),
])
def test_bad_file_values_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "conformance.toml").write_text(text)
    with pytest.raises(OptionError, match="^" + message.replace("[", r"\[")):
        resolve({}, cwd=tmp_path, environ={})


@pytest.mark.parametrize(("env", "message"), [
    ({"CONFORMANCE_MAX_TOKENS": "0"}, "$CONFORMANCE_MAX_TOKENS: must be at least 1"),
    ({"CONFORMANCE_TIMEOUT": "nan"}, "$CONFORMANCE_TIMEOUT: must be a finite number"),
    ({"OPENAI_BASE_URL": ""}, "$OPENAI_BASE_URL: is empty"),
    ({"CONFORMANCE_QUIET": "maybe"}, "$CONFORMANCE_QUIET: must be 1/0"),
])
def test_bad_environment_values_name_the_variable(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError, match="^" + message.replace("$", r"\$")):
        resolve({}, cwd=tmp_path, environ=env)


def test_the_report_records_the_resolved_configuration_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conformance.toml").write_text("concurrency = 2\n")
    monkeypatch.setenv("CONFORMANCE_SEED", "7")
    code = cli.main(["run", "--profile", "smoke", "--quiet", "--reports-dir", "out", "--keep", "1",
                     "--header", "X-Tenant-Token: tenant-secret-42", "--secret-header", "X-Tenant-Token"])
    capsys.readouterr()
    assert code == 0
    text = (tmp_path / "out" / "latest" / "report.json").read_text()
    configuration = json.loads(text)["provenance"]["configuration"]
    assert configuration["concurrency"] == {"value": 2, "from": "file:conformance.toml"}
    assert configuration["seed"] == {"value": 7, "from": "env:CONFORMANCE_SEED"}
    assert configuration["profile"] == {"value": "smoke", "from": "flag"}
    assert "tenant-secret-42" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conformance.toml", "out"]  # nothing else written
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == sorted(
        ["latest", os.readlink(tmp_path / "out" / "latest")])  # --keep 1


def test_plugin_option_errors_are_usage_errors(pytester: pytest.Pytester) -> None:
    bad = pytester.runpytest("--conformance", "--conformance-timeout", "-1")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "must be a number of seconds > 0" in bad.stderr.str()
    unknown = pytester.runpytest("--conformance", "--conformance-scenario", "nope")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    assert "--conformance-scenario 'nope' is not a scenario" in unknown.stderr.str()


def test_plugin_diagnoses_a_refused_key_once(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.servers.launcher import ReferenceServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-1234")
    with ReferenceServer(api_key="sk-right-key-5678") as server:
        ran = pytester.runpytest("--target-url", server.base_url, "--target-model", "reference-model")
    assert ran.ret == pytest.ExitCode.USAGE_ERROR
    assert "conformance: the key was refused" in ran.stderr.str()
    assert "sk-wrong-key-1234" not in ran.stderr.str() + ran.stdout.str()


def test_prune_keeps_the_newest_and_latest(tmp_path: Path) -> None:
    names = [f"2026010{i}T000000Z-abcde{i}" for i in range(1, 6)]
    for name in names:
        (tmp_path / name).mkdir()
    (tmp_path / "notes").mkdir()
    os.symlink(names[0], tmp_path / "latest")
    removed = {p.name for p in prune(tmp_path, 2)}
    assert removed == set(names[1:3])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[3], names[4], "notes", "latest"])


def test_control_characters_are_shown_not_obeyed() -> None:
    assert printable("a\x1b[31mb\x07c\x00d\u202ee\tf\ng") == "a\\x1b[31mb\\x07c\\x00d\\u202ee\tf\ng"
    assert printable("a\nb\rc", one_line=True) == "a\\x0ab\\x0dc"

    class Sink:
        def __init__(self) -> None:
            self.parts: list[str] = []

        def write(self, text: str) -> int:
            self.parts.append(text)
            return len(text)

    sink = Sink()
    SafeStream(sink).write("\x1b]0;title\x07")  # type: ignore[arg-type]
    assert sink.parts == ["\\x1b]0;title\\x07"]


def test_hypothesis_storage_goes_under_the_reports_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hypothesis.configuration import set_hypothesis_home_dir, storage_directory

    from conformance.housekeeping import confine_hypothesis

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)  # restored afterwards
    set_hypothesis_home_dir(None)  # as in a fresh CLI process: nothing has asked for storage yet
    try:
        home = confine_hypothesis(tmp_path / "out")
        assert home == (tmp_path / "out" / ".hypothesis").resolve()
        assert storage_directory("unicode_data").path.is_relative_to(home)
    finally:
        set_hypothesis_home_dir(None)  # the next storage request reads the (restored) environment again
