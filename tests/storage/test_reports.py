"""The supervisors' report on SQLite and PostgreSQL: exact figures for small known data sets (the
period's history, what needs action now, the trend)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert

from flows.domain import Severity, TicketState, TimerKind
from flows.report import (
    AgeBucket,
    DuePromise,
    HotIssueLine,
    Medians,
    OpenTicket,
    PendingCounts,
    Promise,
    SlaCounts,
    TermCount,
    TrendUnit,
)
from storage import reports
from storage.database import Database
from storage.models import CustomerRow, HotIssueRow, TicketRow, TicketTermRow, TimerRow
from storage.reports import build_report

pytestmark = pytest.mark.usefixtures("backend")

T0 = datetime(2026, 11, 2, tzinfo=UTC)  # since
UNTIL = T0 + timedelta(days=7)
NOW = T0 + timedelta(days=10)  # when open promises are judged
H = timedelta(hours=1)
D = timedelta(days=1)

GEN, IMP, HOT, MAJ = Severity.GENERAL, Severity.IMPORTANT, Severity.HOT, Severity.MAJOR


def _ticket(n: int, customer: int, category: str, severity: Severity, state: TicketState, created: datetime, **times: Any) -> dict[str, Any]:
    """A ticket row; ``times`` are offsets from ``created`` (or rating / hot_issue_id)."""
    row: dict[str, Any] = dict(
        id=n, number=f"T{n:06d}", customer_id=customer, channel="telegram", chat_id=str(customer),
        category=category, severity=severity, state=state, description=f"ticket {n}", language="zh",
        created_at=created, updated_at=created, rating=times.pop("rating", None),
        hot_issue_id=times.pop("hot_issue_id", None),
        owner_id=times.pop("owner_id", None), owner_name=times.pop("owner_name", None),
        first_response_due=None, reply_due=None, resolution_due=None,
        first_response_at=None, first_reply_at=None, resolved_at=None, closed_at=None,
    )
    for column, offset in times.items():
        row[column] = created + offset
    return row


async def _seed(db: Database) -> dict[str, int]:
    """Seven tickets in [T0, T0 + 7 days), two just outside; hot issues; key terms."""
    async with db.engine.begin() as conn:
        await conn.execute(insert(CustomerRow.__table__), [
            dict(id=i, channel="telegram", external_id=str(i), display_name=f"c{i}", language="zh", created_at=T0 - 30 * D)
            for i in range(1, 6)
        ])
        issues = {}
        for name, created in (("fried_chicken", T0 + 5 * D), ("before", T0 - D), ("at_until", UNTIL), ("at_since", T0)):
            term = "炸鸡" if name == "fried_chicken" else name
            issues[name] = (await conn.execute(
                insert(HotIssueRow.__table__).returning(HotIssueRow.__table__.c.id),
                dict(category="safety", term=term, created_at=created, pinged_at=None),
            )).scalar_one()
        chicken = issues["fried_chicken"]
        rows = [
            # 1: every promise met; rating 5
            _ticket(1, 1, "delivery", GEN, TicketState.CLOSED, T0 + H, rating=5,
                    first_response_due=2 * H, first_response_at=H, reply_due=24 * H, first_reply_at=5 * H,
                    resolution_due=7 * D, resolved_at=2 * D, closed_at=3 * D),
            # 2: every promise kept late; rating 2
            _ticket(2, 2, "delivery", GEN, TicketState.RESOLVED, T0 + 2 * H, rating=2,
                    first_response_due=2 * H, first_response_at=3 * H, reply_due=24 * H, first_reply_at=30 * H,
                    resolution_due=7 * D, resolved_at=8 * D),
            # 3: responded exactly at the deadline (met); reply and resolution overdue
            _ticket(3, 2, "product_quality", IMP, TicketState.CLAIMED, T0 + D,
                    first_response_due=2 * H, first_response_at=2 * H, reply_due=24 * H, resolution_due=5 * D),
            # 4: nothing done: response and reply overdue, resolution still open
            _ticket(4, 3, "safety", HOT, TicketState.NEW, T0 + 6 * D, hot_issue_id=chicken,
                    first_response_due=H, reply_due=12 * H, resolution_due=5 * D),
            # 5: reopened; response and reply met, resolution open; rating 1
            _ticket(5, 4, "safety", MAJ, TicketState.REOPENED, T0 + 5 * D, rating=1, hot_issue_id=chicken,
                    first_response_due=H / 2, first_response_at=H / 3, reply_due=4 * H, first_reply_at=H,
                    resolution_due=7 * D),
            # 6: no deadlines (not in the promise figures); resolved without a recorded response
            _ticket(6, 5, "delivery", GEN, TicketState.CLOSED, T0 + 3 * D, rating=4,
                    resolved_at=4 * H, closed_at=5 * H),
            # 7: created exactly at `since` (counted); everything overdue
            _ticket(7, 1, "delivery", GEN, TicketState.NEW, T0,
                    first_response_due=2 * H, reply_due=24 * H, resolution_due=7 * D),
            # 8: created exactly at `until` (not counted)
            _ticket(8, 1, "other", MAJ, TicketState.CLOSED, UNTIL, rating=5,
                    first_response_due=H, first_response_at=H),
            # 9: one second before `since` (not counted), but part of the hot issue
            _ticket(9, 3, "safety", HOT, TicketState.NEW, T0 - timedelta(seconds=1), rating=1,
                    hot_issue_id=chicken, first_response_due=H),
        ]
        await conn.execute(insert(TicketRow.__table__), rows)
        terms = [(1, "耳机"), (1, "耳机"), (1, "快递员"), (2, "耳机"), (7, "耳机"), (3, "台灯"), (4, "炸鸡"), (5, "炸鸡"),
                 (8, "耳机"), (8, "台灯"), (9, "炸鸡"), (9, "台灯")]
        by_id = {row["id"]: row for row in rows}
        await conn.execute(insert(TicketTermRow.__table__), [
            dict(ticket_id=t, customer_id=by_id[t]["customer_id"], category=by_id[t]["category"], term=term,
                 created_at=by_id[t]["created_at"])
            for t, term in terms
        ])
    return issues


async def test_counts_by_category_severity_and_state(database: Database) -> None:
    await _seed(database)
    report = await build_report(database, T0, UNTIL, now=NOW)
    assert report.total == 7
    assert list(report.by_category.items()) == [("delivery", 4), ("safety", 2), ("product_quality", 1)]
    assert report.by_severity == {GEN: 4, IMP: 1, HOT: 1, MAJ: 1}
    assert report.by_state == {
        TicketState.NEW: 2, TicketState.CLAIMED: 1, TicketState.RESOLVED: 1,
        TicketState.CLOSED: 2, TicketState.REOPENED: 1,
    }
    assert (report.since, report.until, report.generated_at) == (T0, UNTIL, NOW)


async def test_promises_met_late_overdue_and_open_per_severity(database: Database) -> None:
    await _seed(database)
    report = await build_report(database, T0, UNTIL, now=NOW)
    fr, reply, res = Promise.FIRST_RESPONSE, Promise.SUBSTANTIVE_REPLY, Promise.RESOLUTION
    assert report.sla[GEN] == {
        fr: SlaCounts(met=1, missed=1, overdue=1, open=0),
        reply: SlaCounts(met=1, missed=1, overdue=1, open=0),
        res: SlaCounts(met=1, missed=1, overdue=1, open=0),
    }
    assert report.sla[IMP] == {fr: SlaCounts(met=1), reply: SlaCounts(overdue=1), res: SlaCounts(overdue=1)}
    assert report.sla[HOT] == {fr: SlaCounts(overdue=1), reply: SlaCounts(overdue=1), res: SlaCounts(open=1)}
    assert report.sla[MAJ] == {fr: SlaCounts(met=1), reply: SlaCounts(met=1), res: SlaCounts(open=1)}
    assert report.sla_all(fr) == SlaCounts(met=3, missed=1, overdue=2, open=0)
    assert report.sla_all(fr).met_percent == pytest.approx(50.0)
    assert report.sla_all(res) == SlaCounts(met=1, missed=1, overdue=2, open=2)
    assert report.sla[HOT][res].met_percent is None  # nothing decided yet


async def test_open_promises_are_judged_at_now(database: Database) -> None:
    await _seed(database)
    # at T0 + 6 days 30 minutes ticket 4's first response (due T0 + 6 days 1 hour) is not late yet
    report = await build_report(database, T0, UNTIL, now=T0 + 6 * D + H / 2)
    assert report.sla[HOT][Promise.FIRST_RESPONSE] == SlaCounts(open=1)
    assert report.sla[GEN][Promise.RESOLUTION] == SlaCounts(met=1, missed=1, open=1)  # ticket 7 due at T0 + 7 days


async def test_medians_overall_and_per_severity(database: Database) -> None:
    await _seed(database)
    report = await build_report(database, T0, UNTIL, now=NOW)
    # first response: 1h, 3h, 2h, 20m, and 4h for ticket 6 (its resolution is its first response)
    assert report.medians == Medians(first_response=2 * H, resolution=2 * D)
    assert report.medians_by_severity == {
        GEN: Medians(first_response=3 * H, resolution=2 * D),  # 1h 3h 4h; 2d 8d 4h
        IMP: Medians(first_response=2 * H, resolution=None),
        HOT: Medians(),
        MAJ: Medians(first_response=H / 3, resolution=None),
    }
    # an even number of durations: the mean of the middle two (tickets 2, 3, 5, 6)
    later = await build_report(database, T0 + 2 * H, UNTIL, now=NOW)
    assert later.medians == Medians(first_response=2.5 * H, resolution=4 * D + 2 * H)  # (2h + 3h) / 2; (8d + 4h) / 2


async def test_satisfaction_hot_issues_and_terms(database: Database) -> None:
    issues = await _seed(database)
    report = await build_report(database, T0, UNTIL, now=NOW, top_terms=2)
    assert report.ratings == {1: 1, 2: 1, 3: 0, 4: 1, 5: 1}
    assert report.rating_count == 4 and report.rating_average == pytest.approx(3.0)
    assert report.hot_issues == (
        HotIssueLine(issues["at_since"], "safety", "at_since", T0, tickets=0, customers=0),
        HotIssueLine(issues["fried_chicken"], "safety", "炸鸡", T0 + 5 * D, tickets=3, customers=2),
    )
    # 耳机 twice on ticket 1 counts one ticket; rows of tickets 8 and 9 are outside the period
    assert report.top_terms == (TermCount("耳机", 3), TermCount("炸鸡", 2))
    everything = await build_report(database, T0, UNTIL, now=NOW, top_terms=10)
    assert everything.top_terms[:2] == report.top_terms
    assert set(everything.top_terms[2:]) == {TermCount("快递员", 1), TermCount("台灯", 1)}
    assert (await build_report(database, T0, UNTIL, now=NOW, top_terms=0)).top_terms == ()


async def test_period_in_another_time_zone_is_the_same_instant(database: Database) -> None:
    await _seed(database)
    shanghai = timezone(timedelta(hours=8))
    report = await build_report(database, T0.astimezone(shanghai), UNTIL.astimezone(shanghai), now=NOW)
    assert report.total == 7 and report.since.utcoffset() == timedelta(hours=8)
    # one second later: ticket 7 (created exactly at T0) drops out
    later = await build_report(database, T0 + timedelta(seconds=1), UNTIL, now=NOW)
    assert later.total == 6 and later.by_category["delivery"] == 3


async def test_empty_period(database: Database) -> None:
    await _seed(database)
    report = await build_report(database, T0 - 60 * D, T0 - 30 * D, now=NOW)
    assert report.total == 0 and report.by_category == {}
    assert set(report.by_severity.values()) == {0} and set(report.by_state.values()) == {0}
    assert report.medians == Medians() and report.rating_average is None
    assert report.hot_issues == () and report.top_terms == ()
    assert report.sla_all(Promise.RESOLUTION) == SlaCounts()


async def test_bad_periods_are_refused(database: Database) -> None:
    with pytest.raises(ValueError, match="empty"):
        await build_report(database, UNTIL, T0)
    with pytest.raises(ValueError, match="timezone"):
        await build_report(database, datetime(2026, 11, 1), datetime(2026, 11, 2))


async def test_sqlite_report_runs_off_the_event_loop_thread(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if database.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    threads: list[threading.Thread] = []
    original = reports.collect_report

    def spy(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return original(*args)

    monkeypatch.setattr(reports, "collect_report", spy)
    await _seed(database)
    report = await build_report(database, T0, UNTIL, now=NOW)
    assert report.total == 7
    assert threads and threads[0] is not threading.current_thread()


# ---------------------------------------------------------------------- needs action now
A = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # the report's time for the open tickets
FR, REPLY, RES = Promise.FIRST_RESPONSE, Promise.SUBSTANTIVE_REPLY, Promise.RESOLUTION


async def _seed_open(db: Database) -> None:
    """Open tickets of every age with their promises (timers), and tickets that are not open."""
    async with db.engine.begin() as conn:
        await conn.execute(insert(CustomerRow.__table__), [
            dict(id=i, channel="telegram", external_id=str(i), display_name=f"c{i}", language="zh", created_at=A - 60 * D)
            for i in range(1, 4)
        ])
        rows = [
            _ticket(101, 1, "delivery", GEN, TicketState.NEW, A - 2 * H),  # < 1 day
            _ticket(102, 2, "safety", HOT, TicketState.CLAIMED, A - D, owner_id="U1", owner_name="Ann"),  # 1 day: 1-3 days
            # 3-7 days; an owner without a name: the id is shown
            _ticket(103, 3, "safety", MAJ, TicketState.REOPENED, A - 3 * D - timedelta(seconds=1), owner_id="U2"),
            _ticket(104, 1, "billing", IMP, TicketState.NEW, A - 30 * D),  # 7 days and more
            _ticket(105, 2, "delivery", GEN, TicketState.RESOLVED, A - H),  # waits for the customer: not open
            _ticket(106, 3, "delivery", GEN, TicketState.CLOSED, A - 10 * D),
        ]
        await conn.execute(insert(TicketRow.__table__), rows)

        def timer(ticket: int, kind: TimerKind, due: datetime, done: datetime | None = None) -> dict[str, Any]:
            return dict(ticket_id=ticket, kind=kind, due_at=due, remind_at=None, reminded_at=None, fired_at=None,
                        done_at=done, created_at=A - 60 * D)

        await conn.execute(insert(TimerRow.__table__), [
            timer(101, TimerKind.FIRST_RESPONSE, A - H),  # overdue
            timer(101, TimerKind.SUBSTANTIVE_REPLY, A + 3 * H),  # due within 4 h
            timer(101, TimerKind.RESOLUTION, A + 7 * D),  # later
            timer(102, TimerKind.FIRST_RESPONSE, A - 22 * H, done=A - 23 * H),  # kept: not pending
            timer(102, TimerKind.SUBSTANTIVE_REPLY, A + 4 * H),  # exactly 4 h ahead: due soon
            timer(102, TimerKind.RESOLUTION, A + 2 * D),
            timer(103, TimerKind.FIRST_RESPONSE, A - 3 * D, done=A - 2 * D),  # before the reopening
            timer(103, TimerKind.FIRST_RESPONSE, A),  # due now: overdue (as the scheduler breaches it)
            timer(103, TimerKind.RESOLUTION, A + 4 * H + timedelta(seconds=1)),  # just beyond 4 h: later
            timer(104, TimerKind.RESOLUTION, A - 20 * D),  # overdue for weeks
            timer(104, TimerKind.UPGRADE_HOT, A - 23 * D),  # not a promise to the customer
            timer(105, TimerKind.FOLLOW_UP, A + 2 * D),
            timer(105, TimerKind.RESOLUTION, A - H),  # a resolved ticket is not acted on by the desk
            timer(106, TimerKind.RESOLUTION, A - 5 * D),
        ])


async def test_open_tickets_by_severity_and_age_and_the_oldest(database: Database) -> None:
    await _seed_open(database)
    report = await build_report(database, A - 7 * D, A, now=A)
    actions = report.actions
    assert actions.open_by_age == {
        GEN: {AgeBucket.UNDER_1_DAY: 1, AgeBucket.DAYS_1_TO_3: 0, AgeBucket.DAYS_3_TO_7: 0, AgeBucket.OVER_7_DAYS: 0},
        IMP: {AgeBucket.UNDER_1_DAY: 0, AgeBucket.DAYS_1_TO_3: 0, AgeBucket.DAYS_3_TO_7: 0, AgeBucket.OVER_7_DAYS: 1},
        HOT: {AgeBucket.UNDER_1_DAY: 0, AgeBucket.DAYS_1_TO_3: 1, AgeBucket.DAYS_3_TO_7: 0, AgeBucket.OVER_7_DAYS: 0},
        MAJ: {AgeBucket.UNDER_1_DAY: 0, AgeBucket.DAYS_1_TO_3: 0, AgeBucket.DAYS_3_TO_7: 1, AgeBucket.OVER_7_DAYS: 0},
    }
    assert actions.open_count() == 4  # every open ticket, also those submitted before the period (104)
    assert actions.oldest == (
        OpenTicket("T000104", IMP, "billing", TicketState.NEW, A - 30 * D, None),
        OpenTicket("T000103", MAJ, "safety", TicketState.REOPENED, A - 3 * D - timedelta(seconds=1), "U2"),
        OpenTicket("T000102", HOT, "safety", TicketState.CLAIMED, A - D, "Ann"),
        OpenTicket("T000101", GEN, "delivery", TicketState.NEW, A - 2 * H, None),
    )
    # a day later every ticket is a day older
    later = await build_report(database, A - 7 * D, A, now=A + D, oldest=2)
    assert later.actions.open_by_age[GEN][AgeBucket.DAYS_1_TO_3] == 1
    assert later.actions.open_by_age[HOT][AgeBucket.DAYS_1_TO_3] == 1  # 2 days
    assert later.actions.open_by_age[MAJ][AgeBucket.OVER_7_DAYS] == 0
    assert later.actions.open_by_age[MAJ][AgeBucket.DAYS_3_TO_7] == 1
    assert [o.number for o in later.actions.oldest] == ["T000104", "T000103"]


async def test_promises_of_open_tickets_overdue_due_soon_and_later(database: Database) -> None:
    await _seed_open(database)
    report = await build_report(database, A - 7 * D, A, now=A)
    actions = report.actions
    assert actions.due_within == 4 * H
    assert actions.pending[GEN] == {FR: PendingCounts(overdue=1), REPLY: PendingCounts(due_soon=1), RES: PendingCounts(later=1)}
    assert actions.pending[IMP] == {FR: PendingCounts(), REPLY: PendingCounts(), RES: PendingCounts(overdue=1)}
    assert actions.pending[HOT] == {FR: PendingCounts(), REPLY: PendingCounts(due_soon=1), RES: PendingCounts(later=1)}
    assert actions.pending[MAJ] == {FR: PendingCounts(overdue=1), REPLY: PendingCounts(), RES: PendingCounts(later=1)}
    assert (actions.overdue_count, actions.due_soon_count) == (3, 2)
    # the ticket numbers to act on: most severe first, then the earliest deadline
    assert actions.overdue == (
        DuePromise("T000103", MAJ, "safety", FR, A, "U2"),
        DuePromise("T000104", IMP, "billing", RES, A - 20 * D, None),
        DuePromise("T000101", GEN, "delivery", FR, A - H, None),
    )
    assert actions.due_soon == (
        DuePromise("T000102", HOT, "safety", REPLY, A + 4 * H, "Ann"),
        DuePromise("T000101", GEN, "delivery", REPLY, A + 3 * H, None),
    )


async def test_look_ahead_and_list_length(database: Database) -> None:
    await _seed_open(database)
    wider = await build_report(database, A - 7 * D, A, now=A, due_within=5 * H, listed=1)
    assert wider.actions.pending[MAJ][RES] == PendingCounts(due_soon=1)  # A + 4 h 1 s is within 5 h
    assert [(d.number, d.promise) for d in wider.actions.overdue] == [("T000103", FR)]  # one listed ...
    assert wider.actions.overdue_count == 3  # ... all counted
    assert [(d.number, d.promise) for d in wider.actions.due_soon] == [("T000103", RES)]
    # an hour earlier ticket 101's first response is not late yet, and 103's is due within the hour
    earlier = await build_report(database, A - 7 * D, A, now=A - H - timedelta(seconds=1))
    assert earlier.actions.pending[GEN][FR] == PendingCounts(due_soon=1)
    assert earlier.actions.pending[MAJ][FR] == PendingCounts(due_soon=1)
    with pytest.raises(ValueError, match="due_within"):
        await build_report(database, A - 7 * D, A, now=A, due_within=timedelta(0))


async def test_nothing_open(database: Database) -> None:
    await _seed(database)  # the history tickets: some open, none with timers
    report = await build_report(database, T0, UNTIL, now=NOW)
    assert report.actions.open_count() == 5  # tickets 3 (claimed), 4, 7, 9 (new), 5 (reopened)
    assert report.actions.pending_all(FR) == PendingCounts() and report.actions.overdue == ()


# ---------------------------------------------------------------------- trend
async def test_trend_per_day_by_category(database: Database) -> None:
    await _seed(database)
    report = await build_report(database, T0, UNTIL, now=NOW)
    trend = report.trend
    assert trend.unit is TrendUnit.DAY
    assert trend.starts == tuple(T0 + i * D for i in range(7))
    assert trend.by_category == {
        "delivery": (3, 0, 0, 1, 0, 0, 0),  # tickets 7 (at since), 1, 2; 6
        "safety": (0, 0, 0, 0, 0, 1, 1),  # 5 (exactly 5 days in: the sixth day), 4
        "product_quality": (0, 1, 0, 0, 0, 0, 0),
    }
    assert list(trend.by_category) == list(report.by_category)
    assert trend.totals == (3, 1, 0, 1, 0, 1, 1)


async def test_trend_days_are_local_calendar_days(database: Database) -> None:
    await _seed(database)
    shanghai = timezone(timedelta(hours=8))
    report = await build_report(database, T0.astimezone(shanghai), UNTIL.astimezone(shanghai), now=NOW)
    trend = report.trend
    # since is 08:00 in Shanghai: the first day is its rest, the last one ends at 08:00
    assert [s.strftime("%m-%d %H:%M") for s in trend.starts] == ["11-02 08:00"] + [f"11-0{d} 00:00" for d in range(3, 10)]
    assert trend.by_category == {
        "delivery": (3, 0, 0, 1, 0, 0, 0, 0),
        "safety": (0, 0, 0, 0, 0, 1, 1, 0),
        "product_quality": (0, 1, 0, 0, 0, 0, 0, 0),
    }


async def test_trend_per_week_from_monday_for_a_long_period(database: Database) -> None:
    await _seed(database)
    since = T0 - 30 * D  # a Saturday
    report = await build_report(database, since, UNTIL + 2 * D, now=NOW)
    trend = report.trend
    assert trend.unit is TrendUnit.WEEK
    assert trend.starts == (since, *(T0 - 28 * D + i * 7 * D for i in range(6)))  # Mondays, the last is T0 + 7 days
    assert trend.by_category == {
        "delivery": (0, 0, 0, 0, 0, 4, 0),
        "safety": (0, 0, 0, 0, 1, 2, 0),  # 9 (a second before Monday T0); 5 and 4
        "product_quality": (0, 0, 0, 0, 0, 1, 0),
        "other": (0, 0, 0, 0, 0, 0, 1),  # 8, at T0 + 7 days: the next week
    }
    empty = await build_report(database, T0 - 60 * D, T0 - 30 * D, now=NOW)
    assert empty.trend.by_category == {} and len(empty.trend.starts) == 30
