"""Category suggestions on the kinds of text customers really send."""

from __future__ import annotations

import pytest

from nlp import Severity, classify, default_classifier

DEFAULT_IDS = (
    "product_quality",
    "delivery",
    "service",
    "billing",
    "after_sales",
    "misleading",
    "safety",
    "other",
)


def test_taxonomy_is_in_file_order_with_names() -> None:
    taxonomy = default_classifier().taxonomy
    assert tuple(c.id for c in taxonomy) == DEFAULT_IDS
    assert taxonomy[0].name("zh") == "商品质量"
    assert taxonomy[1].name("en") == "Delivery"
    assert taxonomy[-1].name("zh") == "其他"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("送餐太慢了，等了一个多小时才送到", "delivery"),
        ("发错货了，我买的黑色发来白色", "delivery"),
        ("汤全洒了，袋子里都是", "delivery"),
        ("前台服务员态度很差，爱答不理", "service"),
        ("结账的时候多收了我50块钱", "billing"),
        ("申请退款一个星期了还没退", "after_sales"),
        ("衣服和图片差太多了，色差严重", "misleading"),
        ("吃完拉肚子了一整晚", "safety"),
        ("饭里吃出一根头发", "safety"),
        ("裤子洗了一次就掉色，质量太差", "product_quality"),
        ("房间隔音太差，一晚上没睡好", "product_quality"),
        ("这本书的作者文笔不错，推荐", "other"),
    ],
)
def test_typical_complaints(text: str, category: str) -> None:
    assert classify(text).category == category


def test_scores_cover_every_category() -> None:
    suggestion = classify("送餐太慢")
    assert tuple(suggestion.scores) == DEFAULT_IDS
    assert suggestion.scores["delivery"] > 0
    assert all(v == 0.0 for k, v in suggestion.scores.items() if k != "delivery")


def test_no_cue_means_other() -> None:
    suggestion = classify("你好，请问明天几点开门？")
    assert suggestion.category == "other"
    assert suggestion.category_cues == ()
    assert set(suggestion.scores.values()) == {0.0}


def test_several_problems_in_one_message() -> None:
    suggestion = classify("送餐晚了一个小时，菜也凉了，而且难吃得要命，还多收了配送费")
    assert suggestion.scores["delivery"] > 0
    assert suggestion.scores["product_quality"] > 0
    assert suggestion.scores["billing"] > 0
    assert suggestion.category == "delivery"
    cue_categories = {c.category for c in suggestion.category_cues}
    assert {"delivery", "product_quality", "billing"} <= cue_categories


def test_tie_goes_to_the_problem_mentioned_first() -> None:
    a = classify("质量差，态度差")
    b = classify("态度差，质量差")
    assert a.scores == b.scores
    assert a.scores["product_quality"] == a.scores["service"]
    assert (a.category, b.category) == ("product_quality", "service")


def test_repeated_word_counts_once() -> None:
    once = classify("差评")
    thrice = classify("差评！差评！差评！")
    assert once.scores == thrice.scores
    assert len(thrice.category_cues) == 1


def test_english_text() -> None:
    suggestion = classify("The parcel arrived late and the courier was rude.")
    assert suggestion.scores["delivery"] > 0
    assert suggestion.scores["service"] > 0
    assert classify("I was overcharged twice for this order").category == "billing"
    assert classify("It stopped working after two days, poor quality").category == (
        "product_quality"
    )


def test_mixed_chinese_and_english() -> None:
    suggestion = classify("iPhone收到就broken了，屏幕有划痕，我要refund")
    assert suggestion.scores["product_quality"] > 0
    assert suggestion.scores["after_sales"] > 0
    assert {c.word for c in suggestion.category_cues} >= {"broken", "划痕", "refund"}


def test_emoji_do_not_disturb() -> None:
    plain = classify("外卖送错了，气死了")
    with_emoji = classify("外卖😡送错了😡😡，气死了🤬🤬")
    assert with_emoji.category == plain.category == "delivery"
    assert with_emoji.scores == plain.scores


def test_full_width_text_matches_and_reports_original_words() -> None:
    suggestion = classify("ＴＨＥ ＣＵＰ ＷＡＳ ＢＲＯＫＥＮ！！")
    assert suggestion.category == "product_quality"
    assert [c.word for c in suggestion.category_cues] == ["ＢＲＯＫＥＮ"]
    regulator = classify("我已经打１２３１５投诉了")
    assert [c.word for c in regulator.severity_cues] == ["１２３１５"]


def test_words_are_reported_as_written_when_folding_changes_length() -> None:
    # "…" folds to "..." and "①" to "1": offsets must still map back correctly.
    suggestion = classify("①……②送餐太慢…③ ＢＲＯＫＥＮ")
    words = [c.word for c in suggestion.category_cues]
    assert "太慢" in words
    assert "ＢＲＯＫＥＮ" in words


@pytest.mark.parametrize("text", ["", " ", "\n\t  \u3000"])
def test_empty_or_blank_text(text: str) -> None:
    suggestion = classify(text)
    assert suggestion.category == "other"
    assert suggestion.severity is Severity.GENERAL
    assert set(suggestion.scores) == set(DEFAULT_IDS)
    assert set(suggestion.scores.values()) == {0.0}
    assert suggestion.category_cues == suggestion.severity_cues == suggestion.negated == ()


def test_very_long_text_is_classified_correctly() -> None:
    filler = "今天天气不错，我们去公园散步，然后回家吃饭。" * 600  # 13,200 characters
    text = filler + "最后发现送来的汤全洒了。" + filler + "吃完以后拉肚子了"
    assert len(text) > 20_000
    suggestion = classify(text)
    assert suggestion.scores["delivery"] > 0
    assert suggestion.scores["safety"] > 0
    assert suggestion.severity is Severity.HOT
    assert suggestion.category == "safety"


def test_long_text_without_punctuation() -> None:
    text = "我" * 12_000 + "送错了"
    assert classify(text).category == "delivery"


def test_to_dict_is_json_ready() -> None:
    data = classify("送错了，还少了一瓶水").to_dict()
    assert data["category"] == "delivery"
    assert data["severity"] == "general"
    assert set(data["cues"]) == {"category", "severity", "negated"}
    assert {"word": "送错", "category": "delivery", "weight": 3.0} in data["cues"]["category"]
