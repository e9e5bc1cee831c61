"""The capability manifest: what a vendor says its target offers, reconciled with what it does.

A manifest is a small YAML or TOML file (see ``examples/capabilities.yaml``)::

    vendor: Example Inc.
    models: [my-model]
    capabilities: {tools: true, json_schema: false, logprobs: true, n: true, vendor_params: false}
    statistics: {false_alarm: 0.01}
    probes: {logit_bias: {token_id: 9907, text: " Paris", prompt: "What is the capital of France?"}}

Every probe that needs a capability names it.  Reconciliation, per probe:

* claimed, honoured ........ PASS (and CAP-01 PASS);
* claimed, refused or broken  FAIL on the probe's clause (a refusal is a FAIL of the claim);
* not claimed, refused ..... SKIP "not offered" (only a clean 4xx counts as a refusal);
* not claimed, working ..... judged like any other answer (a MUST failure stays a FAIL:
  "unsupported" never hides a broken answer), and CAP-01 INFO "works although not claimed".

Without a manifest the profile is the claim: OpenAI's contract for the OpenAI-compatible profiles,
the seed vendor's page (``SEED_VENDOR_PAGE``) for the ``vendor`` profile.

``probes`` supplies what only the vendor knows: token ids are tokenizer-specific, so the
``logit_bias`` probe (PAR-15) runs only when the manifest names a token, its text and a prompt
that makes the model emit it.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .stats import DEFAULT_FALSE_ALARM
from .wire.redact import cut

if TYPE_CHECKING:
    from .wire.client import Exchange


@dataclass(frozen=True)
class Capability:
    """One optional feature: the request fields that exercise it and the clauses that judge it."""

    name: str
    fields: tuple[str, ...]
    clauses: tuple[str, ...]


CAPABILITIES: dict[str, Capability] = {c.name: c for c in (
    Capability("max_tokens", ("max_tokens",), ("PAR-01",)),
    Capability("max_completion_tokens", ("max_completion_tokens",), ("PAR-02",)),
    Capability("stop", ("stop",), ("PAR-03",)),
    Capability("n", ("n",), ("CHO-01", "CHO-02", "PAR-04", "SSE-12")),
    Capability("seed", ("seed",), ("PAR-10", "PAR-14")),
    Capability("logprobs", ("logprobs", "top_logprobs"), ("PAR-07", "PAR-08", "SSE-16")),
    Capability("json_object", ("response_format",), ("PAR-05",)),
    Capability("json_schema", ("response_format",), ("PAR-06",)),
    Capability("tools", ("tools", "tool_choice"), ("TOOL-01", "TOOL-02", "TOOL-03", "TOOL-04", "TOOL-05", "TOOL-06",
                                                   "FIN-03", "FIN-04", "SSE-09", "SSE-10")),
    Capability("parallel_tool_calls", ("parallel_tool_calls",), ("TOOL-07",)),
    Capability("stream_usage", ("stream_options",), ("SSE-11", "USE-04")),
    Capability("vendor_params", ("top_k", "repetition_penalty"), ("PAR-12",)),
    Capability("logit_bias", ("logit_bias",), ("PAR-15",)),
)}

# Answers that are a refusal of the request, not a failure of auth, quota or the transport.
_NOT_REFUSALS = frozenset({401, 403, 407, 408, 429})


@dataclass(frozen=True)
class LogitBiasProbe:
    """A token of the target's tokenizer: its id, its text as it appears in an answer, and a prompt
    that makes the model emit it at temperature 0 ("" for the suite's default prompt)."""

    token_id: int
    text: str
    prompt: str = ""

    @property
    def request_prompt(self) -> str:
        return self.prompt or f'Reply with the word "{self.text.strip()}" and nothing else.'


@dataclass(frozen=True)
class Manifest:
    """What the target claims; ``source`` says where the claims came from (a file, a profile)."""

    source: str
    claims: Mapping[str, bool]
    vendor: str = ""
    models: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)  # per capability: why it is (not) claimed
    false_alarm: float = DEFAULT_FALSE_ALARM
    explicit: bool = True  # False: OpenAI's contract stands in for claims nobody wrote down
    logit_bias_probe: LogitBiasProbe | None = None

    def claimed(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise KeyError(f"unknown capability {capability!r}")
        return self.claims.get(capability, False)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "vendor": self.vendor, "models": list(self.models), "claims": dict(self.claims),
                "notes": dict(self.notes), "false_alarm": self.false_alarm, "explicit": self.explicit,
                "probes": {"logit_bias": dataclasses.asdict(self.logit_bias_probe)} if self.logit_bias_probe else {}}


OPENAI_DEFAULTS = Manifest("OpenAI Chat Completions contract (no manifest given)",
                           {name: name != "vendor_params" for name in CAPABILITIES}, explicit=False)

_PROMISED = "promised on the page (\"streaming, tool calls, and JSON mode\") but missing from its parameter list"
SEED_VENDOR_PAGE = Manifest(
    "seed vendor page (the OpenAI payload plus top_k and repetition_penalty; no manifest given)",
    {name: True for name in CAPABILITIES},
    vendor="seed vendor",
    notes={
        "tools": _PROMISED, "parallel_tool_calls": _PROMISED, "json_object": _PROMISED, "json_schema": _PROMISED,
        "stream_usage": "streaming is promised; stream_options is missing from the parameter list",
        "logprobs": "choices[].logprobs is in the response schema; the logprobs parameters are not listed",
        "seed": "not in the parameter list; OpenAI-compatible payload promised",
        "max_completion_tokens": "not in the parameter list (max_tokens is); OpenAI-compatible payload promised",
        "vendor_params": "top_k and repetition_penalty are listed without ranges",
    },
)


def default_for(profile: str) -> Manifest:
    """The claims a profile stands for when the user gave no manifest."""
    return SEED_VENDOR_PAGE if profile == "vendor" else OPENAI_DEFAULTS


class ManifestError(ValueError):
    """The manifest file cannot be read or names something the suite does not know."""


def load(path: str | Path) -> Manifest:
    """Read a YAML (.yaml/.yml) or TOML (.toml) manifest; unknown capability names are an error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ManifestError(f"{path}: {exc}") from None
    return parse(data, source=str(path))


def parse(data: Any, *, source: str) -> Manifest:
    """Build a manifest from decoded YAML/TOML data (see the module docstring for the format)."""
    if not isinstance(data, dict):
        raise ManifestError(f"{source}: the manifest must be a mapping")
    unknown_keys = set(data) - {"vendor", "models", "capabilities", "notes", "statistics", "probes"}
    if unknown_keys:
        raise ManifestError(f"{source}: unknown keys {sorted(unknown_keys)}")
    raw = data.get("capabilities") or {}
    if not isinstance(raw, dict):
        raise ManifestError(f"{source}: capabilities must be a mapping of name to true/false")
    unknown = sorted(set(raw) - set(CAPABILITIES))
    if unknown:
        raise ManifestError(f"{source}: unknown capabilities {unknown}; known: {', '.join(CAPABILITIES)}")
    bad = sorted(name for name, value in raw.items() if not isinstance(value, bool))
    if bad:
        raise ManifestError(f"{source}: capabilities {bad} must be true or false")
    models = data.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ManifestError(f"{source}: models must be a list of model ids")
    statistics = data.get("statistics") or {}
    false_alarm = statistics.get("false_alarm", DEFAULT_FALSE_ALARM) if isinstance(statistics, dict) else None
    if not isinstance(false_alarm, (int, float)) or isinstance(false_alarm, bool) or not 0 < false_alarm < 0.5:
        raise ManifestError(f"{source}: statistics.false_alarm must be a number in (0, 0.5)")
    notes = data.get("notes") or {}
    return Manifest(source, dict(raw), str(data.get("vendor") or ""), tuple(models),
                    {str(k): str(v) for k, v in notes.items()} if isinstance(notes, dict) else {}, float(false_alarm),
                    logit_bias_probe=_logit_bias_probe(data.get("probes") or {}, source))


def _logit_bias_probe(probes: Any, source: str) -> LogitBiasProbe | None:
    """``probes.logit_bias`` as a probe: an integer token_id >= 0, a non-empty text, an optional prompt."""
    if not isinstance(probes, dict) or set(probes) - {"logit_bias"}:
        raise ManifestError(f"{source}: probes must be a mapping with only the key logit_bias")
    spec = probes.get("logit_bias")
    if spec is None:
        return None
    where = f"{source}: probes.logit_bias"
    if not isinstance(spec, dict) or set(spec) - {"token_id", "text", "prompt"}:
        raise ManifestError(f"{where} must be a mapping of token_id, text and prompt")
    token_id, text, prompt = spec.get("token_id"), spec.get("text"), spec.get("prompt", "")
    if not isinstance(token_id, int) or isinstance(token_id, bool) or token_id < 0:
        raise ManifestError(f"{where}.token_id must be a non-negative integer")
    if not isinstance(text, str) or not text.strip():
        raise ManifestError(f"{where}.text must be the token's non-blank text")
    if not isinstance(prompt, str):
        raise ManifestError(f"{where}.prompt must be a string")
    return LogitBiasProbe(token_id, text, prompt)


def is_refusal(exchange: Exchange) -> bool:
    """A clean refusal: a 4xx answer that is not about auth, quota or a timeout."""
    return exchange.status is not None and 400 <= exchange.status < 500 and exchange.status not in _NOT_REFUSALS


def error_message(ex: Exchange) -> str:
    """The error message of a refusal, quoted and cut, for verdict texts ("" when there is none)."""
    try:
        error = ex.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = ex.body[:120].decode("utf-8", "replace")
    return cut(json.dumps(message, ensure_ascii=False), 200) if message else ""
