"""Text normalisation for matching: NFKC + casefold, with a map back to the original.

Matching runs on the folded text ("ＡＢＣ！" -> "abc!", "工商局" unchanged), but cues are
reported as the customer wrote them, so every folded character remembers which
original characters it came from. HTML character references, which web forms and
e-mail clients leave in text ("房&#38388;" for "房间", "&amp;"), are decoded first.
"""

from __future__ import annotations

import re
import threading
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
        self.irregular_pattern: re.Pattern[str] | None = None  # finds any of them
        self.stale = False  # irregular has characters the pattern does not know yet
        self._lock = threading.Lock()

    def pattern(self) -> re.Pattern[str] | None:
        """A regex finding any irregular character (rebuilt after new ones were seen)."""
        if self.stale:
            with self._lock:
                if self.stale:
                    chars = "".join(sorted(self.irregular))
                    self.irregular_pattern = re.compile("[" + re.escape(chars) + "]")
                    self.stale = False
        return self.irregular_pattern

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _EXTRA_FOLDS.get(char)
        if folded is None:
            folded = unicodedata.normalize("NFKC", char).casefold()
            folded = "".join(_EXTRA_FOLDS.get(c, c) for c in folded)
        if len(folded) != 1:
            with self._lock:  # classify() may run in several threads
                self.irregular.add(char)
                self.stale = True  # the pattern is rebuilt once per text, not per character
        self[code] = folded
        return folded


_TABLE = _FoldTable()

# Numeric references and the few named ones that plain text carries.
_CHAR_REF = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos|nbsp));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}


def _reference(match: re.Match[str]) -> str:
    """The character behind one HTML character reference (itself if invalid)."""
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED[name]
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return match.group()
    return chr(code)


def decode_references(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """``text`` with HTML character references decoded, and for every decoded
    character the ``(start, end)`` of the original text behind it (``None``: no
    reference, the text is unchanged)."""
    if "&" not in text or _CHAR_REF.search(text) is None:
        return text, None
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _CHAR_REF.finditer(text):
        start, end = match.span()
        pieces.append(text[pos:start])
        spans.extend((i, i + 1) for i in range(pos, start))
        decoded = _reference(match)
        pieces.append(decoded)
        spans.extend([(start, end)] * len(decoded))
        pos = end
    pieces.append(text[pos:])
    spans.extend((i, i + 1) for i in range(pos, len(text)))
    return "".join(pieces), spans


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
    # origin[i] = (start, end) in ``original`` of folded character i; None when 1:1
    origin: tuple[tuple[int, int], ...] | None

    @classmethod
    def of(cls, text: str) -> FoldedText:
        """Fold ``text``; builds an offset map only when some character changed length
        or an HTML character reference was decoded."""
        decoded, spans = decode_references(text)
        folded = _rewrite_contractions(decoded.translate(_TABLE))
        irregular = _TABLE.pattern()
        if spans is None and len(folded) == len(text) and (
            irregular is None or irregular.search(text) is None
        ):
            return cls(text, folded, None)
        origin: list[tuple[int, int]] = []
        for index, char in enumerate(decoded):
            span = (index, index + 1) if spans is None else spans[index]
            origin.extend([span] * len(_TABLE[ord(char)]))
        return cls(text, folded, tuple(origin))

    def original_span(self, start: int, end: int) -> str:
        """The original text behind folded characters ``start:end``."""
        if self.origin is None:
            return self.original[start:end]
        if start >= end:
            return ""
        return self.original[self.origin[start][0] : self.origin[end - 1][1]]
