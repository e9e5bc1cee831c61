"""The run options, declared once: name, type, default, help and validation.

`conformance run`/`certify` flags, the pytest plugin's options, the config-file keys
(`conformance.toml` or `[tool.conformance]`) and the `CONFORMANCE_*` environment variables are
all generated from `OPTIONS`; `conformance.settings` resolves them (file < environment < flags).
Every value is validated where it is read, so a bad value is one line and exit 2 (a
`pytest.UsageError` in the plugin), never a traceback or a false FAIL later.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .profiles import DEFAULT_PROFILE, PROFILES

RUN, CERTIFY = "run", "certify"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_TEXT = re.compile(r"[\x00-\x1f\x7f]")


# --- value parsers: str -> value, argparse.ArgumentTypeError with a one-line reason ----------------

def count(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def whole(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {value})")
    return value


def tcp_port(text: str) -> int:
    """0..65535 (0: any free port)."""
    value = whole(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port, 0..65535 (got {value})")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 (got {text})")
    return value


def wait_seconds(text: str) -> float:
    """A finite number of seconds >= 0."""
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0 (got {text})")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text})")
    return value


def base_url(text: str) -> str:
    """An http(s) URL with a host, without whitespace or control characters."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (an unset variable?); omit it to test the embedded reference server")
    if _BAD_TEXT.search(text) or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError("contains whitespace or control characters (CR/LF?)")
    parts = urlsplit(text)
    # The URL may carry credentials (user:password@, ?api-key=): never repeat it whole.
    shown = f"{parts.scheme}://{parts.hostname or '?'}{parts.path}" if parts.scheme else "the value"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{shown!r} is not an http:// or https:// URL with a host")
    if parts.fragment:
        raise argparse.ArgumentTypeError(f"{shown!r} has a #fragment; give the base URL, e.g. https://host/v1")
    # A query stays: Azure-style endpoints are addressed with ?api-version=..., kept on every request.
    return text if parts.query else text.rstrip("/")


def compare_url(text: str) -> str:
    """The comparison target's base URL: as `base_url`, with its own reason when empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (an unset variable?); omit it to run without a comparison")
    return base_url(text)


def text(value: str) -> str:
    """A non-empty one-line value."""
    if not value.strip() or _BAD_TEXT.search(value):
        raise argparse.ArgumentTypeError("must be a non-empty single line")
    return value


def header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an HTTP header name")
    return value


def header_line(value: str) -> str:
    """'Name: value'; the value itself is never repeated in the error (it may be a secret)."""
    name, sep, rest = value.partition(":")
    if not sep or not _HEADER_NAME.match(name.strip()) or any(c in rest for c in "\r\n\0"):
        raise argparse.ArgumentTypeError("is not 'Name: value' (a token name, a colon, a one-line value)")
    return value


def choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(allowed)}")
        return value
    return parse


# --- the table --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    name: str  # attribute name; config key (dashes or underscores); CONFORMANCE_<NAME>
    help: str
    parse: Callable[[str], Any] = text
    default: Any = None
    kind: str = "value"  # "value", "flag" (on/off) or "list" (repeatable)
    group: str = "run"  # target, execution, run, output
    commands: tuple[str, ...] = (RUN, CERTIFY)
    cli: str = ""  # default --name-with-dashes
    plugin: str | None = ""  # default --conformance-name; None: not a plugin option (pytest has its own)
    env: tuple[str, ...] = ()  # further environment variables, weaker than CONFORMANCE_<NAME>
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return self.cli or "--" + self.name.replace("_", "-")

    @property
    def plugin_flag(self) -> str | None:
        if self.plugin is None:
            return None
        return self.plugin or "--conformance-" + self.name.replace("_", "-")

    def described(self) -> str:
        """The help text with the default, when there is one worth showing."""
        hidden = self.default is None or self.default is False or self.default == ()
        return self.help if hidden else f"{self.help} (default {self.default})"

    @property
    def env_names(self) -> tuple[str, ...]:
        """Strongest first."""
        return ("CONFORMANCE_" + self.name.upper(), *self.env)


_PROFILE_HELP = "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values())

OPTIONS: tuple[Option, ...] = (
    # target
    Option("base_url", "target base URL ending in /v1; omit to test the embedded reference server",
           parse=base_url, group="target", plugin="--target-url", env=("OPENAI_BASE_URL",), metavar="URL"),
    Option("model", "model id to request (required with a base URL)", group="target", plugin="--target-model", metavar="MODEL"),
    Option("api_key_env", "environment variable holding the API key", default="OPENAI_API_KEY", group="target",
           plugin="--target-api-key-env", metavar="VAR"),
    Option("auth_header", "header carrying the key", parse=header_name, default="Authorization", group="target",
           plugin="--target-auth-header", metavar="HEADER"),
    Option("no_bearer", "send the bare key, without the 'Bearer ' prefix", kind="flag", default=False, group="target",
           plugin="--target-no-bearer"),
    Option("header", "extra header sent with every request (repeatable)", parse=header_line, kind="list", default=(),
           group="target", plugin="--target-header", metavar="'NAME: VALUE'"),
    Option("secret_header", "the values of this request header are secrets: redacted everywhere, like the key (repeatable)",
           parse=header_name, kind="list", default=(), group="target", plugin="--target-secret-header", metavar="NAME"),
    Option("require_auth", "a server that answers without a valid key FAILs ERR-05 (default: WARN; always on with certify)",
           kind="flag", default=False, group="target", plugin="--target-require-auth"),
    # execution
    Option("concurrency", "scenarios in flight at once", parse=count, default=8, group="execution", metavar="N"),
    Option("max_requests", "stop sending after this many requests (the rest SKIP)", parse=count, group="execution", metavar="N"),
    Option("max_tokens_total", "stop sending once the target reports this many tokens used", parse=count,
           group="execution", metavar="N"),
    Option("timeout", "total seconds per exchange", parse=seconds, default=60.0, group="execution", metavar="S"),
    Option("read_timeout", "max seconds between bytes", parse=seconds, default=30.0, group="execution", metavar="S"),
    Option("max_tokens", "max_tokens of probes that do not test a cap; raise it for reasoning models", parse=count,
           default=16, group="execution", metavar="N"),
    Option("seed", "seed for generated requests; the same seed reproduces a run", parse=whole, default=0,
           group="execution", metavar="N"),
    Option("wait", "keep polling an unreachable target for up to this many seconds before giving up", parse=wait_seconds,
           default=0.0, group="execution", metavar="S"),
    Option("reports_dir", "where <run-id>/ is written", parse=Path, default=Path("reports"), group="execution", metavar="DIR"),
    Option("keep", "after the run, keep only the newest N run directories in the reports directory", parse=count,
           group="execution", metavar="N"),
    # run
    Option("profile", f"which rules and scenarios run. {_PROFILE_HELP}", parse=choice(*PROFILES), default=DEFAULT_PROFILE,
           commands=(RUN,), metavar="PROFILE"),
    Option("clause", "only clauses starting with this id, e.g. SSE or sse-03 (repeatable)", kind="list", default=(),
           commands=(RUN,), metavar="PREFIX"),
    Option("scenario", "only this scenario (repeatable)", kind="list", default=(), commands=(RUN,), metavar="NAME"),
    Option("defect", "embedded server only: inject this named defect (repeatable; `conformance list-defects`)",
           kind="list", default=(), commands=(RUN,), metavar="NAME"),
    Option("capabilities", "capability manifest (YAML/TOML, see examples/capabilities.yaml)", parse=Path,
           commands=(RUN,), metavar="FILE"),
    Option("fail_on", "what fails the run: FAIL/ERROR (fail), also WARN (warn), or nothing (never)",
           parse=choice("fail", "warn", "never"), default="fail", commands=(RUN,), metavar="fail|warn|never"),
    Option("max_ttft", "a stream whose first token arrives later than this many seconds is a WARN (TIM-02)",
           parse=seconds, commands=(RUN,), metavar="S"),
    Option("max_gap", "a stream with a longer gap than this many seconds between two chunks is a WARN (TIM-02)",
           parse=seconds, commands=(RUN,), metavar="S"),
    Option("baseline", "known failures (YAML/JSON, see `conformance baseline`): only new ones and expired waivers fail",
           parse=Path, commands=(RUN,), metavar="FILE"),
    # comparison (differential mode)
    Option("compare_to", "differential mode: send the run's requests again to this base URL (another server, or the "
           "official API) and report the structural differences of the answers", parse=compare_url, group="comparison",
           commands=(RUN,), metavar="URL"),
    Option("compare_model", "model id for the comparison target (default: the run's model)", group="comparison",
           commands=(RUN,), metavar="MODEL"),
    Option("compare_api_key_env", "environment variable holding the comparison target's API key (unset: no key sent)",
           default="COMPARE_API_KEY", group="comparison", commands=(RUN,), metavar="VAR"),
    # output (pytest has its own -q and --color)
    Option("quiet", "no progress display, summary only", kind="flag", default=False, group="output", plugin=None),
    Option("no_color", "no colours (also when NO_COLOR is set)", kind="flag", default=False, group="output", plugin=None),
)
BY_NAME = {o.name: o for o in OPTIONS}


def for_command(command: str) -> list[Option]:
    return [o for o in OPTIONS if command in o.commands]


def add_to_argparse(parser: argparse.ArgumentParser, command: str) -> None:
    """The command's flags; unset flags stay absent from the namespace (SUPPRESS), so
    `settings.resolve` can tell a flag from a default."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for o in for_command(command):
        group = groups.get(o.group) or groups.setdefault(o.group, parser.add_argument_group(o.group))
        shown = o.described().replace("%", "%%")
        if o.kind == "flag":
            group.add_argument(o.flag, dest=o.name, action="store_true", default=argparse.SUPPRESS, help=shown)
        else:
            group.add_argument(o.flag, dest=o.name, type=o.parse, default=argparse.SUPPRESS, metavar=o.metavar,
                               action="append" if o.kind == "list" else "store", help=shown)


def add_to_pytest(group: Any) -> None:
    """The plugin's options (a pytest OptionGroup); dest `conformance_<name>`, None when not given."""
    for o in OPTIONS:
        flag = o.plugin_flag
        if flag is None:
            continue
        shown = o.described()
        if o.kind == "flag":
            group.addoption(flag, dest=f"conformance_{o.name}", action="store_true", default=None, help=shown)
        else:
            group.addoption(flag, dest=f"conformance_{o.name}", type=o.parse, default=None, metavar=o.metavar,
                            action="append" if o.kind == "list" else "store", help=shown)
