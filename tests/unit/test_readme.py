"""The README points only at things that exist, and says where the global options go."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _link_targets() -> list[str]:
    targets = re.findall(r"\]\(([^)\s]+)\)", README)  # [text](target)
    return [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_every_relative_link_of_the_readme_exists() -> None:
    targets = _link_targets()
    assert targets, "the README links to files of the repository"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to files that are not in the repository: {missing}"


def test_every_markdown_file_the_readme_names_exists() -> None:
    named = set(re.findall(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.md)\b", README))
    named.discard("README.md")
    missing = sorted(n for n in named if not (ROOT / n).exists() and not list(ROOT.glob(f"**/{n}")))
    assert not missing, f"README names documents that are not in the repository: {missing}"


def test_the_design_reference_is_in_the_repository_and_linked() -> None:
    assert (ROOT / "docs" / "DESIGN.md").is_file()
    assert "docs/DESIGN.md" in _link_targets()


def test_the_readme_says_where_the_global_options_go() -> None:
    assert "python3 dev.py run --config c.toml -v" in README  # after the command, through dev.py
    assert "complaint-bot --config c.toml run" in README and "complaint-bot run --config c.toml -v" in README


def test_the_quick_start_shows_the_two_terminal_demo() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "complaint-bot desk" in quick_start and "complaint-bot chat" in quick_start
