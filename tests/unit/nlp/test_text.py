"""Folding text for matching and mapping matches back to what the customer wrote."""

from __future__ import annotations

import pytest

from nlp.text import FoldedText, decode_references, fold


def test_fold_is_nfkc_casefold() -> None:
    assert fold("ＡＢＣ！") == "abc!"
    assert fold("wasn’t") == "was no"


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("房&#38388;", "房间"),
        ("房&#x95f4;", "房间"),
        ("A &amp; B &lt;3&gt;", "A & B <3>"),
        ("&quot;好&quot;", '"好"'),
        ("no reference & here", "no reference & here"),
        ("&#0; &#1114112; &#xD800;", "&#0; &#1114112; &#xD800;"),  # invalid: kept
        ("&copy;", "&copy;"),  # named references beyond plain text's few: kept
    ],
)
def test_decode_references(text: str, decoded: str) -> None:
    assert decode_references(text)[0] == decoded


def test_decoded_characters_map_back_to_their_reference() -> None:
    folded = FoldedText.of("X&#38388;Y")
    assert folded.folded == "x间y"
    assert folded.original_span(1, 2) == "&#38388;"
    assert folded.original_span(0, 3) == "X&#38388;Y"
    assert folded.original_span(2, 3) == "Y"


def test_unchanged_text_needs_no_map() -> None:
    folded = FoldedText.of("送餐太慢")
    assert folded.origin is None
    assert folded.original_span(2, 4) == "太慢"
