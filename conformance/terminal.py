"""What reaches the operator's terminal: a target's bytes must never drive it.

Targets put arbitrary text into error messages, headers and bodies that the suite echoes.  ESC
starts terminal control sequences (colours, cursor moves, window titles, hyperlinks), BEL rings,
CR overwrites a line, bidi overrides reorder what is shown.  Every console write goes through
`printable`, which shows such characters as escapes (``\\x1b``) and leaves the rest alone.
"""

from __future__ import annotations

import io
import re
import sys
from typing import TextIO

# C0 controls except TAB and LF, DEL, C1 controls, and the Unicode bidi embeddings/overrides/isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters shown as escapes; `one_line` escapes newlines too."""
    return (_CONTROL_OR_NEWLINE if one_line else _CONTROL).sub(_escape, text)


class SafeStream(io.TextIOBase):
    """A text stream wrapper that escapes control characters in everything written to it."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding


def install() -> None:
    """Route sys.stdout and sys.stderr through SafeStream (the CLI calls this once)."""
    if not isinstance(sys.stdout, SafeStream):
        sys.stdout = SafeStream(sys.stdout)
    if not isinstance(sys.stderr, SafeStream):
        sys.stderr = SafeStream(sys.stderr)
