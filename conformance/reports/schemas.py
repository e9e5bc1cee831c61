"""The JSON Schemas of the suite's own documents beyond report.json (diff, matrix): one
validator per schema file, for readers of those documents and for the tests."""

from __future__ import annotations

from functools import cache

from jsonschema import Draft202012Validator

from .. import schema

DIFF = "diff.schema"
MATRIX = "matrix.schema"


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema.load(name))


def errors(name: str, document: object) -> list[str]:
    """Schema errors of ``document`` against ``schemas/<name>.json`` as `<json path>: <message>` lines; [] when valid."""
    found = sorted(_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message[:300]}" for e in found[:20]]
