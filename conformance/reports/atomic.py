"""Report files are replaced, never rewritten in place: an interrupted or failed write (a full
disk, a kill) leaves the previous file or none, never a truncated one.

Rules: a file is written to a temporary file in its own directory, flushed to disk (fsync) and
renamed over the target; a directory (transcripts/) is built beside the target and swapped in;
a symbolic link (reports/latest) is created under a temporary name and renamed over the old one,
so readers and concurrent runs always see either the old or the new link.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["point_link", "replace_dir", "write_bytes", "write_chunks", "write_text"]


def _umask() -> int:
    # mkstemp/mkdtemp create 0600/0700; report files get the usual modes under the umask.
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    return write_chunks(path, [data])


def write_chunks(path: Path, chunks: Iterable[bytes]) -> Path:
    """:func:`write_bytes` of the concatenated ``chunks``, written one at a time (a large document
    never has to be held whole)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """:func:`write_bytes` of ``text`` encoded as UTF-8."""
    return write_bytes(path, text.encode("utf-8"))


def replace_dir(path: Path, fill: Callable[[Path], None]) -> Path:
    """Build a directory with ``fill(tmp_dir)`` beside ``path`` and swap it in for ``path``."""
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    old = None
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return path


def point_link(link: Path, target: str) -> None:
    """Make ``link`` a symbolic link to ``target`` by renaming a new link over it (atomic on POSIX).
    Raises OSError when that is impossible (no symlinks, or ``link`` is a real directory)."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, tmp, target_is_directory=True)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
