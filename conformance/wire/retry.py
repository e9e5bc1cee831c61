"""When a request is sent again: after a 429 (waiting what the server asks, within a cap), and when
it went out on a kept-alive connection the server had closed without notice."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime

from conformance.wire.model import Exchange

__all__ = ["parse_retry_after", "retry_wait", "send_with_retries"]

_MAX_DEAD_RESENDS = 3  # resends of a request that met a kept-alive connection the server had closed
_DEFAULT_WAIT = 1.0  # seconds to wait on a 429 that says nothing about when to come back


def send_with_retries(
    attempt: Callable[[], Exchange],
    *,
    max_429_retries: int,
    max_retry_wait: float,
    before_attempt: Callable[[], None] | None = None,
) -> Exchange:
    """Run ``attempt`` (after ``before_attempt``, which may raise to refuse it) until its exchange is
    the answer: resent when it met a dead kept-alive connection (at most :data:`_MAX_DEAD_RESENDS`
    times), retried after the wait a 429 asks for (every attempt counts towards ``max_429_retries``).
    The exchange returned carries the attempts, the time waited and the first dead connection met."""
    attempts = 0
    waited = 0.0
    dead_connection: str | None = None
    dead_idle: float | None = None
    dead_resends = 0
    while True:
        if before_attempt is not None:
            before_attempt()
        attempts += 1
        exchange = attempt()
        if exchange.dead_connection is not None and dead_resends < _MAX_DEAD_RESENDS:
            # The pool may hold several such connections: resend, and say which exchange left one
            # broken instead of blaming this request.
            if dead_connection is None:
                dead_connection, dead_idle = exchange.dead_connection, exchange.dead_connection_idle
            dead_resends += 1
            continue
        if exchange.status != 429 or attempts > max_429_retries:
            break
        wait = retry_wait(exchange, max_retry_wait)
        time.sleep(wait)
        waited += wait
    exchange.attempts = attempts
    exchange.retry_wait = waited
    exchange.dead_connection = dead_connection
    exchange.dead_connection_idle = dead_idle
    return exchange


def retry_wait(exchange: Exchange, cap: float) -> float:
    """Seconds to wait before retrying a 429: ``retry-after-ms``, else ``Retry-After``, else
    :data:`_DEFAULT_WAIT`; never more than ``cap``."""
    ms = exchange.header("retry-after-ms")
    wait = None
    if ms is not None:
        try:
            wait = max(0.0, float(ms) / 1000)
        except ValueError:
            wait = None
    if wait is None:
        wait = parse_retry_after(exchange.header("retry-after"))
    if wait is None:
        wait = _DEFAULT_WAIT
    return min(wait, cap)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds, decimals tolerated, or an
    HTTP-date; a date in the past gives 0); ``None`` when absent or unparseable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
