"""`conformance merge`: shards of one run become one report (results, artifacts, each shard's
provenance); overlapping or missing shards and runs of other targets are refused with one line and
exit 2.  Shards come from the pytest plugin's `--conformance-shard K/N` and from CLI runs of
scenario subsets against the embedded reference server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.reports import json_report, merge, render

SMOKE_SHARDS = 3


def _report(path: Path) -> dict[str, Any]:
    return json.loads((path / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def plugin_shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """The smoke profile in 3 pytest shards (one process each, as on 3 CI hosts), and the same run unsharded."""
    root = tmp_path_factory.mktemp("shards")
    shards = []
    for k in range(1, SMOKE_SHARDS + 1):
        reports = root / f"shard{k}"
        assert _pytest(root, "--conformance-shard", f"{k}/{SMOKE_SHARDS}", "--conformance-reports-dir", str(reports)) in (0, 1)
        shards.append((reports / "latest").resolve())
    assert _pytest(root, "--conformance-reports-dir", str(root / "whole")) in (0, 1)
    return shards, (root / "whole" / "latest").resolve()


def _pytest(cwd: Path, *args: str) -> int:
    """pytest with the plugin in its own process, against the embedded server with one defect."""
    (cwd / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--conformance",
                           "--conformance-profile", "smoke", "--conformance-defect", "sse-no-done", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=240)
    return done.returncode


def test_plugin_shards_merge_into_the_whole_run(plugin_shards: tuple[list[Path], Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    shards, whole = plugin_shards
    assert [_report(s)["provenance"]["shard"] for s in shards] == ["1/3", "2/3", "3/3"]
    assert cli.main(["merge", *map(str, reversed(shards)), "--reports-dir", str(tmp_path)]) == 1  # sse-no-done FAILs
    assert "merged 3 shard(s): 1/3, 2/3, 3/3" in capsys.readouterr().out
    merged = render.load(tmp_path / "latest")
    expected = render.load(whole)
    assert {r["key"]: r["verdict"] for r in merged["results"]} == {r["key"]: r["verdict"] for r in expected["results"]}
    assert merged["summary"] == expected["summary"]
    assert [s["shard"] for s in merged["provenance"]["shards"]] == ["1/3", "2/3", "3/3"]
    assert merged["run"]["requests"] == sum(_report(s)["run"]["requests"] for s in shards)
    # each shard's artifacts are in the merged table, each once, and every result's artifacts resolve
    table = _report(tmp_path / "latest")["artifacts"]
    assert set(table) == {i for s in shards for i in _report(s)["artifacts"]}
    assert all(a["curl"] for r in merged["results"] for a in r["artifacts"])
    assert (tmp_path / "latest" / "report.html").is_file() and (tmp_path / "latest" / "junit.xml").is_file()
    # the shards' recordings are merged too: the merged run replays offline to the same verdicts
    assert set(merged["recordings"]) == {r["scenario"] for r in merged["results"]}
    assert cli.main(["replay", str(tmp_path / "latest"), "--reports-dir", str(tmp_path / "replay")]) == 0
    replayed = render.load(tmp_path / "replay" / "latest")
    assert {r["key"]: r["verdict"] for r in replayed["results"]} == {r["key"]: r["verdict"] for r in merged["results"]}


def test_a_missing_shard_is_named(plugin_shards: tuple[list[Path], Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    shards, _ = plugin_shards
    assert cli.main(["merge", str(shards[0]), str(shards[2]), "--reports-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == "error: missing shard(s) 2/3 of 3: merge every shard of the run (or run the missing ones)\n"
    assert not (tmp_path / "out").exists() or not any(p.name != "latest" for p in (tmp_path / "out").iterdir())


def test_overlapping_shards_are_refused(plugin_shards: tuple[list[Path], Path], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    shards, whole = plugin_shards
    assert cli.main(["merge", str(whole), str(shards[1]), "--reports-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: overlapping shards: ") and err.count("\n") == 1


def test_one_run_reached_twice_counts_once(plugin_shards: tuple[list[Path], Path], tmp_path: Path) -> None:
    """CI artifact globs find a run's directory and the `latest` link to it."""
    shards, _ = plugin_shards
    latest = [s.parent / "latest" for s in shards]
    assert cli.main(["merge", *map(str, shards), *map(str, latest), "--reports-dir", str(tmp_path)]) == 1
    assert len(_report(tmp_path / "latest")["provenance"]["shards"]) == SMOKE_SHARDS


def _run(reports: Path, *args: str) -> Path:
    assert cli.main(["run", "--quiet", "--reports-dir", str(reports), *args]) in (0, 1)
    return (reports / "latest").resolve()


@pytest.fixture(scope="module")
def cli_shards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two CLI runs of disjoint scenario subsets (as two CI jobs would run them)."""
    root = tmp_path_factory.mktemp("cli")
    return [_run(root / "a", "--scenario", "chat_basic", "--scenario", "stream_basic", "--defect", "body-object-wrong"),
            _run(root / "b", "--scenario", "missing_messages", "--defect", "body-object-wrong")]


def test_unlabelled_shards_merge_and_stream_the_canonical_report(cli_shards: list[Path], tmp_path: Path) -> None:
    document, run_dir = merge.merge(cli_shards, tmp_path, "conformance merge a b")
    text = (run_dir / "report.json").read_text(encoding="utf-8")
    assert render.validate(json.loads(text)) == []
    assert json.loads(text) == json.loads(json_report.dump(render.load(run_dir)))  # what `report --format json` writes
    assert {s["scenarios"] for s in document["provenance"]["shards"]} == {2, 1}
    assert document["provenance"]["command"] == "conformance merge a b"


def test_runs_of_other_targets_are_refused(cli_shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = _run(tmp_path / "other", "--scenario", "models_listing", "--defect", "sse-no-done")
    assert cli.main(["merge", str(cli_shards[0]), str(other), "--reports-dir", str(tmp_path / "m")]) == 2
    assert "merge combines shards of one target" in capsys.readouterr().err
    mini = _run(tmp_path / "mini", "--scenario", "models_listing", "--defect", "body-object-wrong",
                "--model", "reference-model-mini")
    assert cli.main(["merge", str(cli_shards[0]), str(mini), "--reports-dir", str(tmp_path / "m")]) == 2
    assert "differ in model" in capsys.readouterr().err


def test_merge_gates_with_a_baseline(cli_shards: list[Path], tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yml"
    assert cli.main(["baseline", "create", "--from", str(cli_shards[0]), "--reason", "known", "--expires", "2099-01-01",
                     "--output", str(baseline)]) == 0
    assert cli.main(["merge", *map(str, cli_shards), "--reports-dir", str(tmp_path / "m"), "--baseline", str(baseline),
                     "--format", "md"]) == 0
    merged = _report(tmp_path / "m" / "latest")
    assert merged["baseline"]["new"] == [] and merged["baseline"]["waived"]
    assert (tmp_path / "m" / "latest" / "summary.md").is_file() and not (tmp_path / "m" / "latest" / "report.html").exists()


def test_bad_inputs_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["merge", str(tmp_path / "nope"), "--reports-dir", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nope'}: no such run directory or report.json\n"
