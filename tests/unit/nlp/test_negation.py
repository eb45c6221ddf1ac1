"""Negated complaint words are reported in ``negated`` and do not count."""

from __future__ import annotations

import pytest

from nlp import classify


@pytest.mark.parametrize(
    ("text", "word", "category"),
    [
        ("收到的杯子没有坏", "坏", "product_quality"),
        ("这次送餐不算慢", "慢", "delivery"),
        ("房间并不脏", "脏", "product_quality"),
        ("我不过敏", "过敏", "safety"),
        ("The vase was not broken", "broken", "product_quality"),
        ("The order wasn't late", "late", "delivery"),
        ("The order wasn’t late", "late", "delivery"),  # typographic apostrophe
        ("外卖一点都不慢", "慢", "delivery"),
    ],
)
def test_negated_word_is_reported_and_not_counted(text: str, word: str, category: str) -> None:
    suggestion = classify(text)
    assert any(word in c.word and c.category == category for c in suggestion.negated)
    assert suggestion.scores[category] == 0.0
    assert suggestion.category == "other"
    assert all(word not in c.word for c in suggestion.category_cues)


def test_same_word_without_negation_counts() -> None:
    suggestion = classify("收到的杯子坏了")
    assert suggestion.category == "product_quality"
    assert suggestion.scores["product_quality"] > 0
    assert suggestion.negated == ()


def test_negation_does_not_reach_past_punctuation() -> None:
    # "不" ends its clause at the comma; "坏了" is a complaint of its own.
    suggestion = classify("我不知道，杯子坏了")
    assert suggestion.category == "product_quality"
    assert suggestion.negated == ()


def test_negation_needs_to_be_close() -> None:
    # "没多久就坏了": the negator is three tokens away behind a non-filler word.
    suggestion = classify("没多久就坏了")
    assert suggestion.category == "product_quality"
    assert suggestion.negated == ()


def test_negated_health_word_does_not_raise_severity() -> None:
    suggestion = classify("吃了以后没有拉肚子，就是有点咸")
    assert suggestion.severity == "general"
    assert [c.word for c in suggestion.negated] == ["拉肚子"]


def test_topic_word_is_not_cancelled_by_negation() -> None:
    # "没有发票" is a billing complaint, not the absence of one.
    suggestion = classify("没有发票")
    assert suggestion.category == "billing"
    assert suggestion.negated == ()


def test_praised_topic_is_not_counted() -> None:
    suggestion = classify("物流超快！客服态度也挺好，就是水果全烂了")
    assert suggestion.category == "product_quality"
    assert suggestion.scores["delivery"] == 0.0
    assert suggestion.scores["service"] == 0.0
    assert {c.word for c in suggestion.negated} >= {"物流", "客服"}


def test_negated_praise_keeps_the_topic() -> None:
    suggestion = classify("客服态度不是很好")
    assert suggestion.category == "service"
    assert [c.word for c in suggestion.negated] == ["很好"]


def test_negated_complaint_cancels_its_topic() -> None:
    suggestion = classify("这次送餐不算慢")
    assert suggestion.category == "other"
    assert {c.word for c in suggestion.negated} == {"送餐", "慢"}


def test_negator_inside_a_gap_pattern() -> None:
    # "房间...脏" would span "房间并不脏"; the negator before its last part counts.
    assert classify("房间并不脏").category == "other"
    assert classify("房间特别脏").category == "product_quality"
