"""The cassette: what a run records of each scenario's evidence so that `conformance replay` can
judge it again offline, with the suite of the day, and nothing else.

A recording is JSON: the evidence's request, parameter, probed capability and data, and each of its exchanges as the
artifact report.json already keeps (request, headers, body, transcript) plus the wire facts the
artifact does not show (exact body bytes when the artifact's text is not them, SSE arrival times,
framing facts, connection facts).  `rebuild` turns a recording back into the same `Evidence`, and
proves it: the rebuilt exchange must render to the recorded artifact, byte for byte.

What cannot be recorded faithfully is recorded as not replayable, with the reason, and replay
says so instead of judging: a body longer than the artifact keeps (16 KiB), evidence other than a
scenario's `Evidence` (generated traffic is judged case by case inside its scenario), data that
does not survive a JSON round trip.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import math
import threading
from typing import Any

from .engine import Judged
from .evidence import Evidence, ExchangeArtifact
from .target import Context
from .wire.model import Exchange, RecordedRequest, TransportError
from .wire.sse import SSEEvent, parse_sse

BODY_KEPT = 16 * 1024  # bytes of a body the artifact shows (evidence.ExchangeArtifact)
# Longer bodies are recorded whole up to this size, within a budget per run: a hostile target's
# megabyte answers must not multiply the size of report.json.
BODY_RECORDED = 256 * 1024
EXTRA_BYTES_PER_RUN = 4 * 1024 * 1024
_PACKAGE = "conformance."  # only the suite's own dataclasses are rebuilt from a recording


class NotReplayable(Exception):
    """Why evidence cannot be recorded, or a recording cannot be rebuilt, faithfully."""


@dataclasses.dataclass
class Allowance:
    """The bytes a run may still spend on bodies longer than an artifact shows."""

    left: int = EXTRA_BYTES_PER_RUN


class Recorder:
    """Collects the recording of each scenario as the runner hands its evidence over (any thread)."""

    def __init__(self) -> None:
        self.recordings: dict[str, dict[str, Any]] = {}
        self.allowance = Allowance()
        self._lock = threading.Lock()

    def record(self, scenario: str, evidence: Any) -> None:
        """Record ``evidence``; a later recording of the same scenario (a serial replay) replaces it."""
        with self._lock:
            self.recordings[scenario] = record(evidence, self.allowance)


def record(evidence: Any, allowance: Allowance | None = None) -> dict[str, Any]:
    """The recording of one scenario's evidence (never raises: what fails is not replayable);
    long bodies are recorded whole from ``allowance`` (a fresh one by default)."""
    if type(evidence) is not Evidence:
        return {"replayable": False, "reason": _kind_of(evidence)}
    budget = allowance or Allowance()
    try:
        exchanges = [_record_exchange(label, ex, budget)
                     for label, ex in (("primary", evidence.exchange), *evidence.related.items())]
        return {"replayable": True, "request": _faithful(evidence.request, "request"),
                "param": _faithful(evidence.param, "param"), "capability": evidence.capability,
                "data": _faithful(evidence.data, "data"),
                "exchanges": exchanges}
    except NotReplayable as exc:
        return {"replayable": False, "reason": str(exc)}
    except Exception as exc:  # recording must never cost the run its verdicts
        return {"replayable": False, "reason": f"recording failed: {type(exc).__name__}: {exc}"}


def _kind_of(evidence: Any) -> str:
    if isinstance(evidence, Judged):
        return "generated traffic is judged case by case while it is sent; its cases are not recorded"
    return f"the scenario's evidence ({type(evidence).__name__}) is not recordable"


def rebuild(recording: dict[str, Any], ctx: Context) -> Evidence:
    """The evidence a recording was made from; NotReplayable when it was not recorded whole."""
    if not recording.get("replayable"):
        raise NotReplayable(recording.get("reason") or "not recorded")
    exchanges = {item["label"]: _rebuild_exchange(item) for item in recording["exchanges"]}
    primary = exchanges.pop("primary")
    return Evidence(ctx, decode(recording["request"]), primary, related=exchanges, data=decode(recording["data"]),
                    param=decode(recording["param"]), capability=recording.get("capability"))


def exchanges(recording: dict[str, Any]) -> list[tuple[str, Exchange]]:
    """The exchanges of a recording, by label, primary first; NotReplayable when it was not recorded whole."""
    if not recording.get("replayable"):
        raise NotReplayable(recording.get("reason") or "not recorded")
    return [(item["label"], _rebuild_exchange(item)) for item in recording["exchanges"]]


# --- exchanges -------------------------------------------------------------------------------------


def _record_exchange(label: str, ex: Exchange, budget: Allowance) -> dict[str, Any]:
    artifact = ExchangeArtifact(label, ex).to_dict()
    request = ex.request
    return {
        "label": label,
        "artifact": artifact,
        "wire": {
            "request_body": _exact(request.body, artifact["request"]["body"], f"{label} request body", budget),
            "body": _exact(ex.body, artifact["response"]["body"], f"{label} response body", budget),
            "key": [request.key_header, request.key_prefix, request.key_env],
            "events": None if ex.events is None else [[e.at, e.end] for e in ex.events],
            "framing": None if ex.framing is None else encode(ex.framing),
            "elapsed": ex.elapsed, "ttfb": ex.ttfb, "attempts": ex.attempts, "retry_wait": ex.retry_wait,
            "http_version": ex.http_version, "reason": ex.reason, "after_done_bytes": ex.after_done_bytes,
            "open_after_done": ex.open_after_done, "dead_connection": ex.dead_connection,
            "stopped_reading": ex.stopped_reading, "closed_after_response": ex.closed_after_response,
        },
    }


def _exact(raw: bytes, shown: str, what: str, budget: Allowance) -> dict[str, str] | None:
    """None when the artifact's text is the body itself; else the body as text, or in base64 when
    it is not UTF-8.  NotReplayable when it is too long to record, or the run's budget is spent."""
    if shown.encode("utf-8") == raw:
        return None
    if len(raw) > BODY_KEPT:
        if len(raw) > BODY_RECORDED:
            raise NotReplayable(f"the {what} ({len(raw)} bytes) is recorded only up to {BODY_KEPT // 1024} KiB "
                                f"(bodies over {BODY_RECORDED // 1024} KiB are not recorded whole)")
        if len(raw) > budget.left:
            raise NotReplayable(f"the {what} ({len(raw)} bytes) is recorded only up to {BODY_KEPT // 1024} KiB "
                                f"(the run's {EXTRA_BYTES_PER_RUN // 2**20} MiB for longer bodies was spent)")
        budget.left -= len(raw)
    try:
        return {"text": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


def _body(recorded: dict[str, str] | None, shown: str) -> bytes:
    if recorded is None:
        return shown.encode("utf-8")
    return recorded["text"].encode("utf-8") if "text" in recorded else base64.b64decode(recorded["base64"])


def _rebuild_exchange(item: dict[str, Any]) -> Exchange:
    artifact, wire = item["artifact"], item["wire"]
    sent, got = artifact["request"], artifact["response"]
    request_body = _body(wire["request_body"], sent["body"])
    key_header, key_prefix, key_env = wire["key"]
    request = RecordedRequest(sent["method"], sent["url"], [(k, v) for k, v in sent["headers"]], request_body,
                              _json_or_none(request_body), key_header, key_prefix, key_env)
    body = _body(wire["body"], got["body"])
    kind, _, message = (got["error"] or "").partition(": ")
    exchange = Exchange(
        request=request, status=got["status"], headers=[(k, v) for k, v in got["headers"]], body=body,
        error=TransportError(kind, message) if got["error"] else None, truncated=got["truncated"],
        elapsed=wire["elapsed"], ttfb=wire["ttfb"], attempts=wire["attempts"], retry_wait=wire["retry_wait"],
        http_version=wire["http_version"], reason=wire["reason"], after_done_bytes=wire["after_done_bytes"],
        open_after_done=wire["open_after_done"], dead_connection=wire["dead_connection"],
        stopped_reading=wire["stopped_reading"], closed_after_response=wire["closed_after_response"],
    )
    if wire["events"] is not None:
        exchange.events = _events(body, wire["events"])
        exchange.framing = decode(wire["framing"])
    if ExchangeArtifact(item["label"], exchange).to_dict() != artifact:
        raise NotReplayable(f"the {item['label']} exchange does not rebuild to what was recorded")
    return exchange


def _events(body: bytes, recorded: list[list[float]]) -> list[SSEEvent]:
    """The stream's events parsed again from its bytes, with their recorded arrival times; the
    parse must end each event where the live parser did."""
    parsed, _ = parse_sse(body)
    if len(parsed) < len(recorded) or any(e.end != end for e, (_, end) in zip(parsed, recorded)):
        raise NotReplayable("the recorded stream does not parse into the recorded events")
    for event, (at, _) in zip(parsed, recorded):
        event.at = at
    return parsed[: len(recorded)]


def _json_or_none(body: bytes) -> object | None:
    try:
        return json.loads(body) if body else None
    except (ValueError, RecursionError):
        return None


# --- values ----------------------------------------------------------------------------------------
# JSON with tags for what JSON lacks: {"$tuple": [...]}, {"$set": [...]}, {"$bytes": base64},
# {"$dataclass": "module:Name", "fields": {...}} (the suite's own), {"$dict": {...}} for a mapping
# whose keys could be mistaken for a tag.


def _faithful(value: Any, what: str) -> Any:
    """``encode(value)``, proven to decode to an equal value after a JSON round trip."""
    encoded = encode(value, what)
    if decode(json.loads(json.dumps(encoded))) != value:
        raise NotReplayable(f"the scenario's {what} does not survive a JSON round trip")
    return encoded


def encode(value: Any, where: str = "value") -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotReplayable(f"{where} holds the number {value}")
        return value
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        encoded = [encode(v, where) for v in items]
        return encoded if isinstance(value, list) else {"$tuple" if isinstance(value, tuple) else "$set": encoded}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotReplayable(f"{where} has a mapping with keys that are not strings")
        encoded_dict = {k: encode(v, f"{where}.{k}") for k, v in value.items()}
        return {"$dict": encoded_dict} if any(k.startswith("$") for k in value) else encoded_dict
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and type(value).__module__.startswith(_PACKAGE):
        fields = {f.name: encode(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
        return {"$dataclass": f"{type(value).__module__}:{type(value).__qualname__}", "fields": fields}
    raise NotReplayable(f"{where} holds a {type(value).__name__}")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$tuple" in value:
        return tuple(decode(v) for v in value["$tuple"])
    if "$set" in value:
        return {decode(v) for v in value["$set"]}
    if "$bytes" in value:
        return base64.b64decode(value["$bytes"])
    if "$dict" in value:
        return {k: decode(v) for k, v in value["$dict"].items()}
    if "$dataclass" in value:
        return _dataclass(value["$dataclass"])(**{k: decode(v) for k, v in value["fields"].items()})
    return {k: decode(v) for k, v in value.items()}


def _dataclass(name: str) -> Any:
    module, _, qualname = name.partition(":")
    if not module.startswith(_PACKAGE):
        raise NotReplayable(f"{name} is not one of the suite's own types")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and dataclasses.is_dataclass(found)):
        raise NotReplayable(f"{name} is not one of the suite's data types")
    return found

