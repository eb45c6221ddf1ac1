"""The labelling conventions of severity, one or more short examples each.

What the labelled complaints agree on (see the severity grades in README.md):
bodily reactions blamed on the product, a foreign object in food and spoiled or raw
food that was eaten are hot; repeated contact without result is important; a doctor's
visit is hot while a stay in hospital is major; strong words alone and harm that did
not happen never raise severity. The examples are written for these tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nlp import Severity, classify


def grade(text: str) -> Severity:
    return classify(text).severity


def fired(text: str) -> set[str]:
    return {cue.rule for cue in classify(text).severity_cues}


@pytest.mark.parametrize(
    "text",
    [
        "用了这款护发素以后头皮一直痒",
        "换了这个洗发水，头皮痒得睡不着",
        "这瓶洗发水用了两周，掉发特别厉害",
        "用完头发掉得一把一把的",
        "喝了他家的豆浆，肚子疼了一晚上",
        "涂完脸上起了好多红疹",
        "晚饭吃完全吐了",
        "孩子吃了以后一直拉肚子",
        "用了三天皮肤过敏，又红又肿",
    ],
)
def test_bodily_reaction_blamed_on_the_product_is_hot(text: str) -> None:
    assert grade(text) is Severity.HOT
    assert "health_harm" in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "米饭里有一根长头发",
        "汤里面有根头发，太恶心了",
        "面里吃出一截钢丝",
        "菜里有只虫",
        "吃着吃着发现一根头发",
        "吃了两口才发现鸡肉没熟",
        "吃了一半才发现饭是馊的",
        "喝了一口才发现牛奶变质了",
        "吃到一半硌牙了，里面有颗石子",
    ],
)
def test_foreign_object_or_spoiled_food_eaten_is_hot(text: str) -> None:
    assert grade(text) is Severity.HOT
    assert "health_harm" in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "被子里有头发，床单也没换",  # hygiene of a room, not food
        "房间里面有根头发",
        "凉菜看着发霉了，没敢吃",  # spoiled but not eaten
        "屏幕上有一道划伤",  # a scratch on the goods
        "这本书没有一点思想的火花",
    ],
)
def test_look_alikes_of_harm_stay_below_hot(text: str) -> None:
    assert grade(text).rank < Severity.HOT.rank, classify(text).severity_cues


@pytest.mark.parametrize(
    "text",
    [
        "催了好几次还是没送到",
        "打了三次电话都没人管",
        "反复联系客服没人处理",
        "多次催单，一点用都没有",
        "跟客服沟通了好几次，还是说不清",
        "客服说会回电话，然后就没有消息了",
        "申请退款一直没反应",
        "找了几次售后，无果",
        "手机已经连续返厂维修，还是老毛病",
    ],
)
def test_repeated_contact_without_result_is_important(text: str) -> None:
    assert grade(text) is Severity.IMPORTANT
    assert "repeat_complaint" in fired(text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("前台不管，我已经投诉到平台了", "regulator"),
        ("再不退款我就去消协投诉", "regulator"),
        ("我直接向大堂经理投诉了", "manager"),
    ],
)
def test_going_higher_is_important(text: str, rule: str) -> None:
    assert grade(text) is Severity.IMPORTANT
    assert rule in fired(text)


def test_one_reminder_is_not_a_repeat_complaint() -> None:
    assert grade("催了一次，半小时后送到了") is Severity.GENERAL


@pytest.mark.parametrize(
    "text",
    [
        "孩子吃完上吐下泻，已经去医院了",
        "用了过敏，去看医生了",
        "半夜肚子疼，挂了急诊",
        "吃坏了，去医院打点滴",
    ],
)
def test_a_doctors_visit_is_hot_not_major(text: str) -> None:
    assert grade(text) is Severity.HOT
    assert "serious_harm" not in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "吃坏了肚子，住院三天",
        "老人喝完直接送进医院抢救",
        "食物中毒，在医院住了一个星期院",
        "热水器漏电，人被电晕后送到医院",
    ],
)
def test_hospitalisation_is_major(text: str) -> None:
    assert grade(text) is Severity.MAJOR
    assert "serious_harm" in fired(text)


def test_a_hotel_near_a_hospital_is_not_a_doctors_visit() -> None:
    assert grade("酒店离医院很近，去医院很方便") is Severity.GENERAL


@pytest.mark.parametrize(
    "text",
    [
        "垃圾！！！再也不来了，气死我了",
        "最差的一次外卖，恶心死了，差评差评差评",
        "worst hotel ever, disgusting!!!",
    ],
)
def test_strong_words_alone_stay_general(text: str) -> None:
    assert grade(text) is Severity.GENERAL
    assert classify(text).severity_cues == ()


@pytest.mark.parametrize(
    "text",
    [
        "怕拉肚子，一口没敢吃",
        "我不过敏，就是味道有点怪",
        "地太滑，差点摔倒",
        "看着不新鲜，担心会拉肚子",
        "如果过敏了谁负责？",
        "没有去医院，休息一天就好了",
    ],
)
def test_harm_that_did_not_happen_never_fires(text: str) -> None:
    suggestion = classify(text)
    assert suggestion.severity is Severity.GENERAL, suggestion.severity_cues
    assert suggestion.severity_cues == ()


README = Path(__file__).resolve().parents[3] / "README.md"
_GRADE = re.compile(r"\*\*(general|important|hot|major)\*\*")
_QUOTED = re.compile(r'"([^"]+)"')
_CJK = re.compile(r"[\u4e00-\u9fff]")


def readme_examples() -> list[tuple[str, Severity]]:
    """The quoted Chinese examples of the README's severity grades, with their grade;
    the paragraph after the list (harm that did not happen, look-alikes) is general."""
    text = README.read_text(encoding="utf-8")
    start = text.index("**Severity** (投诉性质)")
    end = text.index("Important and higher is handed to agents", start)
    section = text[start:end]
    examples: list[tuple[str, Severity]] = []
    current = Severity.GENERAL
    for block in re.split(r"\n(?=- |\n)", section):
        found = _GRADE.search(block)
        current = Severity(found.group(1)) if found and block.startswith("- ") else Severity.GENERAL
        for quoted in _QUOTED.findall(block):
            if _CJK.search(quoted) and "..." not in quoted:
                examples.append((quoted, current))
    return examples


def test_readme_lists_hospitalisation_as_major_and_a_doctors_visit_as_hot() -> None:
    examples = dict(readme_examples())
    assert examples["住院"] is Severity.MAJOR
    assert examples["已经去医院了"] is Severity.HOT
    assert examples["怕拉肚子"] is Severity.GENERAL


@pytest.mark.parametrize(("text", "expected"), readme_examples())
def test_readme_examples_grade_as_the_readme_says(text: str, expected: Severity) -> None:
    assert grade(text) is expected, classify(text).severity_cues
