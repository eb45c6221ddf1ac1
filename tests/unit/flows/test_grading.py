"""Severity grades after the classifier as pure rules: no database, no event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flows import grading
from flows.domain import Severity, Ticket, TicketState, Timer, TimerKind
from flows.events import HandoffReason, SeverityRaised, UpgradedPing, UpgradeReason, UrgentTicketPing
from flows.grading import HandoffPolicy

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
POLICY = HandoffPolicy()


def ticket(severity: Severity = Severity.GENERAL, **fields: object) -> Ticket:
    t = Ticket(7, "T000007", 1, 1, "telegram", "100", "delivery", severity, created_at=NOW, sla_started_at=NOW)
    for name, value in fields.items():
        setattr(t, name, value)
    return t


def test_a_repeat_is_the_same_category_closed_within_the_window() -> None:
    window = timedelta(days=30)
    old = ticket(category="delivery", closed_at=NOW - timedelta(days=31))
    other = ticket(category="billing", closed_at=NOW - timedelta(days=1))
    still_open = ticket(category="delivery")
    recent = ticket(category="delivery", closed_at=NOW - timedelta(days=29), number="T000003")
    assert grading.repeat_of("delivery", [other, still_open, recent, old], NOW, window) is recent
    assert grading.repeat_of("delivery", [old, other, still_open], NOW, window) is None


def test_a_new_ticket_s_grade_repeat_then_hot_issue() -> None:
    plain = grading.grade_new_ticket(Severity.GENERAL, repeat=False, in_hot_issue=False)
    assert plain.severity is Severity.GENERAL and not plain.raised_by_hot_issue and plain.urgent_ping(1) is None
    repeat = grading.grade_new_ticket(Severity.GENERAL, repeat=True, in_hot_issue=False)
    assert repeat.severity is Severity.IMPORTANT and not repeat.raised_by_hot_issue, "二次投诉 is at least important"
    issue = grading.grade_new_ticket(Severity.GENERAL, repeat=True, in_hot_issue=True)
    assert (issue.before_issue, issue.severity) == (Severity.IMPORTANT, Severity.HOT) and issue.raised_by_hot_issue
    assert issue.upgrade_audit() == {"from": "important", "to": "hot", "reason": "hot_issue"}
    assert issue.urgent_ping(1) is None, "the hot issue's ping tells of it"
    harm = grading.grade_new_ticket(Severity.HOT, repeat=False, in_hot_issue=True)
    assert not harm.raised_by_hot_issue and harm.urgent_ping(1) == UrgentTicketPing(1, severity=Severity.HOT)
    assert grading.grade_new_ticket(Severity.MAJOR, repeat=True, in_hot_issue=True).severity is Severity.MAJOR, "never down"


def test_a_reopened_ticket_is_at_least_important() -> None:
    assert grading.reopened_grade(Severity.GENERAL) is Severity.IMPORTANT
    assert grading.reopened_grade(Severity.HOT) is Severity.HOT


def test_handoff_policy() -> None:
    assert POLICY.reason(Severity.GENERAL, human_requested=True) is HandoffReason.CUSTOMER_REQUEST
    assert POLICY.reason(Severity.IMPORTANT, human_requested=False) is HandoffReason.SEVERITY
    assert POLICY.reason(Severity.GENERAL, human_requested=False) is None
    assert HandoffPolicy(every_ticket=True).reason(Severity.GENERAL, False) is HandoffReason.EVERY_TICKET


def test_an_upgrade_hands_off_an_unseen_ticket_and_pings_at_hot() -> None:
    change = grading.upgrade(ticket(), Severity.HOT, UpgradeReason.HOT_ISSUE, POLICY)
    assert change is not None and change.hand_off is HandoffReason.SEVERITY and change.ping
    assert change.desk_events(7) == (
        SeverityRaised(7, previous=Severity.GENERAL, severity=Severity.HOT, reason=UpgradeReason.HOT_ISSUE, days=None),
        UpgradedPing(7, severity=Severity.HOT, reason=UpgradeReason.HOT_ISSUE, days=None),
    )
    seen = grading.upgrade(ticket(handoff_reason="customer_request"), Severity.HOT, UpgradeReason.HOT_ISSUE, POLICY, ping=False)
    assert seen is not None and seen.hand_off is None and len(seen.desk_events(7)) == 1
    quiet = grading.upgrade(ticket(), Severity.IMPORTANT, UpgradeReason.HOT_ISSUE, POLICY)
    assert quiet is not None and not quiet.ping, "important is no supervisors' news"
    assert grading.upgrade(ticket(Severity.HOT), Severity.HOT, UpgradeReason.HOT_ISSUE, POLICY) is None


def test_unresolved_for_7_then_30_days() -> None:
    t = ticket()
    hot = Timer(1, 7, TimerKind.UPGRADE_HOT, NOW + timedelta(days=7))
    at = NOW + timedelta(days=7, minutes=1)
    change = grading.overdue(hot, t, at, POLICY)
    assert hot.fired_at == hot.done_at == at
    assert change is not None and change.severity is Severity.HOT and change.days == 7
    assert change.audit() == {"from": "general", "to": "hot", "reason": "unresolved_7d"}
    t.severity = Severity.HOT
    major = Timer(2, 7, TimerKind.UPGRADE_MAJOR, NOW + timedelta(days=30))
    later = grading.overdue(major, t, NOW + timedelta(days=30), POLICY)
    assert later is not None and later.severity is Severity.MAJOR and later.days == 30


def test_a_ticket_resolved_in_time_is_not_upgraded() -> None:
    timer = Timer(1, 7, TimerKind.UPGRADE_HOT, NOW + timedelta(days=7))
    assert grading.overdue(timer, ticket(state=TicketState.RESOLVED), NOW + timedelta(days=8), POLICY) is None
    assert timer.done_at is not None, "the timer ends anyway"
