"""The wording catalogues: same keys and placeholders in every language."""

from __future__ import annotations

import re
from pathlib import Path

from flows.texts import Catalogue, default_catalogue

ROOT = Path(__file__).resolve().parents[3]
# a literal catalogue key: "section.key" given to a text lookup (the flows' and the desks' forms)
_LITERAL_KEY = re.compile(
    r'(?:self\.t|self\.intake\.t|self\._button|\bb)\(turn, "([a-z_.]+)"'
    r'|(?<![\w.])(?:self\.)?_?t\("([a-z_]+\.[a-z_.]+)"'
)


def test_languages_have_the_same_keys_and_placeholders() -> None:
    catalogue = default_catalogue()
    zh, en = catalogue.keys("zh"), catalogue.keys("en")
    assert zh == en, f"only in zh: {sorted(zh - en)}; only in en: {sorted(en - zh)}"
    for key in zh:
        assert catalogue.placeholders("zh", key) == catalogue.placeholders("en", key), key


def test_every_literal_key_used_by_the_flows_and_desks_exists() -> None:
    catalogue = default_catalogue()
    used: dict[str, set[str]] = {}
    for package in ("flows", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            for match in _LITERAL_KEY.finditer(path.read_text(encoding="utf-8")):
                used.setdefault(package, set()).add(next(g for g in match.groups() if g))
    assert len(used.get("flows", ())) > 30 and len(used.get("handlers", ())) > 30, "the pattern finds too few keys"
    missing = sorted(k for keys in used.values() for k in keys if k not in catalogue.keys("zh"))
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
