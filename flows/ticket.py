"""The ticket lifecycle machine.

States: new → claimed → resolved → closed, with reopened; escalation, transfer and
re-grading are recorded as internal transitions. Who may fire which event (first-contact
ownership, 首问负责制) is decided in :mod:`flows.ownership`.
"""

from __future__ import annotations

from flows.domain import Ticket, TicketState
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
    ticket.state = TicketState(subject.state)
    return before
