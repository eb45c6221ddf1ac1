"""The context of one event being handled inside one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flows.domain import Button, Conversation, Customer, Reply, Ticket
from flows.events import DeskEvent
from flows.ports import UnitOfWork


@dataclass
class Turn:
    """What one inbound event (or desk action) collects before it is committed."""

    uow: UnitOfWork
    now: datetime
    customer: Customer
    channel: str
    chat_id: str
    conversation: Conversation | None = None
    replies: list[Reply] = field(default_factory=list)
    desk: list[DeskEvent] = field(default_factory=list)  # news for the agents' desk / supervisors
    inbound_message_id: str | None = None
    ticket: Ticket | None = None  # the conversation's ticket, once loaded or created in this turn
    unfiled: bool = False  # the inbound is kept off the ticket (a blank line; a message held until they say where it goes)

    @property
    def language(self) -> str:
        return self.customer.language

    def reply(
        self, text: str, buttons: tuple[tuple[Button, ...], ...] = (), *, request_contact: str | None = None
    ) -> None:
        self.replies.append(Reply(text, buttons, request_contact))

    def to_desk(self, event: DeskEvent) -> None:
        """Tell the desk (delivered through the outbox, written with this turn's commit)."""
        self.desk.append(event)
