"""The in-memory tables, the copies rows go in and out as, and the repositories' base."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Protocol, TypeVar

from flows.domain import (
    Attachment,
    Conversation,
    Correction,
    Customer,
    Draft,
    HotIssue,
    InboxEntry,
    MessageRecord,
    OutboxItem,
    Ticket,
    TicketEvent,
    Timer,
)

T = TypeVar("T")

CHAT_LEASE_PREFIX = "chat:"  # as storage/inbox.py names a chat's lease
PRUNE_BATCH = 5000


def json_copy(value: T) -> T:
    """What a JSON column gives back (and a deep copy)."""
    result: T = json.loads(json.dumps(value))
    return result


def ticket_copy(ticket: Ticket) -> Ticket:
    return replace(
        ticket,
        photos=[Attachment.from_dict(json_copy(p.to_dict())) for p in ticket.photos],
        classification=json_copy(ticket.classification),
    )


def conversation_copy(conv: Conversation) -> Conversation:
    return replace(conv, draft=Draft.from_dict(json_copy(conv.draft.to_dict())))


@dataclass(slots=True)
class Message:
    record: MessageRecord
    edited_at: datetime | None = None


@dataclass(slots=True)
class InboxRow:
    entry: InboxEntry
    received_at: datetime
    processed_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None


@dataclass(slots=True)
class Term:
    ticket_id: int
    customer_id: int
    category: str
    term: str
    created_at: datetime | None


@dataclass(slots=True)
class Tables:
    """The whole database: one dict per table, keyed by id (or name), plus the id counters."""

    customers: dict[int, Customer] = field(default_factory=dict)
    conversations: dict[int, Conversation] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    corrections: dict[int, Correction] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    events: dict[int, TicketEvent] = field(default_factory=dict)
    outbox: dict[int, OutboxItem] = field(default_factory=dict)
    updates: dict[tuple[str, str], datetime] = field(default_factory=dict)
    timers: dict[int, Timer] = field(default_factory=dict)
    terms: dict[int, Term] = field(default_factory=dict)
    hot_issues: dict[int, HotIssue] = field(default_factory=dict)
    inbox: dict[int, InboxRow] = field(default_factory=dict)
    leases: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]

    def snapshot(self) -> Tables:
        """A copy to work on: the dicts are new, the rows shared (rows are replaced, never changed)."""
        return Tables(**{f.name: dict(getattr(self, f.name)) for f in fields(self)})


class Transaction(Protocol):
    """What a repository works in: the unit of work's current tables."""

    tables: Tables


class Repo:
    def __init__(self, uow: Transaction) -> None:
        self._uow = uow

    @property
    def db(self) -> Tables:
        return self._uow.tables


def outbox_copy(item: OutboxItem) -> OutboxItem:
    return replace(item, payload=json_copy(item.payload))
