"""The context of one event being handled inside one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.domain import Button, Conversation, Customer, Reply, Ticket
from flows.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class DeskMessage:
    """Something for the agents' desk (Slack) or the supervisors, delivered via the outbox."""

    audience: str  # "agents" | "supervisors"
    kind: str  # "ticket_card", "relay", "ping", "ticket_update"
    payload: dict[str, Any]
    ticket_id: int | None = None


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
    desk: list[DeskMessage] = field(default_factory=list)
    inbound_message_id: str | None = None
    ticket: Ticket | None = None  # the conversation's ticket, once loaded or created in this turn

    @property
    def language(self) -> str:
        return self.customer.language

    def reply(
        self, text: str, buttons: tuple[tuple[Button, ...], ...] = (), *, request_contact: str | None = None
    ) -> None:
        self.replies.append(Reply(text, buttons, request_contact))

    def to_desk(self, audience: str, kind: str, payload: dict[str, Any], ticket_id: int | None) -> None:
        self.desk.append(DeskMessage(audience, kind, payload, ticket_id))
