"""Secret redaction for everything the suite records or prints.

Rules:

* Values of sensitive headers are always replaced (an auth scheme word such as ``Bearer`` is kept).
* Every occurrence of a registered secret (the API key, values of headers marked secret, the
  base URL's userinfo password and query values) is replaced wherever it appears -- bodies, SSE
  events, error messages, URLs -- because servers echo the key back.  Recognised spellings,
  mixed freely within one occurrence: the literal text; JSON escapes (``\\/`` as PHP writes it,
  ``\\uXXXX`` for any character, surrogate pairs above U+FFFF, ``\\"`` and ``\\\\``); URL
  percent-encoding of the UTF-8 bytes (either hex case, ``+`` for a space).  Not recognised:
  base64 and other transformations of the key.
* The userinfo of any URL (``scheme://user:password@``) is replaced, registered or not.
* Redact first, then cut: :meth:`Redactor.cut` shortens only redacted text, so a cut can split
  ``***`` but never a secret.  Text that was cut before the suite saw all of it (a body capped
  or ended mid-key) has a fragment of a secret at its edge; :meth:`Redactor.edges` replaces it.

Every redactor also registers its secrets in a process-wide set (the 64 most recent), so helpers
that format text far from any client (:func:`cut`) still redact before they shorten.
"""

from __future__ import annotations

import base64
import builtins
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["MIN_SECRET_LEN", "REDACTED", "SENSITIVE_HEADERS", "Redactor", "cut", "url_secrets"]

REDACTED = "***"
ELLIPSIS = "…"

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
# scheme://userinfo@ -- the userinfo ends at the last "@" before the path.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@\"'<>]*(?:@[^/?#\s@\"'<>]*)*@")
_JSON_SHORT = {'"': '\\\\"', "\\": "\\\\\\\\", "/": "\\\\/"}


def _hex_class(value: int, width: int) -> str:
    """``value`` as ``width`` hex digits matching either case, e.g. 0x2f -> ``2[fF]``."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _forms(c: str) -> list[str]:
    """Every spelling of one character that a JSON encoder or URL encoder may produce."""
    forms = [re.escape(c)]
    code = ord(c)
    if code > 0xFFFF:  # JSON writes it as a UTF-16 surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(f"\\\\u{_hex_class(high, 4)}\\\\u{_hex_class(low, 4)}")
    else:
        forms.append(f"\\\\u{_hex_class(code, 4)}")
    if c in _JSON_SHORT:
        forms.append(_JSON_SHORT[c])
    forms.append("".join(f"%{_hex_class(b, 2)}" for b in c.encode("utf-8")))
    if c == " ":
        forms.append("\\+")
    return forms


def _char_pattern(c: str) -> str:
    return "(?:" + "|".join(_forms(c)) + ")"


def _secret_pattern(secret: str) -> str:
    # One branch per spelling of the first character: the regex engine then skips quickly to
    # positions where an occurrence can start.
    rest = "".join(_char_pattern(c) for c in secret[1:])
    return "|".join(f"{first}{rest}" for first in _forms(secret[0]))


def _prefix_pattern(secret: str) -> str:
    """A proper, non-empty prefix of ``secret`` (any spelling) at the end of a text."""
    groups = [_char_pattern(c) for c in secret[:-1]]
    nested = ""
    for group in reversed(groups[1:]):
        nested = f"(?:{group}{nested})?"
    return f"{groups[0]}{nested}\\Z" if groups else r"(?!)"


def _suffix_pattern(secret: str) -> str:
    """A proper, non-empty suffix of ``secret`` (any spelling) at the start of a text."""
    groups = [_char_pattern(c) for c in secret[1:]]
    nested = ""
    for group in groups[:-1]:
        nested = f"(?:{nested}{group})?"
    return f"\\A{nested}{groups[-1]}" if groups else r"(?!)"


class _Patterns:
    """Compiled patterns for one set of secrets (immutable, swapped whole on change)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        ordered = sorted(secrets, key=len, reverse=True)  # a secret containing another is replaced whole
        self.text = re.compile("|".join(_secret_pattern(s) for s in ordered)) if ordered else None
        self.bytes = re.compile(self.text.pattern.encode("utf-8")) if self.text else None
        self.prefix = re.compile("|".join(f"(?:{_prefix_pattern(s)})" for s in ordered)) if ordered else None
        self.suffix = re.compile("|".join(f"(?:{_suffix_pattern(s)})" for s in ordered)) if ordered else None


class Redactor:
    """Replaces registered secrets and sensitive header values with :data:`REDACTED`.

    Thread-safe: registering a secret swaps in new compiled patterns atomically.
    """

    def __init__(self, secrets: Iterable[str] = (), extra_sensitive_headers: Iterable[str] = (),
                 *, keep: int | None = None) -> None:
        self._secrets: dict[str, None] = {}  # in registration order
        self._keep = keep  # at most this many, the most recent
        self._lock = threading.Lock()
        self._patterns = _Patterns(())
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
            self._secrets[s] = None
            if self._keep is not None and len(self._secrets) > self._keep:
                del self._secrets[next(iter(self._secrets))]
            self._patterns = _Patterns(self._secrets)
        if self is not _PROCESS:
            _PROCESS.add_secret(s)

    def text(self, s: str) -> str:
        """``s`` with every secret occurrence (any recognised spelling) and URL userinfo replaced."""
        pattern = self._patterns.text
        s = s if pattern is None else pattern.sub(REDACTED, s)
        return _USERINFO.sub(rf"\1{REDACTED}@", s) if "@" in s else s

    def spans(self, s: str) -> list[tuple[int, int]]:
        """Where secrets occur in ``s`` (any recognised spelling), as (start, end) offsets."""
        pattern = self._patterns.text
        return [] if pattern is None else [m.span() for m in pattern.finditer(s)]

    def bytes(self, b: bytes) -> bytes:
        """``b`` with every UTF-8 encoded secret occurrence (any recognised spelling) replaced."""
        pattern = self._patterns.bytes
        return b if pattern is None else pattern.sub(REDACTED.encode(), b)

    def edges(self, s: str, *, start: bool = False, end: bool = True) -> str:
        """``s`` (already redacted) with a fragment of a secret at a cut edge replaced: a proper
        prefix of a secret at the end (``end``), a proper suffix at the start (``start``).  For
        text that was cut before the suite could see the rest of it."""
        patterns = self._patterns
        if end and patterns.prefix is not None:
            s = patterns.prefix.sub(REDACTED, s, count=1)
        if start and patterns.suffix is not None:
            s = patterns.suffix.sub(REDACTED, s, count=1)
        return s

    # ``bytes`` in this class's body names the method above: the annotations name the type.
    def edges_bytes(self, b: builtins.bytes, *, end: bool = True) -> builtins.bytes:
        """:meth:`edges` for UTF-8 bytes (a multi-byte character split by the cut is left as it is)."""
        if not end or self._patterns.prefix is None:
            return b
        tail = b[-1024:].decode("utf-8", "surrogateescape")  # a fragment is shorter than any secret
        redacted = self.edges(tail)
        if redacted == tail:
            return b  # no copy of a body that may be megabytes long
        return b[: len(b) - len(tail.encode("utf-8", "surrogateescape"))] + redacted.encode("utf-8", "surrogateescape")

    def cut(self, s: str, limit: int) -> str:
        """Redact, then shorten to at most ``limit`` characters (ending in ``…`` when shortened)."""
        s = self.text(s)
        return s if len(s) <= limit else s[: max(0, limit - 1)] + ELLIPSIS

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


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def url_secrets(url: str) -> list[str]:
    """The secrets a URL carries: its userinfo password and the Basic credentials made from it
    (the user name instead when there is no password: then it is a token), and every query
    value, raw and percent-decoded."""
    parts = urlsplit(url)
    found: list[str] = []
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        found += [password, _basic(unquote(user), unquote(password))] if colon and password else [user]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    found += [part.partition("=")[2] for part in parts.query.split("&")]
    return [v for v in dict.fromkeys(found + [unquote(v) for v in found]) if v]


# The secrets redactors of this process registered last: a process runs one run at a time (the
# pytest suite runs hundreds), and a run's texts are cut while it runs.
_PROCESS = Redactor(keep=64)


def cut(s: str, limit: int) -> str:
    """Redact with every secret known to this process, then shorten to ``limit`` characters."""
    return _PROCESS.cut(s, limit)
