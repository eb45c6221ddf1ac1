"""Loading lexicon files: errors name file, line and problem; businesses bring their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp import Classifier, LexiconError, Severity

MINIMAL_CATEGORIES = "[other]\n@zh 其他\n"
MINIMAL_SEVERITY = "[health important]\n@zh 健康\n拉肚子\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ("[a]\n坏了 2\n[other]\n质量 abc\n", 4, "weight 'abc' is not a number"),
        ("坏了 2\n[other]\n", 1, "comes before any [category] header"),
        ("[other]\n[delivery]\n[other]\n", 3, "duplicate category id 'other'"),
        ("[delivery]\n慢 1\n", 2, "no [other] category"),
        ("# only a comment\n\n[other]\n@zh 其他\n坏了\n", 5, "has no weight"),
        ("[other]\n坏了 -1\n", 2, "must be a positive number"),
        ("[other]\n坏了 nan\n", 2, "must be a positive number"),
        ("[Bad-Id]\n", 1, "must be lower-case letters"),
        ("[other]\n坏了 1\n坏了 2\n", 3, "duplicate keyword '坏了' in [other] (first on line 2)"),
        ("[other\n", 1, "lacks the closing ']'"),
        ("[other]\n@ 其他\n", 2, "unknown directive"),
        ("[other]\n吃出... 2\n", 2, "empty part"),
    ],
)
def test_category_file_errors(tmp_path: Path, content: str, line: int, problem: str) -> None:
    path = write(tmp_path, "cats.txt", content)
    with pytest.raises(LexiconError) as caught:
        Classifier.load(categories=path)
    assert caught.value.file == str(path)
    assert caught.value.line == line
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ("[health urgent]\n拉肚子\n", 1, "unknown severity grade 'urgent'"),
        ("[health general]\n拉肚子\n", 1, "cannot have grade 'general'"),
        ("拉肚子\n", 1, "comes before any [rule grade] header"),
        ("[a hot]\n拉肚子\n[a major]\n住院\n", 3, "duplicate rule id 'a' (first on line 1)"),
        ("[a hot]\n@zh 健康\n[b hot]\n住院\n", 1, "rule 'a' has no cue words"),
        ("[a hot]\n@count two\n", 2, "must be '@count <whole number >= 2>'"),
        ("[a hot]\n@count 3\n", 2, "need '@people-nouns'"),
        ("[a hot]\n拉肚子\n@people-nouns 人\n", 3, "belongs before the first"),
        ("[a]\n拉肚子\n", 1, "must be '[rule_id grade]'"),
        ("[a hot]\n@except\n", 2, "needs a look-alike phrase"),
        ("# nothing\n", 1, "no [rule grade] sections found"),
    ],
)
def test_severity_file_errors(tmp_path: Path, content: str, line: int, problem: str) -> None:
    path = write(tmp_path, "sev.txt", content)
    with pytest.raises(LexiconError) as caught:
        Classifier.load(severity=path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        ("退款 many n\n", 1, "frequency 'many' is not a whole number"),
        ("退款 0\n", 1, "frequency '0' is not a whole number >= 1"),
        ("退款 10 n extra\n", 1, "too many fields"),
        ("退款 10 N1\n", 1, "tag 'N1' must be lower-case letters"),
    ],
)
def test_userdict_errors(tmp_path: Path, content: str, line: int, problem: str) -> None:
    path = write(tmp_path, "user.txt", content)
    with pytest.raises(LexiconError) as caught:
        Classifier.load(userdict=path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert problem in caught.value.problem


def test_userdict_accepts_jieba_formats(tmp_path: Path) -> None:
    path = write(tmp_path, "user.txt", "物业费\n电梯坏了 300\n停车位 200 n\n保安亭 nz\n")
    classifier = Classifier.load(userdict=path)
    cutter = classifier._get_cutter()
    assert cutter("电梯坏了停车位") == ["电梯坏了", "停车位"]
    # a user word is one token, so lexicon words inside it no longer match
    assert classifier.classify("电梯坏了").category == "other"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(LexiconError) as caught:
        Classifier.load(categories=path)
    assert str(path) in str(caught.value)
    assert "cannot read" in caught.value.problem


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cats.txt"
    path.write_bytes("[other]\n坏了 1\n".encode() + "坏了 2\n".encode("gbk"))
    with pytest.raises(LexiconError) as caught:
        Classifier.load(categories=path)
    assert caught.value.line == 3
    assert "UTF-8" in caught.value.problem


PROPERTY_MANAGER = """\
# A property manager's taxonomy (DESIGN.md): its own categories and words.
[engineering]
@zh 工程质量
@en Construction quality
漏水 3
墙面开裂 3
~楼顶 1

[property_management]
@zh 物业管理
@en Property management
~物业 1.5
~物业费 2
电梯坏了 3
垃圾没人清 3
~保安 1.5

[customer_service]
@zh 客户服务
@en Customer service
态度差 3
没人接电话 2.5

[other]
@zh 其他
@en Other
谢谢 1
"""


def test_business_taxonomy_loads_and_classifies(tmp_path: Path) -> None:
    categories = write(tmp_path, "property.txt", PROPERTY_MANAGER)
    userdict = write(tmp_path, "property_dict.txt", "物业费 2000 n\n墙面开裂 1000 v\n")
    classifier = Classifier.load(categories=categories, userdict=userdict)
    assert [c.id for c in classifier.taxonomy] == [
        "engineering",
        "property_management",
        "customer_service",
        "other",
    ]
    assert classifier.taxonomy[1].name("zh") == "物业管理"
    assert classifier.taxonomy[1].name("fr") == "物业管理"  # falls back to Chinese

    suggestion = classifier.classify("物业费年年涨，电梯坏了一个月也没人修")
    assert suggestion.category == "property_management"
    assert set(suggestion.scores) == {c.id for c in classifier.taxonomy}
    assert classifier.classify("新房墙面开裂，楼顶还漏水").category == "engineering"
    assert classifier.classify("客服态度差，打电话没人接电话").category == "customer_service"
    # severity rules still come from the packaged file
    severe = classifier.classify("电梯坏了，我们20多户业主联名投诉")
    assert severe.severity is Severity.MAJOR


def test_business_severity_file(tmp_path: Path) -> None:
    severity = write(
        tmp_path,
        "sev.txt",
        "@people-nouns 户 业主\n"
        "[toll_dispute important]\n@zh 收费争议\n@en Toll dispute\n多扣费\n"
        "[big_group hot]\n@zh 群体投诉\n@count 5\n",
    )
    classifier = Classifier.load(severity=severity)
    cue = classifier.classify("ETC多扣费了").severity_cues[0]
    assert (cue.rule, cue.severity, cue.word) == ("toll_dispute", Severity.IMPORTANT, "多扣费")
    assert cue.label("en") == "Toll dispute"
    assert classifier.classify("我们五户业主").severity is Severity.HOT
    assert classifier.classify("我们三户业主").severity is Severity.GENERAL
    # the packaged rules are replaced, not merged
    assert classifier.classify("我要起诉你们").severity is Severity.GENERAL


def test_own_tokenizer_leaves_global_jieba_alone(tmp_path: Path) -> None:
    import jieba

    word = "绿城物业管家"
    userdict = write(tmp_path, "user.txt", f"{word} 100000 n\n")
    classifier = Classifier.load(userdict=userdict)
    classifier.warm_up()
    assert classifier._get_cutter()(f"我们的{word}") == ["我们", "的", word]
    assert word not in jieba.dt.FREQ
    assert word not in jieba.lcut(f"我们的{word}", HMM=False)


def test_classifier_loads_are_independent(tmp_path: Path) -> None:
    categories = write(tmp_path, "cats.txt", "[noise]\n吵 2\n[other]\n")
    custom = Classifier.load(categories=categories)
    default = Classifier.load()
    assert custom.classify("楼上太吵").category == "noise"
    assert default.classify("楼上太吵").category == "product_quality"
