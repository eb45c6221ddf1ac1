"""The wording catalogues: same keys and placeholders in every language."""

from __future__ import annotations

import re
from pathlib import Path

from flows.texts import Catalogue, default_catalogue

FLOWS = Path(__file__).resolve().parents[3] / "flows"


def test_languages_have_the_same_keys_and_placeholders() -> None:
    catalogue = default_catalogue()
    zh, en = catalogue.keys("zh"), catalogue.keys("en")
    assert zh == en, f"only in zh: {sorted(zh - en)}; only in en: {sorted(en - zh)}"
    for key in zh:
        assert catalogue.placeholders("zh", key) == catalogue.placeholders("en", key), key


def test_every_literal_key_used_by_the_flows_exists() -> None:
    catalogue = default_catalogue()
    used: set[str] = set()
    for path in FLOWS.glob("*.py"):
        for match in re.finditer(r'self\.t\(turn, "([a-z_.]+)"|self\.intake\.t\(turn, "([a-z_.]+)"|self\._button\(turn, "([a-z_.]+)"|b\(turn, "([a-z_.]+)"', path.read_text()):
            used.add(next(g for g in match.groups() if g))
    assert used, "the pattern found no keys; the test would be vacuous"
    missing = sorted(k for k in used if k not in catalogue.keys("zh"))
    assert not missing


def test_language_for_platform_codes() -> None:
    catalogue = default_catalogue()
    assert catalogue.language_for("zh-hans") == "zh"
    assert catalogue.language_for("en-US") == "en"
    assert catalogue.language_for("de") == "zh"
    assert catalogue.language_for(None) == "zh"


def test_missing_key_in_a_language_falls_back_to_default() -> None:
    catalogue = Catalogue({"zh": {"a": "甲{x}"}, "en": {}})
    assert catalogue.text("en", "a", x=1) == "甲1"
