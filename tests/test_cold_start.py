"""A first run costs what a later one costs: the request strategies never make Hypothesis build its
Unicode tables (a category for every code point and a UTF-8 round trip of each: seconds and
~500 MB on a machine's first run, see bench/first_contact.py), and still cover the alphabet the
tables gave them (every code point but controls and surrogates)."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, find, settings

from conformance.generation.strategies import IDENT, TEXT

_DRAW_EVERYTHING = """
from hypothesis import HealthCheck, given, settings
from conformance.generation.strategies import invalid_requests, valid_requests

@settings(max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(valid_requests("m", vendor=True, multimodal=True), invalid_requests("m", strict=True))
def draw(valid, invalid):
    pass

draw()
"""


def test_generating_requests_builds_no_unicode_tables(tmp_path: Path) -> None:
    storage = tmp_path / "hypothesis"
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(storage)}
    done = subprocess.run([sys.executable, "-c", _DRAW_EVERYTHING], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (storage / "unicode_data").exists()


_FAST = settings(database=None, max_examples=2000, suppress_health_check=list(HealthCheck))


def test_text_still_reaches_beyond_ascii_and_the_basic_plane() -> None:
    for wanted in (lambda c: 0xA0 <= ord(c) <= 0xD7FF, lambda c: 0xE000 <= ord(c) <= 0xFFFF, lambda c: ord(c) > 0xFFFF):
        sample = find(TEXT, lambda s, w=wanted: any(w(c) for c in s), settings=_FAST)
        assert all(unicodedata.category(c) not in ("Cc", "Cs") for c in sample)


def test_identifiers_keep_their_shape() -> None:
    ident = find(IDENT, lambda s: len(s) > 3, settings=_FAST)
    assert ident.isascii() and ident.isidentifier()
