"""Severity rules: what fires, what must not, and headcounts."""

from __future__ import annotations

import pytest

from nlp import Severity, classify, default_classifier
from nlp.lexicon import packaged, parse_severity
from nlp.people import parse_chinese_number

# At least one message per packaged rule (the last test checks none is missing).
FIRING = {
    "repeat_complaint": [
        "这个问题我已经投诉过两次了",
        "I already complained about this",
        "投诉后还是没有人处理",
        "催了好几次还是没动静",
        "这种事发生不止一次了",
    ],
    "regulator": ["再不处理我就打12315", "我要去工商局举报你们", "已经向消协反映了"],
    "manager": ["叫你们经理出来解决", "I want to speak to a manager"],
    "passed_around": ["商家和平台互相推诿，踢皮球", "商家让我找快递，快递又让我找商家"],
    "legal_threat": ["我要起诉你们", "我已经找好律师了", "准备跟你们打官司", "I will sue you"],
    "media_threat": ["不解决我就找媒体曝光你们", "我要发微博让大家看看"],
    "collective": ["我们三个人吃完都不舒服", "我们公司集体投诉"],
    "health_harm": [
        "吃完拉肚子了",
        "用了以后皮肤过敏",
        "饭里吃出了虫子",
        "插座漏电，手被电了一下",
        "孩子在店里滑倒受伤了",
        "My son got sick after eating it",
        "孩子喝完牛奶中毒了",
        "在粥里吃出来一根铁丝",
        "菜里有一根长头发",
    ],
    "litigation": ["我已经起诉了，法院已立案"],
    "media_exposed": ["这事已经上了新闻"],
    "collective_large": ["我们十几个人都等了两个小时"],
    "serious_harm": ["吃完进医院了", "孩子摔得骨折了", "充电器起火了", "半夜送急诊"],
}

EXPECTED_GRADE = {
    "repeat_complaint": Severity.IMPORTANT,
    "regulator": Severity.IMPORTANT,
    "manager": Severity.IMPORTANT,
    "passed_around": Severity.IMPORTANT,
    "legal_threat": Severity.HOT,
    "media_threat": Severity.HOT,
    "collective": Severity.HOT,
    "health_harm": Severity.HOT,
    "litigation": Severity.MAJOR,
    "media_exposed": Severity.MAJOR,
    "collective_large": Severity.MAJOR,
    "serious_harm": Severity.MAJOR,
}


@pytest.mark.parametrize(
    ("rule", "text"), [(rule, text) for rule, texts in FIRING.items() for text in texts]
)
def test_rule_fires(rule: str, text: str) -> None:
    suggestion = classify(text)
    fired = {cue.rule: cue for cue in suggestion.severity_cues}
    assert rule in fired, (text, suggestion.severity_cues)
    assert fired[rule].severity is EXPECTED_GRADE[rule]
    assert fired[rule].word
    assert fired[rule].label("zh") and fired[rule].label("en")
    assert suggestion.severity.rank >= EXPECTED_GRADE[rule].rank


def test_every_packaged_rule_has_an_example() -> None:
    rules = parse_severity(packaged("severity.txt")).rules
    assert {r.id for r in rules} == set(FIRING) == set(EXPECTED_GRADE)
    assert {r.id: r.severity for r in rules} == EXPECTED_GRADE


@pytest.mark.parametrize(
    "text",
    [
        "我不过敏，吃着挺好",
        "我用工商银行的卡付的款，到账很快",
        "买的媒体播放器很好用",
        "是律师事务所的朋友推荐的这家店",
        "差到爆炸，再也不买了",
        "烂到爆炸",
        "手机拍照曝光不准",
        "看看美食广场 food court 的评价",
        "没有拉肚子，也没有去医院，就是难吃",
        "这台平板容易中毒",
        "买了三次都这样，心里很受伤",
        "三人份的套餐只够两个人吃",
        "我们两个人等了一个小时",
        "住双人间，房间太小",
        "看完这个结局，我的心受伤了",
        "书写得太烂，伤透了读者受伤的心",
        "电脑风扇响得像要爆炸了一样",
        "气得我肺都快爆炸了",
        "怕拉肚子就没敢吃",
        "洗澡水忽冷忽热，差点烫伤",
    ],
)
def test_harmless_look_alikes_stay_general(text: str) -> None:
    suggestion = classify(text)
    assert suggestion.severity is Severity.GENERAL, suggestion.severity_cues
    assert suggestion.severity_cues == ()


@pytest.mark.parametrize(
    "text",
    ["垃圾！！！", "气死了", "worst ever!!!!", "什么破店，垃圾中的垃圾，气死我了！！！！！！", "😡😡😡"],
)
def test_strong_words_alone_stay_general(text: str) -> None:
    assert classify(text).severity is Severity.GENERAL


def test_severity_is_the_highest_fired_grade() -> None:
    suggestion = classify("我已经投诉过了，孩子吃完拉肚子，现在住院了")
    rules = [cue.rule for cue in suggestion.severity_cues]
    assert suggestion.severity is Severity.MAJOR
    assert rules[0] == "serious_harm"  # highest grade listed first
    assert {"repeat_complaint", "health_harm", "serious_harm"} <= set(rules)


@pytest.mark.parametrize(
    ("text", "severity", "rule"),
    [
        ("我们两个人都等了很久", Severity.GENERAL, None),
        ("我们三个人都等了很久", Severity.HOT, "collective"),
        ("我们3个人都等了很久", Severity.HOT, "collective"),
        ("全家5口都吃坏了", Severity.HOT, "collective"),
        ("三四个人一起来的", Severity.HOT, "collective"),
        ("好几个人都遇到了", Severity.HOT, "collective"),
        ("我们12个人一起点的餐", Severity.MAJOR, "collective_large"),
        ("十几个人等到半夜", Severity.MAJOR, "collective_large"),
        ("20多位业主都没有热水", Severity.MAJOR, "collective_large"),
        ("几十个人都没收到", Severity.MAJOR, "collective_large"),
        ("二十五位顾客被困电梯外", Severity.MAJOR, "collective_large"),
        ("twelve people waited for an hour", Severity.MAJOR, "collective_large"),
        ("three of us waited for an hour", Severity.HOT, "collective"),
    ],
)
def test_collective_counts(text: str, severity: Severity, rule: str | None) -> None:
    suggestion = classify(text)
    count_rules = [c.rule for c in suggestion.severity_cues if c.rule.startswith("collective")]
    assert suggestion.severity.rank >= severity.rank
    if rule is None:
        assert count_rules == []
        assert suggestion.severity is Severity.GENERAL
    else:
        assert rule in count_rules
        # only the highest threshold reached fires
        assert not (rule == "collective_large" and "collective" in count_rules)


def test_headcount_word_is_reported() -> None:
    cue = next(c for c in classify("我们十几个人都等着").severity_cues)
    assert cue.word == "十几个人"


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("三", 3),
        ("两", 2),
        ("十", 10),
        ("十二", 12),
        ("十几", 11),
        ("几十", 20),
        ("二十几", 21),
        ("三四", 3),
        ("好几", 3),
        ("数十", 20),
        ("上百", 100),
        ("一百二十", 120),
        ("一万", 10000),
        ("十万", 100000),
    ],
)
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert parse_chinese_number(numeral) == value


def test_default_classifier_is_a_singleton() -> None:
    assert default_classifier() is default_classifier()
