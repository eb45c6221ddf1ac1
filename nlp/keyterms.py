"""Key terms: what a complaint is *about* — the product, brand, shop, dish or place.

Hot issues group complaints of one category that share a key term, and the report
lists the most frequent ones, so a key term must name the thing itself ("美的",
"电水壶", "张记", "毛肚", "sunrise"), never how people complain about it. A token of
the description is a key term unless it is:

- shaped like no name: contains a digit (order numbers, ids, amounts: "dd20261127001",
  "a556", "12345"), is one Han character or an ASCII word shorter than 3 letters, is a
  Chinese number or quantity ("三天", "好几次", "一个多小时", "第二次"), ends in a
  particle or a measure word ("凉了", "来吧", "画个"), or is a short word opening
  with a pronoun, negator or adverb ("我要", "没人", "太慢", "挺无语");
- generic by the unlabelled review corpus: ``data/termfreq.txt`` lists the words that
  many kinds of business share ("打电话", "客服", "质量"), that turn up about equally
  in every kind ("花钱", "效率"), that a large part of one kind's complaints mention
  ("酒店", "房间", "外卖"), or that jieba's dictionary
  knows as something other than a noun (verbs, adjectives, adverbs, pronouns, numerals,
  time words); made by ``tools/build_termfreq.py`` (see the file's header);
- generic by hand: ``data/generic.txt``, English ("answers", "nobody", "twice",
  "refund", "order", "called"... — inflected forms are recognised) and the Chinese
  names of ids ("订单号", "运单号");
- complaint vocabulary of the classifier's lexicons, and the pieces jieba cuts its
  phrases into ("没礼貌" excludes "礼貌", "送错地址" excludes "地址").

The data files are read on the first call (a few milliseconds), not on import.
Standard library and jieba only, like the rest of :mod:`nlp`.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nlp.lexicon import Source, packaged, parse_words
from nlp.text import fold

# Han runs and ASCII letter/digit runs of folded text; a run is cut by jieba or kept whole
_BLOCK = re.compile("[\u4e00-\u9fd5]+|[a-z0-9]+")
_NUMERAL_START = "零〇一二两三四五六七八九十几半"
_NUMERAL = "零〇一二两三四五六七八九十百千万亿几半多"
_MEASURE = (
    "个月|个多|个半|小时|分钟|星期|礼拜|公斤|千克|公里|"
    "[个只件次遍回趟天日号周年月点分秒刻块元毛角斤克瓶盒包箱袋份碗杯盘层楼岁位人家张台部条双套间晚夜些下种样多半来]"
)
# "三天", "好几次", "一个多小时", "第二次", "两三个": numbers and quantities, not names
# (a numeral followed by something else stays: "三星", "九阳", "一加", "七匹狼")
_QUANTITY = re.compile(
    f"(?:第|好|每|前|后|头)?[{_NUMERAL_START}][{_NUMERAL}]*(?:{_MEASURE})*"
)
_PARTICLE_END = frozenset("了着过吗呢吧啊啦呀嘛哦哈么个")
# two-character words opening with a pronoun, negator or adverb: "我要", "没人", "太慢";
# three-character ones opening with one of those that no name starts with: "挺无语"
_FUNCTION_START = frozenset("我你他她它这那哪不没太很挺蛮也都就又还再才刚已")
_FUNCTION_START_3 = frozenset("我你他她它哪没很挺蛮也就又再才刚已")
_EN_SUFFIXES = ("ies", "es", "s", "ed", "ing", "ly")


def candidates(folded: str, cut: Callable[[str], Iterable[str]]) -> Iterator[str]:
    """The tokens of folded text, in order: ASCII runs whole, Han runs cut by ``cut``.

    The build script counts document frequencies over exactly these tokens."""
    for block in _BLOCK.findall(folded):
        if block.isascii():
            yield block
        else:
            yield from cut(block)


def shapeless(token: str) -> bool:
    """True for a token whose shape alone says it names nothing (see the module doc)."""
    if any(ch.isdigit() for ch in token):
        return True
    if token.isascii():
        return len(token) < 3
    if len(token) < 2 or token[-1] in _PARTICLE_END:
        return True
    if len(token) == 2 and token[0] in _FUNCTION_START:
        return True
    if len(token) == 3 and token[0] in _FUNCTION_START_3:
        return True
    return _QUANTITY.fullmatch(token) is not None


def is_quantity(token: str) -> bool:
    """True for numbers and quantities: "12", "三天", "好几次", "一个多小时", "第二次"."""
    return any(ch.isdigit() for ch in token) or _QUANTITY.fullmatch(token) is not None


class KeyTermData:
    """The generic words of ``termfreq.txt`` (from the corpus) and ``generic.txt`` (by hand)."""

    def __init__(self, corpus: frozenset[str], by_hand: frozenset[str]) -> None:
        self.corpus = corpus
        self.by_hand = by_hand

    @classmethod
    def load(cls, termfreq: Source | None = None, generic: Source | None = None) -> KeyTermData:
        """Read the lists (``None``: the packaged files)."""
        return cls(
            _first_fields(termfreq or packaged("termfreq.txt")),
            parse_words(generic or packaged("generic.txt")),
        )

    def is_generic(self, token: str) -> bool:
        if token in self.corpus or token in self.by_hand:
            return True
        return token.isascii() and any(stem in self.by_hand for stem in _english_stems(token))


def _first_fields(source: Source) -> frozenset[str]:
    """The word at the start of every line that is not a '#' comment."""
    words = (line.split(" ", 1)[0] for line in source.read_text(encoding="utf-8").splitlines())
    return frozenset(word for word in words if word and not word.startswith("#"))


def _english_stems(word: str) -> Iterator[str]:
    """Base forms a word may be inflected from: answers->answer, called->call,
    delivered->deliver, arrived->arrive, stopped->stop, replies->reply, waiting->wait."""
    for suffix in _EN_SUFFIXES:
        if not word.endswith(suffix) or len(word) - len(suffix) < 2:
            continue
        stem = word[: -len(suffix)]
        yield stem
        if suffix == "ies":
            yield stem + "y"
        elif suffix in ("ed", "ing", "es"):
            yield stem + "e"
            if len(stem) > 2 and stem[-1] == stem[-2]:
                yield stem[:-1]  # stopped -> stop


_data: KeyTermData | None = None
_data_lock = threading.Lock()


def default_data() -> KeyTermData:
    """The packaged generic-word lists, read once on first use."""
    global _data
    if _data is None:
        with _data_lock:
            if _data is None:
                _data = KeyTermData.load()
    return _data


def cutter(tokenizer: Any) -> Callable[[str], Iterable[str]]:
    """How key terms cut a Han run with a jieba tokenizer: with HMM, unlike
    classification, so that names jieba does not know ("顺丰", "张记") stay whole
    instead of falling apart into single characters."""
    return lambda block: tokenizer.cut(block, HMM=True)


# tokenizer -> (lexicon words, those words plus their pieces as the tokenizer cuts them)
_vocabulary: weakref.WeakKeyDictionary[Any, tuple[frozenset[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)
_vocabulary_lock = threading.Lock()


def _complaint_vocabulary(tokenizer: Any, words: frozenset[str]) -> frozenset[str]:
    """``words`` and the pieces the tokenizer cuts them into: a lexicon phrase such as
    "没礼貌" or "送错地址" also excludes "礼貌" and "地址" (computed once per tokenizer)."""
    with _vocabulary_lock:
        cached = _vocabulary.get(tokenizer)
        if cached is not None and cached[0] is words:
            return cached[1]
        cut = cutter(tokenizer)
        # a piece of two characters or more needs a phrase of three or more
        pieces = {piece for word in words if len(word) > 2 and not word.isascii() for piece in cut(word)}
        vocabulary = words | frozenset(pieces)
        _vocabulary[tokenizer] = (words, vocabulary)
        return vocabulary


def key_terms(
    text: str,
    tokenizer: Any,
    lexicon_words: frozenset[str] = frozenset(),
    limit: int = 8,
    data: KeyTermData | None = None,
) -> tuple[str, ...]:
    """At most ``limit`` key terms of ``text``, folded, in order of first appearance.

    ``tokenizer`` is a jieba tokenizer (the classifier's, with its user words);
    ``lexicon_words`` the complaint vocabulary of the lexicons, excluded along with
    the pieces the tokenizer cuts its phrases into."""
    if not text or text.isspace() or limit <= 0:
        return ()
    generic = data or default_data()
    excluded = _complaint_vocabulary(tokenizer, lexicon_words)
    seen: dict[str, None] = {}
    for token in candidates(fold(text), cutter(tokenizer)):
        if token in seen or token in excluded or shapeless(token) or generic.is_generic(token):
            continue
        seen[token] = None
        if len(seen) >= limit:
            break
    return tuple(seen)
