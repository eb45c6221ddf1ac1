"""Value types the classifier returns.

These are the only nlp types the rest of the bot depends on: ``flows`` shows the
suggestion to the customer (category buttons, "why" text) and stores it on the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """Complaint nature (投诉性质), lowest to highest; see DESIGN.md."""

    GENERAL = "general"
    IMPORTANT = "important"
    HOT = "hot"
    MAJOR = "major"

    @property
    def rank(self) -> int:
        """0 for general … 3 for major, for comparisons."""
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: "Severity") -> "Severity":
        """The higher of ``self`` and ``other``."""
        return self if self.rank >= other.rank else other


_SEVERITY_ORDER = (Severity.GENERAL, Severity.IMPORTANT, Severity.HOT, Severity.MAJOR)


@dataclass(frozen=True, slots=True)
class Category:
    """One entry of the taxonomy: an id and its display names per language."""

    id: str
    names: dict[str, str]

    def name(self, language: str) -> str:
        """Display name in ``language``, falling back to Chinese, then the id."""
        return self.names.get(language) or self.names.get("zh") or self.id


@dataclass(frozen=True, slots=True)
class Cue:
    """A lexicon word found in the message that counted towards a category."""

    word: str  # the matched word as it appears in the message
    category: str  # category id it counted for
    weight: float


@dataclass(frozen=True, slots=True)
class SeverityCue:
    """A severity rule that fired, with the words that triggered it."""

    rule: str  # rule id from the severity lexicon, e.g. "regulator"
    severity: Severity
    word: str  # the matched text
    labels: dict[str, str] = field(default_factory=dict)  # rule label per language

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("zh") or self.rule


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What the classifier suggests for one message, with the cues that explain it."""

    category: str
    scores: dict[str, float]  # every category id of the taxonomy -> score (>= 0)
    severity: Severity
    category_cues: tuple[Cue, ...] = ()
    severity_cues: tuple[SeverityCue, ...] = ()
    negated: tuple[Cue, ...] = ()  # complaint words that were negated ("没有坏") and not counted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``complaint-bot classify`` and stored on tickets)."""
        return {
            "category": self.category,
            "severity": self.severity.value,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "cues": {
                "category": [
                    {"word": c.word, "category": c.category, "weight": c.weight}
                    for c in self.category_cues
                ],
                "severity": [
                    {"rule": c.rule, "severity": c.severity.value, "word": c.word, "labels": dict(c.labels)}
                    for c in self.severity_cues
                ],
                "negated": [{"word": c.word, "category": c.category} for c in self.negated],
            },
        }
