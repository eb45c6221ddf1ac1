"""``lexicon fit`` with desk corrections: the base taxonomy decides what can be learnt."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.lexicon_command import FitCommandError, FitRequest, run
from nlp.fit_files import BaseFiles

CATEGORIES = """\
[delivery]
@zh 物流配送
送货 1

[room]
@zh 客房
~房间 1

[other]
@zh 其他
"""


def corrections(category: str) -> tuple[dict[str, object], ...]:
    return tuple(
        {"id": f"desk-{n}", "text": text, "category": category, "severity": "general"}
        for n, text in enumerate(["房间有股霉味", "房间隔音太差，吵得睡不着", "空调坏了，房间又闷又热"], 1)
    )


def test_corrections_to_the_configured_categories_are_learnt(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text(CATEGORIES, encoding="utf-8")
    output = io.StringIO()
    request = FitRequest(
        labelled=(), out=tmp_path / "new", base=BaseFiles(categories=tmp_path / "mine.txt"),
        desk=corrections("room"), from_desk=True,
    )
    assert run(request, output) == 0
    assert "3 desk corrections" in output.getvalue()
    assert "skipped" not in output.getvalue()


def test_corrections_to_categories_the_base_lacks_are_reported_not_silently_dropped(tmp_path: Path) -> None:
    output = io.StringIO()
    request = FitRequest(labelled=(), out=tmp_path / "new", desk=corrections("room"), from_desk=True)
    with pytest.raises(FitCommandError, match="nothing to learn from: every desk correction was skipped"):
        run(request, output)
    assert "skipped 3 desk corrections to categories the base lexicon does not have (room)" in output.getvalue()
    assert not (tmp_path / "new").exists()
