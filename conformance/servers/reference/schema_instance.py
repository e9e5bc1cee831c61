"""A small generator of valid instances for JSON Schemas (structured output and tool arguments).

Supports ``type`` (single or list), ``enum``, ``const``, ``properties`` (all of them, so strict
schemas whose ``required`` lists every property are met), ``required``, ``items``/``prefixItems``,
``minItems``, ``minLength``/``maxLength``, numeric bounds (inclusive and exclusive), ``anyOf``/
``oneOf``/``allOf`` (first branch; ``allOf`` merges objects) and local ``$ref`` into ``$defs`` /
``definitions``.  String values echo ``word`` so an argument can quote the prompt.
"""

from __future__ import annotations

import math
from typing import Any

_MAX_DEPTH = 12
# Caps that keep a hostile schema (minItems: 1e9, minLength: 1e9, wide nesting) from exhausting
# memory or time: past them the instance is cut short (and may then violate the schema).
_MAX_NODES = 2000
_MAX_ITEMS = 100
_MAX_STRING = 4096
_KINDS = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})


def instance(schema: Any, word: str = "value") -> Any:
    """A minimal-but-complete value valid for ``schema`` (``{}`` and ``true`` give an empty object)."""
    return _Generator(schema if isinstance(schema, dict) else {}, word).make(schema, 0)


class _Generator:
    def __init__(self, root: dict[str, Any], word: str) -> None:
        self.root = root
        self.word = word
        self.nodes = 0

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        node: Any = self.root
        for part in ref.lstrip("#/").split("/") if ref != "#" else ():
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def make(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, dict):
            return {}
        schema = self.resolve(schema)
        self.nodes += 1
        if depth > _MAX_DEPTH or self.nodes > _MAX_NODES:
            return None
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.make(schema[key][0], depth + 1)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            return self._all_of(schema, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null") if kind else None
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "object"
        return getattr(self, f"_{kind}")(schema, depth) if isinstance(kind, str) and kind in _KINDS else self._object(schema, depth)

    def _all_of(self, schema: dict[str, Any], depth: int) -> Any:
        parts = [self.make(part, depth + 1) for part in schema["allOf"]]
        if all(isinstance(part, dict) for part in parts):
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(part)
            return merged
        return parts[0]

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        value = {name: self.make(sub, depth + 1) for name, sub in properties.items()}
        required = schema.get("required")
        for name in required if isinstance(required, list) else ():
            if isinstance(name, str) and name not in value:
                value[name] = self.word
        return value

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix_items = schema.get("prefixItems")
        prefix = [self.make(sub, depth + 1) for sub in (prefix_items if isinstance(prefix_items, list) else ())[:_MAX_ITEMS]]
        count = max(min(_count(schema.get("minItems", 1)), _MAX_ITEMS), len(prefix))
        maximum = schema.get("maxItems")
        if isinstance(maximum, int):
            count = min(count, maximum)
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
        return (prefix + [self.make(items, depth + 1) for _ in range(count - len(prefix))])[:count]

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        text = self.word.ljust(min(_count(schema.get("minLength", 0)), _MAX_STRING), "x")
        maximum = schema.get("maxLength")
        return text[:maximum] if isinstance(maximum, int) else text

    def _number(self, schema: dict[str, Any], depth: int) -> float | int:
        return _in_bounds(schema, integer=False)

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        return int(_in_bounds(schema, integer=True))

    def _boolean(self, schema: dict[str, Any], depth: int) -> bool:
        return True

    def _null(self, schema: dict[str, Any], depth: int) -> None:
        return None


def _count(value: Any) -> int:
    """A schema's count keyword (minItems, minLength) as a non-negative int; nonsense counts as 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def _in_bounds(schema: dict[str, Any], *, integer: bool) -> float | int:
    """1 if allowed, otherwise the smallest allowed value (a multiple of ``multipleOf`` when given);
    0 when the bounds are beyond what a float can hold (no finite instance can be computed)."""
    try:
        value = _bounded(schema, integer=integer)
    except (OverflowError, ValueError):
        return 0
    return value if math.isfinite(value) else 0


def _bounded(schema: dict[str, Any], *, integer: bool) -> float | int:
    low = -math.inf
    high = math.inf
    if isinstance(schema.get("minimum"), (int, float)):
        low = schema["minimum"]
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        low = max(low, schema["exclusiveMinimum"] + (1 if integer else 1e-6))
    if isinstance(schema.get("maximum"), (int, float)):
        high = schema["maximum"]
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        high = min(high, schema["exclusiveMaximum"] - (1 if integer else 1e-6))
    value: float = 1 if low <= 1 <= high else (low if low > -math.inf else high)
    if integer:
        value = math.ceil(value) if value == low else math.floor(value)
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and step > 0:
        value = math.ceil(value / step) * step
    return value
