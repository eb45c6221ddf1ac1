"""Lazy jieba segmentation of one folded message.

jieba splits a text into blocks of Han characters, ASCII letters and digits (its
``re_han_default``) and segments each block on its own; everything between blocks
(punctuation, spaces, emoji) becomes one-character tokens. Segmenting a single block
therefore gives exactly the tokens jieba would give for that block inside the whole
text. :class:`Document` uses this to segment only the blocks where a lexicon phrase
might match, which is most of the classifier's speed.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from math import log
from typing import Protocol

# Same character class as jieba 0.42's re_han_default.
_BLOCK = re.compile("[\u4e00-\u9fd5a-zA-Z0-9+#&._%\\-]+")

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

Cut = Callable[[str], Iterable[str]]


class _Dictionary(Protocol):
    FREQ: dict[str, int]
    total: int


class DagCutter:
    """jieba's precise mode without HMM, for one block, as a faster equivalent.

    Same dictionary (the tokenizer's ``FREQ`` and ``total``, user words included),
    same maximum-probability route with the same tie-breaking, same merging of
    single ASCII letters and digits, so the tokens equal
    ``tokenizer.cut(block, HMM=False)`` (a unit test checks this). It is about twice
    as fast because it fuses jieba's ``get_DAG`` and ``calc`` into one backward pass
    and caches the log-probabilities. Create it after all user words are added.
    """

    __slots__ = ("_freq", "_logtotal", "_logp")

    def __init__(self, dictionary: _Dictionary) -> None:
        self._freq = dictionary.FREQ
        self._logtotal = log(dictionary.total)
        self._logp: dict[str, float] = {}

    def __call__(self, sentence: str) -> list[str]:
        freq = self._freq
        logp = self._logp
        logtotal = self._logtotal
        size = len(sentence)
        route_p = [0.0] * (size + 1)
        route_x = [0] * (size + 1)
        for k in range(size - 1, -1, -1):
            best_p: float | None = None
            best_x = k
            i = k
            frag = sentence[k]
            while i < size and frag in freq:
                if freq[frag]:
                    p = logp.get(frag)
                    if p is None:
                        p = logp[frag] = log(freq[frag]) - logtotal
                    p += route_p[i + 1]
                    if best_p is None or p >= best_p:  # ties: the longer word, as jieba
                        best_p, best_x = p, i
                i += 1
                frag = sentence[k : i + 1]
            if best_p is None:
                best_p = log(freq.get(sentence[k]) or 1) - logtotal + route_p[k + 1]
            route_p[k] = best_p
            route_x[k] = best_x
        tokens: list[str] = []
        buffer = ""
        x = 0
        while x < size:
            y = route_x[x] + 1
            word = sentence[x:y]
            if y - x == 1 and word in _ASCII_ALNUM:
                buffer += word
            else:
                if buffer:
                    tokens.append(buffer)
                    buffer = ""
                tokens.append(word)
            x = y
        if buffer:
            tokens.append(buffer)
        return tokens


class Document:
    """A folded text whose blocks are segmented on demand and cached."""

    __slots__ = ("text", "_cut", "_starts", "_ends", "_bounds", "_bound_sets")

    def __init__(self, text: str, cut: Cut) -> None:
        self.text = text
        self._cut = cut
        starts: list[int] = []
        ends: list[int] = []
        for match in _BLOCK.finditer(text):
            starts.append(match.start())
            ends.append(match.end())
        self._starts = starts
        self._ends = ends
        self._bounds: dict[int, list[int]] = {}
        self._bound_sets: dict[int, frozenset[int]] = {}

    def _block_containing(self, pos: int) -> int:
        """Index of the block with ``start <= pos < end``, or -1."""
        index = bisect_right(self._starts, pos) - 1
        if index >= 0 and pos < self._ends[index]:
            return index
        return -1

    def _block_bounds(self, index: int) -> list[int]:
        bounds = self._bounds.get(index)
        if bounds is None:
            start, end = self._starts[index], self._ends[index]
            block = self.text[start:end]
            if block.isascii() and block.isalnum():
                bounds = [start, end]  # jieba keeps an ASCII word or number whole
            else:
                bounds = [start]
                pos = start
                for token in self._cut(block):
                    pos += len(token)
                    bounds.append(pos)
            self._bounds[index] = bounds
            self._bound_sets[index] = frozenset(bounds)
        return bounds

    def is_boundary(self, pos: int) -> bool:
        """True when a jieba token starts or ends at ``pos``."""
        index = self._block_containing(pos)
        if index < 0 or pos == self._starts[index]:
            return True
        self._block_bounds(index)
        return pos in self._bound_sets[index]

    def tokens_before(self, pos: int, limit: int) -> list[str]:
        """Up to ``limit`` tokens before boundary ``pos``, nearest first.

        Whitespace is skipped ("not  broken"); any other character between blocks
        (punctuation, emoji) ends the clause and the search.
        """
        found: list[str] = []
        text = self.text
        while pos > 0 and len(found) < limit:
            index = self._block_containing(pos - 1)
            if index < 0:
                if not text[pos - 1].isspace():
                    break
                pos -= 1
                continue
            bounds = self._block_bounds(index)
            at = bisect_right(bounds, pos - 1) - 1
            found.append(text[bounds[at] : pos])
            pos = bounds[at]
        return found

    def tokens_after(self, pos: int, limit: int) -> list[str]:
        """Up to ``limit`` tokens after boundary ``pos``, nearest first (same rules)."""
        found: list[str] = []
        text = self.text
        size = len(text)
        while pos < size and len(found) < limit:
            index = self._block_containing(pos)
            if index < 0:
                if not text[pos].isspace():
                    break
                pos += 1
                continue
            bounds = self._block_bounds(index)
            at = bisect_right(bounds, pos)
            found.append(text[pos : bounds[at]])
            pos = bounds[at]
        return found

    def block_count(self) -> int:
        """Number of blocks in the text (for diagnostics)."""
        return len(self._starts)

    def segmented_count(self) -> int:
        """Number of blocks segmented so far (for diagnostics and tests)."""
        return len(self._bounds)
