"""JSON Schemas of the contract: loading, profile readings, cached validators.

The files in ``schemas/`` are the strict ("openai-strict") reading.  Two small, documented
transforms derive the other readings from them, on a bundled (self-contained) copy:

* lenient ("compatible"): every node carrying an ``x-lenient`` key gets that value applied
  as a JSON Merge Patch (RFC 7396; ``null`` deletes a key).  The patches shrink ``required``
  lists to what clients read, open the request top level and messages to unknown keys, and
  relax a few enums.  The strict reading simply drops the ``x-lenient`` keys.
* vendor: the ``properties`` of ``vendor.json`` (the seed vendor's ``top_k`` and
  ``repetition_penalty``) are merged into the request's top-level ``properties``.

Cross-file references have the form ``<file>.json#/$defs/<Name>``; bundling copies every
reachable definition into one ``$defs`` so that no ``$ref`` leaves the returned document.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .wire.redact import cut


def _schema_dir() -> Path:
    """The repo's schemas/ (a checkout or an editable install), else the copy a regular install
    puts under ``<prefix>/share/oai-conformance/schemas``."""
    checkout = Path(__file__).resolve().parent.parent / "schemas"
    return checkout if checkout.is_dir() else Path(sys.prefix) / "share" / "oai-conformance" / "schemas"


SCHEMA_DIR: Path = _schema_dir()

Kind = Literal["request", "response", "chunk", "error"]

_KINDS: frozenset[str] = frozenset({"request", "response", "chunk", "error"})
_REF = re.compile(r"^(?:(?P<file>[a-z_]+)\.json)?#/\$defs/(?P<name>[A-Za-z0-9_]+)$")
_MAX_MESSAGES = 20
_MAX_MESSAGE_CHARS = 200


def load(name: str) -> dict:
    """Parsed JSON of ``schemas/<name>.json`` (a fresh object on every call)."""
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def schema_hash() -> str:
    """SHA-256 hex over the name and bytes of every ``*.json`` file in ``schemas/``, sorted by name."""
    digest = hashlib.sha256()
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def request_schema(*, strict: bool, vendor: bool = False) -> dict:
    """A self-contained request schema (all ``$ref``s point into its own ``$defs``)."""
    return copy.deepcopy(_reading("request", strict, vendor))


def reading(kind: Kind, *, strict: bool, vendor: bool = False) -> dict:
    """A self-contained schema of any kind in one reading (a copy: callers may change it)."""
    return copy.deepcopy(_reading(kind, strict, vendor and kind == "request"))


def validate(kind: Kind, instance: object, *, strict: bool, vendor: bool = False) -> list[str]:
    """Validate ``instance``; ``[]`` when valid, else up to 20 ``"<json path>: <message>"`` lines.

    ``vendor`` only affects the request schema.  The most specific errors come first.
    """
    errors = list(_validator(kind, strict, vendor and kind == "request").iter_errors(instance))
    if not errors:
        return []
    leaves = [leaf for error in errors for leaf in _leaves(error)]
    leaves.sort(key=lambda e: (-len(e.absolute_path), e.json_path, e.message))
    messages: list[str] = []
    for error in leaves:
        line = f"{error.json_path}: {_shorten(error.message)}"
        if line not in messages:
            messages.append(line)
    return messages[:_MAX_MESSAGES]


def _leaves(error: ValidationError) -> list[ValidationError]:
    """Replace an anyOf/oneOf error by the errors of the one branch the instance's type fits.

    ``anyOf: [{type: null}, {$ref: X}]`` otherwise reports only "is not valid under any of
    the given schemas"; the errors inside X are what a reader needs.
    """
    if not error.context:
        return [error]
    relevant = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
    if len({e.relative_schema_path[0] for e in relevant}) != 1:
        return [error]
    return [leaf for e in relevant for leaf in _leaves(e)]


def _shorten(message: str) -> str:
    # jsonschema embeds the repr of the failing instance, which can be a whole response.
    return cut(message, _MAX_MESSAGE_CHARS)  # redacts first: the instance may echo the key


@cache
def _validator(kind: str, strict: bool, vendor: bool) -> Draft202012Validator:
    return Draft202012Validator(_reading(kind, strict, vendor))


@cache
def _reading(kind: str, strict: bool, vendor: bool) -> dict:
    """The bundled schema of one kind in one reading; cached, so never mutate the result."""
    if kind not in _KINDS:
        raise ValueError(f"unknown schema kind {kind!r}; expected one of {sorted(_KINDS)}")
    schema = _bundle(kind)
    if vendor and kind == "request":
        schema["properties"].update(load("vendor")["properties"])
    return _apply_profile(schema, strict)


def _bundle(root: str) -> dict:
    """Copy ``schemas/<root>.json`` with every reachable definition inlined into ``$defs``."""
    documents: dict[str, dict] = {}
    pending: list[tuple[str, str]] = []

    def document(name: str) -> dict:
        if name not in documents:
            documents[name] = load(name)
        return documents[name]

    def rewrite(node: Any, file: str) -> Any:
        if isinstance(node, dict):
            out = {key: rewrite(value, file) for key, value in node.items() if key != "$ref"}
            if "$ref" in node:
                match = _REF.match(node["$ref"])
                if match is None:
                    raise ValueError(f"{file}.json: unsupported $ref {node['$ref']!r}")
                pending.append((match["file"] or file, match["name"]))
                out["$ref"] = f"#/$defs/{match['name']}"
            return out
        if isinstance(node, list):
            return [rewrite(item, file) for item in node]
        return node

    top = {key: value for key, value in document(root).items() if key not in ("$id", "$defs")}
    bundled = rewrite(top, root)
    defs: dict[str, Any] = {}
    origin: dict[str, str] = {}
    while pending:
        file, name = pending.pop()
        if name in origin:
            if origin[name] != file:
                raise ValueError(f"$defs name clash: {name} in {origin[name]}.json and {file}.json")
            continue
        origin[name] = file
        defs[name] = rewrite(document(file)["$defs"][name], file)
    if defs:
        bundled["$defs"] = dict(sorted(defs.items()))
    return bundled


def _apply_profile(node: Any, strict: bool) -> Any:
    """Drop (strict) or apply (lenient) every ``x-lenient`` merge patch."""
    if isinstance(node, dict):
        out = {key: _apply_profile(value, strict) for key, value in node.items() if key != "x-lenient"}
        if not strict and "x-lenient" in node:
            out = _merge_patch(out, node["x-lenient"])
        return out
    if isinstance(node, list):
        return [_apply_profile(item, strict) for item in node]
    return node


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result

