"""``explaining_words``: the strongest words of a category, for the customer and the card."""

from __future__ import annotations

from typing import Any

from flows.explain import explaining_words


def cue(word: str, category: str, weight: Any) -> dict[str, Any]:
    return {"word": word, "category": category, "weight": weight}


def test_strongest_first_not_text_order() -> None:
    cues = {"category": [cue("送餐", "delivery", 1.2), cue("太慢", "delivery", 2.0), cue("洒了", "delivery", 1.6)]}
    assert explaining_words(cues, "delivery") == ["太慢", "洒了", "送餐"]


def test_weak_words_next_to_a_strong_one_are_left_out() -> None:
    cues = {"category": [cue("一样", "delivery", 0.3), cue("送错", "delivery", 3.0), cue("快", "delivery", 0.6)]}
    assert explaining_words(cues, "delivery") == ["送错"]


def test_half_of_the_strongest_is_kept() -> None:
    cues = {"category": [cue("很慢", "delivery", 1.0), cue("超时", "delivery", 2.0), cue("等了", "delivery", 0.99)]}
    assert explaining_words(cues, "delivery") == ["超时", "很慢"]


def test_only_the_asked_category() -> None:
    cues = {
        "category": [
            cue("态度差", "service", 4.0),
            cue("退", "service", 0.5),
            cue("退", "after_sales", 1.6),
            cue("没退款", "after_sales", 2.5),
        ]
    }
    assert explaining_words(cues, "after_sales") == ["没退款", "退"]
    assert explaining_words(cues, "billing") == []


def test_a_word_counted_twice_is_shown_once_with_its_larger_weight() -> None:
    words = (("质量差", 1.5), ("破", 2.0), ("质量差", 3.0))
    cues = {"category": [cue(word, "product_quality", weight) for word, weight in words]}
    assert explaining_words(cues, "product_quality") == ["质量差", "破"]


def test_at_most_limit_words_and_ties_keep_text_order() -> None:
    cues = {"category": [cue(w, "safety", 2.0) for w in ("头发", "虫子", "苍蝇", "塑料")]}
    assert explaining_words(cues, "safety") == ["头发", "虫子", "苍蝇"]
    assert explaining_words(cues, "safety", limit=2) == ["头发", "虫子"]
    assert explaining_words(cues, "safety", limit=10) == ["头发", "虫子", "苍蝇", "塑料"]
    assert explaining_words(cues, "safety", limit=0) == []


def test_missing_or_odd_cues() -> None:
    assert explaining_words({}, "delivery") == []
    assert explaining_words({"category": None}, "delivery") == []
    assert explaining_words({"category": []}, None) == []
    # a cue without a usable weight counts as 0, so it shows only when nothing is stronger
    odd = {"category": [{"word": "迟了", "category": "delivery"}, cue("晚到", "delivery", "2"), cue("", "delivery", 1.0)]}
    assert explaining_words(odd, "delivery") == ["迟了", "晚到"]
    assert explaining_words({"category": [*odd["category"], cue("送错", "delivery", 3.0)]}, "delivery") == ["送错"]


def test_a_weak_single_character_is_no_reason() -> None:
    cues = {
        "category": [
            {"word": "送", "category": "delivery", "weight": 0.8},
            {"word": "点", "category": "delivery", "weight": 0.6},
            {"word": "慢", "category": "delivery", "weight": 2.0},
        ]
    }
    assert explaining_words(cues, "delivery") == ["慢"]
    weak_only = {"category": [{"word": "送", "category": "delivery", "weight": 0.8}]}
    assert explaining_words(weak_only, "delivery") == []
