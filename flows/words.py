"""The words a customer may type instead of pressing a button ("好的", "skip", "解决了"...).

They live in the ``[words]`` section of each text catalogue, one comma-separated list per
kind. A typed word is recognised whichever language the customer chose: people mix
"ok" and "好的" freely, so every list counts in every language.
"""

from __future__ import annotations

import re
import unicodedata
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


_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers, the blank Braille cell: look empty
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})  # controls, zero-width/format marks, spaces


def _invisible(char: str) -> bool:
    return char.isspace() or char in _FILLERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def trim(text: str) -> str:
    """``text`` without whitespace and invisible characters (zero-width spaces and joiners,
    byte-order marks, fillers) at either end."""
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def blank(text: str | None) -> bool:
    """Whether ``text`` shows nothing: empty, spaces, zero-width characters only."""
    return not trim(text or "")


def has_words(text: str) -> bool:
    """Whether ``text`` has a word in it (a letter of any script, 中文 included), not only
    emoji, punctuation, symbols or digits."""
    return any(unicodedata.category(char).startswith("L") for char in text)


def norm(text: str) -> str:
    """A typed answer as it is compared: trimmed (invisible characters too), end
    punctuation dropped, case-folded."""
    return trim(trim(text).strip("。.!！?？~～ ")).casefold()


def number(word: str) -> int | None:
    """The number a normalised typed answer is ("2", "２"), if it is only one (short) number."""
    return int(word) if word.isdecimal() and len(word) <= 9 else None


def choice(word: str) -> int | None:
    """The number a normalised typed answer is when it can only be a choice ("1", "２"):
    one digit (a phone or order number is longer)."""
    picked = number(word)
    return picked if picked is not None and picked < 10 else None


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
