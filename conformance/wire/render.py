"""Exchanges as text for people: the curl command that reproduces a request, the transcript of an
exchange, and the one-line messages and names the client writes.  Everything rendered here is
already redacted."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from conformance.wire.redact import cut

if TYPE_CHECKING:
    from conformance.wire.model import Exchange, RecordedRequest

__all__ = ["MESSAGE_CAP", "TRANSCRIPT_CAP", "curl_command", "describe", "flat", "one_line", "transcript"]

TRANSCRIPT_CAP = 64 * 1024
# Body bytes a transcript shows: every distinct exchange is kept in the report, so a hostile
# target answering each request with a long body must not cost TRANSCRIPT_CAP per exchange.
_BODY_SHOWN = 16 * 1024
MESSAGE_CAP = 300  # characters of a transport error message
# Request headers curl sets itself or that would make the output unreadable.
_CURL_SKIP_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent"})


def curl_command(request: RecordedRequest) -> str:
    """See :meth:`RecordedRequest.curl`."""
    parts = ["curl", "-sS"]
    if request.is_streaming():
        parts.append("-N")
    if request.method != "GET" or request.body:
        parts += ["-X", shlex.quote(request.method)]
    parts.append(shlex.quote(request.url))
    for name, value in request.headers:
        lname = name.lower()
        if lname in _CURL_SKIP_HEADERS or (lname == "accept" and value == "*/*"):
            continue
        if request.key_header is not None and lname == request.key_header.lower() and request.key_env:
            parts += ["-H", shlex.quote(f"{name}: {request.key_prefix}") + f'"${request.key_env}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if not request.body:
        return " ".join(parts)
    try:
        text: str | None = request.body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\0" not in text:
        return " ".join([*parts, "--data-raw", shlex.quote(text)])
    return f"printf {_printf_escape(request.body)} | " + " ".join([*parts, "--data-binary", "@-"])


def _printf_escape(data: bytes) -> str:
    out = []
    for byte in data:
        if 0x20 <= byte < 0x7F and byte not in b"%\\'":
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return "'" + "".join(out) + "'"


def transcript(exchange: Exchange) -> str:
    """See :meth:`Exchange.transcript`."""
    out = _CappedText(TRANSCRIPT_CAP)
    out.add(f"> {exchange.request.method} {exchange.request.url}")
    if exchange.status is None:
        out.add("< (no response)")
    else:
        timing = f"ttfb {exchange.ttfb:.3f}s, " if exchange.ttfb is not None else ""
        version = exchange.http_version or "HTTP"
        out.add(f"< {version} {exchange.status} {exchange.reason}".rstrip() + f"  ({timing}total {exchange.elapsed:.3f}s)")
        for name, value in exchange.headers:
            out.add(f"< {name}: {value}")
        out.add("")
        if exchange.events is not None:
            _add_events(out, exchange)
        else:  # the body is already redacted: cutting it cannot expose part of a secret
            out.add(exchange.body[:_BODY_SHOWN].decode("utf-8", errors="replace"))
            if len(exchange.body) > _BODY_SHOWN:
                out.add(f"(… {len(exchange.body) - _BODY_SHOWN} more body bytes not shown)")
    if exchange.truncated:
        out.add("(the suite stopped reading before the end of the body)")
    if exchange.error is not None:
        out.add(f"!! {exchange.error.kind}: {exchange.error.message}")
    if exchange.attempts > 1:
        out.add(f"({exchange.attempts} attempts, {exchange.retry_wait:.1f}s waited on 429)")
    return out.text()


def _add_events(out: _CappedText, exchange: Exchange) -> None:
    events = exchange.events or []
    for ev in events:
        lines = ev.raw.decode("utf-8", errors="replace").splitlines() or [""]
        out.add(f"+{ev.at:.3f}s {lines[0]}")
        for line in lines[1:]:
            out.add(f"{'':8}{line}")
    tail = exchange.body[events[-1].end :] if events else exchange.body
    if tail and not exchange.truncated:
        out.add(f"(not part of any event: {tail[:_BODY_SHOWN].decode('utf-8', errors='replace')!r}"
                f"{f' and {len(tail) - _BODY_SHOWN} more bytes' if len(tail) > _BODY_SHOWN else ''})")
    if exchange.after_done_bytes:
        out.add(f"({exchange.after_done_bytes} bytes after [DONE])")
    if exchange.open_after_done:
        out.add("(connection still open after [DONE]; stopped reading)")


class _CappedText:
    """Lines joined up to a character cap; what does not fit is counted, not kept."""

    def __init__(self, cap: int) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._cap = cap
        self._dropped = 0

    def add(self, line: str) -> None:
        room = self._cap - self._size - 1
        if len(line) > room:  # keep what fits of the line that crosses the cap, drop the rest
            kept = line[: max(room, 0)]
            self._dropped += len(line) - len(kept) + (0 if kept else 1)
            if not kept:
                return
            line = kept
        self._parts.append(line)
        self._size += len(line) + 1

    def text(self) -> str:
        if self._dropped:
            self._parts.append(f"… ({self._dropped} more characters not shown)")
        return "\n".join(self._parts)


def describe(request: RecordedRequest, status: int) -> str:
    """A one-line name of a finished exchange, to say which one left a connection broken."""
    streamed = " (streamed)" if request.is_streaming() else ""
    preview = request.body[:120].decode("utf-8", "replace")
    return f"{request.method} {request.url}{streamed} -> HTTP {status}, request body {preview}"


def flat(text: str) -> str:
    """``text`` on one line: every run of whitespace becomes one space."""
    return " ".join(text.split())


def one_line(text: str) -> str:
    """``text`` flattened, redacted and cut to :data:`MESSAGE_CAP` characters."""
    return cut(flat(text), MESSAGE_CAP)
