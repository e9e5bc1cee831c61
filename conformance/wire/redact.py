"""Secret redaction for everything the suite records or prints.

Two mechanisms: values of sensitive headers are always replaced, and every
occurrence of a registered secret (the API key and any user-supplied secret) is
replaced wherever it appears — bodies, SSE events, error messages, URLs — because
servers sometimes echo the key back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

__all__ = ["MIN_SECRET_LEN", "REDACTED", "SENSITIVE_HEADERS", "Redactor"]

REDACTED = "***"

#: Secrets shorter than this are ignored: redacting e.g. "ab" would shred every text.
MIN_SECRET_LEN = 4

#: Lower-case header names whose values are always redacted.  The OpenAI
#: organization/project headers are account identifiers, so they are hidden too.
SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "x-goog-api-key",
        "ocp-apim-subscription-key",
        "x-auth-token",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
    }
)

# "Bearer abc" keeps its scheme so reports still show how the key was sent.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9._~+/-]*) +\S")


class Redactor:
    """Replaces registered secrets and sensitive header values with :data:`REDACTED`.

    Thread-safe: registering a secret swaps in a new compiled pattern atomically.
    """

    def __init__(self, secrets: Iterable[str] = (), extra_sensitive_headers: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        self._text_re: re.Pattern[str] | None = None
        self._bytes_re: re.Pattern[bytes] | None = None
        self.sensitive_headers = SENSITIVE_HEADERS | {h.lower() for h in extra_sensitive_headers}
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, s: str) -> None:
        """Register ``s``; empty or shorter than :data:`MIN_SECRET_LEN` characters is ignored."""
        if not s or len(s) < MIN_SECRET_LEN:
            return
        with self._lock:
            if s in self._secrets:
                return
            self._secrets.add(s)
            # Longest first so a secret containing another one is replaced whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            text_re = re.compile("|".join(re.escape(x) for x in ordered))
            bytes_re = re.compile(b"|".join(re.escape(x.encode("utf-8")) for x in ordered))
            self._text_re, self._bytes_re = text_re, bytes_re

    def text(self, s: str) -> str:
        """Return ``s`` with every secret occurrence replaced by :data:`REDACTED`."""
        pattern = self._text_re
        return s if pattern is None else pattern.sub(REDACTED, s)

    def bytes(self, b: bytes) -> bytes:
        """Return ``b`` with every UTF-8 encoded secret occurrence replaced by :data:`REDACTED`."""
        pattern = self._bytes_re
        return b if pattern is None else pattern.sub(REDACTED.encode(), b)

    def header_value(self, name: str, value: str) -> str:
        """Redact one header value: fully for sensitive names (keeping an auth scheme word), else secrets only."""
        if name.lower() in self.sensitive_headers:
            m = _SCHEME.match(value)
            return f"{m.group(1)} {REDACTED}" if m else REDACTED
        return self.text(value)

    def headers(self, items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Return the header list, in order, with sensitive values and embedded secrets redacted."""
        return [(name, self.header_value(name, value)) for name, value in items]

    def obj(self, value: object) -> object:
        """Deep copy of JSON-like data with secrets redacted in every string, dict keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.obj(k): self.obj(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.obj(v) for v in value)
        return value
