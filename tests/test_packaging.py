"""A regular (non-editable) install, as the GitHub Action does, must carry everything the suite reads."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from conformance import schema

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_install_carries_every_schema_and_data_file() -> None:
    """Checked on the build configuration: building a wheel here would need the network (build isolation)."""
    data_files = _setuptools()["data-files"]["share/oai-conformance/schemas"]
    assert data_files == ["schemas/*.json"]
    assert all(p.suffix == ".json" for p in (ROOT / "schemas").iterdir() if p.is_file())
    package_data = _setuptools()["package-data"]["conformance"]
    data = [p.relative_to(ROOT / "conformance").as_posix() for p in (ROOT / "conformance").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert sorted(data) == sorted(package_data)


def test_schema_dir_falls_back_to_the_installed_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(schema, "__file__", str(tmp_path / "site-packages" / "conformance" / "schema.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    assert schema._schema_dir() == tmp_path / "venv" / "share" / "oai-conformance" / "schemas"


def test_dependencies_are_ranges_and_ci_installs_pinned_versions_inside_them() -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(d) for d in project["dependencies"] + project["optional-dependencies"]["dev"]]
    pins = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    pins = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    for req in requirements:
        operators = {spec.operator for spec in req.specifier}
        assert operators == {">=", "<"}, req
        assert req.specifier.contains(pins[req.name.lower()]), f"constraints.txt pins {req.name} outside {req}"
    assert "constraints.txt" in (ROOT / "scripts" / "bootstrap.sh").read_text()
