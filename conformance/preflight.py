"""Before any scenario: is the set-up right?  Reachable, the right base URL, a key the target
accepts, a model it knows.  A set-up mistake is one line and exit 2, never 70 FAILs.

Cheap by design: one GET /models (also evidence for MOD-01) and at most one chat request with
`max_tokens` 1.  Only answers that cannot come from a conforming server used correctly stop the
run (401/403 on an authenticated request, 404 on the chat route); anything else is left to the
checks to judge.
"""

from __future__ import annotations

import time
from typing import Any

from .engine.model import BudgetExhausted
from .terminal import printable
from .wire.client import STALL_KINDS, Exchange, Limits, RawClient

CHAT_PATH = "/chat/completions"
UNREACHABLE_KINDS = ("connect", "connect-timeout", "protocol", "reset")
_POLL_S = 0.5


class SetupError(Exception):
    """The run cannot start because of how it was set up (exit code 2); the message is one line."""


class TargetUnreachable(SetupError):
    """The preflight could not reach the target at all."""


def quick_limits(limits: Limits) -> Limits:
    """Short timeouts for the preflight, never longer than the run's own."""
    return Limits(connect_timeout=min(5.0, limits.connect_timeout), read_timeout=min(10.0, limits.read_timeout),
                  total_timeout=min(15.0, limits.total_timeout), max_body_bytes=min(1024 * 1024, limits.max_body_bytes))


def preflight(client: RawClient, limits: Limits = Limits(), *, model: str | None = None, key_env: str = "OPENAI_API_KEY",
              wait: float = 0.0, key_flag: str = "--api-key-env") -> dict[str, Any]:
    """GET /models (polled for up to `wait` seconds while unreachable), then, when `model` is
    given, one tiny chat request whose answer is diagnosed (`key_flag`: the option naming the key's
    variable, for the hints).  Raises SetupError; returns the facts recorded for the run."""
    quick = quick_limits(limits)
    ex = _models(client, quick, wait)
    if _unreachable(ex):
        reason = printable(ex.error.message, one_line=True)  # type: ignore[union-attr]
        raise TargetUnreachable(f"{client.url('/models')}: {ex.error.kind}: {reason}")  # type: ignore[union-attr]
    facts: dict[str, Any] = {"models_status": ex.status, "server_headers": _server_headers(ex.headers),
                             "models_exchange": ex}
    try:
        facts["models"] = ex.json() if ex.status == 200 else None
    except ValueError:
        facts["models"] = None
    stalled = ex.error is not None and ex.error.kind in STALL_KINDS
    if model and not stalled:  # a stalling target is the run's to judge, not worth another timeout here
        try:
            chat = client.post_json(CHAT_PATH, {"model": model, "messages": [{"role": "user", "content": "Say OK."}],
                                                "max_tokens": 1}, limits=quick)
        except BudgetExhausted:
            return facts
        facts["preflight_chat_status"] = chat.status
        diagnose(client, chat, model, facts.get("models"), key_env, key_flag)
    return facts


def _models(client: RawClient, limits: Limits, wait: float) -> Exchange:
    """GET /models; with `wait`, retried until the target answers or `wait` seconds passed
    (the polls are not charged to the run's budget)."""
    deadline = time.monotonic() + wait
    budget, client.budget = client.budget, None
    try:
        while True:
            ex = client.get("/models", limits=limits)
            if not _unreachable(ex) or time.monotonic() >= deadline:
                break
            time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))
    finally:
        client.budget = budget
    if budget is not None:
        budget.charge_request()  # the answer that counts, as without --wait
    return ex


def _unreachable(ex: Exchange) -> bool:
    return ex.status is None and ex.error is not None and ex.error.kind in UNREACHABLE_KINDS


def diagnose(client: RawClient, chat: Exchange, model: str, models: object, key_env: str,
             key_flag: str = "--api-key-env") -> None:
    """Raise SetupError when the chat answer shows a set-up mistake rather than a server's behaviour."""
    url = client.url(CHAT_PATH)
    said = _target_message(chat, client)
    if chat.status in (401, 403):
        if client.api_key:
            raise SetupError(f"the key was refused: POST {url} answered HTTP {chat.status}{said}; "
                             f"check the key in ${key_env}"
                             + (" (and --auth-header / --no-bearer if the target expects another form)"
                                if key_flag == "--api-key-env" else ""))
        raise SetupError(f"the target requires an API key: POST {url} answered HTTP {chat.status}{said}; "
                         f"put the key in ${key_env} or name its variable with {key_flag}")
    if chat.status == 404 and _about_model(chat, model):
        offered = model_ids(models)
        listing = f"GET /models offers: {', '.join(offered[:20])}" if offered else "GET /models listed no model"
        raise SetupError(f"the target does not know model {printable(model)!r}: HTTP 404{said}; {listing}")
    if chat.status in (404, 405):
        raise SetupError(f"no chat endpoint at {client.base_url}: POST {url} answered HTTP {chat.status}{said}; "
                         f"{_base_url_hint(client.base_url)}")
    if chat.status == 400 and _error_field(chat, "code") == "model_not_found":
        offered = model_ids(models)
        raise SetupError(f"the target does not know model {printable(model)!r}: HTTP 400{said}; "
                         f"GET /models offers: {', '.join(offered[:20]) or 'nothing'}")


def _base_url_hint(base_url: str) -> str:
    if not base_url.rstrip("/").endswith("/v1"):
        return f"the base URL usually ends in /v1: did you mean --base-url {base_url.rstrip('/')}/v1 ?"
    return "the base URL is the prefix before /chat/completions (check the server's docs)"


def _about_model(chat: Exchange, model: str) -> bool:
    """Whether a 404 names the model (OpenAI: code model_not_found; others say so in the message)."""
    if _error_field(chat, "code") == "model_not_found" or _error_field(chat, "param") == "model":
        return True
    text = _error_field(chat, "message").lower()
    return "model" in text and (model.lower() in text or "not found" in text or "does not exist" in text)


def _error_field(chat: Exchange, name: str) -> str:
    """`error.<name>` of an OpenAI error envelope; for "message" also the looser shapes
    `{"error": "text"}` (Ollama and friends) and `{"message": "text"}`."""
    try:
        body = chat.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        value = error.get(name)
    elif name == "message":
        value = error if isinstance(error, str) else body.get("message")
    else:
        value = None
    return value if isinstance(value, str) else ""


def _target_message(chat: Exchange, client: RawClient) -> str:
    """The target's own words (redacted: a target may echo the key), on one line."""
    message = " ".join(client.redactor.text(_error_field(chat, "message")).split())
    return f" ({printable(message[:160])})" if message else ""


def model_ids(models: object) -> list[str]:
    """The ids of a GET /models answer, in order (empty when it has none or is not the usual shape)."""
    data = models.get("data") if isinstance(models, dict) else None
    if not isinstance(data, list):
        return []
    return [printable(m["id"]) for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


def _server_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    keep = ("server", "x-powered-by", "via", "openai-version", "x-request-id", "date")
    return {k.lower(): v for k, v in headers if k.lower() in keep}
