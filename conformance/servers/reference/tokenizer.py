"""The toy tokenizer and the vocabulary of the toy model.

A token is a run of non-space characters with the whitespace before it (regex ``\\s*\\S+``), so
``"1 2 3"`` is ``["1", " 2", " 3"]`` and a stop string ``" 5"`` is exactly one token.  Trailing
whitespace forms a token of its own, so tokens always concatenate to the text.

Token ids (for ``logit_bias``) exist for the vocabulary words only: the id of ``VOCABULARY[i]``
is ``100 + i`` whether or not the token carries a leading space (``TOKEN_IDS``).
"""

from __future__ import annotations

import re

TOKEN_RE = re.compile(r"\s*\S+|\s+")

VOCABULARY: tuple[str, ...] = (
    "the", "a", "model", "answers", "with", "short", "clear", "words", "every", "reply",
    "is", "deterministic", "and", "simple", "reference", "server", "speaks", "plainly", "about", "this",
    "question", "today", "river", "stone", "light", "quiet", "garden", "north", "window", "paper",
    "green", "silver", "morning", "evening", "bridge", "harbor", "forest", "meadow", "lantern", "valley",
    "cloud", "ember", "falcon", "glacier", "island", "jasmine", "kettle", "ladder", "marble", "needle",
    "orchard", "pebble", "quill", "ribbon", "saddle", "thimble", "umbrella", "velvet", "willow", "yarrow",
    "zephyr", "anchor", "beacon", "candle", "delta", "engine", "feather", "granite", "horizon", "ivory",
    "juniper", "kernel", "lattice", "mosaic", "nectar", "oasis", "prism", "quartz", "rocket", "summit",
    "timber", "uplift", "vessel", "walnut", "xylem", "yonder", "zenith", "amber", "breeze", "cobalt",
    "dune", "echo", "fable", "grove", "haven", "inlet", "jewel", "knoll", "lagoon", "mirror",
    "novel", "ocean", "pillar", "ripple", "sierra", "tundra", "unity", "vista", "wander", "yield",
)

TOKEN_IDS: dict[str, int] = {word: 100 + i for i, word in enumerate(VOCABULARY)}


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens that concatenate back to it exactly."""
    return TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    return len(TOKEN_RE.findall(text))


def token_id(token: str) -> int | None:
    """The id of a vocabulary token (leading whitespace ignored), or None for any other token."""
    return TOKEN_IDS.get(token.strip())
