"""Ticket operations shared by the customer side and the agents' desk.

Every state change and every agent action is recorded as a :class:`TicketEvent`.
"""

from __future__ import annotations

from typing import Any

from flows import ticket as ticket_machine
from flows.domain import Conversation, Severity, Ticket, TicketEvent, TicketState
from flows.policy import HandoffPolicy, ServiceLevels
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


def set_deadlines(ticket: Ticket, levels: ServiceLevels, start: Any) -> None:
    deadlines = levels.deadlines(ticket.severity, start)
    ticket.first_response_due = deadlines.first_response
    ticket.reply_due = deadlines.substantive_reply
    ticket.resolution_due = deadlines.resolution


async def open_ticket(
    turn: Turn,
    conversation: Conversation,
    levels: ServiceLevels,
    handoff: HandoffPolicy,
    *,
    human_requested: bool,
) -> Ticket:
    """Create the ticket from the conversation's draft and hand it off when the policy says so."""
    draft = conversation.draft
    severity = Severity(draft.severity)
    assert conversation.id is not None
    ticket = Ticket(
        id=None,
        number=None,
        customer_id=turn.customer.id or 0,
        conversation_id=conversation.id,
        channel=turn.channel,
        chat_id=turn.chat_id,
        category=draft.category or draft.suggested_category or "other",
        severity=severity,
        description=draft.description,
        order_number=draft.order_number,
        occurred=draft.occurred,
        contact=draft.contact,
        photos=list(draft.photos),
        classification=draft.suggestion,
        language=turn.language,
        created_at=turn.now,
        updated_at=turn.now,
    )
    set_deadlines(ticket, levels, turn.now)
    ticket.handoff_reason = handoff.reason(severity, human_requested)
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
            "severity": severity.value,
            "handoff": ticket.handoff_reason,
        },
    )
    if ticket.handoff_reason:
        turn.to_desk("agents", "ticket_card", {"reason": ticket.handoff_reason}, ticket.id)
        await record(turn, ticket, "handed_off", SYSTEM, ticket.state, {"reason": ticket.handoff_reason})
    if severity.rank >= Severity.HOT.rank:
        turn.to_desk("supervisors", "ping", {"reason": f"severity_{severity.value}"}, ticket.id)
    return ticket


async def reopen(turn: Turn, ticket: Ticket, reason: str, levels: ServiceLevels) -> None:
    """Reopen a resolved or closed ticket: a repeat complaint (二次投诉) is at least important."""
    ticket.reopen_count += 1
    previous = ticket.severity
    ticket.severity = ticket.severity.at_least(Severity.IMPORTANT)
    await apply(turn, ticket, "reopen", CUSTOMER, {"reason": reason, "severity_before": previous.value})
    if ticket.severity is not previous:
        set_deadlines(ticket, levels, turn.now)
    ticket.resolved_at = None
    turn.to_desk("agents", "ticket_update", {"event": "reopened", "reason": reason}, ticket.id)
    turn.to_desk("supervisors", "ping", {"reason": f"reopened_{reason}"}, ticket.id)
