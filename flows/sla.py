"""Service promises (SLA): deadlines per severity, business hours, the ticket timers that
keep them, the reminder and breach decisions, and the follow-up (回访).

Pure rules: every function here takes the ticket, its timers and the time and returns
(or sets on the objects it is given) what should happen; nothing awaits, nothing is
read or written. :mod:`flows.lifecycle` and :mod:`flows.scheduler` load the state, call
these and write the result in the turn's transaction.

The rules and defaults come from DESIGN.md: a first human response and a substantive
reply within the SLA table's times (urgent complaints get a human within 2 hours; every
complaint is investigated within 2 hours and gets a substantive reply within a day);
unresolved 7 days after submission → at least hot, 30 days → major (the timers are here,
the grades in :mod:`flows.grading`); no answer to the follow-up in 3 days closes the
ticket. The desk is reminded when ``remind_at`` (75 %) of an SLA's time has passed and
the supervisors are pinged when it is missed, each at most once (the timer records it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.domain import Severity, Ticket, TicketState, Timer, TimerKind
from flows.events import CloseReason, DeadlineMissedPing, DeadlineReminder, DeskEvent, HandoffReason, TicketClosed
from flows.ticket import OPEN_STATES

SLA_KINDS = (TimerKind.FIRST_RESPONSE, TimerKind.SUBSTANTIVE_REPLY, TimerKind.RESOLUTION)
"""The promises to the customer: a person responds, an agent replies, it is resolved."""

UPGRADES = ((TimerKind.UPGRADE_HOT, Severity.HOT), (TimerKind.UPGRADE_MAJOR, Severity.MAJOR))
"""The time-based upgrade timers and the grade each one raises an unresolved ticket to."""

# which promises an action keeps (their timers stop)
KEPT_BY_CLAIM = (TimerKind.FIRST_RESPONSE,)
KEPT_BY_REPLY = (TimerKind.FIRST_RESPONSE, TimerKind.SUBSTANTIVE_REPLY)
KEPT_BY_RESOLVING = SLA_KINDS
KEPT_BY_ANSWERING_THE_FOLLOW_UP = (TimerKind.FOLLOW_UP,)


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


@dataclass(frozen=True, slots=True)
class Deadlines:
    first_response: datetime
    substantive_reply: datetime
    resolution: datetime


@dataclass(frozen=True)
class ServiceLevels:
    """The SLA table by severity: first human response, substantive reply, resolution.

    DESIGN.md: urgent complaints get a human response within 2 hours; every complaint
    is being investigated within 2 hours and gets a substantive reply within 1 day.
    Deadlines from it (with business hours) come from :class:`Promises`.
    """

    first_response: dict[Severity, timedelta] = field(
        default_factory=lambda: {
            Severity.GENERAL: _hours(2),
            Severity.IMPORTANT: _hours(2),
            Severity.HOT: _hours(1),
            Severity.MAJOR: _hours(0.5),
        }
    )
    substantive_reply: dict[Severity, timedelta] = field(
        default_factory=lambda: {
            Severity.GENERAL: _hours(24),
            Severity.IMPORTANT: _hours(24),
            Severity.HOT: _hours(12),
            Severity.MAJOR: _hours(4),
        }
    )
    resolution: dict[Severity, timedelta] = field(
        default_factory=lambda: {
            Severity.GENERAL: _hours(7 * 24),
            Severity.IMPORTANT: _hours(5 * 24),
            Severity.HOT: _hours(3 * 24),
            Severity.MAJOR: _hours(24),
        }
    )


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
        """The promised times of a ticket of ``severity`` whose promises began at ``start``."""
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
        """The timer of one promise (its deadline and its reminder), not yet a ticket's."""
        duration = self._sla(kind, severity)
        return Timer(
            id=None,
            ticket_id=0,
            kind=kind,
            due_at=self.hours.add(start, duration),
            remind_at=self.hours.add(start, duration * self.remind_at) if 0 < self.remind_at < 1 else None,
            created_at=now,
        )

    def upgrade_after(self, kind: TimerKind) -> timedelta:
        """How long after submission (or a reopening) an upgrade timer is due."""
        return {TimerKind.UPGRADE_HOT: self.upgrade_hot_after, TimerKind.UPGRADE_MAJOR: self.upgrade_major_after}[kind]


# ---------------------------------------------------------------------- deadlines and timers
def set_deadlines(ticket: Ticket, promises: Promises, start: datetime) -> None:
    """The ticket's promised times, shown to customers and agents."""
    deadlines = promises.deadlines(ticket.severity, start)
    ticket.first_response_due = deadlines.first_response
    ticket.reply_due = deadlines.substantive_reply
    ticket.resolution_due = deadlines.resolution


def sla_start(ticket: Ticket) -> datetime:
    """When the ticket's current promises began: submission, or its last reopening."""
    start = ticket.sla_started_at or ticket.created_at
    assert start is not None
    return start


def unmet(ticket: Ticket) -> list[TimerKind]:
    """The SLA promises the ticket has not kept yet."""
    kinds = []
    if ticket.first_response_at is None:
        kinds.append(TimerKind.FIRST_RESPONSE)
    if ticket.first_reply_at is None:
        kinds.append(TimerKind.SUBSTANTIVE_REPLY)
    kinds.append(TimerKind.RESOLUTION)
    return kinds


def upgrade_timers(ticket: Ticket, promises: Promises, now: datetime) -> list[Timer]:
    """"Unresolved 7 / 30 days after submission" (or after a reopening) for the grades
    the ticket has not reached."""
    assert ticket.id is not None
    start = sla_start(ticket)
    return [
        Timer(None, ticket.id, kind, due_at=max(start + promises.upgrade_after(kind), now), created_at=now)
        for kind, grade in UPGRADES
        if ticket.severity.rank < grade.rank
    ]


def timers_to_start(
    ticket: Ticket, promises: Promises, start: datetime, now: datetime, kinds: Iterable[TimerKind] | None = None
) -> list[Timer]:
    """SLA timers from ``start`` (submission, or a reopening; the unmet ones unless
    ``kinds`` says which) and the upgrade timers, for the saved ``ticket``."""
    assert ticket.id is not None
    wanted = list(kinds) if kinds is not None else unmet(ticket)
    timers = [promises.sla_timer(kind, ticket.severity, start, now) for kind in wanted]
    timers += upgrade_timers(ticket, promises, now)
    for timer in timers:
        timer.ticket_id = ticket.id
    return timers


def restart(ticket: Ticket, promises: Promises, now: datetime) -> list[Timer]:
    """A reopened ticket: every promise starts again from ``now`` (first response, reply,
    resolution, and the 7 / 30 day upgrades). Sets the ticket's start and deadlines and
    returns the timers to start once all its open timers are finished."""
    ticket.sla_started_at = now
    set_deadlines(ticket, promises, now)
    return timers_to_start(ticket, promises, now, now, SLA_KINDS)


def reschedule(ticket: Ticket, promises: Promises, open_timers: Sequence[Timer], now: datetime) -> list[Timer]:
    """After a change of severity: the ticket's deadlines, and its open SLA timers, follow
    the new severity (counted from submission or the last reopening); a reminder not yet
    due moves with its deadline; upgrade timers for grades now reached stop. Changes the
    timers given and returns those that changed (to be saved), in their order."""
    start = sla_start(ticket)
    set_deadlines(ticket, promises, start)
    changed = []
    for timer in open_timers:
        if timer.kind in SLA_KINDS:
            fresh = promises.sla_timer(timer.kind, ticket.severity, start, now)
            timer.due_at, timer.remind_at = fresh.due_at, fresh.remind_at
            if timer.reminded_at is not None and timer.remind_at and timer.remind_at > now:
                timer.reminded_at = None  # the new deadline is later: remind again before it
            changed.append(timer)
        elif any(timer.kind is kind and ticket.severity.rank >= grade.rank for kind, grade in UPGRADES):
            timer.done_at = now
            changed.append(timer)
    return changed


def follow_up_timer(ticket: Ticket, promises: Promises, now: datetime) -> Timer:
    """Resolved: the customer is asked whether it is solved; no answer in time closes it."""
    return Timer(None, ticket.id or 0, TimerKind.FOLLOW_UP, now + promises.follow_up_after, created_at=now)


# ---------------------------------------------------------------------- a due timer
@dataclass(frozen=True, slots=True)
class DeadlineNotice:
    """What a due SLA timer does: a reminder before its deadline or the breach after it."""

    breached: bool
    hand_off: HandoffReason | None  # the desk has not seen the ticket yet: hand it off now
    audit_kind: str  # the ticket event recorded
    audit: dict[str, Any]
    desk: tuple[DeskEvent, ...]  # in order: the card's thread, then (a breach) the supervisors


def deadline_due(timer: Timer, ticket: Ticket, now: datetime) -> DeadlineNotice | None:
    """A reminder when ``remind_at`` has passed, the breach when ``due_at`` has: each at
    most once (``timer.reminded_at`` / ``fired_at`` are set here, saved with the notice);
    a reminder after the deadline says nothing new, so a breach counts as both. None when
    nothing is due."""
    due = timer.due_at.isoformat()
    data = {"timer": timer.kind.value, "due": due}
    hand_off = HandoffReason.DUE_SOON if ticket.handoff_reason is None and ticket.state in OPEN_STATES else None
    if timer.fired_at is None and timer.due_at <= now:
        timer.fired_at = now
        timer.reminded_at = timer.reminded_at or now
        reminder = DeadlineReminder(ticket.id, timer=timer.kind, due=timer.due_at, breached=True, owner=ticket.owner_id)
        missed = DeadlineMissedPing(ticket.id, timer=timer.kind, due=timer.due_at)
        return DeadlineNotice(True, hand_off, "sla_breached", data, (reminder, missed))
    if timer.reminded_at is None and timer.remind_at is not None and timer.remind_at <= now:
        timer.reminded_at = now
        reminder = DeadlineReminder(ticket.id, timer=timer.kind, due=timer.due_at, breached=False, owner=ticket.owner_id)
        return DeadlineNotice(False, hand_off, "sla_reminder", data, (reminder,))
    return None


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """Nobody answered the follow-up in time: the ticket is closed, the customer is told
    they can reopen it (``reply_key`` in the catalogue), the desk hears of it."""

    audit: dict[str, str]  # the data of the ticket's "close" event
    reply_key: str
    desk: tuple[DeskEvent, ...]


def follow_up_due(timer: Timer, ticket: Ticket, now: datetime) -> NoAnswer | None:
    """The follow-up's time is up (the timer ends here): the ticket is closed for want of
    an answer, unless the customer answered or it was reopened (None)."""
    timer.fired_at = timer.done_at = now
    if ticket.state is not TicketState.RESOLVED:
        return None
    reason = CloseReason.NO_ANSWER
    return NoAnswer({"reason": reason.value}, "feedback.closed_no_answer", (TicketClosed(ticket.id, reason=reason),))
