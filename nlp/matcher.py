"""Finding lexicon phrases in a folded message, on jieba token boundaries.

A phrase matches only where a jieba token starts and another one ends, so "工商" does
not match inside the token "工商银行" and "sue" does not match inside "issue", while
phrases spanning several tokens ("吃出虫子" = 吃/出/虫子) still match. Gap patterns
("去...医院") match their parts in order, at most :data:`GAP_CHARS` characters apart and
within one clause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from nlp.segment import Document

T = TypeVar("T")

GAP_CHARS = 6
# Characters a gap may contain: anything but clause punctuation and line breaks; a
# decimal point ("8.5小时") does not end a clause.
CLAUSE_BREAK = re.compile(r"[，。！？；：,!?;:\n\r…~～]|(?<![0-9])\.|\.(?![0-9])")


@dataclass(slots=True)  # not frozen: a frozen dataclass is 4x slower to create
class Hit(Generic[T]):
    """One phrase occurrence in the folded text (treat it as read-only)."""

    start: int
    end: int
    payload: T
    later_parts: tuple[int, ...] = ()  # starts of the later parts of a gap pattern


class PhraseIndex(Generic[T]):
    """All phrases of a lexicon, ready to be found in documents."""

    def __init__(self, entries: Iterable[tuple[tuple[str, ...], T]]) -> None:
        self._first: dict[str, list[tuple[tuple[str, ...], T]]] = {}
        for parts, payload in entries:
            self._first.setdefault(parts[0], []).append((parts, payload))
        # Candidate lengths, longest first, by the two characters a first part starts
        # with; one-character first parts are looked up on their own.
        lengths: dict[str, set[int]] = {}
        for word in self._first:
            if len(word) > 1:
                lengths.setdefault(word[:2], set()).add(len(word))
        self._lengths = {pair: tuple(sorted(ls, reverse=True)) for pair, ls in lengths.items()}
        # word -> (payloads of phrases that are just this word, gap patterns starting
        # with it): plain hits are made without a call
        split = {
            word: (
                tuple(payload for parts, payload in entries if len(parts) == 1),
                tuple(entry for entry in entries if len(entry[0]) > 1),
            )
            for word, entries in self._first.items()
        }
        self._multi = {word: found for word, found in split.items() if len(word) > 1}
        self._single = {word: found for word, found in split.items() if len(word) == 1}
        # Token starts whose character starts some phrase are checked by dictionary
        # look-ups of the phrase lengths that start with the two characters there
        # (much faster than one big alternation regex tried everywhere).
        self._starters = frozenset(word[0] for word in self._first)

    def find(self, doc: Document) -> list[Hit[T]]:
        """Every phrase occurrence that starts and ends on token boundaries.

        Visits token starts only: the text is segmented whole first, which a large
        lexicon (one whose words start with most characters) needs anyway."""
        text = doc.text
        hits: list[Hit[T]] = []
        append = hits.append
        multi = self._multi
        lengths = self._lengths
        single = self._single
        starters = self._starters
        bounds, is_bound = doc.boundaries()
        size = len(text)
        for start in bounds:
            if start == size or text[start] not in starters:
                continue
            for length in lengths.get(text[start : start + 2], ()):
                end = start + length
                if end in is_bound:
                    found = multi.get(text[start:end])
                    if found is not None:
                        for payload in found[0]:
                            append(Hit(start, end, payload))
                        if found[1]:
                            _add_gapped(hits, doc, start, end, found[1])
            if start + 1 in is_bound:
                found = single.get(text[start])
                if found is not None:
                    for payload in found[0]:
                        append(Hit(start, start + 1, payload))
                    if found[1]:
                        _add_gapped(hits, doc, start, start + 1, found[1])
        return hits


def _add_gapped(
    hits: list[Hit[T]],
    doc: Document,
    start: int,
    end: int,
    entries: tuple[tuple[tuple[str, ...], T], ...],
) -> None:
    """Hits for the gap patterns whose first part spans ``start:end``."""
    for parts, payload in entries:
        later = _match_rest(doc, end, parts[1:])
        if later:
            hits.append(Hit(start, later[-1] + len(parts[-1]), payload, later))


def _match_rest(doc: Document, pos: int, parts: tuple[str, ...]) -> tuple[int, ...]:
    """Start of each remaining gap-pattern part after ``pos`` (empty: no match)."""
    text = doc.text
    starts: list[int] = []
    for part in parts:
        limit = pos + GAP_CHARS + len(part)
        found = text.find(part, pos, limit)
        while found >= 0:
            if CLAUSE_BREAK.search(text, pos, found):
                return ()
            if doc.is_boundary(found) and doc.is_boundary(found + len(part)):
                break
            found = text.find(part, found + 1, limit)
        if found < 0:
            return ()
        starts.append(found)
        pos = found + len(part)
    return tuple(starts)
