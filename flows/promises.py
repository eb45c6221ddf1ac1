"""Service promises: deadlines per severity, business hours, and the ticket timers that
remind the desk, ping supervisors, upgrade old tickets and close unanswered follow-ups.

The rules and defaults come from DESIGN.md: a first human response and a substantive
reply within the SLA table's times; unresolved 7 days after submission → at least hot,
30 days → major; no answer to the follow-up (回访) in 3 days closes the ticket. Timers
live in the database (see ``TimerRepository``), so they survive restarts; the scheduler
(:mod:`flows.scheduler`) acts on the ones that are due.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows.domain import Severity, Ticket, Timer, TimerKind
from flows.policy import Deadlines, ServiceLevels
from flows.turn import Turn

SLA_KINDS = (TimerKind.FIRST_RESPONSE, TimerKind.SUBSTANTIVE_REPLY, TimerKind.RESOLUTION)
UPGRADES = ((TimerKind.UPGRADE_HOT, Severity.HOT), (TimerKind.UPGRADE_MAJOR, Severity.MAJOR))


@dataclass(frozen=True)
class BusinessHours:
    """When SLA time runs. Default: round the clock, every day."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    opens: time | None = None  # None: round the clock
    closes: time | None = None
    workdays: frozenset[int] = frozenset(range(7))  # 0 = Monday
    holidays: frozenset[date] = frozenset()

    @property
    def always(self) -> bool:
        return self.opens is None and self.workdays == frozenset(range(7)) and not self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of ``day``, or None on a day off."""
        if day.weekday() not in self.workdays or day in self.holidays:
            return None
        opens = datetime.combine(day, self.opens or time(0), tzinfo=self.timezone)
        if self.closes is None:
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.timezone)
        else:
            closes = datetime.combine(day, self.closes, tzinfo=self.timezone)
        return opens, closes

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """``start`` plus ``duration`` of working time (UTC)."""
        if self.always:
            return start + duration
        remaining = duration
        moment = start.astimezone(self.timezone)
        for _ in range(3660):  # ten years of days: ends long before for any sane calendar
            window = self._window(moment.date())
            if window is not None:
                opens, closes = window
                moment = max(moment, opens)
                if moment < closes:
                    # in UTC: on a daylight-saving day the local hours are not all 60 minutes apart
                    available = closes.astimezone(UTC) - moment.astimezone(UTC)
                    if remaining <= available:
                        return moment.astimezone(UTC) + remaining
                    remaining -= available
            next_day = moment.date() + timedelta(days=1)
            moment = datetime.combine(next_day, time(0), tzinfo=self.timezone)
        raise ValueError("business hours leave no working time")


@dataclass(frozen=True)
class Promises:
    """The SLA table with business hours and the time-based rules."""

    levels: ServiceLevels = field(default_factory=ServiceLevels)
    hours: BusinessHours = field(default_factory=BusinessHours)
    remind_at: float = 0.75  # remind the desk when this share of an SLA's time has passed
    upgrade_hot_after: timedelta = timedelta(days=7)
    upgrade_major_after: timedelta = timedelta(days=30)
    follow_up_after: timedelta = timedelta(days=3)
    repeat_window: timedelta = timedelta(days=30)  # a new complaint this soon after a closed one is a repeat
    hot_issue_window: timedelta = timedelta(days=30)
    hot_issue_customers: int = 3

    def deadlines(self, severity: Severity, start: datetime) -> Deadlines:
        levels = self.levels
        return Deadlines(
            first_response=self.hours.add(start, levels.first_response[severity]),
            substantive_reply=self.hours.add(start, levels.substantive_reply[severity]),
            resolution=self.hours.add(start, levels.resolution[severity]),
        )

    def _sla(self, kind: TimerKind, severity: Severity) -> timedelta:
        table = {
            TimerKind.FIRST_RESPONSE: self.levels.first_response,
            TimerKind.SUBSTANTIVE_REPLY: self.levels.substantive_reply,
            TimerKind.RESOLUTION: self.levels.resolution,
        }[kind]
        return table[severity]

    def sla_timer(self, kind: TimerKind, severity: Severity, start: datetime, now: datetime) -> Timer:
        duration = self._sla(kind, severity)
        return Timer(
            id=None,
            ticket_id=0,
            kind=kind,
            due_at=self.hours.add(start, duration),
            remind_at=self.hours.add(start, duration * self.remind_at) if 0 < self.remind_at < 1 else None,
            created_at=now,
        )


def set_deadlines(ticket: Ticket, promises: Promises, start: datetime) -> None:
    """The ticket's promised times, shown to customers and agents."""
    deadlines = promises.deadlines(ticket.severity, start)
    ticket.first_response_due = deadlines.first_response
    ticket.reply_due = deadlines.substantive_reply
    ticket.resolution_due = deadlines.resolution


def _unmet(ticket: Ticket) -> list[TimerKind]:
    kinds = []
    if ticket.first_response_at is None:
        kinds.append(TimerKind.FIRST_RESPONSE)
    if ticket.first_reply_at is None:
        kinds.append(TimerKind.SUBSTANTIVE_REPLY)
    kinds.append(TimerKind.RESOLUTION)
    return kinds


async def start_timers(
    turn: Turn, ticket: Ticket, promises: Promises, start: datetime, kinds: Iterable[TimerKind] | None = None
) -> None:
    """SLA timers from ``start`` (submission, or a reopening) and the upgrade timers."""
    assert ticket.id is not None
    now = turn.now
    wanted = list(kinds) if kinds is not None else _unmet(ticket)
    timers = [promises.sla_timer(kind, ticket.severity, start, now) for kind in wanted]
    timers += upgrade_timers(ticket, promises, now)
    for timer in timers:
        timer.ticket_id = ticket.id
    await turn.uow.timers.add_all(timers)


def sla_start(ticket: Ticket) -> datetime:
    """When the ticket's current promises began: submission, or its last reopening."""
    start = ticket.sla_started_at or ticket.created_at
    assert start is not None
    return start


def upgrade_timers(ticket: Ticket, promises: Promises, now: datetime) -> list[Timer]:
    """"Unresolved 7 / 30 days after submission" (or after a reopening) for the grades
    the ticket has not reached."""
    assert ticket.id is not None
    start = sla_start(ticket)
    timers = []
    for (kind, grade), after in zip(UPGRADES, (promises.upgrade_hot_after, promises.upgrade_major_after), strict=True):
        if ticket.severity.rank < grade.rank:
            timers.append(Timer(None, ticket.id, kind, due_at=max(start + after, now), created_at=now))
    return timers


async def restart(turn: Turn, ticket: Ticket, promises: Promises) -> None:
    """A reopened ticket: every promise starts again from now (first response, reply,
    resolution, and the 7 / 30 day upgrades); the old timers stop."""
    assert ticket.id is not None
    ticket.sla_started_at = turn.now
    set_deadlines(ticket, promises, turn.now)
    await turn.uow.timers.finish(ticket.id, tuple(TimerKind), turn.now)
    await start_timers(turn, ticket, promises, turn.now, SLA_KINDS)


async def met(turn: Turn, ticket: Ticket, kinds: Iterable[TimerKind]) -> None:
    """The promise is kept: those timers stop."""
    assert ticket.id is not None
    await turn.uow.timers.finish(ticket.id, tuple(kinds), turn.now)


async def reschedule(turn: Turn, ticket: Ticket, promises: Promises) -> None:
    """After a change of severity: open SLA timers get the new severity's deadlines
    (counted from submission or the last reopening), a not-yet-sent reminder moves with
    them; upgrade timers for grades now reached stop."""
    assert ticket.id is not None
    start = sla_start(ticket)
    set_deadlines(ticket, promises, start)
    for timer in await turn.uow.timers.open_for_ticket(ticket.id):
        if timer.kind in SLA_KINDS:
            fresh = promises.sla_timer(timer.kind, ticket.severity, start, turn.now)
            timer.due_at, timer.remind_at = fresh.due_at, fresh.remind_at
            if timer.reminded_at is not None and timer.remind_at and timer.remind_at > turn.now:
                timer.reminded_at = None  # the new deadline is later: remind again before it
            await turn.uow.timers.save(timer)
        elif any(timer.kind is kind and ticket.severity.rank >= grade.rank for kind, grade in UPGRADES):
            timer.done_at = turn.now
            await turn.uow.timers.save(timer)
