"""The storage interfaces the flows need; ``storage`` implements them.

Everything here is a Protocol so that ``flows`` never imports SQLAlchemy. One
:class:`UnitOfWork` is one database transaction: the flows write the state change,
the messages and the outbox rows through it and commit once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from flows.domain import (
    Conversation,
    Correction,
    Customer,
    HotIssue,
    InboxEntry,
    MessageRecord,
    OutboxItem,
    Ticket,
    TicketEvent,
    TicketState,
    Timer,
    TimerKind,
)


class CustomerRepository(Protocol):
    async def get_or_create(
        self, channel: str, external_id: str, display_name: str, language: str
    ) -> Customer:
        """The customer for a platform user, created on first contact."""

    async def get(self, customer_id: int) -> Customer | None: ...

    async def save(self, customer: Customer) -> None: ...


class ConversationRepository(Protocol):
    async def active_for_chat(self, channel: str, chat_id: str) -> Conversation | None:
        """The newest active (not closed, not cancelled) conversation of a chat, locked."""

    async def get(self, conversation_id: int) -> Conversation | None:
        """A conversation by id, locked for the rest of the transaction."""

    async def add(self, conversation: Conversation) -> Conversation: ...

    async def save(self, conversation: Conversation) -> None: ...


class TicketRepository(Protocol):
    async def add(self, ticket: Ticket) -> Ticket:
        """Insert a ticket; sets ``id`` and ``number``."""

    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        """A ticket; with ``lock`` its row is locked for the rest of the transaction.

        Lock order, everywhere: the conversation, then its ticket, then the ticket's
        timers (no two transactions ever wait on each other in a circle)."""

    async def by_number(self, number: str) -> Ticket | None: ...

    async def save(self, ticket: Ticket) -> None: ...

    async def for_customer(self, customer_id: int, limit: int = 10) -> Sequence[Ticket]:
        """The customer's newest tickets first."""

    async def unclaimed(self, limit: int = 50) -> Sequence[Ticket]:
        """Open tickets nobody owns, most severe and oldest first."""

    async def owned_by(self, owner_id: str, limit: int = 50) -> Sequence[Ticket]:
        """Open tickets an agent owns, most severe and oldest first."""

    async def set_desk_ref(self, ticket_id: int, ref: str) -> None:
        """Remember the ticket's card (only that column: nothing else is overwritten)."""

    async def by_desk_ref(self, ref: str) -> Ticket | None:
        """The ticket the desk shows at ``ref``."""

    async def count_by_state(self) -> dict[TicketState, int]: ...

    async def add_correction(self, correction: Correction) -> Correction:
        """Keep a person's change of the ticket's labels (written in this transaction); sets ``id``."""

    async def corrections(self, ticket_id: int) -> Sequence[Correction]:
        """The ticket's corrections, oldest first."""


class MessageRepository(Protocol):
    async def add(self, message: MessageRecord) -> None:
        """Store a message; it is written with the transaction's commit."""

    async def edit(
        self, channel: str, chat_id: str, platform_message_id: str, text: str, at: datetime
    ) -> MessageRecord | None:
        """Replace the text of a stored inbound message, keeping the old one; None if unknown."""

    async def for_conversation(self, conversation_id: int) -> Sequence[MessageRecord]: ...

    async def for_ticket(self, ticket_id: int, direction: str | None = None) -> Sequence[MessageRecord]:
        """Messages about a ticket (optionally only "in" or "out"), oldest first."""


class TicketEventRepository(Protocol):
    async def add(self, event: TicketEvent) -> None: ...

    async def for_ticket(self, ticket_id: int) -> Sequence[TicketEvent]: ...

    async def any_by(self, actor: str, kinds: Sequence[str]) -> bool:
        """Whether ``actor`` recorded an event of one of ``kinds`` on any ticket."""


class OutboxRepository(Protocol):
    async def add(self, item: OutboxItem) -> OutboxItem:
        """Store one item; sets ``id``."""

    async def add_all(self, items: Sequence[OutboxItem]) -> Sequence[OutboxItem]:
        """Store several items in one round trip; sets their ids."""

    async def pending(
        self, channel: str, target: str | None = None, limit: int = 100
    ) -> Sequence[OutboxItem]:
        """Undelivered items of a destination (optionally one chat), oldest first."""

    async def claim(
        self, channel: str, target: str | None, now: datetime, lease_until: datetime, limit: int = 100
    ) -> Sequence[OutboxItem]:
        """Take the items that are due for delivery, oldest first, per chat in order.

        For each target, items are taken from its oldest pending item on, up to the
        first one that is not due yet (a retry waiting, or an item another relay has
        claimed): a chat's messages are never sent out of order. The taken items get
        ``next_attempt_at = lease_until``. On PostgreSQL the rows are locked while
        claiming, so two processes never take the same item.
        """

    async def release(self, item_ids: Sequence[int], now: datetime) -> None:
        """Give claimed but unsent items back (due at ``now``)."""

    async def renew(self, item_ids: Sequence[int], until: datetime) -> None:
        """Extend the claim on items still pending to ``until`` (the relay's heartbeat);
        items already sent or failed are left alone."""

    async def mark_sent(self, item_ids: Sequence[int], at: datetime) -> None: ...

    async def has_pending(self, channel: str, target: str) -> bool:
        """True when something is still waiting to be delivered to ``target``."""

    async def mark_retry(self, item_id: int, error: str, retry_at: datetime) -> None: ...

    async def mark_failed(self, item_id: int, error: str) -> None: ...


class TimerRepository(Protocol):
    async def add_all(self, timers: Sequence[Timer]) -> None: ...

    async def open_for_ticket(self, ticket_id: int) -> Sequence[Timer]:
        """Timers of a ticket that are not done, oldest first."""

    async def save(self, timer: Timer) -> None: ...

    async def finish(self, ticket_id: int, kinds: Sequence[TimerKind], at: datetime) -> None:
        """End the open timers of those kinds (the promise was kept)."""

    async def next_due(self, now: datetime, exclude: Sequence[int] = ()) -> Timer | None:
        """The most urgent timer with something to do now (a reminder or its deadline); not locked."""

    async def lock_if_due(self, timer_id: int, now: datetime) -> Timer | None:
        """The timer locked for this transaction if it still has something to do now;
        None when it has not, or another scheduler holds it (``FOR UPDATE SKIP LOCKED``
        on PostgreSQL): each timer is acted on by exactly one scheduler."""


class TermRepository(Protocol):
    async def add(self, ticket: Ticket, terms: Sequence[str]) -> None:
        """Remember the key terms of a ticket (for hot issues and reports)."""

    async def customers_with(
        self, category: str, terms: Sequence[str], since: datetime
    ) -> Sequence[tuple[str, int, int]]:
        """(term, ticket id, customer id) of tickets of ``category`` with any of ``terms`` since ``since``."""


class HotIssueRepository(Protocol):
    async def lock(self, category: str) -> None:
        """Hold the hot-issue decision of ``category`` until the transaction ends.

        Whoever finds or creates a hot issue of a category (and records the key terms
        that may complete one) holds this first, so concurrent complaints, in this
        process or another, decide one after the other and see each other's committed
        tickets and issues: one issue, one ping (never check-then-insert alone).
        Lock order: taken after the transaction's own conversation and before any
        existing ticket (and its timers) is locked; nobody takes it while holding a
        ticket lock."""

    async def recent(self, category: str, terms: Sequence[str], since: datetime) -> HotIssue | None:
        """The newest hot issue about one of ``terms`` in ``category`` opened since ``since``
        (``ticket_ids`` left empty)."""

    async def add(self, issue: HotIssue) -> HotIssue: ...

    async def mark_pinged(self, issue_id: int, at: datetime) -> None: ...


class ProcessedUpdateRepository(Protocol):
    async def record(self, channel: str, update_id: str) -> bool:
        """Remember a platform update id; False when it was already processed."""


class InboxRepository(Protocol):
    """Inbound updates stored before they are confirmed to their platform."""

    async def add_all(
        self, entries: Sequence[InboxEntry], now: datetime, handled: Collection[tuple[str, str]] = ()
    ) -> list[InboxEntry]:
        """Store the new ones; returns them with ids (re-deliveries are left out). Those
        whose (channel, update_id) is in ``handled`` are stored as handled (this
        transaction handles them)."""

    async def busy_chats(self, chats: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (channel, chat) of ``chats`` that have entries not handled yet."""

    async def release_chats(self, channel: str, chats: Sequence[str], owner: str) -> None:
        """Give up ``owner``'s leases of these chats."""

    async def add_failed(self, entry: InboxEntry, error: str, now: datetime) -> bool:
        """Keep an update that cannot be stored as it is, set aside with the error."""

    async def waiting(self, channel: str, chats: Sequence[str], limit: int = 50) -> dict[str, list[InboxEntry]]:
        """Each chat's entries not handled yet, oldest first, at most ``limit`` a chat."""

    async def mark_processed(self, entry_id: int, at: datetime) -> bool:
        """False when it was handled already."""

    async def mark_failed(self, entry_id: int, error: str, at: datetime, *, give_up: bool) -> int:
        """Count a failed attempt; ``give_up`` sets it aside. Returns the attempts."""

    async def stranded(self, owner: str, now: datetime, limit: int = 100) -> Sequence[tuple[str, str]]:
        """(channel, chat) with waiting entries that nobody (or ``owner`` itself) works on."""

    async def take_chats(self, channel: str, chats: Sequence[str], owner: str, now: datetime, until: datetime) -> set[str]:
        """Take the leases of these chats; returns the chats ``owner`` now holds."""

    async def release_chat(
        self, channel: str, chat: str, owner: str, now: datetime, until: datetime, limit: int = 50
    ) -> Sequence[InboxEntry]:
        """Give up a chat's lease unless entries wait for it; returns those (lease kept)."""

    async def prune(self, before: datetime) -> int:
        """Forget a batch of handled entries older than ``before`` (set-aside ones stay)."""


class LeaseRepository(Protocol):
    """Named leases of seconds (a chat's inbound work, the Telegram poller)."""

    async def take(self, names: Sequence[str], owner: str, now: datetime, until: datetime) -> set[str]:
        """Take the free, expired or own ones; returns the names ``owner`` now holds."""

    async def renew(self, owner: str, now: datetime, until: datetime, prefix: str = "") -> set[str]:
        """Extend ``owner``'s unexpired leases named ``prefix...``; returns the names still held."""

    async def release(self, names: Sequence[str], owner: str) -> None: ...

    async def holder(self, name: str, now: datetime) -> str | None: ...


class UnitOfWork(Protocol):
    """One transaction over all repositories.

    The repositories are read-only members, so an implementation may hold its own
    repository classes (``SqlTicketRepository`` for ``tickets``...)."""

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def tickets(self) -> TicketRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def events(self) -> TicketEventRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def updates(self) -> ProcessedUpdateRepository: ...

    @property
    def timers(self) -> TimerRepository: ...

    @property
    def terms(self) -> TermRepository: ...

    @property
    def hot_issues(self) -> HotIssueRepository: ...

    @property
    def inbox(self) -> InboxRepository: ...

    @property
    def leases(self) -> LeaseRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back unless committed."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class DuplicateUpdate(Exception):
    """Raised by a unit of work when a concurrent transaction recorded the same update id."""
