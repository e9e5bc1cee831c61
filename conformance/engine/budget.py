"""A thread-safe request and token budget: real LLM targets cost money per request and token."""

from __future__ import annotations

import threading

from .model import BudgetExhausted


class Budget:
    def __init__(self, max_requests: int | None = None, max_tokens: int | None = None) -> None:
        self.max_requests = max_requests
        self.max_tokens = max_tokens
        self.requests = 0
        self.tokens = 0
        self._lock = threading.Lock()

    def charge_request(self) -> None:
        """Count one request, or refuse it when the request or token budget is spent."""
        with self._lock:
            if self.max_requests is not None and self.requests >= self.max_requests:
                raise BudgetExhausted(f"{self.requests} of {self.max_requests} requests used")
            if self.max_tokens is not None and self.tokens >= self.max_tokens:
                raise BudgetExhausted(f"{self.tokens} of {self.max_tokens} tokens used")
            self.requests += 1

    def charge_tokens(self, count: int) -> None:
        with self._lock:
            self.tokens += max(0, count)
