"""The report chart: a real PNG whose panels show what needs action now, the trend and
the period's history; Chinese labels with the packaged font, English without any CJK font."""

from __future__ import annotations

import io
import re
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.text import Text

from flows.domain import Severity, TicketState
from flows.report import (
    Actions,
    AgeBucket,
    DuePromise,
    OpenTicket,
    PendingCounts,
    Promise,
    Report,
    SlaCounts,
    Trend,
    TrendUnit,
)
from flows.texts import default_catalogue
from handlers import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SINCE = datetime(2026, 11, 2, tzinfo=UTC)
NOW = SINCE + timedelta(days=7)
NAMES_ZH = {"delivery": "物流配送", "safety": "安全卫生"}
NAMES_EN = {"delivery": "Delivery", "safety": "Safety and hygiene"}
CJK = re.compile("[\u2e80-\u9fff\uff00-\uffef]")
H = timedelta(hours=1)


def _three_open_tickets() -> Actions:
    """Three open tickets, as submitted an hour ago with no promise decided yet."""
    ages = {s: dict.fromkeys(AgeBucket, 0) for s in Severity}
    ages[Severity.GENERAL][AgeBucket.UNDER_1_DAY] = 2
    ages[Severity.HOT][AgeBucket.DAYS_1_TO_3] = 1
    pending = {s: {p: PendingCounts() for p in Promise} for s in Severity}
    pending[Severity.GENERAL] = {
        Promise.FIRST_RESPONSE: PendingCounts(due_soon=2),
        Promise.SUBSTANTIVE_REPLY: PendingCounts(later=2),
        Promise.RESOLUTION: PendingCounts(later=2),
    }
    pending[Severity.HOT] = {
        Promise.FIRST_RESPONSE: PendingCounts(overdue=1),
        Promise.SUBSTANTIVE_REPLY: PendingCounts(overdue=1),
        Promise.RESOLUTION: PendingCounts(later=1),
    }
    return Actions(
        open_by_age=ages,
        oldest=(OpenTicket("T000003", Severity.HOT, "safety", TicketState.NEW, NOW - 30 * H),),
        pending=pending,
        overdue=(
            DuePromise("T000003", Severity.HOT, "safety", Promise.FIRST_RESPONSE, NOW - 29 * H),
            DuePromise("T000003", Severity.HOT, "safety", Promise.SUBSTANTIVE_REPLY, NOW - 18 * H),
        ),
        due_soon=(
            DuePromise("T000001", Severity.GENERAL, "delivery", Promise.FIRST_RESPONSE, NOW + H),
            DuePromise("T000002", Severity.GENERAL, "delivery", Promise.FIRST_RESPONSE, NOW + 2 * H),
        ),
    )


def _report() -> Report:
    return Report(
        since=SINCE,
        until=NOW,
        generated_at=NOW,
        total=30,
        by_category={"delivery": 20, "safety": 10},
        by_severity={Severity.GENERAL: 20, Severity.IMPORTANT: 5, Severity.HOT: 4, Severity.MAJOR: 1},
        sla={s: {p: SlaCounts(met=8, missed=1, overdue=1) for p in Promise} for s in Severity},
        ratings={1: 1, 2: 2, 3: 3, 4: 8, 5: 10},
        actions=_three_open_tickets(),
        trend=Trend(TrendUnit.DAY, tuple(SINCE + i * timedelta(days=1) for i in range(7)),
                    {"delivery": (5, 3, 0, 4, 2, 3, 3), "safety": (1, 0, 2, 3, 0, 4, 0)}),
    )


def _texts(chart: charts.Chart) -> list[str]:
    """Every piece of text drawn on the chart (titles, labels, ticks, legends, notes)."""
    chart.save(io.BytesIO())  # a draw: tick labels exist from then on
    return [t.get_text() for t in chart.figure.findobj(Text) if t.get_visible() and t.get_text()]


def _is_png(data: bytes) -> bool:
    return data.startswith(PNG_SIGNATURE) and len(data) > 20_000  # many panels, not an empty canvas


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The font package cannot be imported and no system CJK font is known."""
    charts.cjk_font.cache_clear()
    monkeypatch.setitem(sys.modules, charts.PACKAGED_FONT, None)  # import raises ImportError
    monkeypatch.setattr(charts, "CJK_FONTS", ())
    yield
    charts.cjk_font.cache_clear()


def test_chart_is_written_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "report.png"
    charts.render_chart(_report(), path, language="en", category_names=NAMES_EN, texts=default_catalogue())
    assert _is_png(path.read_bytes())


def test_the_packaged_font_is_found_without_any_system_font() -> None:
    charts.cjk_font.cache_clear()
    assert charts.packaged_font() == "Noto Sans SC"
    assert charts.cjk_font() == "Noto Sans SC"


def test_chinese_labels_render_with_the_packaged_font() -> None:
    chart = charts.draw_chart(_report(), language="zh", category_names=NAMES_ZH, texts=default_catalogue())
    assert chart.language == "zh" and chart.font == "Noto Sans SC"
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart.save(buffer)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing  # every Chinese character had a glyph
    assert _is_png(buffer.getvalue())
    drawn = _texts(chart)
    for expected in ("当前未结工单（按等级和时长）", "当前未结工单的承诺", "每日工单数（按类型）", "物流配送", "热点", "7天及以上"):
        assert expected in drawn, expected


def test_english_labels_and_the_notice_without_a_cjk_font(no_cjk_font: None) -> None:
    assert charts.cjk_font() is None
    for fallback in (NAMES_EN, None):  # English names, or the ids
        buffer = io.BytesIO()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            drawn = charts.render_chart(
                _report(), buffer, language="zh", category_names=NAMES_ZH, texts=default_catalogue(),
                fallback_category_names=fallback,
            )
        assert drawn == "en" and _is_png(buffer.getvalue())  # the caller says so (the CLI prints it)
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert not missing, missing  # no character was drawn as an empty box
    chart = charts.draw_chart(
        _report(), language="zh", category_names=NAMES_ZH, texts=default_catalogue(), fallback_category_names=NAMES_EN
    )
    texts = _texts(chart)
    assert not [t for t in texts if CJK.search(t)]
    assert "Open tickets now, by severity and age" in texts and "Safety and hygiene" in texts


def test_promise_panel_shows_the_open_tickets_promises_and_their_numbers() -> None:
    """Three open tickets and no promise decided yet: the promise panels are not "no data"."""
    report = Report(
        since=SINCE, until=NOW, generated_at=NOW, total=3, by_category={"delivery": 2, "safety": 1},
        by_severity={Severity.GENERAL: 2, Severity.IMPORTANT: 0, Severity.HOT: 1, Severity.MAJOR: 0},
        sla={s: {p: SlaCounts(open=1 if s is Severity.GENERAL else 0) for p in Promise} for s in Severity},
        actions=_three_open_tickets(),
        trend=Trend(TrendUnit.DAY, (SINCE,), {"delivery": (2,), "safety": (1,)}),
    )
    chart = charts.draw_chart(report, language="en", category_names=NAMES_EN, texts=default_catalogue())
    texts = _texts(chart)
    assert "Promises of open tickets now" in texts
    panel = next(ax for ax in chart.figure.axes if ax.get_title() == "Promises of open tickets now")
    under = [tick.get_text() for tick in panel.get_xticklabels()]  # general, important, hot, major
    assert under == ["General\nDue within 4 h: T000001\nT000002", "Important", "Hot\nOverdue: T000003", "Major"]
    assert {"Overdue", "Due ≤ 4 h", "Later"} <= set(texts)  # the legend
    assert "Oldest: T000003 (1d 6h)" in texts
    assert "No promise decided yet: 3 still running" in texts  # the history panel says why it is empty
    heights = [round(bar.get_height()) for bar in panel.patches]
    # per severity (general, important, hot, major): overdue, due soon, later
    assert heights == [0, 0, 2, 0, 2, 0, 0, 0, 4, 0, 1, 0]
    assert texts.count("no data") == 1  # only the satisfaction panel: nobody rated yet


def test_more_overdue_than_named() -> None:
    actions = _three_open_tickets()
    many = tuple(
        DuePromise(f"T{n:06d}", Severity.GENERAL, "delivery", Promise.RESOLUTION, NOW - H) for n in range(10, 30)
    )
    pending = {s: {p: PendingCounts() for p in Promise} for s in Severity}
    pending[Severity.GENERAL][Promise.RESOLUTION] = PendingCounts(overdue=57)
    report = Report(since=SINCE, until=NOW, generated_at=NOW,
                    actions=Actions(open_by_age=actions.open_by_age, pending=pending, overdue=many))
    texts = _texts(charts.draw_chart(report, language="en", category_names=NAMES_EN, texts=default_catalogue()))
    assert "General\nOverdue: T000010\nT000011\nT000012\n+54 more" in texts  # 3 of 57 named under its bar


def test_trend_panel_stacks_the_categories_per_day() -> None:
    chart = charts.draw_chart(_report(), language="en", category_names=NAMES_EN, texts=default_catalogue())
    texts = _texts(chart)
    panel = next(ax for ax in chart.figure.axes if ax.get_title() == "Tickets per day by category")
    assert [t.get_text() for t in panel.get_xticklabels()] == ["11-02", "11-03", "11-04", "11-05", "11-06", "11-07", "11-08"]
    assert [round(bar.get_height()) for bar in panel.patches] == [5, 3, 0, 4, 2, 3, 3, 1, 0, 2, 3, 0, 4, 0]
    assert "Delivery" in texts and "Safety and hygiene" in texts


def test_empty_report_still_draws() -> None:
    empty = Report(since=SINCE, until=SINCE + timedelta(days=1), generated_at=SINCE)
    chart = charts.draw_chart(empty, language="en", category_names={}, texts=default_catalogue())
    assert _texts(chart).count("no data") == 7  # every panel
    buffer = io.BytesIO()
    charts.render_chart(empty, buffer, language="en", category_names={}, texts=default_catalogue())
    assert buffer.getvalue().startswith(PNG_SIGNATURE)


def test_each_severitys_bar_carries_its_own_overdue_tickets() -> None:
    """A major (重大) and an important (重要) ticket overdue: each number stands under the
    bar of its own severity, not both under one."""
    pending = {s: {p: PendingCounts() for p in Promise} for s in Severity}
    pending[Severity.MAJOR][Promise.FIRST_RESPONSE] = PendingCounts(overdue=1)
    pending[Severity.IMPORTANT][Promise.FIRST_RESPONSE] = PendingCounts(overdue=1)
    pending[Severity.GENERAL][Promise.FIRST_RESPONSE] = PendingCounts(later=1)
    ages = {s: dict.fromkeys(AgeBucket, 0) for s in Severity}
    for grade in (Severity.MAJOR, Severity.IMPORTANT, Severity.GENERAL):
        ages[grade][AgeBucket.UNDER_1_DAY] = 1
    actions = Actions(
        open_by_age=ages,
        pending=pending,
        overdue=(  # as the report lists them: highest severity first
            DuePromise("T000002", Severity.MAJOR, "safety", Promise.FIRST_RESPONSE, NOW - H),
            DuePromise("T000003", Severity.IMPORTANT, "delivery", Promise.FIRST_RESPONSE, NOW - H),
        ),
    )
    report = Report(since=SINCE, until=NOW, generated_at=NOW, actions=actions)
    for language, heading in (("zh", "已逾期："), ("en", "Overdue: ")):
        chart = charts.draw_chart(report, language=language, category_names=NAMES_ZH, texts=default_catalogue())
        _texts(chart)
        panel = next(ax for ax in chart.figure.axes if ax.get_title() == default_catalogue().text(language, "report.chart_pending"))
        under = {
            grade: tick.get_text()
            for grade, tick in zip(Severity, panel.get_xticklabels(), strict=True)
        }
        name = {s: default_catalogue().text(language, f"severity_name.{s.value}") for s in Severity}
        assert under[Severity.MAJOR] == f"{name[Severity.MAJOR]}\n{heading}T000002"
        assert under[Severity.IMPORTANT] == f"{name[Severity.IMPORTANT]}\n{heading}T000003"
        assert under[Severity.GENERAL] == name[Severity.GENERAL] and under[Severity.HOT] == name[Severity.HOT]
        assert panel.get_xlabel() == ""  # no shared line of every number


@pytest.mark.parametrize(
    ("name", "signature"),
    [("week.png", PNG_SIGNATURE), ("week.jpg", b"\xff\xd8\xff"), ("WEEK.JPEG", b"\xff\xd8\xff"),
     ("week.svg", b"<?xml"), ("week.pdf", b"%PDF-")],
)  # fmt: skip
def test_the_chart_is_written_in_the_format_its_name_says(tmp_path: Path, name: str, signature: bytes) -> None:
    path = tmp_path / name
    with path.open("wb") as out:
        charts.render_chart(
            _report(), out, language="en", category_names=NAMES_EN, texts=default_catalogue(), format=charts.chart_format(path)
        )
    assert path.read_bytes().startswith(signature)


def test_a_chart_name_without_a_known_picture_suffix_is_refused() -> None:
    for name in ("week.gif", "week", "week.png.txt"):
        with pytest.raises(charts.ChartFormatError, match="names no picture format; end the name with one of .jpeg, .jpg, .pdf, .png, .svg"):
            charts.chart_format(name)
