"""The committed diagrams (docs/*.mmd and the README) are the ones the machines produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.diagrams import diagrams

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["conversation", "ticket"])
def test_committed_diagram_matches_the_transition_table(name: str) -> None:
    committed = (ROOT / "docs" / f"{name}.mmd").read_text(encoding="utf-8")
    assert committed == diagrams()[name], "run `complaint-bot diagram` and commit docs/"


@pytest.mark.parametrize("name", ["conversation", "ticket"])
def test_readme_shows_the_current_diagram(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{diagrams()[name]}```" in readme, "paste docs/*.mmd into the README"
