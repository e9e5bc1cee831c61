"""The matrix file (`conformance matrix targets.toml`): targets x models x profiles, one cell each.

    version = 1
    parallel = 2                      # targets run at once (cells of one target run one after another)
    profiles = ["compatible"]         # for targets that name none

    [defaults]                        # `conformance run` options for every cell, spelled as in conformance.toml
    max-tokens = 32

    [[target]]
    name = "vllm"                     # the column's name: letters, digits, '.', '_', '-'
    base-url = "http://127.0.0.1:8000/v1"
    models = ["llama-3.1-8b", "qwen2.5-7b"]      # or model = "..."
    api-key-env = "VLLM_API_KEY"
    headers = { "X-Tenant" = "qa" }   # or header = ["X-Tenant: qa"]
    profiles = ["compatible", "openai-strict"]
    capabilities = "vllm.yaml"        # paths are relative to this file
    # any other `conformance run` option: concurrency, timeout, clause, require-auth, secret-header, ...

Every value is checked by the option's own parser, and the rules between options are the run's
(`settings.check`), so a cell accepts exactly what `conformance run` accepts.  A mistake is one
line naming the file, the target and the key (MatrixFileError, exit code 2).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import options, settings
from .profiles import DEFAULT_PROFILE, PROFILES
from .reports import matrix
from .session import RunConfig

VERSION = 1
DEFAULT_PARALLEL = 2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOP_KEYS = {"version", "parallel", "profiles", "defaults", "target"}
# Keys of a target that are the matrix's own; every other key is a `conformance run` option.
_CELL_KEYS = {"name", "models", "model", "profiles", "headers"}
# Run options that belong to the matrix command, not to a cell.
_NOT_PER_CELL = {"reports_dir", "keep", "quiet", "no_color", "profile", "fail_on", "baseline"}


class MatrixFileError(Exception):
    """The matrix file cannot be used: one line naming where."""


@dataclass(frozen=True)
class Cell:
    """One run of the matrix: a target's model in one profile."""

    target: str
    model: str
    profile: str
    config: RunConfig

    @property
    def slug(self) -> str:
        """The cell's directory name."""
        return matrix.slug(self.target, self.model, self.profile)


@dataclass(frozen=True)
class Matrix:
    source: Path
    parallel: int
    targets: dict[str, list[Cell]]  # target name -> its cells, in file order

    @property
    def cells(self) -> list[Cell]:
        return [cell for cells in self.targets.values() for cell in cells]


def load(path: Path, command: list[str]) -> Matrix:
    """Read and check a matrix file; MatrixFileError names the first problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MatrixFileError(f"{path}: no such matrix file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MatrixFileError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise MatrixFileError(f"{path}: unknown key {unknown[0]!r}; keys: {', '.join(sorted(_TOP_KEYS))}")
    if data.get("version") != VERSION:
        raise MatrixFileError(f"{path}: expected version = {VERSION}")
    parallel = data.get("parallel", DEFAULT_PARALLEL)
    if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
        raise MatrixFileError(f"{path}: parallel must be a whole number of at least 1")
    defaults = data.get("defaults", {})
    targets = data.get("target")
    if not isinstance(defaults, dict):
        raise MatrixFileError(f"{path}: [defaults] must be a table of `conformance run` options")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, dict) for t in targets):
        raise MatrixFileError(f"{path}: no targets: add at least one [[target]] table")
    profiles = _profiles(data.get("profiles", [DEFAULT_PROFILE]), f"{path}: profiles")
    out: dict[str, list[Cell]] = {}
    for n, table in enumerate(targets):
        name = table.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise MatrixFileError(f"{path}: target {n + 1}: name must be letters, digits, '.', '_' or '-'")
        if name in out:
            raise MatrixFileError(f"{path}: two targets are named {name!r}")
        out[name] = _cells(path, name, table, defaults, profiles, command)
    return Matrix(path, parallel, out)


def _profiles(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise MatrixFileError(f"{where} must be a non-empty list of profile names")
    unknown = [p for p in value if p not in PROFILES]
    if unknown:
        raise MatrixFileError(f"{where}: unknown profile {unknown[0]!r}; profiles: {', '.join(PROFILES)}")
    return list(dict.fromkeys(value))


def _models(path: Path, name: str, table: dict[str, Any]) -> list[str]:
    where = f"{path}: target {name}"
    if "models" in table and "model" in table:
        raise MatrixFileError(f"{where}: give models or model, not both")
    models = table.get("models", [table["model"]] if "model" in table else None)
    if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
        raise MatrixFileError(f"{where}: models must be a non-empty list of model ids")
    return list(dict.fromkeys(models))


def _cells(path: Path, name: str, table: dict[str, Any], defaults: dict[str, Any], profiles: list[str],
           command: list[str]) -> list[Cell]:
    where = f"{path}: target {name}"
    raw = {**defaults, **{k: v for k, v in table.items() if k not in _CELL_KEYS}}
    headers = table.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise MatrixFileError(f"{where}: headers must be a table of header names and values")
    if headers:
        raw["header"] = [*raw.get("header", []), *(f"{k}: {v}" for k, v in headers.items())]
    values = {o.name: o.default for o in options.for_command(options.RUN)}
    sources = {}
    for key, value in raw.items():
        option = options.BY_NAME.get(key.replace("-", "_"))
        if option is None or option.name in _NOT_PER_CELL or options.RUN not in option.commands:
            allowed = sorted(o.name.replace("_", "-") for o in options.for_command(options.RUN) if o.name not in _NOT_PER_CELL)
            raise MatrixFileError(f"{where}: {key!r} is not a cell option; a target takes name, models, profiles, "
                                  f"headers and {', '.join(allowed)}")
        if option.name == "capabilities" and isinstance(value, str):
            value = str(path.parent / value)  # relative to the matrix file, not to where the command runs
        try:
            values[option.name] = settings._from_file(option, value, where)  # the config file's own value checks
        except settings.OptionError as exc:
            raise MatrixFileError(str(exc)) from None
        sources[option.name] = f"file:{path}"
    cells = []
    for model in _models(path, name, table):
        for profile in _profiles(table.get("profiles", profiles), f"{where}: profiles"):
            resolved = settings.Resolved({**values, "model": model, "profile": profile}, dict(sources))
            try:
                settings.check(resolved, "cli", profile=profile)
            except settings.OptionError as exc:
                raise MatrixFileError(f"{where}: {exc}") from None
            cells.append(Cell(name, model, profile, settings.run_config(resolved, profile, command)))
    return cells
