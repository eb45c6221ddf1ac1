"""Severity grades (投诉性质) after the classifier: the repeat complaint (二次投诉), the hot
issue, the time-based upgrades, a reopening, and the hand-off to the desk they lead to.

Pure rules: they take the ticket (and what was read for it) and the time and return the
decision: the new severity with its reason, the audit record, the desk events, whether
the ticket now goes to the desk. :mod:`flows.lifecycle` and :mod:`flows.scheduler` load
and write. The :class:`~nlp.Severity` enum itself stays in ``nlp``: the classifier
suggests a grade and ``nlp`` must not import ``flows``.

DESIGN.md's table, for what the rules here decide:

- important (重要) at least: a repeat complaint — the same customer complains about the
  same category again within ``Promises.repeat_window`` (30 days) of a closed ticket, or
  a resolved or closed ticket is reopened (not solved, low rating);
- hot (热点) at least: the ticket belongs to a hot issue (:mod:`flows.hot_issues`), or it
  is still unresolved 7 days after submission (or its last reopening);
- major (重大): still unresolved after 30 days.

An automatic upgrade is never a downgrade, keeps its reason for the audit trail and the
card, moves the deadlines (:func:`flows.sla.reschedule`), hands the ticket to the desk
when the hand-off policy now asks for it, and pings the supervisors at hot or major.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.domain import Severity, Ticket, Timer, TimerKind
from flows.events import DeskEvent, HandoffReason, SeverityRaised, UpgradedPing, UpgradeReason, UrgentTicketPing
from flows.sla import UPGRADES, sla_start
from flows.ticket import OPEN_STATES

REPEAT_GRADE = Severity.IMPORTANT  # 二次投诉: at least this
HOT_ISSUE_GRADE = Severity.HOT  # a member of a hot issue: at least this
PING_GRADE = Severity.HOT  # the supervisors hear of tickets this severe
UPGRADE_TARGETS: dict[TimerKind, Severity] = dict(UPGRADES)


@dataclass(frozen=True, slots=True)
class HandoffPolicy:
    """When a submitted complaint goes to the agents' desk.

    Always when the customer asks for a person; when its severity is ``min_severity``
    or higher; and every ticket when ``every_ticket`` is set.
    """

    every_ticket: bool = False
    min_severity: Severity = Severity.IMPORTANT

    def reason(self, severity: Severity, human_requested: bool) -> HandoffReason | None:
        """Why the ticket is handed off, or None."""
        if human_requested:
            return HandoffReason.CUSTOMER_REQUEST
        if severity.rank >= self.min_severity.rank:
            return HandoffReason.SEVERITY
        if self.every_ticket:
            return HandoffReason.EVERY_TICKET
        return None


# ---------------------------------------------------------------------- a new complaint
def repeat_of(category: str, earlier: Sequence[Ticket], now: datetime, window: timedelta) -> Ticket | None:
    """二次投诉: the first of the customer's ``earlier`` tickets (newest first) of the same
    category closed within ``window`` before ``now``, if any."""
    since = now - window
    for ticket in earlier:
        if ticket.category == category and ticket.closed_at is not None and ticket.closed_at >= since:
            return ticket
    return None


@dataclass(frozen=True, slots=True)
class OpeningGrade:
    """The severity a new ticket opens with, and how it came about."""

    suggested: Severity  # the classifier's (or the customer's draft's)
    before_issue: Severity  # after the repeat rule, before the hot-issue rule
    severity: Severity
    in_hot_issue: bool

    @property
    def raised_by_hot_issue(self) -> bool:
        return self.severity is not self.before_issue

    def upgrade_audit(self) -> dict[str, str]:
        """The ``auto_upgraded`` record when the hot issue raised it."""
        return {"from": self.before_issue.value, "to": self.severity.value, "reason": UpgradeReason.HOT_ISSUE.audit(None)}

    def urgent_ping(self, ticket_id: int | None) -> UrgentTicketPing | None:
        """Supervisors hear of a hot or major new ticket; one raised only by its hot issue
        is told with the issue's ping instead."""
        if self.severity.rank >= PING_GRADE.rank and (not self.in_hot_issue or self.suggested.rank >= PING_GRADE.rank):
            return UrgentTicketPing(ticket_id, severity=self.severity)
        return None


def grade_new_ticket(suggested: Severity, *, repeat: bool, in_hot_issue: bool) -> OpeningGrade:
    """A repeat complaint is at least important, a hot issue's ticket at least hot."""
    severity = suggested.at_least(REPEAT_GRADE) if repeat else suggested
    before_issue = severity
    if in_hot_issue:
        severity = severity.at_least(HOT_ISSUE_GRADE)
    return OpeningGrade(suggested, before_issue, severity, in_hot_issue)


def reopened_grade(severity: Severity) -> Severity:
    """A reopened ticket (not solved, low rating) is a repeat complaint: at least important."""
    return severity.at_least(REPEAT_GRADE)


# ---------------------------------------------------------------------- automatic upgrades
@dataclass(frozen=True, slots=True)
class Upgrade:
    """An automatic upgrade decided for a ticket."""

    previous: Severity
    severity: Severity
    reason: UpgradeReason
    days: int | None  # unresolved for so many days (UpgradeReason.UNRESOLVED)
    hand_off: HandoffReason | None  # the ticket now goes to the desk (it was not there)
    ping: bool  # the supervisors are pinged about it

    def audit(self) -> dict[str, str]:
        """The ``auto_upgraded`` record."""
        return {"from": self.previous.value, "to": self.severity.value, "reason": self.reason.audit(self.days)}

    def desk_events(self, ticket_id: int | None) -> tuple[DeskEvent, ...]:
        """The card's news, then the supervisors' ping."""
        raised = SeverityRaised(ticket_id, previous=self.previous, severity=self.severity, reason=self.reason, days=self.days)
        if not self.ping:
            return (raised,)
        return raised, UpgradedPing(ticket_id, severity=self.severity, reason=self.reason, days=self.days)


def upgrade(
    ticket: Ticket,
    target: Severity,
    reason: UpgradeReason,
    handoff: HandoffPolicy,
    *,
    ping: bool = True,
    days: int | None = None,
) -> Upgrade | None:
    """At least ``target``, or None when the ticket is there already. A ticket the desk
    has not seen goes there when the policy asks for it at the new grade; the supervisors
    are pinged at hot or major unless ``ping`` is off (the caller pings otherwise)."""
    if ticket.severity.rank >= target.rank:
        return None
    reason_to_hand_off = handoff.reason(target, human_requested=False)
    hand_off = reason_to_hand_off if not ticket.handoff_reason and ticket.state in OPEN_STATES else None
    return Upgrade(ticket.severity, target, reason, days, hand_off, ping and target.rank >= PING_GRADE.rank)


def overdue(timer: Timer, ticket: Ticket, now: datetime, handoff: HandoffPolicy) -> Upgrade | None:
    """An upgrade timer is due (it ends here): an open ticket unresolved 7 days after
    submission (or its reopening) becomes at least hot, after 30 days major. None for a
    ticket resolved in time (a reopening starts the timers again) or already there."""
    timer.fired_at = timer.done_at = now
    if ticket.state not in OPEN_STATES:
        return None
    days = (now - sla_start(ticket)).days
    return upgrade(ticket, UPGRADE_TARGETS[timer.kind], UpgradeReason.UNRESOLVED, handoff, days=days)
