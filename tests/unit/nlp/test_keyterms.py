"""Key terms name what a complaint is about (issue 9, part 5): the product, brand, shop,
dish or place — never generic verbs, times, numbers, pronouns, ids or complaint words.

The examples are written for these tests (none is taken from the corpus or the
labelled sets)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nlp import default_classifier
from nlp.keyterms import KeyTermData, default_data, shapeless

ROOT = Path(__file__).resolve().parents[3]


def terms(text: str) -> tuple[str, ...]:
    return default_classifier().key_terms(text)


def test_delivery_complaints_that_all_phoned_share_no_key_term() -> None:
    # three unrelated delivery complaints: what they share is how the customer chased it
    found = [
        terms("包裹丢了，打电话问物流也没结果"),
        terms("外卖送晚了一个小时，打电话催了好几次"),
        terms("快递送错地址了，打电话给快递员也不接"),
    ]
    shared = set(found[0]).intersection(*found[1:])
    assert shared == set(), found
    for word in ("打电话", "好几次", "一个小时", "小时", "快递员", "地址", "包裹", "外卖"):
        assert all(word not in t for t in found), (word, found)


def test_the_same_kettle_model_gives_the_same_product_terms() -> None:
    found = [
        terms("美的MK-HJ1705电水壶用了两次底部就漏水"),
        terms("新买的美的电水壶MK-HJ1705开关失灵，烧干了也不断电"),
        terms("我家那个美的 MK-HJ1705 电水壶把手坏了"),
    ]
    assert all({"美的", "电水壶"} <= set(t) for t in found), found
    # the model number has digits, like an order number: never a term (nor its pieces)
    assert all(not any(ch.isdigit() for term in t for ch in term) for t in found)
    assert all("mk" not in t and "hj1705" not in t for t in found)


def test_the_same_restaurant_and_dish_give_the_same_terms() -> None:
    for text in ("张记麻辣烫的毛肚不新鲜，有股臭味", "在张记麻辣烫点的毛肚是臭的", "张记麻辣烫毛肚变质了，闻着发酸"):
        assert terms(text)[:2] == ("张记", "毛肚"), text


def test_order_numbers_and_other_ids_never_are_key_terms() -> None:
    assert terms("订单号dd20261127001一直没发货") == ()
    assert terms("订单A-556退款12345元还没到账") == ()
    assert terms("运单号SF1234567890的台灯到现在没送到") == ("台灯",)
    assert terms("Order #DD20261127001 arrived without the charger, ticket 12345") == ("charger",)
    for text in ("单号：JD8839201774，第3次催了", "工单号T000042，2026-11-27 14:30 之前答复"):
        assert all(not any(ch.isdigit() for ch in t) for t in terms(text)), terms(text)


def test_generic_english_words_never_are_key_terms() -> None:
    assert terms("I called twice and nobody answers, I want a refund for my order") == ()
    assert terms("Still waiting for my refund, they keep ignoring my emails and calls") == ()
    found = terms("Called three times, nobody answers, my Breville toaster arrived broken")
    assert found == ("breville", "toaster")
    assert terms("The Sunrise Hotel room was dirty and the staff were rude") == ("sunrise",)
    for word in ("answers", "nobody", "twice", "refund", "order", "called", "hotel", "room"):
        assert default_data().is_generic(word), word


def test_times_numbers_pronouns_and_complaint_words_are_not_terms() -> None:
    assert terms("我要投诉，等了三天还没人处理，你们客服太差了") == ()
    assert terms("第二次买了，这次两个星期就坏了，质量问题") == ()
    for word in ("三天", "好几次", "一个多小时", "第二次", "两三个", "我要", "没人", "凉了"):
        assert shapeless(word), word
    # a numeral followed by something else is a name: brands stay
    for name in ("三星", "九阳", "一加", "七匹狼", "毛肚", "张记"):
        assert not shapeless(name), name


def test_generic_by_the_corpus_the_lexicon_and_by_hand() -> None:
    data = default_data()
    for word in ("打电话", "客服", "质量", "酒店", "房间", "一直", "晚上"):
        assert data.is_generic(word), word
    for word in ("电水壶", "毛肚", "张记", "永辉", "breville"):
        assert not data.is_generic(word), word
    # pieces of lexicon phrases: "没有礼貌" is complaint vocabulary, so is "礼貌"
    assert terms("服务员没有礼貌，效率太低") == ()


def test_a_custom_word_list_is_used_when_given() -> None:
    from nlp.keyterms import key_terms

    classifier = default_classifier()
    classifier.warm_up()
    data = KeyTermData(frozenset({"张记"}), frozenset({"toaster"}))
    assert key_terms("张记麻辣烫的毛肚", classifier._tokenizer, data=data) == ("麻辣烫", "毛肚")
    assert key_terms("a Breville toaster", classifier._tokenizer, data=data) == ("breville",)
    assert key_terms("张记毛肚", classifier._tokenizer, data=data, limit=0) == ()


def test_the_data_file_is_small_and_says_how_it_was_made() -> None:
    path = ROOT / "nlp" / "data" / "termfreq.txt"
    assert path.stat().st_size < 300 * 1024
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    assert any("tools/build_termfreq.py" in line for line in header)
    assert any("unlabelled_reviews.jsonl.gz" in line for line in header)


def test_loading_is_lazy() -> None:
    code = (
        "import sys, nlp; from nlp import default_classifier; c = default_classifier(); "
        "print('nlp.keyterms' in sys.modules, 'jieba' in sys.modules); "
        "c.key_terms('张记麻辣烫'); print('nlp.keyterms' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_the_build_script_lists_generic_words_of_a_corpus(tmp_path: Path) -> None:
    """A corpus made up for the test: a word said by every kind of business is generic,
    a dish said by one kind now and then is not, one that kind always names is."""
    lines = []
    dishes = ("酸辣粉", "煎饼", "炒河粉", "凉面")
    for kind in ("餐厅", "酒店", "超市", "书店", "花店"):
        for n in range(520):
            text = f"第{n}位客人说：店员态度差"
            if n % 3 == 0:
                text += "，拨打热线没人回"  # in every kind: generic
            if kind == "餐厅":
                text += f"，{dishes[n % 4]}难吃"  # each in a quarter of one kind: wide
                text += "，小龙虾" if n % 50 == 0 else ""  # 2% of one kind: a specific dish
            lines.append(json.dumps({"source": f"made_up/{kind}", "text": text}, ensure_ascii=False))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "termfreq.txt"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_termfreq.py"), "--corpus", str(corpus), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    text = out.read_text(encoding="utf-8")
    listed = {line.split()[0]: line.split()[2] for line in text.splitlines() if line and not line.startswith("#")}
    assert "spread" in listed["热线"]
    assert "wide" in listed["酸辣粉"]
    assert "小龙虾" not in listed
    assert "corpus.jsonl" in text.splitlines()[2]


@pytest.mark.parametrize("text", ["", "   ", "太差了！！！", "12345", "？？？"])
def test_nothing_to_name(text: str) -> None:
    assert terms(text) == ()
