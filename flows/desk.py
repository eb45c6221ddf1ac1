"""The agents' side of a ticket: claim, reply, transfer, escalate, re-grade, resolve.

Each action checks the ownership rules in :mod:`flows.ownership`, moves the ticket
machine, records the event, tells the customer what happened (through the
conversation machine) and updates the desk. A refused action changes nothing and
says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from flows import conversation as conversation_machine, lifecycle, sla
from flows.domain import Actor, Correction, Severity, Ticket
from flows.events import (
    CategoryChanged,
    CrisisDeclared,
    CrisisPing,
    EscalatedPing,
    SeverityChanged,
    TicketClaimed,
    TicketEscalated,
    TicketResolved,
    TicketTransferred,
    UrgentTicketPing,
)
from flows.intake import Intake
from flows.machine import IllegalEvent
from flows.ownership import (
    Refusal,
    check_change_category,
    check_change_severity,
    check_claim,
    check_declare_crisis,
    check_escalate,
    check_reply,
    check_resolve,
    check_transfer,
)
from flows.turn import Turn

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeskResult:
    """What a desk action did; ``refusal`` is set when nothing changed."""

    ticket: Ticket | None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None and self.ticket is not None


async def _keep_correction(
    turn: Turn, ticket: Ticket, actor: Actor, previous_category: str, previous_severity: Severity
) -> None:
    """Keep a person's change of the ticket's labels for the classifier to learn from.

    Nothing is kept when the labels did not change, or when the classifier judged
    nothing (a ticket opened with "/human" before any description carries a placeholder text).
    The row holds both labels as the ticket now has them; the one this person did not
    change may come from automatic upgrades, so the export takes from each row only the
    label it changed (``previous_*`` differs; see :func:`storage.repositories.desk_labels`)."""
    suggestion = ticket.classification or {}
    suggested_category, suggested_severity = suggestion.get("category"), suggestion.get("severity")
    if ticket.id is None or not suggested_category or not suggested_severity:
        return
    if (previous_category, previous_severity) == (ticket.category, ticket.severity):
        return
    await turn.uow.tickets.add_correction(
        Correction(
            ticket_id=ticket.id,
            text=ticket.description,
            suggested_category=suggested_category,
            suggested_severity=Severity(suggested_severity),
            previous_category=previous_category,
            previous_severity=previous_severity,
            category=ticket.category,
            severity=ticket.severity,
            actor_id=actor.id,
            actor_name=actor.display,
            actor_role="supervisor" if actor.is_supervisor else "agent",
            created_at=turn.now,
        )
    )


class Desk:
    """Agent actions, applied inside the caller's transaction (``turn``)."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    def _notify(self, turn: Turn, event: str, key: str, **params: object) -> None:
        """Move the customer's conversation when its machine allows the event, and tell the
        customer either way (an agent joining a ticket whose chat moved on is still news)."""
        conv = turn.conversation
        if conv is None:
            return
        try:
            conversation_machine.fire(conv, event)
        except IllegalEvent:
            logger.warning("conversation %s in state %s cannot take %s", conv.id, conv.state, event)
        if key:
            turn.reply(self.intake.t(turn, key, **params))

    async def claim(self, turn: Turn, ticket: Ticket, actor: Actor) -> DeskResult:
        refusal = check_claim(ticket, actor)
        if refusal:
            return DeskResult(ticket, refusal)
        try:
            ticket.owner_id, ticket.owner_name = actor.id, actor.display
            await lifecycle.apply(turn, ticket, "claim", actor.id, {"owner": actor.display})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        if ticket.first_response_at is None:
            ticket.first_response_at = turn.now
        await lifecycle.met(turn, ticket, sla.KEPT_BY_CLAIM)
        await turn.uow.tickets.save(ticket)
        self._notify(turn, "agent_joined", "agent.joined", agent=actor.display, number=ticket.number)
        turn.to_desk(TicketClaimed(ticket.id, by=actor.display))
        return DeskResult(ticket)

    async def reply(self, turn: Turn, ticket: Ticket, actor: Actor, text: str, *, correction: bool = False) -> DeskResult:
        """The owner's answer to the customer; ``correction``: an edit of an earlier answer."""
        refusal = check_reply(ticket, actor)
        if refusal:
            return DeskResult(ticket, refusal)
        if not text.strip():
            return DeskResult(ticket, Refusal("empty_reply"))
        self._notify(turn, "agent_message", "")
        said = "agent.corrects" if correction else "agent.says"
        turn.reply(self.intake.t(turn, said, agent=actor.display, text=text.strip()))
        data: dict[str, Any] = {"text": text.strip(), **({"correction": True} if correction else {})}
        await lifecycle.record(turn, ticket, "agent_reply", actor.id, ticket.state, data)
        if ticket.first_reply_at is None:
            ticket.first_reply_at = turn.now
            await turn.uow.tickets.save(ticket)
        await lifecycle.met(turn, ticket, sla.KEPT_BY_REPLY)
        return DeskResult(ticket)

    async def note(self, turn: Turn, ticket: Ticket, actor: Actor, text: str, kind: str = "note") -> DeskResult:
        """An internal note on the ticket (the customer sees nothing); anyone on the desk."""
        if not text.strip():
            return DeskResult(ticket, Refusal("empty_reply"))
        await lifecycle.record(turn, ticket, kind, actor.id, ticket.state, {"text": text.strip(), "by": actor.display})
        return DeskResult(ticket)

    async def transfer(self, turn: Turn, ticket: Ticket, actor: Actor, to: Actor) -> DeskResult:
        refusal = check_transfer(ticket, actor, to)
        if refusal:
            return DeskResult(ticket, refusal)
        previous = ticket.owner_name or ticket.owner_id
        try:
            ticket.owner_id, ticket.owner_name = to.id, to.display
            await lifecycle.apply(turn, ticket, "transfer", actor.id, {"from": previous, "to": to.display})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        await turn.uow.tickets.save(ticket)
        self._notify(turn, "transferred", "agent.transferred", agent=to.display, number=ticket.number)
        turn.to_desk(TicketTransferred(ticket.id, previous_owner=previous, new_owner=to.display))
        return DeskResult(ticket)

    async def escalate(self, turn: Turn, ticket: Ticket, actor: Actor, note: str = "") -> DeskResult:
        refusal = check_escalate(ticket, actor)
        if refusal:
            return DeskResult(ticket, refusal)
        try:
            ticket.escalated = True
            await lifecycle.apply(turn, ticket, "escalate", actor.id, {"note": note})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        await turn.uow.tickets.save(ticket)
        turn.to_desk(EscalatedPing(ticket.id, by=actor.display, note=note))
        turn.to_desk(TicketEscalated(ticket.id, by=actor.display))
        return DeskResult(ticket)

    async def change_category(self, turn: Turn, ticket: Ticket, actor: Actor, category: str) -> DeskResult:
        if category not in self.intake._categories:
            return DeskResult(ticket, Refusal("unknown_category", {"category": category}))
        refusal = check_change_category(ticket, actor)
        if refusal:
            return DeskResult(ticket, refusal)
        previous = ticket.category
        try:
            ticket.category = category
            await lifecycle.apply(turn, ticket, "change_category", actor.id, {"from": previous, "to": category})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        await turn.uow.tickets.save(ticket)
        await _keep_correction(turn, ticket, actor, previous, ticket.severity)
        turn.to_desk(CategoryChanged(ticket.id, previous=previous, category=category))
        return DeskResult(ticket)

    async def change_severity(self, turn: Turn, ticket: Ticket, actor: Actor, severity: Severity) -> DeskResult:
        refusal = check_change_severity(ticket, actor, severity)
        if refusal:
            return DeskResult(ticket, refusal)
        previous = ticket.severity
        try:
            ticket.severity = severity
            await lifecycle.apply(turn, ticket, "change_severity", actor.id, {"from": previous.value, "to": severity.value})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        await lifecycle.reschedule(turn, ticket, self.intake.promises)
        await turn.uow.tickets.save(ticket)
        await _keep_correction(turn, ticket, actor, ticket.category, previous)
        if severity.rank >= Severity.HOT.rank and severity.rank > previous.rank:
            turn.to_desk(UrgentTicketPing(ticket.id, severity=severity, by=actor.display))
        turn.to_desk(SeverityChanged(ticket.id, previous=previous, severity=severity))
        return DeskResult(ticket)

    async def regrade(
        self, turn: Turn, ticket: Ticket, actor: Actor, category: str | None, severity: Severity | None, crisis: bool
    ) -> DeskResult:
        """Category, severity and crisis in one go: every part is checked first, so a
        refused part leaves the others unapplied (the caller commits only a success)."""
        category = category if category and category != ticket.category else None
        severity = severity if severity is not None and severity is not ticket.severity else None
        crisis = crisis and not ticket.crisis
        checks = []
        if category is not None:
            known = category in self.intake._categories
            checks.append(("category", check_change_category(ticket, actor) if known else Refusal("unknown_category", {"category": category})))
        if severity is not None:
            checks.append(("severity", check_change_severity(ticket, actor, severity)))
        if crisis:
            checks.append(("crisis", check_declare_crisis(ticket, actor)))
        for part, refusal in checks:
            if refusal is not None:
                return DeskResult(ticket, replace(refusal, field=part))
        if category is not None:
            result = await self.change_category(turn, ticket, actor, category)
            if result.refusal is not None:
                return DeskResult(ticket, replace(result.refusal, field="category"))
        if severity is not None:
            result = await self.change_severity(turn, ticket, actor, severity)
            if result.refusal is not None:
                return DeskResult(ticket, replace(result.refusal, field="severity"))
        if crisis:
            result = await self.declare_crisis(turn, ticket, actor)
            if result.refusal is not None:
                return DeskResult(ticket, replace(result.refusal, field="crisis"))
        return DeskResult(ticket)

    async def declare_crisis(self, turn: Turn, ticket: Ticket, actor: Actor) -> DeskResult:
        refusal = check_declare_crisis(ticket, actor)
        if refusal:
            return DeskResult(ticket, refusal)
        try:
            ticket.crisis = True
            previous = ticket.severity
            ticket.severity = Severity.MAJOR
            await lifecycle.apply(turn, ticket, "declare_crisis", actor.id, {"severity_before": previous.value})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        await lifecycle.reschedule(turn, ticket, self.intake.promises)
        await turn.uow.tickets.save(ticket)
        turn.to_desk(CrisisPing(ticket.id, by=actor.display))
        turn.to_desk(CrisisDeclared(ticket.id, by=actor.display))
        return DeskResult(ticket)

    async def resolve(self, turn: Turn, ticket: Ticket, actor: Actor, note: str = "") -> DeskResult:
        refusal = check_resolve(ticket, actor)
        if refusal:
            return DeskResult(ticket, refusal)
        try:
            await lifecycle.apply(turn, ticket, "resolve", actor.id, {"note": note})
        except IllegalEvent:
            return DeskResult(ticket, Refusal("wrong_state", {"state": ticket.state.value}))
        await lifecycle.met(turn, ticket, sla.KEPT_BY_RESOLVING)
        await turn.uow.timers.add_all([sla.follow_up_timer(ticket, self.intake.promises, turn.now)])
        await turn.uow.tickets.save(ticket)
        self._notify(turn, "agent_resolved", "agent.resolved", agent=actor.display, number=ticket.number, note=note or "-")
        if turn.conversation is not None:
            self.intake.prompt(turn)
        turn.to_desk(TicketResolved(ticket.id, by=actor.display))
        return DeskResult(ticket)
