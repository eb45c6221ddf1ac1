"""The service promises as pure rules: no database, no event loop."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows import sla
from flows.domain import Severity, Ticket, TicketState, Timer, TimerKind
from flows.events import CloseReason, DeadlineMissedPing, DeadlineReminder, HandoffReason, TicketClosed
from flows.sla import BusinessHours, Promises

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PROMISES = Promises()


def ticket(severity: Severity = Severity.GENERAL, **fields: object) -> Ticket:
    t = Ticket(7, "T000007", 1, 1, "telegram", "100", "delivery", severity, created_at=NOW, sla_started_at=NOW)
    for name, value in fields.items():
        setattr(t, name, value)
    return t


def test_deadlines_follow_the_sla_table_per_severity() -> None:
    general = PROMISES.deadlines(Severity.GENERAL, NOW)
    major = PROMISES.deadlines(Severity.MAJOR, NOW)
    assert general.first_response == NOW + timedelta(hours=2)
    assert general.substantive_reply == NOW + timedelta(days=1)
    assert major.first_response == NOW + timedelta(minutes=30)
    assert major.resolution == NOW + timedelta(days=1)


def test_business_hours_and_holidays_stop_the_clock() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    hours = BusinessHours(
        timezone=shanghai, opens=time(9), closes=time(18), workdays=frozenset(range(5)), holidays=frozenset({date(2026, 11, 30)})
    )
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=shanghai)
    # 1 h on Friday, Saturday/Sunday off, Monday 30 Nov a holiday, 1 h on Tuesday
    assert hours.add(friday_5pm, timedelta(hours=2)) == datetime(2026, 12, 1, 10, 0, tzinfo=shanghai)
    night = datetime(2026, 12, 1, 23, 0, tzinfo=shanghai)
    assert hours.add(night, timedelta(minutes=30)) == datetime(2026, 12, 2, 9, 30, tzinfo=shanghai)
    assert BusinessHours().add(night, timedelta(hours=2)) == night + timedelta(hours=2)


def test_business_hours_count_real_time_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    hours = BusinessHours(timezone=berlin, opens=time(0), closes=time(23, 59))
    before = datetime(2026, 3, 29, 1, 0, tzinfo=berlin)  # clocks jump from 02:00 to 03:00
    assert hours.add(before, timedelta(hours=2)) == datetime(2026, 3, 29, 4, 0, tzinfo=berlin)


def test_a_new_ticket_gets_its_unmet_promises_and_the_upgrades_it_has_not_reached() -> None:
    timers = sla.timers_to_start(ticket(), PROMISES, NOW, NOW)
    kinds = {t.kind: t for t in timers}
    assert list(kinds) == [*sla.SLA_KINDS, TimerKind.UPGRADE_HOT, TimerKind.UPGRADE_MAJOR]
    assert all(t.ticket_id == 7 for t in timers)
    assert kinds[TimerKind.FIRST_RESPONSE].remind_at == NOW + timedelta(minutes=90), "75 % of 2 h"
    assert kinds[TimerKind.UPGRADE_HOT].due_at == NOW + timedelta(days=7)
    assert kinds[TimerKind.UPGRADE_MAJOR].due_at == NOW + timedelta(days=30)
    hot = sla.timers_to_start(ticket(Severity.HOT, first_response_at=NOW), PROMISES, NOW, NOW)
    assert [t.kind for t in hot] == [TimerKind.SUBSTANTIVE_REPLY, TimerKind.RESOLUTION, TimerKind.UPGRADE_MAJOR]


def test_a_restart_counts_every_promise_from_the_reopening() -> None:
    t = ticket(first_response_at=NOW, first_reply_at=NOW)
    later = NOW + timedelta(days=3)
    timers = sla.restart(t, PROMISES, later)
    assert t.sla_started_at == later and t.first_response_due == later + timedelta(hours=2)
    assert [x.kind for x in timers] == [*sla.SLA_KINDS, TimerKind.UPGRADE_HOT, TimerKind.UPGRADE_MAJOR]
    assert {x.kind: x.due_at for x in timers}[TimerKind.UPGRADE_HOT] == later + timedelta(days=7)


def test_a_change_of_severity_moves_the_deadlines_and_stops_reached_upgrades() -> None:
    t = ticket(Severity.MAJOR)
    reminded = Timer(1, 7, TimerKind.RESOLUTION, NOW + timedelta(days=7), remind_at=NOW, reminded_at=NOW)
    first = Timer(2, 7, TimerKind.FIRST_RESPONSE, NOW + timedelta(hours=2))
    upgrade = Timer(3, 7, TimerKind.UPGRADE_HOT, NOW + timedelta(days=7))
    now = NOW + timedelta(minutes=10)
    changed = sla.reschedule(t, PROMISES, [reminded, first, upgrade], now)
    assert changed == [reminded, first, upgrade]
    assert first.due_at == NOW + timedelta(minutes=30) and t.first_response_due == first.due_at
    assert reminded.due_at == NOW + timedelta(days=1) and reminded.reminded_at is None, "remind again before the new deadline"
    assert upgrade.done_at == now


def test_a_reminder_then_the_breach_each_once() -> None:
    t = ticket()
    timer = sla.timers_to_start(t, PROMISES, NOW, NOW, [TimerKind.FIRST_RESPONSE])[0]
    assert sla.deadline_due(timer, t, NOW + timedelta(minutes=89)) is None
    at = NOW + timedelta(minutes=91)
    reminder = sla.deadline_due(timer, t, at)
    assert reminder is not None and not reminder.breached and timer.reminded_at == at
    assert reminder.hand_off is HandoffReason.DUE_SOON, "the desk has not seen it: hand it off"
    assert reminder.desk == (DeadlineReminder(7, timer=TimerKind.FIRST_RESPONSE, due=timer.due_at, breached=False, owner=None),)
    assert reminder.audit_kind == "sla_reminder" and reminder.audit == {"timer": "first_response", "due": timer.due_at.isoformat()}
    assert sla.deadline_due(timer, t, at) is None, "once"
    t.handoff_reason = HandoffReason.DUE_SOON
    late = NOW + timedelta(hours=2)
    breach = sla.deadline_due(timer, t, late)
    assert breach is not None and breach.breached and breach.hand_off is None and timer.fired_at == late
    assert [type(e) for e in breach.desk] == [DeadlineReminder, DeadlineMissedPing]
    assert sla.deadline_due(timer, t, late + timedelta(hours=1)) is None


def test_a_breach_without_a_reminder_counts_as_both() -> None:
    t = ticket(state=TicketState.RESOLVED, handoff_reason=None)
    timer = Timer(1, 7, TimerKind.RESOLUTION, NOW, remind_at=NOW - timedelta(hours=1))
    breach = sla.deadline_due(timer, t, NOW)
    assert breach is not None and breach.breached and timer.reminded_at == NOW
    assert breach.hand_off is None, "a resolved ticket is not handed off"


def test_the_follow_up_closes_only_a_resolved_ticket() -> None:
    t = ticket(state=TicketState.RESOLVED)
    timer = sla.follow_up_timer(t, PROMISES, NOW)
    assert (timer.kind, timer.due_at) == (TimerKind.FOLLOW_UP, NOW + timedelta(days=3))
    closing = sla.follow_up_due(timer, t, timer.due_at)
    assert timer.done_at == timer.due_at
    assert closing is not None and closing.audit == {"reason": "no_answer"} and closing.reply_key == "feedback.closed_no_answer"
    assert closing.desk == (TicketClosed(7, reason=CloseReason.NO_ANSWER),)
    assert sla.follow_up_due(timer, ticket(state=TicketState.REOPENED), timer.due_at) is None


def test_promises_kept_by_each_action() -> None:
    assert sla.KEPT_BY_CLAIM == (TimerKind.FIRST_RESPONSE,)
    assert sla.KEPT_BY_REPLY == (TimerKind.FIRST_RESPONSE, TimerKind.SUBSTANTIVE_REPLY)
    assert sla.KEPT_BY_RESOLVING == sla.SLA_KINDS
