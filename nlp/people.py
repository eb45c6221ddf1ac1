"""Counting people in a message: "我们三个人", "全家5口", "十几个人", "20多位业主".

Only the number grammar lives here; which words count as people (人, 位, 业主,
"people", ...) comes from ``severity.txt``. Approximate numbers give their lower bound:
"十几" is 11, "几十" 20, "20多" 21, "好几" 3, a range like "三四" its smaller end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.lexicon import PeopleUnits

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}
_FEW = "几"
_ENGLISH = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "fifty": 50, "hundred": 100, "a hundred": 100, "hundreds of": 200,
    "a dozen": 12, "dozen": 12, "dozens of": 24, "several": 3, "a few": 3,
}  # fmt: skip
_ZH_NUMBER = "(?:好|数)?[零〇一二两三四五六七八九十百千万几]+|上[百千万][零〇一二两三四五六七八九十百千万几]*"


@dataclass(frozen=True, slots=True)
class Headcount:
    """A number of people found in the text."""

    start: int
    end: int
    people: int


def parse_chinese_number(text: str) -> int | None:
    """Lower bound of a Chinese numeral such as 三, 十二, 二十几, 几十, 一百多, 好几."""
    if text[:1] in ("好", "数"):
        text = text[1:] if text[1:2] == _FEW else _FEW + text[1:]
    elif text[:1] == "上":
        text = "一" + text[1:]
    if not text:
        return None
    if text == _FEW:
        return 3  # "几个人", "好几个人": a few, i.e. a group
    total = 0
    section = 0
    digit: int | None = None  # pending digit; 几 is "at least 1", "几十" at least 20
    few = False
    in_range = False
    for char in text:
        if char in _DIGITS or char == _FEW:
            if in_range:
                continue  # "三四个人": a range, keep its smaller (first) end
            digit, few, in_range = _DIGITS.get(char, 1), char == _FEW, True
            continue
        in_range = False
        if char in _UNITS:
            multiplier = 1 if digit is None else (2 if few else digit)
            section += multiplier * _UNITS[char]
        elif char == "万":
            head = section + (0 if digit is None else (2 if few else digit))
            total = (total + (head or 1)) * 10000
            section = 0
        else:
            return None
        digit, few = None, False
    return total + section + (digit or 0)


class PeopleCounter:
    """Finds "<number> <people word>" phrases using the units of ``severity.txt``."""

    def __init__(self, units: PeopleUnits) -> None:
        classifiers = _alternation(units.classifiers)
        nouns = _alternation(units.nouns)
        pieces = []
        if classifiers and nouns:
            pieces.append(f"(?:个|{classifiers})\\s*(?:{nouns})")
        if classifiers:
            pieces.append(classifiers)
        if nouns:
            pieces.append(nouns)
        # A headcount ends in one of these words; most messages have none of them, and
        # looking for them is far cheaper than running the full pattern.
        unit_words = _alternation(units.classifiers + units.nouns)
        self._units = re.compile(unit_words) if unit_words else None
        english = _alternation(tuple(_ENGLISH))
        not_after = f"(?!{_alternation(units.not_after)})" if units.not_after else ""
        self._pattern = re.compile(
            r"(?<![0-9a-z零〇一二两三四五六七八九十百千万几第])"
            rf"(?P<number>[0-9]+|{_ZH_NUMBER}|{english})"
            r"(?P<more>多|余|来|\+)?\s*"
            rf"(?:{'|'.join(pieces)}){not_after}"
        )

    def find(self, text: str) -> list[Headcount]:
        """Every headcount in folded ``text``."""
        if self._units is None or self._units.search(text) is None:
            return []
        found: list[Headcount] = []
        for match in self._pattern.finditer(text):
            number = match.group("number")
            if number.isdigit():
                value: int | None = int(number)
            elif number in _ENGLISH:
                value = _ENGLISH[number]
            else:
                value = parse_chinese_number(number)
            if value is None:
                continue
            if match.group("more"):
                value += 1
            found.append(Headcount(match.start(), match.end(), value))
        return found


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first so "个人" wins over "人" and "of us" is tried whole.
    ordered = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(word) for word in ordered)
