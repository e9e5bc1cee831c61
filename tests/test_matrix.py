"""`conformance matrix`: 3 targets x 2 models against the reference server's mutants on 127.0.0.1,
each cell a normal run with its own report, one compatibility table (JSON valid for
schemas/matrix.schema.json, Markdown, HTML) whose cells link to existing evidence; a target that
cannot be reached is a column "not run"; mistakes in the matrix file are one line and exit 2;
`merge --matrix` builds the same table from runs made elsewhere (CI jobs)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.reports import render, schemas
from conformance.servers.launcher import ReferenceServer
from conformance.session import REFERENCE_CAPABILITIES

KEY = "sk-matrix-test-key"
MODELS = ("reference-model", "reference-model-mini")
TARGETS = {"clean": (), "no-done": ("sse-no-done",), "wrong-object": ("body-object-wrong",)}


@pytest.fixture(scope="module")
def server() -> Any:
    with ReferenceServer(api_key=KEY) as running:
        yield running


def _matrix_file(path: Path, server: ReferenceServer, extra_target: str = "") -> Path:
    targets = "".join(f'\n[[target]]\nname = "{name}"\nbase-url = "{server.url_for(*defects) if defects else server.base_url}"\n'
                      f'models = {json.dumps(list(MODELS))}\n' for name, defects in TARGETS.items())
    path.write_text(f'version = 1\nparallel = 2\nprofiles = ["smoke"]\n\n[defaults]\napi-key-env = "MATRIX_TEST_KEY"\n'
                    f'capabilities = "{REFERENCE_CAPABILITIES}"\nconcurrency = 4\n{targets}{extra_target}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def matrix_dir(server: ReferenceServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("matrix")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATRIX_TEST_KEY", KEY)
        assert cli.main(["matrix", str(_matrix_file(root / "targets.toml", server)), "--reports-dir",
                         str(root / "reports"), "--quiet"]) == 1  # two of the targets are broken on purpose
    return (root / "reports" / "latest-matrix").resolve()


def _cell(document: dict[str, Any], clause: str, column: str) -> dict[str, Any]:
    index = [c["id"] for c in document["columns"]].index(column)
    row = next(r for a in document["areas"] for r in a["rows"] if r["clause"] == clause)
    return row["cells"][index]


def test_every_cell_is_a_run_of_its_own(matrix_dir: Path) -> None:
    document = json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))
    assert schemas.errors(schemas.MATRIX, document) == []
    assert [(c["target"], c["model"]) for c in document["columns"]] == [(t, m) for t in TARGETS for m in MODELS]
    for column in document["columns"]:
        run = render.load(matrix_dir / column["directory"])
        assert run["provenance"]["model"] == column["model"] and run["run"]["profile"] == "smoke"
        assert run["run"]["id"] == column["run_id"] and (matrix_dir / column["directory"] / "report.html").is_file()
    assert {c["status"] for c in document["columns"] if c["target"] == "clean"} == {"conformant"}
    assert {c["status"] for c in document["columns"] if c["target"] != "clean"} == {"non-conformant"}


def test_cells_show_the_verdict_and_link_to_the_evidence(matrix_dir: Path) -> None:
    document = json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))
    for model in MODELS:
        assert _cell(document, "ENV-02", f"clean/{model} (smoke)")["verdict"] == "PASS"
        assert _cell(document, "ENV-02", f"wrong-object/{model} (smoke)")["verdict"] == "FAIL"
        assert _cell(document, "SSE-03", f"no-done/{model} (smoke)")["verdict"] == "FAIL"
        assert _cell(document, "SSE-03", f"wrong-object/{model} (smoke)")["verdict"] == "PASS"
    failing = _cell(document, "SSE-03", "no-done/reference-model (smoke)")
    assert "/transcripts/" in failing["link"] and "curl" in (matrix_dir / failing["link"]).read_text(encoding="utf-8")
    links = [cell["link"] for a in document["areas"] for r in a["rows"] for cell in r["cells"] if cell["link"]]
    assert links and all((matrix_dir / link).is_file() for link in links)
    areas = [a["area"] for a in document["areas"]]
    assert areas.index("transport") < areas.index("envelope") < areas.index("stream")  # the contract's order


def test_markdown_and_html_views(matrix_dir: Path) -> None:
    md = (matrix_dir / "matrix.md").read_text(encoding="utf-8")
    assert "| clause | clean/reference-model (smoke) |" in md and "## stream" in md
    assert "[❌ FAIL](cells/no-done--reference-model--smoke/transcripts/" in md
    page = (matrix_dir / "matrix.html").read_text(encoding="utf-8")
    assert "default-src 'none'" in page and "<script" not in page
    assert page.count("<h2>") == len(json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))["areas"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_target_is_a_column_not_run(server: ReferenceServer, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MATRIX_TEST_KEY", KEY)
    path = tmp_path / "targets.toml"
    path.write_text(f'version = 1\nprofiles = ["smoke"]\n[[target]]\nname = "gone"\n'
                    f'base-url = "http://127.0.0.1:{_closed_port()}/v1"\nmodel = "m"\n'
                    f'[[target]]\nname = "up"\nbase-url = "{server.base_url}"\nmodel = "reference-model"\n'
                    f'api-key-env = "MATRIX_TEST_KEY"\n', encoding="utf-8")
    assert cli.main(["matrix", str(path), "--reports-dir", str(tmp_path / "r")]) == 1
    captured = capsys.readouterr()
    assert "[2/2]" in captured.err and "NOT RUN" in captured.out
    document = json.loads((tmp_path / "r" / "latest-matrix" / "matrix.json").read_text(encoding="utf-8"))
    gone, up = document["columns"]
    assert gone["status"] == "not run" and gone["error"].startswith("target unreachable") and gone["directory"] is None
    assert up["status"] != "not run"
    assert schemas.errors(schemas.MATRIX, document) == []


@pytest.mark.parametrize("text, message", [
    ("version = 2\n", "expected version = 1"),
    ("version = 1\n", "no targets"),
    ('version = 1\n[[target]]\nname = "a b"\nmodel = "m"\n', "name must be"),
    ('version = 1\n[[target]]\nname = "a"\n', "models must be"),
    ('version = 1\n[[target]]\nname = "a"\nmodel = "m"\ntimeout = -1\n', "timeout"),
    ('version = 1\n[[target]]\nname = "a"\nmodel = "m"\nreports-dir = "x"\n', "'reports-dir' is not a cell option"),
    ('version = 1\n[[target]]\nname = "a"\nmodel = "m"\nprofiles = ["nope"]\n', "unknown profile 'nope'"),
    ('version = 1\n[[target]]\nname = "a"\nmodel = "m"\n[[target]]\nname = "a"\nmodel = "n"\n', "two targets"),
    ('version = 1\n[[target]]\nname = "a"\nmodel = "m"\nbase-url = "http://x/v1"\ndefect = ["sse-no-done"]\n',
     "embedded server only"),
    ("version = [", "cannot read"),
])
def test_matrix_file_mistakes_are_one_line_and_exit_2(text: str, message: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["matrix", str(path), "--reports-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_merge_matrix_builds_the_table_from_runs_made_elsewhere(matrix_dir: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads((matrix_dir / "matrix.json").read_text(encoding="utf-8"))
    runs = [str(matrix_dir / c["directory"]) for c in document["columns"]]
    assert cli.main(["merge", "--matrix", *runs, "--reports-dir", str(tmp_path)]) == 1
    merged = json.loads((tmp_path / "latest-matrix" / "matrix.json").read_text(encoding="utf-8"))
    assert schemas.errors(schemas.MATRIX, merged) == []
    assert len(merged["columns"]) == 6
    verdicts = {(c["model"], c["status"]) for c in merged["columns"]}
    assert verdicts == {(c["model"], c["status"]) for c in document["columns"]}
    assert all((tmp_path / "latest-matrix" / c["directory"] / "report.json").is_file() for c in merged["columns"])


def test_sigterm_stops_the_matrix_and_writes_what_ran(tmp_path: Path) -> None:
    """Cells not started are "not run", the running one writes its partial report, exit 1."""
    path = tmp_path / "targets.toml"
    with ReferenceServer(api_key=KEY, latency_ms=500) as slow:  # one cell costs over a minute: the signal lands in it
        path.write_text(f'version = 1\nparallel = 1\n[[target]]\nname = "t"\nbase-url = "{slow.base_url}"\n'
                        f'models = {json.dumps(list(MODELS))}\napi-key-env = "MATRIX_TEST_KEY"\nconcurrency = 1\n',
                        encoding="utf-8")
        env = dict(os.environ, MATRIX_TEST_KEY=KEY)
        child = subprocess.Popen([sys.executable, "-m", "conformance", "matrix", str(path), "--reports-dir",
                                  str(tmp_path / "r")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(600):  # until the matrix is running its cells
            if list((tmp_path / "r").glob("matrix-*/cells")):
                break
            time.sleep(0.1)
        time.sleep(1)
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=120)
    assert child.returncode == 1 and "INTERRUPTED" in out
    document = json.loads((tmp_path / "r" / "latest-matrix" / "matrix.json").read_text(encoding="utf-8"))
    assert document["interrupted"] and schemas.errors(schemas.MATRIX, document) == []
    assert document["columns"][-1]["error"] == "not started: interrupted"


def test_real_tier_matrix_file_and_published_table(tmp_path: Path) -> None:
    """The real tier's matrix (tests/real/matrix.py): its file is one the matrix command accepts, one
    target per server × model; the published Markdown keeps no local link, port or machine path."""
    from conformance import matrix_file
    from tests.real import matrix as real_matrix
    from tests.real.servers import RealServer
    from tests.real.test_real_tier import COMBOS, PROFILES, ROOT

    path = tmp_path / "targets.toml"
    path.write_text(real_matrix.matrix_file([RealServer(c) for c in COMBOS]), encoding="utf-8")
    cells = matrix_file.load(path, ["test"]).cells
    assert len(cells) == len(COMBOS) * len(PROFILES)
    assert len({(c.target, c.model) for c in cells}) == len(COMBOS)
    raw = (f"# Compatibility matrix\n\n1 runs from {ROOT}/reports/targets.toml.\n\n| run | target URL |\n"
           "| [a/tiny (compatible)](cells/a/report.html) | http://127.0.0.1:43121/v1 |\n| HTTP-01 | [✅ PASS](cells/a/x.html#k) |\n")
    text = real_matrix.publishable(raw, {"a": "1.0"})
    assert "](" not in text.replace("[README.md](README.md)", "") and ":43121" not in text and str(ROOT) not in text
    assert text.startswith("# Compatibility matrix\n") and "| HTTP-01 | ✅ PASS |" in text and "a 1.0" in text
