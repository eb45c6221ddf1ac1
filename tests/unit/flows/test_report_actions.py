"""What needs action now and the trend: the rules (fixed clocks) and how they read in
the report's text and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flows.domain import Severity, Ticket, TicketState, TimerKind
from flows.report import (
    AGE_BUCKETS,
    Actions,
    AgeBucket,
    DuePromise,
    OpenTicket,
    PendingCounts,
    PendingState,
    Promise,
    Report,
    Trend,
    TrendUnit,
    age_bucket,
    format_csv,
    format_text,
    pending_state,
    promise_of,
    trend_buckets,
)
from flows.sla import SLA_KINDS, Promises, deadline_due
from flows.texts import default_catalogue

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 9, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
SINCE = datetime(2026, 11, 2, tzinfo=SHANGHAI)
H, D, S = timedelta(hours=1), timedelta(days=1), timedelta(seconds=1)
GEN, IMP, HOT, MAJ = Severity.GENERAL, Severity.IMPORTANT, Severity.HOT, Severity.MAJOR
FR, REPLY, RES = Promise.FIRST_RESPONSE, Promise.SUBSTANTIVE_REPLY, Promise.RESOLUTION
NAMES_EN = {"delivery": "Delivery", "safety": "Safety and hygiene", "billing": "Billing and payment"}
NAMES_ZH = {"delivery": "物流配送", "safety": "安全卫生", "billing": "费用支付"}


def _section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i]), len(lines))
    return lines[start + 1 : end]


# ---------------------------------------------------------------------- the rules
@pytest.mark.parametrize(
    ("age", "bucket"),
    [
        (timedelta(0), AgeBucket.UNDER_1_DAY),
        (D - S, AgeBucket.UNDER_1_DAY),
        (D, AgeBucket.DAYS_1_TO_3),
        (3 * D - S, AgeBucket.DAYS_1_TO_3),
        (3 * D, AgeBucket.DAYS_3_TO_7),
        (7 * D - S, AgeBucket.DAYS_3_TO_7),
        (7 * D, AgeBucket.OVER_7_DAYS),
        (400 * D, AgeBucket.OVER_7_DAYS),
    ],
)
def test_age_buckets(age: timedelta, bucket: AgeBucket) -> None:
    assert age_bucket(age) is bucket


def test_every_age_bucket_has_a_bound_in_order() -> None:
    assert [b for b, _ in AGE_BUCKETS] == list(AgeBucket)
    bounds = [below for _, below in AGE_BUCKETS]
    assert bounds[-1] is None and bounds[:-1] == sorted(b for b in bounds if b is not None)


@pytest.mark.parametrize(
    ("due", "state"),
    [
        (NOW - 20 * D, PendingState.OVERDUE),
        (NOW, PendingState.OVERDUE),  # the deadline reached: broken
        (NOW + S, PendingState.DUE_SOON),
        (NOW + 4 * H, PendingState.DUE_SOON),
        (NOW + 4 * H + S, PendingState.LATER),
    ],
)
def test_pending_state_at_a_fixed_time(due: datetime, state: PendingState) -> None:
    assert pending_state(due, NOW, 4 * H) is state


@pytest.mark.parametrize("offset", [-H, timedelta(0), H])
def test_overdue_is_when_the_scheduler_breaches_the_promise(offset: timedelta) -> None:
    """The report calls a promise overdue exactly when flows.sla breaches its timer."""
    ticket = Ticket(id=1, number="T000001", customer_id=1, conversation_id=None, channel="telegram", chat_id="1",
                    category="delivery", severity=HOT, created_at=NOW - D)
    timer = Promises().sla_timer(TimerKind.FIRST_RESPONSE, HOT, NOW - D, NOW - D)
    now = timer.due_at + offset
    notice = deadline_due(timer, ticket, now)
    breached = notice is not None and notice.breached
    assert breached == (pending_state(timer.due_at, now, 4 * H) is PendingState.OVERDUE)


def test_promises_are_the_sla_timers() -> None:
    assert [promise_of(kind) for kind in SLA_KINDS] == list(Promise)
    with pytest.raises(KeyError):
        promise_of(TimerKind.FOLLOW_UP)


def test_trend_per_day_up_to_31_days_then_per_week() -> None:
    assert SINCE.weekday() == 0  # a Monday, at midnight
    unit, starts = trend_buckets(SINCE, SINCE + 7 * D)
    assert unit is TrendUnit.DAY and starts == tuple(SINCE + i * D for i in range(7))
    unit, starts = trend_buckets(SINCE, SINCE + 31 * D)
    assert unit is TrendUnit.DAY and len(starts) == 31
    unit, starts = trend_buckets(SINCE, SINCE + 31 * D + S)
    assert unit is TrendUnit.WEEK and starts == tuple(SINCE + i * 7 * D for i in range(5))  # the last one is short
    unit, starts = trend_buckets(SINCE, SINCE + 10 * H)  # less than a day: one bucket
    assert unit is TrendUnit.DAY and starts == (SINCE,)
    with pytest.raises(ValueError):
        trend_buckets(SINCE, SINCE)


def test_trend_buckets_are_calendar_days_and_weeks_from_monday() -> None:
    since = datetime(2026, 11, 23, 23, 35, tzinfo=SHANGHAI)  # "the last 7 days", run at 23:35
    _, starts = trend_buckets(since, since + 7 * D)
    assert starts[0] == since  # the rest of that day
    assert [s.strftime("%m-%d %H:%M") for s in starts[1:]] == [f"11-{d} 00:00" for d in range(24, 31)]
    saturday = datetime(2026, 10, 3, 8, 0, tzinfo=SHANGHAI)
    unit, starts = trend_buckets(saturday, datetime(2026, 11, 20, tzinfo=SHANGHAI))
    assert unit is TrendUnit.WEEK and starts[0] == saturday
    assert [s.strftime("%m-%d") for s in starts[1:]] == ["10-05", "10-12", "10-19", "10-26", "11-02", "11-09", "11-16"]
    assert all(s.weekday() == 0 and s.hour == 0 for s in starts[1:])


def test_trend_days_follow_the_local_calendar_across_daylight_saving() -> None:
    new_york = ZoneInfo("America/New_York")  # clocks go forward on 2026-03-08
    since = datetime(2026, 3, 7, tzinfo=new_york)
    _, starts = trend_buckets(since, datetime(2026, 3, 10, tzinfo=new_york))
    assert [s.strftime("%Y-%m-%d %H:%M") for s in starts] == ["2026-03-07 00:00", "2026-03-08 00:00", "2026-03-09 00:00"]
    assert starts[2].astimezone(UTC) - starts[1].astimezone(UTC) == 23 * H  # the short day is one bucket all the same


def test_pending_counts_and_actions_sums() -> None:
    actions = _actions()
    assert actions.open_count() == 6 and actions.open_count(HOT) == 2
    assert actions.open_in(AgeBucket.OVER_7_DAYS) == 2
    assert actions.pending_all(FR) == PendingCounts(overdue=2, due_soon=1, later=0)
    assert actions.pending_for(GEN) == PendingCounts(overdue=1, due_soon=1, later=2)
    assert (actions.overdue_count, actions.due_soon_count) == (3, 2)
    assert PendingCounts(1, 2, 3).total == 6


# ---------------------------------------------------------------------- text and CSV
def _actions() -> Actions:
    ages = {s: dict.fromkeys(AgeBucket, 0) for s in Severity}
    ages[GEN][AgeBucket.UNDER_1_DAY] = 2
    ages[GEN][AgeBucket.OVER_7_DAYS] = 1
    ages[HOT][AgeBucket.DAYS_1_TO_3] = 2
    ages[MAJ][AgeBucket.OVER_7_DAYS] = 1
    pending = {s: {p: PendingCounts() for p in Promise} for s in Severity}
    pending[GEN] = {FR: PendingCounts(overdue=1), REPLY: PendingCounts(due_soon=1), RES: PendingCounts(later=2)}
    pending[HOT] = {FR: PendingCounts(due_soon=1), REPLY: PendingCounts(), RES: PendingCounts(later=2)}
    pending[MAJ] = {FR: PendingCounts(overdue=1), REPLY: PendingCounts(), RES: PendingCounts(overdue=1)}
    return Actions(
        due_within=4 * H,
        open_by_age=ages,
        oldest=(
            OpenTicket("T000004", MAJ, "safety", TicketState.REOPENED, NOW - 9 * D - 2 * H, "Ann"),
            OpenTicket("T000001", GEN, "delivery", TicketState.NEW, NOW - 8 * D),
        ),
        pending=pending,
        overdue=(
            DuePromise("T000004", MAJ, "safety", FR, NOW - 30 * 60 * S, "Ann"),
            DuePromise("T000001", GEN, "delivery", FR, NOW - 2 * D),
        ),
        due_soon=(
            DuePromise("T000007", HOT, "safety", FR, NOW + 45 * 60 * S),
            DuePromise("T000003", GEN, "billing", REPLY, NOW + 3 * H + 5 * 60 * S, "Bo"),
        ),
    )


def _report() -> Report:
    return Report(
        since=SINCE,
        until=SINCE + 7 * D,
        generated_at=NOW,
        total=9,
        by_category={"delivery": 6, "safety": 3},
        actions=_actions(),
        trend=Trend(
            unit=TrendUnit.DAY,
            starts=tuple(SINCE + i * D for i in range(7)),
            by_category={"delivery": (1, 0, 2, 0, 0, 3, 0), "safety": (0, 0, 1, 0, 0, 1, 1)},
        ),
    )


def test_text_shows_what_needs_action_first() -> None:
    text = format_text(_report(), default_catalogue(), "en", NAMES_EN)
    lines = text.splitlines()
    headline = "Needs action now (2026-11-09 09:30): 6 open tickets, 3 promises overdue, 2 due within 4 h"
    assert headline in lines and lines.index(headline) < lines.index("By category")
    assert _section(text, "Open tickets by severity and age (time since submission)") == [
        "Severity   < 1 day  1–3 days  3–7 days  ≥ 7 days  Total",
        "---------  -------  --------  --------  --------  -----",
        "General          2         0         0         1      3",
        "Important        0         0         0         0      0",
        "Hot              0         2         0         0      2",
        "Major            0         0         0         1      1",
        "All              2         2         0         2      6",
    ]
    oldest = _section(text, "Oldest open tickets (2)")
    assert oldest[2].split() == [
        "T000004", "Major", "Safety", "and", "hygiene", "being", "handled", "again", "2026-10-31", "07:30", "9d", "2h", "Ann",
    ]
    assert oldest[3].split()[:3] == ["T000001", "General", "Delivery"] and oldest[3].split()[-3:] == ["8d", "0h", "-"]
    pending = _section(text, "Promises of open tickets")
    assert pending[0].split() == ["Severity", "Promise", "Overdue", "Due", "≤", "4", "h", "Later"]
    assert pending[2].split() == ["General", "First", "response", "1", "0", "0"]
    assert pending[3].split() == ["Substantive", "reply", "0", "1", "0"]
    assert pending[11].split() == ["Major", "First", "response", "1", "0", "0"]
    assert pending[14].split() == ["All", "First", "response", "2", "1", "0"]
    overdue = _section(text, "Overdue promises, to act on first (2 of 3 shown, most severe first)")
    assert overdue[0].split() == ["Ticket", "Severity", "Category", "Promise", "Deadline", "Late", "by", "Owner"]
    assert overdue[2].split() == ["T000004", "Major", "Safety", "and", "hygiene", "First", "response", "2026-11-09", "09:00", "30m", "Ann"]
    assert overdue[3].split()[0] == "T000001" and overdue[3].split()[-3:] == ["2d", "0h", "-"]
    due = _section(text, "Promises due within 4 h (2 of 2 shown, most severe first)")
    assert due[0].split()[-3:] == ["Due", "in", "Owner"]
    assert due[2].split()[0] == "T000007" and due[2].split()[-2:] == ["45m", "-"]
    assert due[3].split()[-3:] == ["3h", "05m", "Bo"]


def test_text_trend_per_day_by_category() -> None:
    text = format_text(_report(), default_catalogue(), "en", NAMES_EN)
    assert _section(text, "Tickets per day by category") == [
        "Day         Total  Delivery  Safety and hygiene",
        "----------  -----  --------  ------------------",
        "2026-11-02      1         1                   0",
        "2026-11-03      0         0                   0",
        "2026-11-04      3         2                   1",
        "2026-11-05      0         0                   0",
        "2026-11-06      0         0                   0",
        "2026-11-07      4         3                   1",
        "2026-11-08      1         0                   1",
    ]
    weekly = Report(since=SINCE, until=SINCE + 40 * D, generated_at=NOW,
                    trend=Trend(TrendUnit.WEEK, (SINCE, SINCE + 7 * D), {"delivery": (5, 2)}))
    text = format_text(weekly, default_catalogue(), "zh", NAMES_ZH)
    assert _section(text, "每周工单数（按类型）")[2].split() == ["2026-11-02", "5", "5"]


def test_chinese_text_of_the_actions() -> None:
    text = format_text(_report(), default_catalogue(), "zh", NAMES_ZH)
    assert "当前待处理（2026-11-09 09:30）：未结工单 6 张，已逾期的承诺 3 项，4 小时内到期 2 项" in text
    overdue = _section(text, "已逾期的承诺，请优先处理（显示 2 / 3 项，等级高的在前）")
    assert overdue[2].split() == ["T000004", "重大", "安全卫生", "首次响应", "2026-11-09", "09:00", "30分钟", "Ann"]


def test_nothing_needs_action() -> None:
    empty = Report(since=SINCE, until=SINCE + D, generated_at=NOW)
    text = format_text(empty, default_catalogue(), "en", NAMES_EN)
    assert "Needs action now (2026-11-09 09:30): 0 open tickets, 0 promises overdue, 0 due within 4 h" in text
    assert _section(text, "Oldest open tickets (0)") == ["None."]
    assert _section(text, "Overdue promises, to act on first (0 of 0 shown, most severe first)") == ["None."]
    assert _section(text, "Tickets per day by category") == ["None."]


def test_csv_carries_the_actions_and_the_trend() -> None:
    rows = list(csv.reader(io.StringIO(format_csv(_report()))))
    assert all(len(row) == 4 for row in rows)
    data = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert data[("now", "due_within_hours", "")] == "4"
    assert data[("open", "all", "tickets")] == "6"
    assert data[("open", "hot", "1d_3d")] == "2" and data[("open", "major", "ge_7d")] == "1"
    assert data[("open", "important", "lt_1d")] == "0"
    assert data[("oldest", "T000004", "age_seconds")] == str(9 * 86400 + 7200)
    assert data[("oldest", "T000004", "owner")] == "Ann" and data[("oldest", "T000001", "owner")] == ""
    assert data[("pending", "general/first_response", "overdue")] == "1"
    assert data[("pending", "all/resolution", "later")] == "4"
    assert data[("pending", "major/resolution", "overdue")] == "1"
    assert [r[1] for r in rows if r[0] == "overdue" and r[2] == "due_at"] == ["T000004/first_response", "T000001/first_response"]
    assert data[("overdue", "T000004/first_response", "due_at")] == "2026-11-09T01:00:00+00:00"
    assert data[("due_soon", "T000003/substantive_reply", "owner")] == "Bo"
    assert data[("trend", "unit", "")] == "day"
    assert data[("trend", "2026-11-04", "total")] == "3"
    assert data[("trend", "2026-11-04", "safety")] == "1"
    assert data[("trend", "2026-11-03", "delivery")] == "0"  # every bucket, zeros included
    assert len([r for r in rows if r[0] == "trend" and r[2] == "total"]) == 7
