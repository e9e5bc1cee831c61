"""Profiles: which reading of the schema applies and which scenarios run.

A scenario is marked with one tier ("smoke" ⊂ "standard" ⊂ "deep"; unmarked = standard) and
optionally with features it needs ("strict", "vendor").  A profile admits a set of tiers and
a set of features.
"""

from __future__ import annotations

from dataclasses import dataclass

TIERS = ("smoke", "standard", "deep")
FEATURES = ("strict", "vendor")
# An expensive probe of a few clauses: a --clause filter naming one of them selects it in any
# profile, though its tier (deep) runs only in certify otherwise.
BY_CLAUSE = "by_clause"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    strict: bool  # the full OpenAI schema (required keys, unknown request keys rejected)
    vendor: bool  # the seed vendor's extra parameters (top_k, repetition_penalty)
    tiers: frozenset[str]
    fuzz_examples: int  # generated requests per generation phase (0 = no fuzzing)
    require_auth: bool = False  # a server that answers without a key FAILs ERR-05 (else WARN)

    @property
    def features(self) -> frozenset[str]:
        return frozenset(f for f, on in (("strict", self.strict), ("vendor", self.vendor)) if on)

    def enables(self, marks: frozenset[str]) -> bool:
        """A check runs when the features it needs are on (checks have no tier: scenarios do)."""
        return marks & set(FEATURES) <= self.features

    def admits(self, marks: frozenset[str]) -> bool:
        """A scenario runs when its tier is admitted and the features it needs are on."""
        tier = next((t for t in TIERS if t in marks), "standard")
        return tier in self.tiers and self.enables(marks)


_STANDARD = frozenset({"smoke", "standard"})

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("smoke", "A handful of requests: is this server worth testing further?", False, False,
                frozenset({"smoke"}), 0),
        Profile("compatible", "Default. What real clients need; legal-but-unusual framing is a WARN.", False, False,
                _STANDARD, 20),
        Profile("openai-strict", "The full OpenAI contract: every required key, unknown parameters rejected.",
                True, False, _STANDARD, 20),
        Profile("vendor", "The seed vendor's page: compatible plus top_k and repetition_penalty.", False, True,
                _STANDARD, 20),
        Profile("certify", "Everything, explored widely; used by `conformance certify`.", False, False,
                frozenset(TIERS), 100, require_auth=True),
    )
}

DEFAULT_PROFILE = "compatible"


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}") from None
