"""The ticket lifecycle machine and the rules of who may do what.

States: new → claimed → resolved → closed, with reopened; escalation, transfer and
re-grading are recorded as internal transitions. First-contact ownership (首问负责制):
the agent who claims a ticket owns it until it is resolved or explicitly transferred;
nobody else may claim it, reply to the customer or resolve it, except a supervisor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.domain import Actor, Severity, Ticket, TicketState
from flows.machine import SharedMachine, Subject, transition

T = TicketState
OPEN_STATES = (T.NEW, T.CLAIMED, T.REOPENED)

TRANSITIONS = [
    transition("claim", [T.NEW, T.REOPENED], T.CLAIMED),
    transition("transfer", T.CLAIMED, None),
    transition("escalate", list(OPEN_STATES), None),
    transition("change_category", list(OPEN_STATES), None),
    transition("change_severity", list(OPEN_STATES), None),
    transition("declare_crisis", list(OPEN_STATES), None),
    transition("resolve", T.CLAIMED, T.RESOLVED),
    transition("close", T.RESOLVED, T.CLOSED),
    transition("reopen", [T.RESOLVED, T.CLOSED], T.REOPENED),
]

TICKET_MACHINE: SharedMachine[TicketState] = SharedMachine(
    "ticket", TicketState, TRANSITIONS, initial=T.NEW
)


def fire(ticket: Ticket, event: str) -> TicketState:
    """Apply ``event`` to ``ticket`` in place and return the state it was in before.

    Raises :class:`flows.machine.IllegalEvent` when the event is not allowed now.
    """
    before = ticket.state
    subject = Subject(ticket.state)
    TICKET_MACHINE.fire(subject, event)
    ticket.state = subject.state  # type: ignore[assignment]
    return before


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an actor may not do something; ``code`` names a text in the catalogue."""

    code: str
    params: dict[str, str] = field(default_factory=dict)
    field: str | None = None  # which part of a request was refused ("severity", "crisis"...)


def _is_owner(ticket: Ticket, actor: Actor) -> bool:
    return ticket.owner_id is not None and ticket.owner_id == actor.id


def _staff(actor: Actor) -> bool:
    return actor.is_agent or actor.is_supervisor


def check_desk_member(actor: Actor) -> Refusal | None:
    """Only agents and supervisors work on tickets at all (asked before opening a form)."""
    return None if _staff(actor) else Refusal("not_agent")


def check_claim(ticket: Ticket, actor: Actor) -> Refusal | None:
    """Only configured agents claim; a ticket someone owns is theirs until transferred."""
    if not _staff(actor):
        return Refusal("not_agent")
    if ticket.owner_id and not _is_owner(ticket, actor) and ticket.state is T.CLAIMED:
        return Refusal("owned_by_other", {"owner": ticket.owner_name or ticket.owner_id})
    if ticket.state is T.CLAIMED and _is_owner(ticket, actor):
        return Refusal("already_yours")
    return None


def check_transfer(ticket: Ticket, actor: Actor, to: Actor) -> Refusal | None:
    """The owner or a supervisor hands a claimed ticket to another agent."""
    if not (_is_owner(ticket, actor) or actor.is_supervisor):
        return Refusal("not_owner", {"owner": ticket.owner_name or ticket.owner_id or "-"})
    if not _staff(to):
        return Refusal("transfer_target_not_agent", {"target": to.display})
    if to.id == ticket.owner_id:
        return Refusal("transfer_to_same", {"target": to.display})
    return None


def check_reply(ticket: Ticket, actor: Actor) -> Refusal | None:
    """Only the owner's replies reach the customer (first-contact ownership)."""
    if ticket.owner_id is None or ticket.state is not T.CLAIMED:
        return Refusal("claim_first")
    if not _is_owner(ticket, actor):
        return Refusal("not_owner", {"owner": ticket.owner_name or ticket.owner_id})
    return None


def check_resolve(ticket: Ticket, actor: Actor) -> Refusal | None:
    if ticket.state is not T.CLAIMED:
        return Refusal("claim_first")
    if not (_is_owner(ticket, actor) or actor.is_supervisor):
        return Refusal("not_owner", {"owner": ticket.owner_name or ticket.owner_id or "-"})
    return None


def check_escalate(ticket: Ticket, actor: Actor) -> Refusal | None:
    if not _staff(actor):
        return Refusal("not_agent")
    return None


def check_change_category(ticket: Ticket, actor: Actor) -> Refusal | None:
    """Anyone on the desk may re-file an unowned ticket; then only its owner or a supervisor."""
    if not _staff(actor):
        return Refusal("not_agent")
    if ticket.owner_id and not (_is_owner(ticket, actor) or actor.is_supervisor):
        return Refusal("not_owner", {"owner": ticket.owner_name or ticket.owner_id})
    return None


def check_change_severity(ticket: Ticket, actor: Actor, severity: Severity) -> Refusal | None:
    """Agents may raise severity; only supervisors may lower it."""
    if not _staff(actor):
        return Refusal("not_agent")
    if severity.rank < ticket.severity.rank and not actor.is_supervisor:
        return Refusal("supervisor_only")
    return None


def check_declare_crisis(ticket: Ticket, actor: Actor) -> Refusal | None:
    if not actor.is_supervisor:
        return Refusal("supervisor_only")
    return None
