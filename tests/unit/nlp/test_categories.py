"""Category suggestions on the kinds of text customers really send.

What realistic messages get is tested on the packaged lexicon (``nlp.classify``);
the matcher's mechanics (ties, repeated words, folding, ``@ignore``, "no cue at all",
the ``to_dict`` shape) on the hand-written seed (the ``seed_classifier`` fixture, see
conftest.py), whose weights do not change with every ``complaint-bot lexicon fit``.
"""

from __future__ import annotations

import pytest

from nlp import Classifier, Severity, classify, default_classifier

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
        # synonyms and collocations customers use for each category
        ("鞋子穿了一周就开胶了", "product_quality"),
        ("耳机左边没声音，才用了三天", "product_quality"),
        ("牛奶还没到保质期就变质了", "product_quality"),
        ("点了两份饭只送来一份，少了一份", "delivery"),
        ("快递员没打电话，还显示已签收", "delivery"),
        ("店员态度蛮横，还冲我们翻白眼", "service"),
        ("前台的小姑娘一直在玩手机，叫了好几声都不理人", "service"),
        ("服务员上菜时把汤洒在我身上，连句道歉都没有", "service"),
        ("同一笔订单被扣了两次款", "billing"),
        ("开了会员之后自动续费，根本没有提醒", "billing"),
        ("停车还要自费50元", "billing"),
        ("手机在保修期内坏了，售后却说人为损坏不给保修", "after_sales"),
        ("空调坏了报修三次，师傅一直没上门", "after_sales"),
        ("洗衣机坏了，送修两次都没修好", "after_sales"),
        ("买的时候说送赠品，结果赠品一样都没有", "misleading"),
        ("说是原价999现价199，其实一直都是这个价", "misleading"),
        ("房间根本没有网上写的那么大", "misleading"),
        ("标的500克，称了一下只有400克", "misleading"),
        ("用了这个面霜脸上起了一片红疹", "safety"),
        ("汤里吃出来一块塑料片", "safety"),
        ("菜里有一根长头发，太恶心了", "safety"),
        ("退房的时候说我们弄坏了毛巾，要赔五十块", "billing"),
        ("新买的空调不制冷", "product_quality"),
        ("饭菜不新鲜，还很难吃，吃完拉肚子了", "safety"),  # harm outweighs quality
    ],
)
def test_typical_complaints(text: str, category: str) -> None:
    assert classify(text).category == category


def test_scores_cover_every_category(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("送餐太慢")
    assert tuple(suggestion.scores) == DEFAULT_IDS
    assert suggestion.scores["delivery"] > 0
    assert all(v == 0.0 for k, v in suggestion.scores.items() if k != "delivery")


def test_no_cue_means_other(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("你好，请问明天几点开门？")
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


def test_tie_goes_to_the_problem_mentioned_first(seed_classifier: Classifier) -> None:
    a = seed_classifier.classify("质量差，态度差")
    b = seed_classifier.classify("态度差，质量差")
    assert a.scores == b.scores
    assert a.scores["product_quality"] == a.scores["service"]
    assert (a.category, b.category) == ("product_quality", "service")


def test_repeated_word_counts_once(seed_classifier: Classifier) -> None:
    once = seed_classifier.classify("差评")
    thrice = seed_classifier.classify("差评！差评！差评！")
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


def test_full_width_text_matches_and_reports_original_words(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("ＴＨＥ ＣＵＰ ＷＡＳ ＢＲＯＫＥＮ！！")
    assert suggestion.category == "product_quality"
    assert [c.word for c in suggestion.category_cues] == ["ＢＲＯＫＥＮ"]
    regulator = seed_classifier.classify("我已经打１２３１５投诉了")
    assert [c.word for c in regulator.severity_cues] == ["１２３１５"]


def test_words_are_reported_as_written_when_folding_changes_length(seed_classifier: Classifier) -> None:
    # "…" folds to "..." and "①" to "1": offsets must still map back correctly.
    suggestion = seed_classifier.classify("①……②送餐太慢…③ ＢＲＯＫＥＮ")
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


def test_to_dict_is_json_ready(seed_classifier: Classifier) -> None:
    data = seed_classifier.classify("送错了，还少了一瓶水").to_dict()
    assert data["category"] == "delivery"
    assert data["severity"] == "general"
    assert set(data["cues"]) == {"category", "severity", "negated"}
    assert {"word": "送错", "category": "delivery", "weight": 3.0} in data["cues"]["category"]


def test_html_character_references_are_decoded(seed_classifier: Classifier) -> None:
    # Web forms and e-mail clients leave "&#38388;" (间) and "&amp;" in the text.
    suggestion = seed_classifier.classify("房&#38388;很脏，&#x5e8a;单也没换 &amp; 隔音太差")
    assert suggestion.category == "product_quality"
    words = [c.word for c in suggestion.category_cues]
    assert "很脏" in words
    assert "&#x5e8a;单" in words  # reported as the customer's text shows it
    assert seed_classifier.classify("&#36865;&#38169;&#20102;").category == "delivery"  # 送错了


def test_emotional_hurt_is_not_an_injury(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("看完这个结局，我的心受伤了")
    assert suggestion.scores["safety"] == 0.0
    assert suggestion.category == "other"


def test_figurative_explosion_is_not_a_hazard(seed_classifier: Classifier) -> None:
    suggestion = seed_classifier.classify("电脑风扇响得像要爆炸了一样")
    assert suggestion.scores["safety"] == 0.0
    assert suggestion.category == "product_quality"


def test_key_terms_name_what_the_complaint_is_about_not_how() -> None:
    from nlp import default_classifier

    classifier = default_classifier()
    # the shop and the brand, not "超市"; the hotel's name, not "hotel" or "room"
    # ("蒙牛" and "酒店" are generic by the review corpus: see tests/unit/test_keyterms.py)
    assert classifier.key_terms("昨天在永辉超市买的光明酸奶过期了，孩子喝了拉肚子") == ("永辉", "光明", "酸奶")
    assert "顺丰" in classifier.key_terms("顺丰快递把我的包裹弄丢了，快递员态度很差")
    assert classifier.key_terms("The Sunrise Hotel room was dirty") == ("sunrise",)
    assert classifier.key_terms("") == () and classifier.key_terms("   ") == ()
    assert classifier.key_terms("太差了！！！") == ()
