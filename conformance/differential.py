"""Differential mode (`conformance run --compare-to URL`): the requests a run sent, sent once more
to a comparison target, and the structural differences of the two answers.

The run records each scenario's exchanges (conformance/cassette.py); after the run, every
distinct recorded request goes once to the comparison target (identical requests are sent once),
with the run's concurrency bound and timeouts, its own key and its own request and token count.
Both answers are reduced to a shape signature -- status, content-type, the JSON fields present
and their types (arrays collapsed: ``choices[].message.content``), for streams the framing --
and the signatures are compared.  Values (text, ids, timestamps) are never compared, and a
difference is a fact, not a verdict: it changes no exit code.  This module is the only one that
knows what a chat answer looks like; the report gets a generic table of differences.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import cassette
from .engine import Budget
from .preflight import SetupError, TargetUnreachable, preflight
from .target import reported_tokens
from .wire.client import Exchange, Limits, RawClient
from .wire.redact import REDACTED, Redactor, url_secrets

# Headers the client sets itself, or that belong to the run's target (its key, its extra headers).
_OWN_HEADERS = frozenset({"host", "content-length", "user-agent", "accept-encoding", "connection", "transfer-encoding"})
# Paths kept of one answer: a hostile answer with thousands of keys must not bloat the report.
MAX_PATHS = 300
_PATH_CHARS = 200
# Sent where the run sent a deliberately wrong key: the comparison target must refuse it too.
WRONG_KEY = "sk-conformance-comparison-wrong-key"


@dataclass(frozen=True)
class Comparison:
    """Where the run's requests are sent again, and how."""

    base_url: str
    model: str  # substituted for the run's model in every request body
    api_key: str | None
    api_key_env: str
    concurrency: int
    limits: Limits

    def secrets(self) -> list[str]:
        """What no report may show: the key, credentials in the URL."""
        return [s for s in (self.api_key, *url_secrets(self.base_url)) if s]

    def client(self, budget: Budget) -> RawClient:
        return RawClient(self.base_url, api_key=self.api_key, limits=self.limits, budget=budget,
                         key_env=self.api_key_env)


def check_reachable(comparison: Comparison, budget: Budget) -> None:
    """The comparison target's preflight, before the run spends anything: unreachable, a refused
    key, an unknown model or a wrong base URL is a SetupError naming it."""
    with comparison.client(budget) as client:
        try:
            preflight(client, comparison.limits, model=comparison.model, key_env=comparison.api_key_env,
                      key_flag="--compare-api-key-env")
        except TargetUnreachable as exc:
            raise SetupError(f"comparison target unreachable: {exc}") from None
        except SetupError as exc:
            raise SetupError(f"comparison target {_shown(comparison.base_url)}: {exc}") from None


# --- the requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One request as the comparison target gets it; equal requests are sent once."""

    method: str
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    auth: bool  # send the comparison key
    api_key: str | None = None  # a per-call key instead (the run sent a wrong one on purpose)

    def describe(self) -> str:
        stream = b'"stream":true' in self.body.replace(b" ", b"")
        return f"{self.method} {self.path}{' (stream)' if stream else ''}"


@dataclass
class Pair:
    """One recorded exchange of the run and the request that reproduces it elsewhere."""

    scenario: str
    label: str
    exchange: Exchange
    outgoing: Outgoing | None  # None: it cannot be sent again (why: `reason`)
    reason: str = ""


def pairs(recordings: dict[str, Any], base_url: str, model: str, comparison: Comparison,
          run_headers: Iterable[str], auth_header: str) -> tuple[list[Pair], dict[str, str]]:
    """The recorded exchanges with their outgoing requests, and the scenarios not recorded whole (with why)."""
    found: list[Pair] = []
    skipped: dict[str, str] = {}
    dropped = _OWN_HEADERS | {h.lower() for h in run_headers} | {auth_header.lower()}
    for scenario, recording in sorted(recordings.items()):
        try:
            exchanges = cassette.exchanges(recording)
        except cassette.NotReplayable as exc:
            skipped[scenario] = str(exc)
            continue
        for label, exchange in exchanges:
            outgoing, reason = _outgoing(exchange, base_url, model, comparison.model, dropped, auth_header)
            found.append(Pair(scenario, label, exchange, outgoing, reason))
    return found, skipped


def _outgoing(ex: Exchange, base_url: str, model: str, compare_model: str, dropped: frozenset[str],
              auth_header: str) -> tuple[Outgoing | None, str]:
    request = ex.request
    base_path = urlsplit(base_url).path.rstrip("/")
    path = urlsplit(request.url).path
    if request.method not in ("GET", "POST"):
        return None, f"{request.method} requests are not sent again"
    if not path.startswith(base_path):
        return None, "the request went outside the target's base URL"
    route, body = path[len(base_path):], _with_model(request.body, model, compare_model)
    headers = tuple((n, v) for n, v in request.headers if n.lower() not in dropped and REDACTED not in v)
    if request.key_header is not None:  # the run's key went out, or a per-call key (wrong on purpose)
        wrong = request.key_env is None
        return Outgoing(request.method, route, body, headers, auth=not wrong, api_key=WRONG_KEY if wrong else None), ""
    if any(n.lower() == auth_header.lower() for n, _ in request.headers):  # a wrong key given as a header
        return Outgoing(request.method, route, body, (*headers, ("Authorization", f"Bearer {WRONG_KEY}")), auth=False), ""
    return Outgoing(request.method, route, body, headers, auth=False), ""


def _with_model(body: bytes, model: str, compare_model: str) -> bytes:
    """The body with the comparison model in its `model` field, every other byte as the run sent it."""
    if model == compare_model or not body:
        return body
    pattern = rb'("model"\s*:\s*)' + re.escape(json.dumps(model).encode("utf-8"))
    replacement = json.dumps(compare_model).encode("utf-8").replace(b"\\", b"\\\\")
    return re.sub(pattern, rb"\g<1>" + replacement, body)


def send_all(comparison: Comparison, requests: Iterable[Outgoing], budget: Budget) -> dict[Outgoing, Exchange]:
    """Each distinct request once, `concurrency` at a time; tokens the target reports are counted."""
    distinct = list(dict.fromkeys(requests))
    with comparison.client(budget) as client:
        def send(out: Outgoing) -> Exchange:
            if out.method == "GET":
                ex = client.get(out.path)
            else:
                ex = client.post_json(out.path, out.body, headers=dict(out.headers), auth=out.auth, api_key=out.api_key)
            budget.charge_tokens(reported_tokens(ex))
            return ex

        with ThreadPoolExecutor(max_workers=comparison.concurrency) as pool:
            return dict(zip(distinct, pool.map(send, distinct)))


# --- shape signatures -------------------------------------------------------------------------------


def signature(ex: Exchange, *, whole: bool = True) -> dict[str, str]:
    """The structure of an answer as aspect -> value; with ``whole`` False (an answer not read to
    its end) only what its start shows: status, content-type, transport."""
    shape = {"status": "none" if ex.status is None else str(ex.status), "content-type": ex.content_type or "none"}
    if ex.error is not None:
        shape["transport"] = f"error ({ex.error.kind})"
    if not whole:
        return shape
    if ex.events is not None:
        shape.update(_stream_shape(ex))
    elif not ex.body:
        shape["body"] = "empty"
    else:
        try:
            value = json.loads(ex.body)
        except (ValueError, RecursionError):
            shape["body"] = "not JSON"
        else:
            shape["body"] = "JSON"
            shape.update(_fields(value, "field "))
    return shape


def _stream_shape(ex: Exchange) -> dict[str, str]:
    events = ex.events or []
    framing = ex.framing
    chunks: list[Any] = []
    not_json = 0
    for event in events:
        if event.data == "[DONE]":
            continue
        try:
            chunks.append(json.loads(event.data))
        except (ValueError, RecursionError):
            not_json += 1
    choices = [c for chunk in chunks if isinstance(chunk, dict) for c in _list(chunk.get("choices"))]
    deltas = [c.get("delta") for c in choices if isinstance(c, dict)]
    shape = {
        "body": "SSE",
        "SSE data-only events": _yes(framing is not None and not framing.event_fields and not framing.other_fields),
        "SSE [DONE] sentinel": _present(any(e.data == "[DONE]" for e in events)),
        "SSE role in the first delta": _yes(bool(deltas) and isinstance(deltas[0], dict) and "role" in deltas[0]),
        "SSE usage chunk": _present(any(isinstance(c, dict) and isinstance(c.get("usage"), dict) for c in chunks)),
        "SSE finish chunk": _present(any(isinstance(c, dict) and c.get("finish_reason") is not None for c in choices)),
    }
    if not_json:
        shape["SSE events that are not JSON"] = _present(True)
    merged: dict[str, set[str]] = {}
    for chunk in chunks:
        _walk(chunk, "", merged)
    shape.update({f"chunk field {path}": "|".join(sorted(types)) for path, types in merged.items()})
    return shape


def _fields(value: Any, prefix: str) -> dict[str, str]:
    found: dict[str, set[str]] = {}
    _walk(value, "", found)
    return {prefix + path: "|".join(sorted(types)) for path, types in found.items()}


def _walk(value: Any, path: str, found: dict[str, set[str]]) -> None:
    """Every path of a JSON value with the types seen there; array elements share one path (``[]``);
    at most MAX_PATHS paths, in document order."""
    key = (path or "(root)")[:_PATH_CHARS]
    if key not in found and len(found) >= MAX_PATHS:
        return
    found.setdefault(key, set()).add(_json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _present(flag: bool) -> str:
    return "present" if flag else "absent"


def differences(this: Exchange, other: Exchange, *, this_whole: bool) -> list[tuple[str, str, str]]:
    """(aspect, this target, comparison) for each structural difference between two answers to one request."""
    mine, theirs = signature(this, whole=this_whole), signature(other, whole=this_whole)
    out: list[tuple[str, str, str]] = []
    status = mine.pop("status"), theirs.pop("status")
    if status[0] != status[1]:
        classes = [s[0] + "xx" if s.isdigit() else s for s in status]
        if classes[0] != classes[1]:  # the answers are of different kinds: their bodies are not comparable
            return [("status class", f"{classes[0]} ({status[0]})", f"{classes[1]} ({status[1]})"),
                    *_differing(mine, theirs, only=("content-type", "transport"))]
        out.append(("status code", status[0], status[1]))
    return out + _differing(mine, theirs)


def _differing(mine: dict[str, str], theirs: dict[str, str], only: tuple[str, ...] | None = None) -> list[tuple[str, str, str]]:
    aspects = sorted(set(mine) | set(theirs))
    return [(a, mine.get(a, "absent"), theirs.get(a, "absent")) for a in aspects
            if (only is None or a in only) and mine.get(a, "absent") != theirs.get(a, "absent")]


def _complete(ex: Exchange) -> bool:
    """Whether the run read this answer to its end (a probe may stop early on purpose)."""
    return ex.error is None and not ex.truncated and not ex.stopped_reading


# --- the section ------------------------------------------------------------------------------------


def compare(recordings: dict[str, Any], *, base_url: str, model: str, comparison: Comparison, budget: Budget,
            run_headers: Iterable[str] = (), auth_header: str = "Authorization") -> dict[str, Any]:
    """The report's `differences` section for a run's recordings; ``budget`` counts what the
    comparison target is sent (its preflight included)."""
    found, skipped = pairs(recordings, base_url, model, comparison, run_headers, auth_header)
    sendable = [p for p in found if p.outgoing is not None]
    answers = send_all(comparison, (p.outgoing for p in sendable if p.outgoing is not None), budget)
    grouped: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for pair in sendable:
        assert pair.outgoing is not None
        for aspect, mine, theirs in differences(pair.exchange, answers[pair.outgoing], this_whole=_complete(pair.exchange)):
            grouped.setdefault((aspect, mine, theirs), []).append(
                {"scenario": pair.scenario, "exchange": pair.label, "request": pair.outgoing.describe()})
    not_compared = [{"scenario": s, "reason": r} for s, r in sorted(skipped.items())]
    not_compared += [{"scenario": p.scenario, "exchange": p.label, "reason": p.reason} for p in found if p.outgoing is None]
    return {
        "comparison": {"url": _shown(comparison.base_url), "model": comparison.model},
        "requests": budget.requests,
        "tokens": budget.tokens,
        "compared": len(sendable),
        "not_compared": not_compared,
        "items": [{"aspect": a, "this": m, "comparison": t, "where": where}
                  for (a, m, t), where in sorted(grouped.items())],
    }


def _shown(url: str) -> str:
    """A URL without the credentials it may carry."""
    return Redactor(url_secrets(url)).text(url)
