"""Labelled messages (``nlp.evaluation``): reading them, and the figures of a set of suggestions."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from nlp.evaluation import Example, LabelledDataError, read_examples, read_texts, score
from nlp.types import Severity, Suggestion

CATEGORIES = ("product_quality", "delivery", "other")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def lines(*objects: object) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


# -- reading -----------------------------------------------------------------------------


def test_a_json_array_with_defaults_for_severity_also_ok_and_id(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.json",
        json.dumps(
            [
                {"text": "送货太慢了", "category": "delivery"},
                {"id": 7, "text": "杯子坏了", "category": "product_quality", "severity": "hot",
                 "also_ok": ["delivery"]},
            ],
            ensure_ascii=False,
        ),
    )
    assert read_examples(path, CATEGORIES) == [
        Example("送货太慢了", "delivery", "general", (), "item 0"),
        Example("杯子坏了", "product_quality", "hot", ("delivery",), "7"),
    ]


def test_json_lines_with_a_bom_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + lines({"text": "快递慢", "category": "delivery", "severity": "important"}).encode()
        + b"\n   \n"
        + lines({"text": "质量差", "category": "product_quality"}).encode()
    )
    found = read_examples(path, CATEGORIES)
    assert [(e.text, e.category, e.severity, e.id) for e in found] == [
        ("快递慢", "delivery", "important", "line 1"),
        ("质量差", "product_quality", "general", "line 4"),
    ]


def test_without_a_taxonomy_any_category_is_taken(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", lines({"text": "快递慢", "category": "shipping"}))
    assert read_examples(path)[0].category == "shipping"


def test_accepts_counts_also_ok() -> None:
    example = Example("快递把杯子摔坏了", "product_quality", also_ok=("delivery",))
    assert example.accepts("product_quality") and example.accepts("delivery")
    assert not example.accepts("other")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("broken.json", '[{"text": "快递慢", "category": "delivery"},', "not JSON"),
        ("broken.jsonl", lines({"text": "快递慢", "category": "delivery"}) + '{"text": "质量差"\n', "not JSON"),
        ("no_text.json", json.dumps([{"category": "delivery"}]), "item 0: 'text' must be a non-empty string"),
        ("blank_text.jsonl", lines({"text": "  ", "category": "delivery"}), "line 1: 'text' must be a non-empty string"),
        ("number_text.jsonl", lines({"text": 5, "category": "delivery"}), "'text' must be a non-empty string"),
        ("no_category.jsonl", lines({"text": "快递慢"}), "line 1: 'category' must be a category id"),
        ("unknown_category.jsonl",
         lines({"text": "快递慢", "category": "delivery"}, {"text": "很慢", "category": "shipping"}),
         "line 2: unknown category 'shipping'"),
        ("unknown_also_ok.json",
         json.dumps([{"text": "快递慢", "category": "delivery", "also_ok": ["shipping"]}]),
         "item 0: unknown category 'shipping'"),
        ("bad_also_ok.json",
         json.dumps([{"text": "快递慢", "category": "delivery", "also_ok": "other"}]),
         "'also_ok' must be a list of category ids"),
        ("unknown_severity.jsonl", lines({"text": "快递慢", "category": "delivery", "severity": "urgent"}),
         "line 1: unknown severity 'urgent'"),
        ("not_an_object.json", json.dumps(["快递慢"], ensure_ascii=False), "item 0: expected an object"),
    ],
)
def test_malformed_labelled_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(LabelledDataError) as raised:
        read_examples(path, CATEGORIES)
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    assert problem in message


def test_an_unknown_category_error_lists_the_taxonomy(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", lines({"text": "快递慢", "category": "shipping"}))
    with pytest.raises(LabelledDataError, match="delivery, other, product_quality"):
        read_examples(path, CATEGORIES)


def test_an_unknown_severity_error_lists_the_grades(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", lines({"text": "快递慢", "category": "delivery", "severity": "HOT"}))
    with pytest.raises(LabelledDataError, match="general, important, hot, major"):
        read_examples(path, CATEGORIES)


def test_a_missing_or_undecodable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(LabelledDataError, match=re.escape(f"{missing}: cannot read")):
        read_examples(missing)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'[{"text": "caf\xe9", "category": "other"}]')
    with pytest.raises(LabelledDataError, match=re.escape(f"{latin}: not UTF-8")):
        read_examples(latin)


def test_labelled_data_error_is_a_value_error() -> None:
    assert issubclass(LabelledDataError, ValueError)


# -- unlabelled texts --------------------------------------------------------------------


def test_read_texts_plain_json_lines_and_gzip(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.txt", "快递太慢\n\n  质量差  \n")
    assert read_texts(plain) == ["快递太慢", "质量差"]
    mixed = write(tmp_path / "mixed.jsonl", lines({"text": "送货慢", "stars": 1}) + "做工粗糙\n")
    assert read_texts(mixed) == ["送货慢", "做工粗糙"]
    packed = tmp_path / "reviews.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as stream:
        stream.write(lines({"text": "物流慢"}, {"text": "坏了"}))
    assert read_texts(packed) == ["物流慢", "坏了"]


def test_a_plain_line_may_start_with_a_brace(tmp_path: Path) -> None:
    assert read_texts(write(tmp_path / "braces.txt", "{笑}快递慢\n")) == ["{笑}快递慢"]


def test_read_texts_errors_name_the_file_and_line(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.jsonl", lines({"text": "物流慢"}) + '{"text": \n')
    with pytest.raises(LabelledDataError, match=re.escape(f"{broken}: line 2: not a JSON object")):
        read_texts(broken)
    no_text = write(tmp_path / "no_text.jsonl", lines({"review": "物流慢"}))
    with pytest.raises(LabelledDataError, match=re.escape(f"{no_text}: line 1: no 'text' string")):
        read_texts(no_text)
    not_gzip = write(tmp_path / "fake.jsonl.gz", "not gzip at all")
    with pytest.raises(LabelledDataError, match=re.escape(f"{not_gzip}: cannot read")):
        read_texts(not_gzip)
    with pytest.raises(LabelledDataError, match="cannot read"):
        read_texts(tmp_path / "missing.txt")


# -- figures ------------------------------------------------------------------------------


def suggestion(category: str, severity: Severity) -> Suggestion:
    return Suggestion(category, dict.fromkeys(CATEGORIES, 0.0), severity)


def test_score_on_a_hand_computed_example() -> None:
    examples = [
        Example("a", "delivery", "general"),
        Example("b", "delivery", "hot"),
        Example("c", "product_quality", "important", also_ok=("delivery",)),
        Example("d", "product_quality", "important"),
        Example("e", "other", "major"),
    ]
    suggestions = [
        suggestion("delivery", Severity.GENERAL),  # right, severity right
        suggestion("product_quality", Severity.HOT),  # wrong category, serious found
        suggestion("delivery", Severity.GENERAL),  # right by also_ok; important missed
        suggestion("product_quality", Severity.HOT),  # right; important found, serious false alarm
        suggestion("other", Severity.GENERAL),  # right; major missed
    ]
    scores = score(examples, suggestions, [*CATEGORIES, "spare"])

    assert scores.size == 5
    assert scores.accuracy == pytest.approx(4 / 5), "also_ok counts as right"
    # macro-F1 is over the primary category: c is a delivery false positive and a
    # product_quality false negative
    delivery, quality, other = (scores.per_category[c] for c in ("delivery", "product_quality", "other"))
    assert (delivery.precision, delivery.recall, delivery.f1, delivery.support) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (quality.precision, quality.recall, quality.f1, quality.support) == pytest.approx((0.5, 0.5, 0.5, 2))
    assert (other.precision, other.recall, other.f1, other.support) == pytest.approx((1.0, 1.0, 1.0, 1))
    assert scores.per_category["spare"].support == 0
    assert scores.macro_f1 == pytest.approx((0.5 + 0.5 + 1.0) / 3), "a category nobody labelled is left out"

    assert scores.confusion["general"] == {"general": 1, "important": 0, "hot": 0, "major": 0}
    assert scores.confusion["important"] == {"general": 1, "important": 0, "hot": 1, "major": 0}
    assert scores.confusion["hot"]["hot"] == 1
    assert scores.confusion["major"]["general"] == 1
    assert scores.serious_recall == pytest.approx(1 / 2)  # b found, e missed
    assert scores.serious_precision == pytest.approx(1 / 2)  # b right, d a false alarm
    assert scores.important_recall == pytest.approx(1 / 2), "hot for an important message counts as found"

    per_severity = scores.per_severity()
    assert per_severity["general"] == pytest.approx((1 / 3, 1.0, 1))  # said general for a, c, e
    assert per_severity["hot"] == pytest.approx((1 / 2, 1.0, 1))
    assert per_severity["important"] == (0.0, 0.0, 2)
    assert per_severity["major"] == (0.0, 0.0, 1)


def test_score_of_nothing_and_of_mismatched_lengths() -> None:
    empty = score([], [], CATEGORIES)
    assert (empty.size, empty.accuracy, empty.macro_f1, empty.serious_recall, empty.important_recall) == (0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        score([Example("a", "delivery")], [], CATEGORIES)


def test_a_bad_json_line_is_reported_by_its_own_line_number(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.jsonl", '{"text": "物流慢", "category": "delivery"}\n{"text": \n')
    with pytest.raises(LabelledDataError, match=re.escape(f"{bad}: line 2: not JSON")):
        read_examples(bad)


def test_line_separators_inside_json_strings_do_not_split_a_line(tmp_path: Path) -> None:
    # json.dumps(..., ensure_ascii=False) leaves U+2028 and U+0085 raw inside strings
    text = "房间很脏\u2028床单有污渍\x85还有头发"
    path = write(tmp_path / "odd.jsonl", json.dumps({"text": text, "category": "other"}, ensure_ascii=False) + "\n")
    assert [e.text for e in read_examples(path)] == [text]
    assert read_texts(path) == [text]
