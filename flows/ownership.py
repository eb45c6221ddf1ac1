"""Who may do what with a ticket: first-contact ownership (首问负责制) and the desk's actions.

The agent who claims a ticket owns it until it is resolved or explicitly transferred;
nobody else may claim it, reply to the customer or resolve it, except a supervisor
(who replies explicitly: a supervisor's words in the ticket's desk thread stay internal,
:func:`check_thread_reply`). A reopened ticket is claimed again before it is transferred.
Only agents and supervisors work on tickets at all; only supervisors lower a severity
or declare a crisis.

Every ``check_*`` returns None when the actor may act, else a :class:`Refusal` whose
``code`` names a text in the catalogue (``desk.refusal.<code>``). :func:`allowed_actions`
combines these rules with the ticket machine's allowed events: what one person may do
with a ticket now, or (``viewer=None``) what the desk's shared card offers to everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from flows.domain import Actor, Severity, Ticket, TicketState
from flows.ticket import TICKET_MACHINE

T = TicketState


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
    if ticket.state is T.REOPENED:  # nobody holds it until someone claims it again
        return Refusal("claim_again")
    if not _staff(to):
        return Refusal("transfer_target_not_agent", {"target": to.display})
    if to.id == ticket.owner_id:
        return Refusal("transfer_to_same", {"target": to.display})
    return None


def check_reply(ticket: Ticket, actor: Actor) -> Refusal | None:
    """A claimed ticket's owner answers its customer (first-contact ownership); a supervisor
    may step in with a reply too, as they may resolve it."""
    if ticket.owner_id is None or ticket.state is not T.CLAIMED:
        return Refusal("claim_first")
    if not (_is_owner(ticket, actor) or actor.is_supervisor):
        return Refusal("not_owner", {"owner": ticket.owner_name or ticket.owner_id})
    return None


def check_thread_reply(ticket: Ticket, actor: Actor) -> Refusal | None:
    """Whether what someone writes in the ticket's desk thread goes to the customer: only
    the owner's words do. The thread is also where the desk talks among itself, so a
    supervisor's message there stays internal unless they own the ticket (they answer
    the customer with an explicit reply, :func:`check_reply`)."""
    refusal = check_reply(ticket, actor)
    if refusal is None and not _is_owner(ticket, actor):
        return Refusal("not_owner", {"owner": ticket.owner_name or ticket.owner_id or "-"})
    return refusal


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


def check_note(ticket: Ticket, actor: Actor) -> Refusal | None:
    """Anyone who sees the ticket's card may keep an internal note on it."""
    return None


# ---------------------------------------------------------------------- the desk's actions
class DeskAction(StrEnum):
    """What a person at the desk can do with a ticket (the buttons of a card, a thread reply)."""

    CLAIM = "claim"
    REPLY = "reply"  # a message to the customer
    NOTE = "note"  # an internal note (the customer sees nothing)
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    REGRADE = "regrade"  # category, severity and crisis in one form
    RESOLVE = "resolve"


#: The ticket-machine events behind each action; a reply and a note are recorded in the
#: state the ticket is in (no event).
ACTION_EVENTS: dict[DeskAction, frozenset[str]] = {
    DeskAction.CLAIM: frozenset({"claim"}),
    DeskAction.REPLY: frozenset(),
    DeskAction.NOTE: frozenset(),
    DeskAction.TRANSFER: frozenset({"transfer"}),
    DeskAction.ESCALATE: frozenset({"escalate"}),
    DeskAction.REGRADE: frozenset({"change_category", "change_severity", "declare_crisis"}),
    DeskAction.RESOLVE: frozenset({"resolve"}),
}

#: A supervisor stands for "any desk member" when the card is shared: whatever some member
#: of the desk may do, a supervisor may.
_ANY_MEMBER = Actor("", "", is_agent=True, is_supervisor=True)

#: Actions a shared card offers in every state but closed: a form (transfer, regrade) or a
#: confirmation (escalate) whose submission the same rules decide (a refusal is shown then).
_CARD_FORMS = (DeskAction.TRANSFER, DeskAction.ESCALATE, DeskAction.REGRADE)


def _another_agent(ticket: Ticket) -> Actor:
    """Some agent other than the ticket's owner: whom a transfer could hand it to (the
    form asks whom; :func:`check_transfer` decides again when it is submitted)."""
    return Actor(f"not {ticket.owner_id}", is_agent=True)


def _may_transfer(ticket: Ticket, actor: Actor) -> bool:
    """A desk member who may hand the ticket to some other agent."""
    return check_desk_member(actor) is None and check_transfer(ticket, actor, _another_agent(ticket)) is None


def _may_regrade(ticket: Ticket, actor: Actor) -> bool:
    """Some part of the form: the category, a severity (raising needs no supervisor), a crisis."""
    return (
        check_change_category(ticket, actor) is None
        or check_change_severity(ticket, actor, Severity.MAJOR) is None
        or check_declare_crisis(ticket, actor) is None
    )


#: Each action's permission, for one person: the ``check_*`` rule(s) behind it, called,
#: never restated (so what a viewer is offered and what is refused on submission agree).
_PERMITTED: dict[DeskAction, Callable[[Ticket, Actor], bool]] = {
    DeskAction.CLAIM: lambda ticket, actor: check_claim(ticket, actor) is None,
    DeskAction.REPLY: lambda ticket, actor: check_reply(ticket, actor) is None,
    DeskAction.NOTE: lambda ticket, actor: check_note(ticket, actor) is None,
    DeskAction.TRANSFER: _may_transfer,
    DeskAction.ESCALATE: lambda ticket, actor: check_escalate(ticket, actor) is None,
    DeskAction.REGRADE: _may_regrade,
    DeskAction.RESOLVE: lambda ticket, actor: check_resolve(ticket, actor) is None,
}


def _permitted(action: DeskAction, ticket: Ticket, actor: Actor) -> bool:
    """The ownership rules for one action, for one person."""
    return _PERMITTED[action](ticket, actor)


def _machine_allows(action: DeskAction, state: TicketState) -> bool:
    events = ACTION_EVENTS[action]
    if not events:  # a reply needs a claimed ticket (check_reply); a note goes anywhere
        return True
    return bool(events & TICKET_MACHINE.allowed_events(state))


def allowed_actions(ticket: Ticket, viewer: Actor) -> tuple[DeskAction, ...]:
    """What ``viewer`` may do with ``ticket`` now: the machine allows the action's event
    in the ticket's state and the ownership rules allow it to them (in DeskAction order)."""
    return tuple(a for a in DeskAction if _machine_allows(a, ticket.state) and _permitted(a, ticket, viewer))


def card_actions(ticket: Ticket) -> tuple[DeskAction, ...]:
    """The buttons of the ticket's card, the same for every member of the desk.

    A closed ticket offers nothing. Otherwise: claim while the machine allows a claim
    and some member may make it, or while nobody owns the ticket; transfer, escalate
    and re-grade (forms and a confirmation decided by the rules when submitted); and
    resolve while the machine allows it and someone (its owner, a supervisor) may.
    """
    if ticket.state is T.CLOSED:
        return ()
    anyone = set(allowed_actions(ticket, _ANY_MEMBER))
    offered = set(_CARD_FORMS)
    if DeskAction.CLAIM in anyone or ticket.owner_id is None:
        offered.add(DeskAction.CLAIM)
    if DeskAction.RESOLVE in anyone:
        offered.add(DeskAction.RESOLVE)
    return tuple(a for a in (DeskAction.CLAIM, *_CARD_FORMS, DeskAction.RESOLVE) if a in offered)
