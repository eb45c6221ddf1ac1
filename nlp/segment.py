"""jieba segmentation of one folded message, block by block.

jieba splits a text into blocks of Han characters, ASCII letters and digits (its
``re_han_default``) and segments each block on its own; everything between blocks
(punctuation, spaces, emoji) becomes one-character tokens. Segmenting a single block
therefore gives exactly the tokens jieba would give for that block inside the whole
text. :class:`Document` segments each block once, with :class:`DagCutter` (jieba's
precise mode without HMM, several times faster), and answers where tokens begin and end.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from math import log
from typing import Protocol

# Same character class as jieba 0.42's re_han_default.
_BLOCK = re.compile("[\u4e00-\u9fd5a-zA-Z0-9+#&._%\\-]+")

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

# Markers in DagCutter's memo and route; compared by identity, never by value.
_PREFIX = float("nan")  # a dictionary prefix that is not a word itself (frequency 0)
_ABSENT = float("inf")  # no dictionary word starts with this fragment
_NO_ROUTE = float("-inf")  # no dictionary word starts here (yet)
# DagCutter forgets its memo when it grows beyond this many fragments, so that
# memory stays bounded however many different texts a process classifies.
_MEMO_LIMIT = 200_000

Cut = Callable[[str], Iterable[str]]


class _Dictionary(Protocol):
    FREQ: dict[str, int]
    total: int


class DagCutter:
    """jieba's precise mode without HMM, for one block, as a faster equivalent.

    Same dictionary (the tokenizer's ``FREQ`` and ``total``, user words included),
    same maximum-probability route with the same tie-breaking, same merging of
    single ASCII letters and digits, so the tokens equal
    ``tokenizer.cut(block, HMM=False)`` (a unit test checks this). It is several
    times faster because it fuses jieba's ``get_DAG`` and ``calc`` into one backward
    pass and looks each fragment up once, in a memo of what the dictionary says about
    it (log-probability, prefix only, or absent) that is bounded by
    :data:`_MEMO_LIMIT`. Create it after all user words are added.
    """

    __slots__ = ("_freq", "_logtotal", "_logp")

    def __init__(self, dictionary: _Dictionary) -> None:
        self._freq = dictionary.FREQ
        self._logtotal = log(dictionary.total)
        # fragment -> log-probability, _PREFIX (a prefix, not a word) or _ABSENT
        self._logp: dict[str, float] = {}

    def __call__(self, sentence: str) -> list[str]:
        """The tokens of ``sentence`` (one block of Han characters, letters, digits)."""
        tokens: list[str] = []
        start = 0
        for end in self.block_ends(sentence, (0,), (len(sentence),))[0][1:]:
            tokens.append(sentence[start:end])
            start = end
        return tokens

    def block_ends(
        self,
        text: str,
        starts: Sequence[int],
        stops: Sequence[int],
        ascii_whole: bool = False,
    ) -> list[list[int]]:
        """For each block ``text[start:stop]``, its start and the end of each of its
        tokens, in order (``[start, end1, end2, ...]``). One call for all blocks of a
        message: the hot loop's set-up is paid once.
        ``ascii_whole``: a block of ASCII letters and digits is one token."""
        logp = self._logp
        if len(logp) > _MEMO_LIMIT:
            logp.clear()
        get = logp.get
        freq = self._freq.get
        logtotal = self._logtotal
        unknown = -logtotal  # log(1) - log(total): a character jieba does not know
        prefix = _PREFIX  # module constants as locals: this loop is the hot path
        absent = _ABSENT
        no_route = _NO_ROUTE
        ascii_alnum = _ASCII_ALNUM
        result: list[list[int]] = []
        for block_start, block_stop in zip(starts, stops):
            sentence = text[block_start:block_stop]
            base = block_start
            ends: list[int] = [base]
            result.append(ends)
            if ascii_whole and sentence.isascii() and sentence.isalnum():
                ends.append(block_stop)
                continue
            size = len(sentence)
            route_p = [0.0] * (size + 1)
            route_x = [0] * size
            for k in range(size - 1, -1, -1):
                best_p = no_route
                best_x = k
                i = k
                frag = sentence[k]
                while True:
                    p = get(frag)
                    if p is None:
                        count = freq(frag)
                        if count is None:
                            p = absent
                        elif count:
                            p = log(count) - logtotal
                        else:
                            p = prefix
                        logp[frag] = p
                    if p is absent:
                        break  # no dictionary word starts with this fragment
                    if p is not prefix:
                        p += route_p[i + 1]
                        if p >= best_p:  # ties: the longer word, as jieba
                            best_p = p
                            best_x = i
                    i += 1
                    if i == size:
                        break
                    frag = sentence[k : i + 1]
                if best_p is no_route:
                    best_p = unknown + route_p[k + 1]
                route_p[k] = best_p
                route_x[k] = best_x
            # Walk the best route; runs of single ASCII letters and digits merge into
            # one token, as in jieba ("abc123" cut into single characters stays whole).
            in_run = False
            x = 0
            while x < size:
                y = route_x[x] + 1
                if y - x == 1 and sentence[x] in ascii_alnum:
                    in_run = True
                else:
                    if in_run:
                        ends.append(base + x)
                        in_run = False
                    ends.append(base + y)
                x = y
            if in_run:
                ends.append(base + size)
        return result


class Document:
    """A folded text whose blocks are segmented on demand and cached."""

    __slots__ = ("text", "_cut", "_starts", "_ends", "_bounds", "_bound_sets", "_all")

    def __init__(self, text: str, cut: Cut) -> None:
        self.text = text
        self._cut = cut
        spans = [match.span() for match in _BLOCK.finditer(text)]
        self._starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]
        self._bounds: dict[int, list[int]] = {}
        self._bound_sets: dict[int, frozenset[int]] = {}
        self._all: set[int] | None = None  # every boundary, once boundaries() ran

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
            elif isinstance(self._cut, DagCutter):  # ends directly, without building tokens
                bounds = self._cut.block_ends(self.text, (start,), (end,))[0]
            else:
                bounds = [start]
                pos = start
                for token in self._cut(block):
                    pos += len(token)
                    bounds.append(pos)
            self._bounds[index] = bounds
        return bounds

    def is_boundary(self, pos: int) -> bool:
        """True when a jieba token starts or ends at ``pos``."""
        if self._all is not None:
            return pos <= 0 or pos >= len(self.text) or pos in self._all
        # _block_containing inlined: this runs for every candidate phrase
        starts = self._starts
        index = bisect_right(starts, pos) - 1
        if index < 0 or pos == starts[index] or pos >= self._ends[index]:
            return True
        bound_set = self._bound_sets.get(index)
        if bound_set is None:
            bound_set = self._bound_sets[index] = frozenset(self._block_bounds(index))
        return pos in bound_set

    def boundaries(self) -> tuple[list[int], frozenset[int] | set[int]]:
        """Every token boundary of the text, in order and as a set (segments every
        block; characters between blocks are one-character tokens). These are jieba's
        boundaries, except that a block of ASCII letters and digits stays whole (jieba
        would cut "123151" into the user word "12315" and "1"), and a line break of two
        characters is two tokens (neither changes a match: a line break ends a clause)."""
        found: list[int] = []
        pos = 0
        text = self.text
        starts, stops = self._starts, self._ends
        if isinstance(self._cut, DagCutter) and not self._bounds:
            # every block in one call (jieba keeps an ASCII word or number whole)
            self._bounds = dict(enumerate(self._cut.block_ends(text, starts, stops, ascii_whole=True)))
        for index, start in enumerate(starts):
            if start > pos:
                found.extend(range(pos, start))
            found.extend(self._block_bounds(index))
            pos = found.pop()  # the block's end starts what follows
        found.extend(range(pos, len(text) + 1))
        self._all = all_bounds = set(found)
        return found, all_bounds

    def block_tokens(self) -> list[list[str]]:
        """The tokens of every block, in order (segments every block)."""
        text = self.text
        result = []
        for index in range(len(self._starts)):
            bounds = self._block_bounds(index)
            result.append([text[a:b] for a, b in zip(bounds, bounds[1:])])
        return result

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
