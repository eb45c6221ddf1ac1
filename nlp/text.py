"""Text normalisation for matching: NFKC + casefold, with a map back to the original.

Matching runs on the folded text ("ＡＢＣ！" -> "abc!", "工商局" unchanged), but cues are
reported as the customer wrote them, so every folded character remembers which
original character it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Characters NFKC leaves alone but that customers type interchangeably.
_EXTRA_FOLDS = {
    "\u2019": "'",  # right single quotation mark, as in "wasn’t"
    "\u2018": "'",
    "\u00a0": " ",
    "\u3000": " ",
}


class _FoldTable(dict[int, str]):
    """``str.translate`` table that fills itself: code point -> folded text."""

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()  # characters that fold to != 1 character

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _EXTRA_FOLDS.get(char)
        if folded is None:
            folded = unicodedata.normalize("NFKC", char).casefold()
            folded = "".join(_EXTRA_FOLDS.get(c, c) for c in folded)
        if len(folded) != 1:
            self.irregular.add(char)
        self[code] = folded
        return folded


_TABLE = _FoldTable()


def _rewrite_contractions(folded: str) -> str:
    # "wasn't" -> "was no": same length (offsets stay valid) and the negation becomes
    # a word of its own, because jieba splits "wasn't" into "wasn", "'", "t".
    return folded.replace("n't", " no") if "n't" in folded else folded


def fold(text: str) -> str:
    """The matching form of ``text``: NFKC, casefolded, typographic quotes made plain,
    English "n't" spelled as a separate "no" (length-preserving)."""
    return _rewrite_contractions(text.translate(_TABLE))


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded text and the way back to the original."""

    original: str
    folded: str
    # origin[i] = index in ``original`` of folded character i; None when 1:1
    origin: tuple[int, ...] | None

    @classmethod
    def of(cls, text: str) -> FoldedText:
        """Fold ``text``; builds an offset map only when some character changed length."""
        folded = _rewrite_contractions(text.translate(_TABLE))
        if len(folded) == len(text) and _TABLE.irregular.isdisjoint(text):
            return cls(text, folded, None)
        origin: list[int] = []
        for index, char in enumerate(text):
            origin.extend([index] * len(_TABLE[ord(char)]))
        return cls(text, folded, tuple(origin))

    def original_span(self, start: int, end: int) -> str:
        """The original text behind folded characters ``start:end``."""
        if self.origin is None:
            return self.original[start:end]
        if start >= end:
            return ""
        first = self.origin[start]
        last = self.origin[end - 1]
        return self.original[first : last + 1]
