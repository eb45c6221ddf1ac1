"""The type check: mypy over the packages, with the settings of ``[tool.mypy]`` in
pyproject.toml (strict for ``flows`` and ``nlp``). mypy comes with the test extras
(``python3 dev.py test``), so ``.ci/run`` checks the types on every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed (it comes with the test extras: pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],  # files and settings from pyproject.toml
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mypy reports errors:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout, result.stdout + result.stderr
