"""The report chart: a real PNG, with Chinese labels only when a CJK font is installed."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.domain import Severity
from flows.report import Promise, Report, SlaCounts
from flows.texts import default_catalogue
from handlers import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SINCE = datetime(2026, 11, 2, tzinfo=UTC)
NAMES_ZH = {"delivery": "物流配送", "safety": "安全卫生"}
NAMES_EN = {"delivery": "Delivery", "safety": "Safety and hygiene"}


def _report() -> Report:
    return Report(
        since=SINCE,
        until=SINCE + timedelta(days=7),
        generated_at=SINCE + timedelta(days=7),
        total=30,
        by_category={"delivery": 20, "safety": 10},
        by_severity={Severity.GENERAL: 20, Severity.IMPORTANT: 5, Severity.HOT: 4, Severity.MAJOR: 1},
        sla={s: {p: SlaCounts(met=8, missed=1, overdue=1) for p in Promise} for s in Severity},
        ratings={1: 1, 2: 2, 3: 3, 4: 8, 5: 10},
    )


def _is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE) and len(data) > 20_000  # four panels, not an empty canvas


def test_chart_is_written_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "report.png"
    charts.render_chart(_report(), path, language="en", category_names=NAMES_EN, texts=default_catalogue())
    assert _is_png(path.read_bytes())


def test_chinese_chart_when_a_cjk_font_is_installed() -> None:
    if charts.cjk_font() is None:
        pytest.skip("no CJK font installed")
    buffer = io.BytesIO()
    drawn = charts.render_chart(_report(), buffer, language="zh", category_names=NAMES_ZH, texts=default_catalogue())
    assert drawn == "zh" and _is_png(buffer.getvalue())


def test_english_labels_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "cjk_font", lambda: None)
    for fallback in (NAMES_EN, None):  # English names, or the ids
        buffer = io.BytesIO()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            drawn = charts.render_chart(
                _report(), buffer, language="zh", category_names=NAMES_ZH, texts=default_catalogue(),
                fallback_category_names=fallback,
            )
        assert drawn == "en" and _is_png(buffer.getvalue())
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert not missing, missing  # no character was drawn as an empty box


def test_empty_report_still_draws() -> None:
    empty = Report(since=SINCE, until=SINCE + timedelta(days=1), generated_at=SINCE)
    buffer = io.BytesIO()
    charts.render_chart(empty, buffer, language="en", category_names={}, texts=default_catalogue())
    assert buffer.getvalue().startswith(PNG_SIGNATURE)
