"""The report as text (aligned tables, both languages) and as CSV."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest

from flows.domain import Severity, TicketState
from flows.report import (
    HotIssueLine,
    Medians,
    Promise,
    Report,
    SlaCounts,
    TermCount,
    format_csv,
    format_duration,
    format_text,
    median,
)
from flows.texts import default_catalogue

SHANGHAI = timezone(timedelta(hours=8))
SINCE = datetime(2026, 11, 2, tzinfo=SHANGHAI)
NAMES_EN = {"delivery": "Delivery", "safety": "Safety and hygiene", "product_quality": "Product quality"}
NAMES_ZH = {"delivery": "物流配送", "safety": "安全卫生", "product_quality": "商品质量"}
FR, REPLY, RES = Promise.FIRST_RESPONSE, Promise.SUBSTANTIVE_REPLY, Promise.RESOLUTION


def _report() -> Report:
    zero = {p: SlaCounts() for p in Promise}
    return Report(
        since=SINCE,
        until=SINCE + timedelta(days=7),
        generated_at=datetime(2026, 11, 9, 1, 30, tzinfo=UTC),
        total=1234,
        by_category={"delivery": 1000, "safety": 200, "product_quality": 30, "mystery": 4},
        by_severity={Severity.GENERAL: 1000, Severity.IMPORTANT: 200, Severity.HOT: 30, Severity.MAJOR: 4},
        by_state={
            TicketState.NEW: 34, TicketState.CLAIMED: 100, TicketState.RESOLVED: 100,
            TicketState.CLOSED: 1000, TicketState.REOPENED: 0,
        },
        sla={
            Severity.GENERAL: {FR: SlaCounts(900, 50, 10, 40), REPLY: SlaCounts(800, 100, 20, 80), RES: SlaCounts(700, 100, 0, 200)},
            Severity.IMPORTANT: {FR: SlaCounts(190, 10), REPLY: SlaCounts(150, 50), RES: SlaCounts(100, 0, 0, 100)},
            Severity.HOT: {FR: SlaCounts(29, 0, 1), REPLY: SlaCounts(), RES: SlaCounts(open=30)},
            Severity.MAJOR: zero,
        },
        medians=Medians(first_response=timedelta(minutes=45), resolution=timedelta(days=2, hours=4, minutes=10)),
        medians_by_severity={
            Severity.GENERAL: Medians(timedelta(hours=3, minutes=5), timedelta(days=3)),
            Severity.IMPORTANT: Medians(timedelta(seconds=59), None),
            Severity.HOT: Medians(),
            Severity.MAJOR: Medians(),
        },
        ratings={1: 10, 2: 5, 3: 5, 4: 30, 5: 50},
        hot_issues=(HotIssueLine(7, "safety", "炸鸡", datetime(2026, 11, 3, 2, 0, tzinfo=UTC), tickets=12, customers=9),),
        top_terms=(TermCount("耳机", 57), TermCount('say "hi", ok', 3)),
    )


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _section(text: str, title: str) -> list[str]:
    """The lines of one section: from its title to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start + 1 : end]


def test_sla_counts_met_percent_counts_overdue_as_decided() -> None:
    counts = SlaCounts(met=6, missed=2, overdue=2, open=5)
    assert counts.decided == 10 and counts.total == 15
    assert counts.met_percent == pytest.approx(60.0)
    assert SlaCounts(open=3).met_percent is None
    assert counts + SlaCounts(1, 1, 1, 1) == SlaCounts(7, 3, 3, 6)


def test_median_of_odd_and_even_counts() -> None:
    assert median([]) is None
    assert median([5.0, 1.0, 3.0]) == timedelta(seconds=3)
    assert median([1.0, 2.0, 4.0, 10.0]) == timedelta(seconds=3)
    assert median([0.0004, 0.0006]) == timedelta(milliseconds=1)  # rounded to the millisecond


def test_durations_in_both_languages() -> None:
    texts = default_catalogue()
    assert format_duration(None, texts, "en") == "-"
    assert format_duration(timedelta(seconds=59), texts, "en") == "0m"
    assert format_duration(timedelta(minutes=45), texts, "en") == "45m"
    assert format_duration(timedelta(hours=3, minutes=5), texts, "en") == "3h 05m"
    assert format_duration(timedelta(days=2, hours=4, minutes=10), texts, "en") == "2d 4h"
    assert format_duration(timedelta(hours=3, minutes=5), texts, "zh") == "3小时05分"
    assert format_duration(timedelta(days=2, hours=4), texts, "zh") == "2天4小时"


def test_text_report_in_english() -> None:
    text = format_text(_report(), default_catalogue(), "en", NAMES_EN)
    lines = text.splitlines()
    assert lines[0] == "Complaint report 2026-11-02 00:00 – 2026-11-09 00:00 (UTC+08:00)"
    assert lines[1].startswith("As of 2026-11-09 09:30")  # shown in the period's time zone
    assert "Tickets: 1,234" in lines
    assert _section(text, "By category") == [
        "Category            Tickets  Share",
        "------------------  -------  -----",
        "Delivery              1,000  81.0%",
        "Safety and hygiene      200  16.2%",
        "Product quality          30   2.4%",
        "mystery                   4   0.3%",  # an id without a name is shown as it is
    ]
    assert "closed                                  1,000  81.0%" in _section(text, "By state")
    sla = _section(text, "Service promises")
    assert sla[0].split() == ["Severity", "Promise", "Met", "Late", "Overdue", "Open", "Met", "%"]
    assert sla[2].split() == ["General", "First", "response", "900", "50", "10", "40", "93.8%"]
    assert sla[3].split() == ["Substantive", "reply", "800", "100", "20", "80", "87.0%"]  # severity shown once
    assert sla[8].split() == ["Hot", "First", "response", "29", "0", "1", "0", "96.7%"]
    assert sla[9].split()[-1] == "-"  # nothing decided
    assert sla[14].split() == ["All", "First", "response", "1,119", "60", "11", "40", "94.0%"]
    assert sla[-1].startswith("Met % = met / (met + late + overdue)")
    assert _section(text, "Median time from submission")[2:5] == [
        "All                   45m       2d 4h",
        "General            3h 05m       3d 0h",
        "Important              0m           -",
    ]
    satisfaction = _section(text, "Satisfaction")
    assert satisfaction[0] == "Average 4.05 / 5 from 100 ratings"
    assert satisfaction[3].split() == ["5", "50", "50.0%"]
    assert _section(text, "Hot issues opened in the period")[2].split() == [
        "Safety", "and", "hygiene", "炸鸡", "12", "9", "2026-11-03", "10:00",
    ]
    assert _section(text, "Top 2 key terms")[2:] == ["1  耳机               57", '2  say "hi", ok        3']


def test_columns_line_up_with_chinese_text() -> None:
    text = format_text(_report(), default_catalogue(), "zh", NAMES_ZH)
    assert text.splitlines()[0] == "投诉报告 2026-11-02 00:00 – 2026-11-09 00:00（UTC+08:00）"
    for title in ("按类型", "按等级", "按状态", "服务承诺"):
        table = [line for line in _section(text, title) if not line.startswith("达成率 =")]
        rule = table[1]
        # every right-aligned last column ends where the header's dashes end
        assert {_width(line) for line in table} == {_width(rule)}, title
    hot = _section(text, "期间新出现的热点问题")
    assert _width(hot[2].split("  2026")[0]) == _width(hot[1].rsplit("  ", 1)[0])  # the date column starts aligned


def test_empty_report_reads_well() -> None:
    empty = Report(since=SINCE, until=SINCE + timedelta(days=1), generated_at=SINCE + timedelta(days=1))
    for language, names in (("en", NAMES_EN), ("zh", NAMES_ZH)):
        text = format_text(empty, default_catalogue(), language, names)
        assert default_catalogue().text(language, "report.no_tickets") in text
        assert default_catalogue().text(language, "report.satisfaction_none") in text
    text = format_text(empty, default_catalogue(), "en", NAMES_EN)
    assert _section(text, "By category") == ["None."]
    assert _section(text, "Hot issues opened in the period") == ["None."]
    assert "-" in _section(text, "Service promises")[-2].split()  # "All / Resolution" has no percentage


def test_csv_has_one_table_with_machine_ids() -> None:
    out = format_csv(_report())
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "key", "metric", "value"]
    assert all(len(row) == 4 for row in rows)
    data = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert data[("period", "since", "")] == "2026-11-02T00:00:00+08:00"
    assert data[("period", "until", "")] == "2026-11-09T00:00:00+08:00"
    assert data[("total", "tickets", "")] == "1234"
    assert [r[1] for r in rows if r[0] == "category"] == ["delivery", "safety", "product_quality", "mystery"]
    assert [r[1] for r in rows if r[0] == "severity"] == ["general", "important", "hot", "major"]
    assert data[("state", "closed", "tickets")] == "1000"
    assert data[("sla", "general/first_response", "met")] == "900"
    assert data[("sla", "general/first_response", "missed")] == "50"
    assert data[("sla", "general/first_response", "overdue")] == "10"
    assert data[("sla", "general/first_response", "open")] == "40"
    assert data[("sla", "general/first_response", "met_percent")] == "93.8"
    assert data[("sla", "hot/substantive_reply", "met_percent")] == ""
    assert data[("sla", "all/resolution", "met")] == "800"
    assert data[("median_seconds", "all", "first_response")] == "2700"
    assert data[("median_seconds", "general", "resolution")] == "259200"
    assert data[("median_seconds", "hot", "first_response")] == ""
    assert data[("satisfaction", "average", "")] == "4.05"
    assert data[("satisfaction", "count", "")] == "100"
    assert [data[("rating", str(r), "count")] for r in range(1, 6)] == ["10", "5", "5", "30", "50"]
    assert data[("hot_issue", "7", "term")] == "炸鸡"
    assert data[("hot_issue", "7", "created_at")] == "2026-11-03T02:00:00+00:00"
    assert data[("hot_issue", "7", "customers")] == "9"
    assert [(r[1], r[3]) for r in rows if r[0] == "term"] == [("耳机", "57"), ('say "hi", ok', "3")]
    assert '"say ""hi"", ok"' in out  # quoted as CSV


def test_csv_of_an_empty_report() -> None:
    empty = Report(since=SINCE, until=SINCE + timedelta(days=1), generated_at=SINCE)
    rows = list(csv.reader(io.StringIO(format_csv(empty))))
    data = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert data[("total", "tickets", "")] == "0"
    assert data[("satisfaction", "average", "")] == ""
    assert not [r for r in rows if r[0] in ("category", "hot_issue", "term")]
