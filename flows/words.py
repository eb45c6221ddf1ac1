"""The words a customer may type instead of pressing a button ("好的", "skip", "解决了"...).

They live in the ``[words]`` section of each text catalogue, one comma-separated list per
kind. A typed word is recognised whichever language the customer chose: people mix
"ok" and "好的" freely, so every list counts in every language.
"""

from __future__ import annotations

import re
from enum import StrEnum

from flows.texts import Catalogue


class Words(StrEnum):
    """The word lists of the catalogues' ``[words]`` section (``words.yes`` ...)."""

    YES = "yes"
    NO = "no"
    SKIP = "skip"
    DONE = "done"
    SUBMIT = "submit"
    SOLVED = "solved"
    UNSOLVED = "unsolved"
    GREETINGS = "greetings"

    @property
    def key(self) -> str:
        """The catalogue key of the list."""
        return f"words.{self.value}"


_SEPARATOR = re.compile(r"[,，、]")


def norm(text: str) -> str:
    """A typed answer as it is compared: trimmed, end punctuation dropped, case-folded."""
    return text.strip().strip("。.!！?？~～ ").casefold()


def split_words(listed: str) -> frozenset[str]:
    """The words of one catalogue entry ("是, 是的, 对"), normalised like typed answers."""
    return frozenset(word for word in (norm(part) for part in _SEPARATOR.split(listed)) if word)


class Vocabulary:
    """Every catalogue language's words of each kind, read once."""

    def __init__(self, texts: Catalogue) -> None:
        self._words = {
            kind: frozenset().union(*(split_words(texts.text(lang, kind.key)) for lang in texts.languages))
            for kind in Words
        }

    def words(self, kind: Words) -> frozenset[str]:
        """The normalised words of ``kind`` in all languages."""
        return self._words[kind]

    def means(self, word: str, kinds: tuple[Words, ...]) -> bool:
        """Whether the normalised ``word`` is one of the words of ``kinds``."""
        return any(word in self._words[kind] for kind in kinds)
