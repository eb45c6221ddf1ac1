"""Ticket operations shared by the customer side, the agents' desk and the timers: the
I/O around the rules.

The rules are pure and live where their names say: deadlines and timers in
:mod:`flows.sla`, severity grades (二次投诉, hot issue, overdue) and the hand-off in
:mod:`flows.grading`, the hot-issue decision in :mod:`flows.hot_issues` (its lock,
reading and writing: :func:`match_hot_issue` here), the intake's details in
:mod:`flows.steps`. Here the turn's unit of work is read, the rule is asked, and its
decision is written: the ticket, its timers, the audit trail (every state change and
every agent action is recorded as a :class:`TicketEvent`) and the desk's news.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows import grading, hot_issues, sla
from flows import ticket as ticket_machine
from flows.domain import Conversation, Draft, HotIssue, Severity, Ticket, TicketEvent, TicketState, TimerKind
from flows.events import (
    HandoffReason,
    HotIssuePing,
    JoinedHotIssue,
    ReopenedPing,
    ReopenReason,
    TicketHandedOff,
    TicketReopened,
    UpgradeReason,
)
from flows.grading import HandoffPolicy
from flows.sla import Promises
from flows.steps import UNASKED_DETAILS, detail_fields
from flows.ticket import OPEN_STATES
from flows.turn import Turn

CUSTOMER = "customer"
SYSTEM = "system"
# audit kinds that are read back (the desk's view of a ticket: flows.service.desk_view)
JOINED_HOT_ISSUE = "hot_issue"
CRISIS_PINNED = "crisis_pinned"


async def record(
    turn: Turn,
    ticket: Ticket,
    kind: str,
    actor: str,
    before: TicketState | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Write an audit event for ``ticket``."""
    assert ticket.id is not None
    await turn.uow.events.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            actor=actor,
            from_state=before.value if before else None,
            to_state=ticket.state.value,
            data=data,
            created_at=turn.now,
        )
    )


async def apply(
    turn: Turn, ticket: Ticket, event: str, actor: str, data: dict[str, Any] | None = None
) -> None:
    """Fire ``event`` on the ticket machine, stamp the ticket and record the event."""
    before = ticket_machine.fire(ticket, event)
    ticket.updated_at = turn.now
    if ticket.state is TicketState.RESOLVED:
        ticket.resolved_at = turn.now
    elif ticket.state is TicketState.CLOSED:
        ticket.closed_at = turn.now
    await record(turn, ticket, event, actor, before, data)


async def hand_off(turn: Turn, ticket: Ticket, reason: HandoffReason, actor: str = SYSTEM) -> None:
    """Send the ticket to the agents' desk (its card), with why; the caller saves the ticket."""
    ticket.handoff_reason = reason
    ticket.updated_at = turn.now
    turn.to_desk(TicketHandedOff(ticket.id, reason=reason))
    await record(turn, ticket, "handed_off", actor, ticket.state, {"reason": reason.value})


def draft_details(draft: Draft) -> dict[str, Any]:
    """The draft's answers to the intake's detail questions (every ``Detail.field`` of
    the step table, :func:`flows.steps.detail_fields`), for the ticket: a detail step
    added to the table reaches the ticket with no change here (the ticket needs the
    field: tests/unit/flows/test_steps.py checks it has); and the details no step asks
    (:data:`flows.steps.UNASKED_DETAILS`: the amount paid, only taken from their words)."""
    asked = {detail.field: getattr(draft, detail.field) for detail in detail_fields()}
    return asked | {detail.field: getattr(draft, detail.field) for detail in UNASKED_DETAILS}


async def open_ticket(
    turn: Turn,
    conversation: Conversation,
    promises: Promises,
    handoff: HandoffPolicy,
    terms: Sequence[str] = (),
    *,
    human_requested: bool,
) -> Ticket:
    """Create the ticket from the conversation's draft: the repeat and hot-issue rules
    decide its severity, then its deadlines and timers, then the hand-off when the policy
    says so."""
    draft = conversation.draft
    suggested = Severity(draft.severity)
    assert conversation.id is not None
    ticket = Ticket(
        id=None,
        number=None,
        customer_id=turn.customer.id or 0,
        conversation_id=conversation.id,
        channel=turn.channel,
        chat_id=turn.chat_id,
        category=draft.category or draft.suggested_category or "other",
        severity=suggested,
        description=draft.description,
        photos=list(draft.photos),
        classification=draft.suggestion,
        language=turn.language,
        created_at=turn.now,
        updated_at=turn.now,
        sla_started_at=turn.now,
        **draft_details(draft),
    )
    earlier = await turn.uow.tickets.for_customer(ticket.customer_id, limit=20)
    repeat_of = grading.repeat_of(ticket.category, earlier, turn.now, promises.repeat_window)
    # match_hot_issue() takes the category's hot-issue lock (held to commit): the decision
    # and the terms recorded below are serialised with every other complaint of the category
    issue = await match_hot_issue(turn, ticket.category, ticket.customer_id, terms, promises) if terms else None
    grade = grading.grade_new_ticket(suggested, repeat=repeat_of is not None, in_hot_issue=issue is not None)
    ticket.severity = grade.severity
    if issue is not None:
        ticket.hot_issue_id = issue.issue.id
    sla.set_deadlines(ticket, promises, turn.now)
    handoff_reason = handoff.reason(ticket.severity, human_requested)
    ticket.handoff_reason = handoff_reason  # stored with the ticket; the card is queued below
    ticket = await turn.uow.tickets.add(ticket)
    conversation.ticket_id = ticket.id
    turn.ticket = ticket
    await record(
        turn,
        ticket,
        "created",
        CUSTOMER,
        None,
        {
            "category": ticket.category,
            "suggested_category": draft.suggested_category,
            "severity": ticket.severity.value,
            "suggested_severity": suggested.value,
            "handoff": ticket.handoff_reason,
        },
    )
    if repeat_of is not None:
        await record(turn, ticket, "repeat_complaint", SYSTEM, ticket.state, {"of": repeat_of.number})
    if grade.raised_by_hot_issue:
        await record(turn, ticket, "auto_upgraded", SYSTEM, ticket.state, grade.upgrade_audit())
    await turn.uow.terms.add(ticket, terms)
    await start_timers(turn, ticket, promises, turn.now)
    if handoff_reason:
        await hand_off(turn, ticket, handoff_reason)
    ping = grade.urgent_ping(ticket.id)
    if ping is not None:
        turn.to_desk(ping)
    if issue is not None:
        await _join_hot_issue(turn, ticket, issue, promises, handoff)
    return ticket


@dataclass(frozen=True, slots=True)
class IssueMatch:
    """The hot issue a new complaint belongs to."""

    issue: HotIssue
    new: bool  # the issue starts with this complaint: supervisors are pinged
    others: tuple[int, ...]  # earlier tickets that join with it (a new issue's), oldest first


async def match_hot_issue(
    turn: Turn, category: str, customer_id: int, terms: Sequence[str], promises: Promises
) -> IssueMatch | None:
    """The issue a complaint about to be filed belongs to, creating it when this
    complaint completes one (:func:`flows.hot_issues.new_issue` decides).

    Holds the category's hot-issue lock from here to the end of the transaction (the
    caller records the complaint's terms under it): complaints that arrive together,
    in any process, are decided one after the other, each seeing the tickets and the
    issue of those before it. Without it each would find no issue (or too few other
    customers) and several issues and pings, or none, would follow."""
    await turn.uow.hot_issues.lock(category)
    since = turn.now - promises.hot_issue_window
    issue = await turn.uow.hot_issues.recent(category, terms, since)
    if issue is not None:  # an open issue about one of its terms: join it
        return IssueMatch(issue, False, ())
    mentions = await turn.uow.terms.customers_with(category, terms, since)
    found = hot_issues.new_issue(customer_id, terms, mentions, promises.hot_issue_customers)
    if found is None:
        return None
    issue = await turn.uow.hot_issues.add(HotIssue(None, category, found.term, turn.now))
    return IssueMatch(issue, True, found.others)


async def _join_hot_issue(
    turn: Turn, ticket: Ticket, match: IssueMatch, promises: Promises, handoff: HandoffPolicy
) -> None:
    """The new ticket is in the issue (and already at least hot); a new issue's earlier
    tickets join it and become at least hot too, and supervisors hear once per issue.

    Each member's card hears once: when the issue starts, its earlier tickets are told
    here (``match.others``); a later ticket joining an existing issue has no others and
    touches no other ticket, its own card carries the news.

    Locking the members cannot deadlock. This transaction holds its own conversation
    and the category's hot-issue lock, nothing else, when it locks the members (in
    ascending id order, each ticket before its timers, as ``reschedule`` does), and it
    never locks a member's conversation. Desk actions and timers lock conversation,
    ticket, timers and never ask for the hot-issue lock; a customer turn that opens a
    ticket locks no existing ticket before it. So whoever holds a member ticket never
    waits for anything this transaction holds, and those waiting for the hot-issue lock
    hold only their own conversation (their ticket does not exist yet)."""
    issue = match.issue
    assert issue.id is not None
    await record(turn, ticket, JOINED_HOT_ISSUE, SYSTEM, ticket.state, {"issue": issue.id, "term": issue.term})
    numbers = []
    for ticket_id in match.others:
        member = await turn.uow.tickets.get(ticket_id, lock=True)
        if member is None:
            continue
        numbers.append(member.number)
        member.hot_issue_id = issue.id
        await record(turn, member, JOINED_HOT_ISSUE, SYSTEM, member.state, {"issue": issue.id, "term": issue.term})
        raised = member.state in OPEN_STATES and await raise_severity(
            turn, member, grading.HOT_ISSUE_GRADE, UpgradeReason.HOT_ISSUE, promises, handoff, ping=False
        )
        if not raised:
            await turn.uow.tickets.save(member)
            turn.to_desk(JoinedHotIssue(member.id, term=issue.term))
    if match.new:
        numbers.append(ticket.number)
        turn.to_desk(HotIssuePing(ticket.id, term=issue.term, tickets=tuple(n or "" for n in numbers)))
        await turn.uow.hot_issues.mark_pinged(issue.id, turn.now)


async def raise_severity(
    turn: Turn,
    ticket: Ticket,
    target: Severity,
    reason: UpgradeReason,
    promises: Promises,
    handoff: HandoffPolicy,
    *,
    ping: bool = True,
    days: int | None = None,
) -> bool:
    """At least ``target`` (:func:`flows.grading.upgrade` decides); False when the ticket
    was already there."""
    change = grading.upgrade(ticket, target, reason, handoff, ping=ping, days=days)
    if change is None:
        return False
    await apply_upgrade(turn, ticket, change, promises)
    return True


async def apply_upgrade(turn: Turn, ticket: Ticket, change: grading.Upgrade, promises: Promises) -> None:
    """An automatic upgrade with its reason, on the card, new deadlines, a hand-off if the
    ticket now needs one, and a supervisor ping at hot or major (as decided)."""
    ticket.severity = change.severity
    ticket.updated_at = turn.now
    await record(turn, ticket, "auto_upgraded", SYSTEM, ticket.state, change.audit())
    await reschedule(turn, ticket, promises)
    if change.hand_off is not None:
        await hand_off(turn, ticket, change.hand_off)
    await turn.uow.tickets.save(ticket)
    for event in change.desk_events(ticket.id):
        turn.to_desk(event)


async def reopen(turn: Turn, ticket: Ticket, reason: ReopenReason, promises: Promises) -> None:
    """Reopen a resolved or closed ticket: a repeat complaint (二次投诉) is at least
    important, gets fresh deadlines from now, and its owner and the supervisors hear of it."""
    ticket.reopen_count += 1
    previous = ticket.severity
    ticket.severity = grading.reopened_grade(ticket.severity)
    await apply(turn, ticket, "reopen", CUSTOMER, {"reason": reason.value, "severity_before": previous.value})
    ticket.resolved_at = None
    await restart(turn, ticket, promises)
    turn.to_desk(TicketReopened(ticket.id, reason=reason, owner=ticket.owner_id))
    turn.to_desk(ReopenedPing(ticket.id, reason=reason))


# ---------------------------------------------------------------------- the timers of the promises
async def start_timers(
    turn: Turn, ticket: Ticket, promises: Promises, start: datetime, kinds: Iterable[TimerKind] | None = None
) -> None:
    """SLA timers from ``start`` (submission, or a reopening) and the upgrade timers."""
    await turn.uow.timers.add_all(sla.timers_to_start(ticket, promises, start, turn.now, kinds))


async def restart(turn: Turn, ticket: Ticket, promises: Promises) -> None:
    """A reopened ticket: every promise starts again from now; the old timers stop."""
    assert ticket.id is not None
    fresh = sla.restart(ticket, promises, turn.now)
    await turn.uow.timers.finish(ticket.id, tuple(TimerKind), turn.now)
    await turn.uow.timers.add_all(fresh)


async def met(turn: Turn, ticket: Ticket, kinds: Iterable[TimerKind]) -> None:
    """The promise is kept: those timers stop."""
    assert ticket.id is not None
    await turn.uow.timers.finish(ticket.id, tuple(kinds), turn.now)


async def reschedule(turn: Turn, ticket: Ticket, promises: Promises) -> None:
    """After a change of severity: new deadlines for the ticket and its open timers
    (:func:`flows.sla.reschedule`)."""
    assert ticket.id is not None
    for timer in sla.reschedule(ticket, promises, await turn.uow.timers.open_for_ticket(ticket.id), turn.now):
        await turn.uow.timers.save(timer)
