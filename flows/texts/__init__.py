"""All customer- and agent-facing wording, one TOML catalogue per language.

``zh.toml`` is the default language, ``en.toml`` the second; both must have the same
keys and the same ``{placeholders}`` (a unit test checks). Texts follow the principles
in DESIGN.md: thank, listen, apologise, act fast and say by when, give the ticket number.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")


class Catalogue:
    """Texts per language with ``str.format`` placeholders."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], default: str = DEFAULT_LANGUAGE):
        self._texts = {lang: dict(entries) for lang, entries in texts.items()}
        self.default = default

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._texts)

    def language_for(self, code: str | None) -> str:
        """The catalogue language for a platform language code ("zh-hans", "en-US", ...)."""
        if code:
            base = code.split("-", 1)[0].split("_", 1)[0].lower()
            if base in self._texts:
                return base
        return self.default

    def has(self, language: str, key: str) -> bool:
        return key in self._texts.get(language, ()) or key in self._texts[self.default]

    def text(self, language: str, key: str, **params: Any) -> str:
        """The text for ``key`` in ``language`` (falling back to the default language)."""
        entries = self._texts.get(language) or self._texts[self.default]
        template = entries.get(key)
        if template is None:
            template = self._texts[self.default][key]
        return template.format(**params) if params else template

    def keys(self, language: str) -> frozenset[str]:
        return frozenset(self._texts[language])

    def placeholders(self, language: str, key: str) -> frozenset[str]:
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self._texts[language][key]) if name
        )


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


def load_texts(language: str) -> dict[str, str]:
    """The flattened ``section.key -> text`` table of one packaged catalogue."""
    raw = resources.files(__package__).joinpath(f"{language}.toml").read_text("utf-8")
    out: dict[str, str] = {}
    _flatten("", tomllib.loads(raw), out)
    return out


@cache
def default_catalogue() -> Catalogue:
    """The packaged catalogues, loaded once."""
    return Catalogue({lang: load_texts(lang) for lang in LANGUAGES})
