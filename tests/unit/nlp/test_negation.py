"""Negated complaint words are reported in ``negated`` and do not count.

Mechanics of the matcher, tested on the hand-written seed lexicon (the ``seed_classifier``
fixture, see conftest.py): the generated packaged lexicon's weights change with
every fit.
"""

from __future__ import annotations

import pytest

from nlp import Classifier


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
def test_negated_word_is_reported_and_not_counted(
    seed_classifier: Classifier, text: str, word: str, category: str
) -> None:
    suggestion = seed_classifier.classify(text)
    assert any(word in c.word and c.category == category for c in suggestion.negated)
    assert suggestion.scores[category] == 0.0
    assert suggestion.category == "other"
    assert all(word not in c.word for c in suggestion.category_cues)


def test_same_word_without_negation_counts(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("收到的杯子坏了")
    assert suggestion.category == "product_quality"
    assert suggestion.scores["product_quality"] > 0
    assert suggestion.negated == ()


def test_negation_does_not_reach_past_punctuation(seed_classifier: Classifier) -> None:
    # "不" ends its clause at the comma; "坏了" is a complaint of its own.
    suggestion = seed_classifier.classify("我不知道，杯子坏了")
    assert suggestion.category == "product_quality"
    assert suggestion.negated == ()


def test_negation_needs_to_be_close(seed_classifier: Classifier) -> None:
    # "没多久就坏了": the negator is three tokens away behind a non-filler word.
    suggestion = seed_classifier.classify("没多久就坏了")
    assert suggestion.category == "product_quality"
    assert suggestion.negated == ()


def test_negated_health_word_does_not_raise_severity(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("吃了以后没有拉肚子，就是有点咸")
    assert suggestion.severity == "general"
    assert [c.word for c in suggestion.negated] == ["拉肚子"]


def test_topic_word_is_not_cancelled_by_negation(seed_classifier: Classifier) -> None:
    # "没有发票" is a billing complaint, not the absence of one.
    suggestion = seed_classifier.classify("没有发票")
    assert suggestion.category == "billing"
    assert suggestion.negated == ()


def test_praised_topic_is_not_counted(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("物流超快！客服态度也挺好，就是水果全烂了")
    assert suggestion.category == "product_quality"
    assert suggestion.scores["delivery"] == 0.0
    assert suggestion.scores["service"] == 0.0
    assert {c.word for c in suggestion.negated} >= {"物流", "客服"}


def test_negated_praise_keeps_the_topic(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("客服态度不是很好")
    assert suggestion.category == "service"
    assert [c.word for c in suggestion.negated] == ["很好"]


def test_negated_complaint_cancels_its_topic(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("这次送餐不算慢")
    assert suggestion.category == "other"
    assert {c.word for c in suggestion.negated} == {"送餐", "慢"}


def test_negator_inside_a_gap_pattern(seed_classifier: Classifier) -> None:
    # "房间...脏" would span "房间并不脏"; the negator before its last part counts.
    assert seed_classifier.classify("房间并不脏").category == "other"
    assert seed_classifier.classify("房间特别脏").category == "product_quality"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("怕拉肚子就没敢吃", "拉肚子"),
        ("洗澡水忽冷忽热，差点烫伤", "烫伤"),
        ("万一过敏了怎么办", "过敏"),
        ("担心会不会中毒", "中毒"),
    ],
)
def test_harm_that_did_not_happen_is_not_counted(seed_classifier: Classifier, text: str, word: str) -> None:
    # "怕", "差点", "万一": the customer fears or narrowly escaped the harm.
    suggestion = seed_classifier.classify(text)
    assert suggestion.severity == "general"
    assert suggestion.severity_cues == ()
    assert any(word in c.word for c in suggestion.negated)
    assert suggestion.scores["safety"] == 0.0


def test_rhetorical_question_affirms(seed_classifier: Classifier) -> None:
    # "这不是欺骗吗" accuses; "这不是欺骗" denies.
    asked = seed_classifier.classify("这不是欺骗消费者吗？")
    assert asked.category == "misleading"
    assert asked.negated == ()
    assert seed_classifier.classify("难道不是虚假宣传吗").category == "misleading"
    assert seed_classifier.classify("这不是骗人嘛").category == "misleading"
    denied = seed_classifier.classify("这不是欺骗消费者")
    assert denied.category == "other"
    assert [c.word for c in denied.negated] == ["欺骗"]


def test_rhetorical_question_needs_the_particle_in_the_same_clause(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("杯子不是坏的，你们看错了吗？")
    assert suggestion.scores["product_quality"] == 0.0
    assert [c.word for c in suggestion.negated] == ["坏"]


def test_complaint_put_aside_counts_half(seed_classifier: Classifier) -> None:
    # "物流慢就不说了，…": the customer's main problem is what follows.
    suggestion = seed_classifier.classify("物流慢就不说了，衣服掉色很严重")
    weights = {c.word: c.weight for c in suggestion.category_cues}
    assert weights["物流慢"] == 1.5  # half of its weight (3) in nlp/seed/categories.txt
    assert weights["掉色"] == 2.5
    assert suggestion.category == "product_quality"
    assert seed_classifier.classify("送餐慢就算了，饭菜还是馊的").category == "product_quality"


def test_aside_only_affects_its_own_clause(seed_classifier: Classifier) -> None:
    plain = seed_classifier.classify("衣服掉色，物流也慢")
    aside = seed_classifier.classify("衣服掉色，物流也慢就算了")
    assert plain.scores["product_quality"] == aside.scores["product_quality"]
    assert aside.scores["delivery"] == plain.scores["delivery"] / 2


def test_repeated_word_keeps_its_full_weight_outside_the_aside(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("质量差就不说了，质量差到这个地步")
    assert [(c.word, c.weight) for c in suggestion.category_cues] == [("质量差", 3.0)]
    assert suggestion.scores["product_quality"] == 3.0
