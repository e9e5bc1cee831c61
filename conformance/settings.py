"""Resolve the run options: defaults, then the config file, then the environment, then flags.

Config file: `conformance.toml` (top-level keys), else `[tool.conformance]` in `pyproject.toml`,
in the directory the command runs from.  Environment: `CONFORMANCE_<NAME>` for every option, and
`OPENAI_BASE_URL` as the openai SDK reads it (the key itself is always read from the variable
named by `api_key_env`, `OPENAI_API_KEY` by default).  Lists in the environment are separated by
commas (`header`: by newlines).  Every value is validated by its option's parser.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import BY_NAME, OPTIONS, Option

if TYPE_CHECKING:
    from .session import RunConfig

CONFIG_FILE, PYPROJECT = "conformance.toml", "pyproject.toml"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


class OptionError(Exception):
    """A value that cannot be used; the message names where it came from (exit code 2)."""


@dataclass
class Resolved:
    """Every option's value and where it came from ("default", "file:…", "env:…", "flag")."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def provenance(self) -> dict[str, Any]:
        """JSON-ready values with their sources; secrets are redacted by the caller's redactor."""
        return {name: {"value": _jsonable(value), "from": self.sources.get(name, "default")}
                for name, value in self.values.items()}


def resolve(flags: Mapping[str, Any], *, cwd: Path, environ: Mapping[str, str] | None = None,
            names: list[str] | None = None) -> Resolved:
    """`flags`: the options given on the command line (absent ones left out)."""
    environ = os.environ if environ is None else environ
    wanted = [BY_NAME[n] for n in names] if names is not None else list(OPTIONS)
    values = {o.name: o.default for o in wanted}
    sources: dict[str, str] = {}
    file_values, file_name = load_file(cwd)
    for key, raw in file_values.items():
        option = BY_NAME.get(key.replace("-", "_"))
        if option is None:
            raise OptionError(f"{file_name}: unknown key {key!r}; keys: {', '.join(o.name.replace('_', '-') for o in OPTIONS)}")
        if option in wanted:
            values[option.name] = _from_file(option, raw, file_name)
            sources[option.name] = f"file:{file_name}"
    for option in wanted:
        for var in reversed(option.env_names):  # the strongest variable last
            if var in environ:
                values[option.name] = _from_env(option, environ[var], var)
                sources[option.name] = f"env:{var}"
    for name, value in flags.items():
        if name in values and value is not None:
            values[name] = tuple(value) if BY_NAME[name].kind == "list" else value
            sources[name] = "flag"
    return Resolved(values, sources)


def from_cli(args: argparse.Namespace, command: str) -> Resolved:
    """The options of a CLI command from config file, environment and its parsed flags, checked
    (the certify command always runs the certify profile); OptionError otherwise."""
    from .options import CERTIFY, for_command

    names = [o.name for o in for_command(command)]
    resolved = resolve({n: getattr(args, n) for n in names if hasattr(args, n)}, cwd=Path.cwd(), names=names)
    check(resolved, "cli", profile="certify" if command == CERTIFY else None)
    return resolved


def load_file(cwd: Path) -> tuple[dict[str, Any], str]:
    """The config file's table and its name ({} when there is none)."""
    for name, table in ((CONFIG_FILE, None), (PYPROJECT, ("tool", "conformance"))):
        path = cwd / name
        if not path.is_file():
            continue
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise OptionError(f"{name}: cannot read: {exc}") from None
        for key in table or ():
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            raise OptionError(f"{name}: [tool.conformance] must be a table")
        if data or table is None:
            return data, name if table is None else f"{name} [tool.conformance]"
    return {}, ""


def _from_file(option: Option, raw: Any, where: str) -> Any:
    label = f"{where}: {option.name.replace('_', '-')}"
    if option.kind == "flag":
        if not isinstance(raw, bool):
            raise OptionError(f"{label}: must be true or false")
        return raw
    items = raw if option.kind == "list" else [raw]
    if option.kind == "list" and not isinstance(raw, list):
        raise OptionError(f"{label}: must be a list")
    if any(isinstance(v, (bool, dict, list)) for v in items):
        raise OptionError(f"{label}: must be {'a list of values' if option.kind == 'list' else 'a single value'}")
    parsed = [_parse(option, str(v), label) for v in items]
    return tuple(parsed) if option.kind == "list" else parsed[0]


def _from_env(option: Option, raw: str, var: str) -> Any:
    if option.kind == "flag":
        if raw.strip().lower() not in _TRUE + _FALSE:
            raise OptionError(f"${var}: must be 1/0, true/false, yes/no or on/off")
        return raw.strip().lower() in _TRUE
    if option.kind == "list":
        separator = "\n" if option.name == "header" else ","
        return tuple(_parse(option, item.strip(), f"${var}") for item in raw.split(separator) if item.strip())
    return _parse(option, raw, f"${var}")


def _parse(option: Option, raw: str, label: str) -> Any:
    try:
        return option.parse(raw)
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise OptionError(f"{label}: {exc}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def flag_name(name: str, front_end: str) -> str:
    """How the user spells option `name` in this front-end ("cli" or "pytest")."""
    option = BY_NAME[name]
    return (option.plugin_flag or option.flag) if front_end == "pytest" else option.flag


def check(r: Resolved, front_end: str = "cli", profile: str | None = None) -> None:
    """Rules between options; OptionError names the flags as this front-end spells them."""
    from .preflight import SetupError
    from .selection import check_filters

    def flag(name: str) -> str:
        source = r.sources.get(name, "")
        where = source.split(":", 1)[1] if ":" in source else ""  # env:VAR, file:NAME
        return flag_name(name, front_end) + (f" (from {where})" if where else "")

    if r.base_url and not r.model:
        raise OptionError(f"{flag_name('model', front_end)} is required with {flag('base_url')}")
    if r.values.get("defect") and r.base_url:
        raise OptionError(f"{flag_name('defect', front_end)} applies to the embedded server only, not with "
                          f"{flag('base_url')} (use `conformance proxy` for a real upstream)")
    for name in ("compare_model", "compare_api_key_env"):
        if name in r.sources and not r.values.get("compare_to"):
            raise OptionError(f"{flag(name)} needs {flag_name('compare_to', front_end)}")
    if r.values.get("baseline") is not None and (profile or r.values.get("profile")) == "certify":
        raise OptionError("waivers are refused in certification runs: drop the baseline (or use `conformance certify`)")
    if r.values.get("capabilities") is not None:
        from .capabilities import ManifestError, load

        try:
            load(r.capabilities)  # read now: a broken manifest is a usage error, not a failed collection
        except ManifestError as exc:
            raise OptionError(f"{flag_name('capabilities', front_end)}: {exc}") from None
    try:
        check_filters(r.values.get("clause", ()), r.values.get("scenario", ()), r.values.get("defect", ()),
                      flag=lambda name: flag_name(name, front_end))
    except SetupError as exc:
        raise OptionError(str(exc)) from None


def headers(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`'Name: value'` strings (validated by the option's parser) as (name, value) pairs."""
    pairs = []
    for raw in values:
        name, _, value = raw.partition(":")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def run_config(r: Resolved, profile: str, command: list[str]) -> RunConfig:
    """The engine's RunConfig for these options."""
    from .session import RunConfig
    from .wire.client import Limits

    return RunConfig(
        base_url=r.base_url, model=r.model, api_key_env=r.api_key_env, auth_header=r.auth_header,
        auth_scheme=None if r.no_bearer else "Bearer", profile=profile, concurrency=r.concurrency,
        max_requests=r.max_requests, max_tokens_total=r.max_tokens_total,
        limits=Limits(read_timeout=r.read_timeout, total_timeout=r.timeout), seed=r.seed, max_tokens=r.max_tokens,
        clauses=tuple(r.values.get("clause", ())), scenarios=tuple(r.values.get("scenario", ())),
        defects=tuple(r.values.get("defect", ())), headers=headers(r.header), secret_headers=tuple(r.secret_header),
        capabilities=str(r.capabilities) if r.values.get("capabilities") is not None else None,
        wait=r.wait, require_auth=r.require_auth, max_ttft=r.values.get("max_ttft"), max_gap=r.values.get("max_gap"),
        compare_to=r.values.get("compare_to"), compare_model=r.values.get("compare_model"),
        compare_api_key_env=r.values.get("compare_api_key_env") or BY_NAME["compare_api_key_env"].default,
        command=command, resolved=r.provenance(),
    )
