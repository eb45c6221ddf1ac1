"""Ticket operations shared by the customer side and the agents' desk.

Every state change and every agent action is recorded as a :class:`TicketEvent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flows import hot_issues
from flows import ticket as ticket_machine
from flows.domain import Conversation, Severity, Ticket, TicketEvent, TicketState
from flows.events import (
    HandoffReason,
    HotIssuePing,
    JoinedHotIssue,
    ReopenedPing,
    ReopenReason,
    SeverityRaised,
    TicketHandedOff,
    TicketReopened,
    UpgradedPing,
    UpgradeReason,
    UrgentTicketPing,
)
from flows.policy import HandoffPolicy
from flows.promises import Promises, reschedule, restart, set_deadlines, start_timers
from flows.ticket import OPEN_STATES
from flows.turn import Turn

CUSTOMER = "customer"
SYSTEM = "system"


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
        order_number=draft.order_number,
        occurred=draft.occurred,
        contact=draft.contact,
        photos=list(draft.photos),
        classification=draft.suggestion,
        language=turn.language,
        created_at=turn.now,
        updated_at=turn.now,
        sla_started_at=turn.now,
    )
    repeat_of = await _recently_closed(turn, ticket, promises)
    if repeat_of is not None:
        ticket.severity = ticket.severity.at_least(Severity.IMPORTANT)  # 二次投诉
    # match() takes the category's hot-issue lock (held to commit): the decision and the
    # terms recorded below are serialised with every other complaint of the category
    issue = await hot_issues.match(turn, ticket.category, ticket.customer_id, terms, promises) if terms else None
    before_issue = ticket.severity
    if issue is not None:
        ticket.hot_issue_id = issue.issue.id
        ticket.severity = ticket.severity.at_least(Severity.HOT)
    set_deadlines(ticket, promises, turn.now)
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
    if ticket.severity is not before_issue:
        upgrade = {"from": before_issue.value, "to": ticket.severity.value, "reason": UpgradeReason.HOT_ISSUE.audit(None)}
        await record(turn, ticket, "auto_upgraded", SYSTEM, ticket.state, upgrade)
    await turn.uow.terms.add(ticket, terms)
    await start_timers(turn, ticket, promises, turn.now)
    if handoff_reason:
        await hand_off(turn, ticket, handoff_reason)
    if ticket.severity.rank >= Severity.HOT.rank and (issue is None or suggested.rank >= Severity.HOT.rank):
        turn.to_desk(UrgentTicketPing(ticket.id, severity=ticket.severity))
    if issue is not None:
        await _join_hot_issue(turn, ticket, issue, promises, handoff)
    return ticket


async def _join_hot_issue(
    turn: Turn, ticket: Ticket, match: hot_issues.IssueMatch, promises: Promises, handoff: HandoffPolicy
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
    await record(turn, ticket, "hot_issue", SYSTEM, ticket.state, {"issue": issue.id, "term": issue.term})
    numbers = []
    for ticket_id in match.others:
        member = await turn.uow.tickets.get(ticket_id, lock=True)
        if member is None:
            continue
        numbers.append(member.number)
        member.hot_issue_id = issue.id
        await record(turn, member, "hot_issue", SYSTEM, member.state, {"issue": issue.id, "term": issue.term})
        raised = member.state in OPEN_STATES and await raise_severity(
            turn, member, Severity.HOT, UpgradeReason.HOT_ISSUE, promises, handoff, ping=False
        )
        if not raised:
            await turn.uow.tickets.save(member)
            turn.to_desk(JoinedHotIssue(member.id, term=issue.term))
    if match.new:
        numbers.append(ticket.number)
        turn.to_desk(HotIssuePing(ticket.id, term=issue.term, tickets=tuple(n or "" for n in numbers)))
        await turn.uow.hot_issues.mark_pinged(issue.id, turn.now)


async def _recently_closed(turn: Turn, ticket: Ticket, promises: Promises) -> Ticket | None:
    """The customer's ticket of the same category closed within the repeat window, if any."""
    since = turn.now - promises.repeat_window
    for earlier in await turn.uow.tickets.for_customer(ticket.customer_id, limit=20):
        if earlier.category == ticket.category and earlier.closed_at is not None and earlier.closed_at >= since:
            return earlier
    return None


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
    """At least ``target``: an automatic upgrade with its reason, on the card, new
    deadlines, a hand-off if the ticket now needs one, and a supervisor ping at hot or
    major (unless the caller pings otherwise). False when the ticket was already there."""
    if ticket.severity.rank >= target.rank:
        return False
    previous = ticket.severity
    ticket.severity = target
    ticket.updated_at = turn.now
    audit = {"from": previous.value, "to": target.value, "reason": reason.audit(days)}
    await record(turn, ticket, "auto_upgraded", SYSTEM, ticket.state, audit)
    await reschedule(turn, ticket, promises)
    reason_to_hand_off = handoff.reason(target, human_requested=False)
    if not ticket.handoff_reason and ticket.state in OPEN_STATES and reason_to_hand_off:
        await hand_off(turn, ticket, reason_to_hand_off)
    await turn.uow.tickets.save(ticket)
    turn.to_desk(SeverityRaised(ticket.id, previous=previous, severity=target, reason=reason, days=days))
    if ping and target.rank >= Severity.HOT.rank:
        turn.to_desk(UpgradedPing(ticket.id, severity=target, reason=reason, days=days))
    return True


async def reopen(turn: Turn, ticket: Ticket, reason: ReopenReason, promises: Promises) -> None:
    """Reopen a resolved or closed ticket: a repeat complaint (二次投诉) is at least
    important, gets fresh deadlines from now, and its owner and the supervisors hear of it."""
    ticket.reopen_count += 1
    previous = ticket.severity
    ticket.severity = ticket.severity.at_least(Severity.IMPORTANT)
    await apply(turn, ticket, "reopen", CUSTOMER, {"reason": reason.value, "severity_before": previous.value})
    ticket.resolved_at = None
    await restart(turn, ticket, promises)
    turn.to_desk(TicketReopened(ticket.id, reason=reason, owner=ticket.owner_id))
    turn.to_desk(ReopenedPing(ticket.id, reason=reason))
