"""An ``openai.OpenAI`` client whose HTTP traffic goes through the suite's ``RawClient``.

``WireTransport`` is an httpx transport: it forwards each request the SDK builds (its body and
headers, minus credentials and hop-by-hop headers) with ``Context.send``, records the resulting
``Exchange`` and hands the SDK an ``httpx.Response`` made from it.  Consequences: the SDK never
follows a redirect, the run's timeouts, body caps and request budget apply, the real API key is
added by ``RawClient`` (the SDK only ever holds a placeholder), and every SDK call leaves an
exchange the checks can compare the SDK's parse against.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from ..engine import BudgetExhausted, CannotJudge
from ..target import CHAT_PATH, Context
from ..wire.client import Exchange
from . import TESTED_RANGE

# Never forwarded: credentials (RawClient adds the target's own), account ids read from the
# user's environment by the SDK, and headers httpx/RawClient compute themselves.
_NOT_FORWARDED = frozenset({
    "authorization", "openai-organization", "openai-project", "host", "content-length",
    "accept-encoding", "connection", "transfer-encoding",
})
# The exchange body is already decoded and complete, so these no longer describe it.
_NOT_RETURNED = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})
_PLACEHOLDER_KEY = "sk-conformance-placeholder"  # the SDK insists on a key; RawClient sends the real one


class WireTransport(httpx.BaseTransport):
    """Sends the SDK's chat requests with ``ctx.send`` and keeps every exchange in ``exchanges``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or not request.url.path.endswith(CHAT_PATH):
            raise httpx.UnsupportedProtocol(f"the SDK scenarios only send POST {CHAT_PATH}, not {request.method} {request.url.path}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        exchange = self.ctx.send(request.read(), headers=headers)
        self.exchanges.append(exchange)
        if exchange.status is None:
            error = exchange.error
            raise httpx.ReadError(f"{error.kind}: {error.message}" if error else "no response", request=request)
        returned = [(k, v) for k, v in exchange.headers if k.lower() not in _NOT_RETURNED]
        return httpx.Response(exchange.status, headers=returned, content=exchange.body, request=request)


def preload() -> None:
    """Start importing the SDK in the background (about a second of CPU, mostly its types): a run
    calls this before its preflight, so the SDK scenarios do not start with it."""

    def load() -> None:
        try:
            import openai  # noqa: F401
        except ImportError:
            pass  # the SDK scenarios SKIP, saying how to install it

    threading.Thread(target=load, name="sdk-import").start()


def openai_client(transport: WireTransport) -> Any:
    """An ``openai.OpenAI`` for the context's target: no retries, the run's timeouts, ``transport`` underneath."""
    import openai

    limits = transport.ctx.client.limits
    timeout = httpx.Timeout(limits.total_timeout, connect=limits.connect_timeout, read=limits.read_timeout)
    http_client = httpx.Client(transport=transport, follow_redirects=False, trust_env=False, timeout=timeout)
    # The SDK would append its path after a query; the transport sends with RawClient, which keeps it.
    base_url = transport.ctx.target.base_url.partition("?")[0]
    return openai.OpenAI(base_url=base_url, api_key=_PLACEHOLDER_KEY, max_retries=0,
                         timeout=timeout, http_client=http_client)


def sdk_version() -> str | None:
    """The installed ``openai`` version, or None when the SDK is not installed."""
    try:
        import openai
    except ImportError:
        return None
    return str(openai.__version__)


def version_tested(version: str) -> bool:
    """Whether ``version`` lies in ``TESTED_RANGE`` (major.minor compared; pre-release tags ignored)."""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:2]]
    low, high = TESTED_RANGE
    return low <= (parts[0], parts[1] if len(parts) > 1 else 0) < high


def reraise_harness_stop(exc: BaseException) -> None:
    """The SDK wraps transport exceptions in APIConnectionError; a spent budget must stay a
    BudgetExhausted, and a target still rate limited after retries a CannotJudge (not an SDK finding)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (BudgetExhausted, CannotJudge)):
            raise cause
        cause = cause.__cause__ or cause.__context__
