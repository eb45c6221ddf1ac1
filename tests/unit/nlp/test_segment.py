"""The fast block cutter gives exactly jieba's tokens; documents know every token boundary."""

from __future__ import annotations

import pytest

from nlp import default_classifier
from nlp.segment import DagCutter, Document

SAMPLES = [
    "送餐太慢了，等了一个多小时才送到，饭都凉了",
    "我们三个人吃完都拉肚子了，打12315投诉",
    "律师事务所的朋友推荐的工商银行信用卡",
    "iPhone13ProMax买回来就黑屏abc123",
    "发错货没收到退款售后不理人",
    "一二三四五六七八九十百千万亿",
    "研究生命起源结婚的和尚未结婚的",
    "a",
    "没有坏不算慢并不脏",
    "龘靐齉爩",  # characters jieba's dictionary does not know
    "中华人民共和国国务院总理李克强",  # long dictionary words and their prefixes
    "的的的的的的的的",
    "3.5小时后才送到送到送到",
]


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    from nlp.tokenizer import build_tokenizer

    return build_tokenizer(default_classifier()._lexicon.userdict)


@pytest.mark.parametrize("block", SAMPLES)
def test_cutter_equals_jieba(tokenizer, block: str) -> None:  # type: ignore[no-untyped-def]
    from nlp.segment import _BLOCK

    cutter = DagCutter(tokenizer)
    for match in _BLOCK.finditer(block):
        part = match.group()
        assert cutter(part) == list(tokenizer.cut(part, HMM=False))


def test_document_segments_only_what_it_needs() -> None:
    cut_calls: list[str] = []

    def cut(block: str) -> list[str]:
        cut_calls.append(block)
        return list(block)  # one token per character

    doc = Document("你好，世界，送错了", cut)
    assert doc.block_count() == 3
    assert doc.is_boundary(0) and doc.is_boundary(2)  # block edges need no segmenting
    assert cut_calls == []
    assert doc.is_boundary(7)
    assert cut_calls == ["送错了"]
    assert doc.tokens_before(8, 3) == ["错", "送"]  # stops at the comma
    assert doc.tokens_after(6, 5) == ["送", "错", "了"]


@pytest.mark.parametrize("text", [*SAMPLES, "送错了，  not broken!! 😡3.5小时", ""])
def test_boundaries_are_jiebas_token_boundaries(tokenizer, text: str) -> None:  # type: ignore[no-untyped-def]
    doc = Document(text, DagCutter(tokenizer))
    expected = [0]
    for token in tokenizer.cut(text, HMM=False):
        expected.append(expected[-1] + len(token))
    bounds, as_set = doc.boundaries()
    assert bounds == expected
    assert as_set == set(expected)


def test_tokens_before_skips_spaces_only() -> None:
    doc = Document("was no  late! no", lambda block: [block])
    assert doc.tokens_before(8, 3) == ["no", "was"]
    assert doc.tokens_before(14, 3) == []


def test_cutter_memo_stays_bounded(tokenizer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import nlp.segment

    monkeypatch.setattr(nlp.segment, "_MEMO_LIMIT", 10)
    cutter = DagCutter(tokenizer)
    expected = cutter("研究生命起源结婚的和尚未结婚的")
    assert len(cutter._logp) > 10
    cutter("送餐太慢了")  # starts with a fresh memo
    assert len(cutter._logp) < 20
    assert cutter("研究生命起源结婚的和尚未结婚的") == expected


def test_phrases_sharing_first_characters() -> None:
    from nlp.matcher import PhraseIndex

    phrases = [(("差",), "a"), (("差评",), "b"), (("差到",), "c"), (("差", "了"), "d")]
    index = PhraseIndex(phrases)
    # one token per character: 差评，差到家了，差
    hits = index.find(Document("差评，差到家了，差", list))
    assert [(h.start, h.end, h.payload) for h in hits] == [
        (0, 2, "b"),  # longest first at each start
        (0, 1, "a"),  # "差...了" does not reach over the comma
        (3, 5, "c"),
        (3, 4, "a"),
        (3, 7, "d"),
        (8, 9, "a"),
    ]


def test_decimal_point_does_not_end_a_clause() -> None:
    from nlp.matcher import CLAUSE_BREAK, PhraseIndex

    assert CLAUSE_BREAK.search("等了1.5小时") is None
    assert CLAUSE_BREAK.search("不好吃.下次不来了") is not None
    assert CLAUSE_BREAK.search("version 2.") is not None
    index = PhraseIndex([(("远没有", "那么"), "claim")])
    hits = index.find(Document("续航远没有9.5天那么久", list))
    assert [(h.start, h.end, h.payload) for h in hits] == [(2, 11, "claim")]
    assert index.find(Document("续航远没有9.天那么久", list)) == []
