"""Repositories: the only place that reads and writes rows. They return domain objects.

They run SQLAlchemy Core statements on the unit of work's connection (the tables are
those of the typed models in :mod:`storage.models`). Core, not ORM sessions, because
every inbound message runs through here: the ORM's identity map and flush bookkeeping
cost more than the statements themselves (see benchmarks/engine.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.domain import (
    Attachment,
    Conversation,
    ConversationState,
    Correction,
    Customer,
    Draft,
    MessageRecord,
    OutboxItem,
    Severity,
    HotIssue,
    Ticket,
    TicketEvent,
    TicketState,
    Timer,
    TimerKind,
)
from flows.formatting import ticket_number
from storage.models import (
    ConversationRow,
    CorrectionRow,
    CustomerRow,
    HotIssueRow,
    MessageRow,
    OutboxRow,
    ProcessedUpdateRow,
    TicketEventRow,
    TicketRow,
    TicketTermRow,
    TimerRow,
)

customers = CustomerRow.__table__
conversations = ConversationRow.__table__
tickets = TicketRow.__table__
messages = MessageRow.__table__
ticket_events = TicketEventRow.__table__
outbox = OutboxRow.__table__
processed_updates = ProcessedUpdateRow.__table__
timers = TimerRow.__table__
ticket_terms = TicketTermRow.__table__
hot_issues = HotIssueRow.__table__
corrections = CorrectionRow.__table__

_TERMINAL = (ConversationState.CLOSED, ConversationState.CANCELLED)


class _Repository:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    @property
    def _postgres(self) -> bool:
        return self.connection.dialect.name == "postgresql"


class _QueuedInserts(_Repository):
    """Rows nobody reads back within the transaction are queued and written in one
    INSERT by :meth:`write_pending` (the unit of work calls it before committing)."""

    _insert: Any  # the prebuilt INSERT of the repository's table

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self._pending: list[dict[str, Any]] = []

    async def write_pending(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await self.connection.execute(self._insert, rows)


# ---------------------------------------------------------------------- customers
def _customer(row: Row[Any]) -> Customer:
    return Customer(
        id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        display_name=row.display_name,
        language=row.language,
        created_at=row.created_at,
    )


# Statements on the per-message path are built once: building and coercing a statement
# costs more than running it.
_CUSTOMER_BY_PLATFORM_ID = select(customers).where(
    customers.c.channel == bindparam("b_channel"), customers.c.external_id == bindparam("b_external_id")
)
_ACTIVE_CONVERSATION = (
    select(conversations)
    .where(
        conversations.c.channel == bindparam("b_channel"),
        conversations.c.chat_id == bindparam("b_chat_id"),
        conversations.c.active.is_(True),
    )
    .order_by(conversations.c.id.desc())
    .limit(1)
    .with_for_update()
)
_CONVERSATION_BY_ID = select(conversations).where(conversations.c.id == bindparam("b_id")).with_for_update()
_UPDATE_CONVERSATION = update(conversations).where(conversations.c.id == bindparam("b_id"))
_INSERT_OUTBOX = insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True)
_INSERT_MESSAGES = insert(messages)
_INSERT_EVENTS = insert(ticket_events)
_MARK_SENT = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(status="sent", sent_at=bindparam("b_at"), last_error=None)
)
_LOCK_IN_ORDER = (
    select(outbox.c.id).where(outbox.c.id.in_(bindparam("b_ids", expanding=True))).order_by(outbox.c.id).with_for_update()
)
_ANY_PENDING = (
    select(outbox.c.id)
    .where(
        outbox.c.channel == bindparam("b_channel"),
        outbox.c.status == "pending",
        outbox.c.target == bindparam("b_target"),
    )
    .limit(1)
)
_RECORD_UPDATE = {
    dialect: insert_(processed_updates).on_conflict_do_nothing(index_elements=["channel", "update_id"])
    for dialect, insert_ in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


class SqlCustomerRepository(_Repository):
    async def get_or_create(self, channel: str, external_id: str, display_name: str, language: str) -> Customer:
        name = display_name[:256]
        row = (
            await self.connection.execute(
                _CUSTOMER_BY_PLATFORM_ID, {"b_channel": channel, "b_external_id": external_id}
            )
        ).first()
        if row is None:
            now = datetime.now(UTC)
            new_id = (
                await self.connection.execute(
                    insert(customers).returning(customers.c.id),
                    dict(channel=channel, external_id=external_id, display_name=name, language=language, created_at=now),
                )
            ).scalar_one()
            return Customer(new_id, channel, external_id, name, language, now)
        customer = _customer(row)
        if name and row.display_name != name:
            customer.display_name = name
            await self.save(customer)
        return customer

    async def get(self, customer_id: int) -> Customer | None:
        row = (await self.connection.execute(select(customers).where(customers.c.id == customer_id))).first()
        return _customer(row) if row else None

    async def save(self, customer: Customer) -> None:
        await self.connection.execute(
            update(customers)
            .where(customers.c.id == customer.id)
            .values(display_name=customer.display_name[:256], language=customer.language)
        )


# ---------------------------------------------------------------------- conversations
def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        customer_id=row.customer_id,
        channel=row.channel,
        chat_id=row.chat_id,
        state=row.state,
        step=row.step,
        draft=Draft.from_dict(row.draft),
        ticket_id=row.ticket_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _conversation_values(conv: Conversation) -> dict[str, Any]:
    return dict(
        customer_id=conv.customer_id,
        channel=conv.channel,
        chat_id=conv.chat_id,
        state=conv.state,
        active=conv.state not in _TERMINAL,
        step=conv.step,
        draft=conv.draft.to_dict(),
        ticket_id=conv.ticket_id,
        created_at=conv.created_at or conv.updated_at,
        updated_at=conv.updated_at or conv.created_at,
    )


class SqlConversationRepository(_Repository):
    async def active_for_chat(self, channel: str, chat_id: str) -> Conversation | None:
        row = (
            await self.connection.execute(_ACTIVE_CONVERSATION, {"b_channel": channel, "b_chat_id": chat_id})
        ).first()
        return _conversation(row) if row else None

    async def get(self, conversation_id: int) -> Conversation | None:
        row = (await self.connection.execute(_CONVERSATION_BY_ID, {"b_id": conversation_id})).first()
        return _conversation(row) if row else None

    async def add(self, conversation: Conversation) -> Conversation:
        conversation.id = (
            await self.connection.execute(
                insert(conversations).returning(conversations.c.id), _conversation_values(conversation)
            )
        ).scalar_one()
        return conversation

    async def save(self, conversation: Conversation) -> None:
        result = await self.connection.execute(
            _UPDATE_CONVERSATION, {"b_id": conversation.id, **_conversation_values(conversation)}
        )
        assert result.rowcount == 1, f"conversation {conversation.id} vanished"


# ---------------------------------------------------------------------- tickets
_TICKET_FIELDS = (
    "customer_id",
    "conversation_id",
    "channel",
    "chat_id",
    "category",
    "severity",
    "state",
    "description",
    "order_number",
    "occurred",
    "contact",
    "classification",
    "owner_id",
    "owner_name",
    "handoff_reason",
    "desk_ref",
    "hot_issue_id",
    "escalated",
    "crisis",
    "rating",
    "feedback",
    "reopen_count",
    "language",
    "created_at",
    "updated_at",
    "sla_started_at",
    "first_response_due",
    "reply_due",
    "resolution_due",
    "first_response_at",
    "first_reply_at",
    "resolved_at",
    "closed_at",
)


def _ticket(row: Row[Any]) -> Ticket:
    values: dict[str, Any] = {name: getattr(row, name) for name in _TICKET_FIELDS}
    return Ticket(
        id=row.id,
        number=row.number,
        photos=[Attachment.from_dict(p) for p in row.photos or ()],
        **values,
    )


def _ticket_values(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _TICKET_FIELDS}
    values["photos"] = [p.to_dict() for p in ticket.photos]
    return values


_SEVERITY_RANK = case(
    {Severity.MAJOR: 0, Severity.HOT: 1, Severity.IMPORTANT: 2},
    value=tickets.c.severity,
    else_=3,
)


class SqlTicketRepository(_Repository):
    async def add(self, ticket: Ticket) -> Ticket:
        ticket_id = (
            await self.connection.execute(insert(tickets).returning(tickets.c.id), _ticket_values(ticket))
        ).scalar_one()
        number = ticket_number(ticket_id)
        await self.connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(number=number))
        ticket.id, ticket.number = ticket_id, number
        return ticket

    async def get(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        query = select(tickets).where(tickets.c.id == ticket_id)
        row = (await self.connection.execute(query.with_for_update() if lock else query)).first()
        return _ticket(row) if row else None

    async def by_number(self, number: str) -> Ticket | None:
        row = (await self.connection.execute(select(tickets).where(tickets.c.number == number))).first()
        return _ticket(row) if row else None

    async def save(self, ticket: Ticket) -> None:
        result = await self.connection.execute(
            update(tickets).where(tickets.c.id == ticket.id).values(_ticket_values(ticket))
        )
        assert result.rowcount == 1, f"ticket {ticket.id} vanished"

    async def for_customer(self, customer_id: int, limit: int = 10) -> Sequence[Ticket]:
        rows = await self.connection.execute(
            select(tickets).where(tickets.c.customer_id == customer_id).order_by(tickets.c.id.desc()).limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def unclaimed(self, limit: int = 50) -> Sequence[Ticket]:
        rows = await self.connection.execute(
            select(tickets)
            .where(tickets.c.state.in_((TicketState.NEW, TicketState.REOPENED)), tickets.c.owner_id.is_(None))
            .order_by(_SEVERITY_RANK, tickets.c.id)
            .limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def owned_by(self, owner_id: str, limit: int = 50) -> Sequence[Ticket]:
        rows = await self.connection.execute(
            select(tickets)
            .where(tickets.c.owner_id == owner_id, tickets.c.state.in_((TicketState.CLAIMED, TicketState.REOPENED)))
            .order_by(_SEVERITY_RANK, tickets.c.id)
            .limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def set_desk_ref(self, ticket_id: int, ref: str) -> None:
        await self.connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(desk_ref=ref))

    async def by_desk_ref(self, ref: str) -> Ticket | None:
        row = (await self.connection.execute(select(tickets).where(tickets.c.desk_ref == ref).limit(1))).first()
        return _ticket(row) if row else None

    async def count_by_state(self) -> dict[TicketState, int]:
        rows = await self.connection.execute(select(tickets.c.state, func.count()).group_by(tickets.c.state))
        return {state: count for state, count in rows}

    async def add_correction(self, correction: Correction) -> Correction:
        values = _correction_values(correction)
        correction_id = (await self.connection.execute(insert(corrections).returning(corrections.c.id), values)).scalar_one()
        return replace(correction, id=correction_id)

    async def corrections(self, ticket_id: int) -> Sequence[Correction]:
        rows = await self.connection.execute(
            select(corrections).where(corrections.c.ticket_id == ticket_id).order_by(corrections.c.id)
        )
        return [_correction(r) for r in rows]


# ---------------------------------------------------------------------- corrections
_CORRECTION_FIELDS = (
    "ticket_id",
    "text",
    "suggested_category",
    "suggested_severity",
    "previous_category",
    "previous_severity",
    "category",
    "severity",
    "actor_id",
    "actor_name",
    "actor_role",
    "created_at",
)


def _correction(row: Row[Any]) -> Correction:
    return Correction(id=row.id, **{name: getattr(row, name) for name in _CORRECTION_FIELDS})


def _correction_values(correction: Correction) -> dict[str, Any]:
    return {name: getattr(correction, name) for name in _CORRECTION_FIELDS}


async def desk_labels(connection: AsyncConnection) -> list[Correction]:
    """The labels people on the desk gave each corrected ticket, one per ticket, oldest first.

    Each is the ticket's newest correction (its text, suggestion, who and when) with
    ``category`` the category a person set most recently on the ticket and ``severity``
    the severity a person set most recently, each falling back to the classifier's
    suggestion where no person changed that label. A row keeps the ticket's current value
    of the label its person did not change, which may come from automatic upgrades (hot
    issue, repeat complaint, overdue): that value is never a label here. The latest
    category change and the latest severity change may be different rows; which label a
    row changed is told by its ``previous_*`` columns (:attr:`Correction.changes_category`,
    :attr:`Correction.changes_severity`). Every correction stays in the table."""
    c = corrections.c
    per_ticket = (
        select(
            c.ticket_id,
            func.max(c.id).label("newest"),
            func.max(case((c.previous_category != c.category, c.id))).label("category_from"),
            func.max(case((c.previous_severity != c.severity, c.id))).label("severity_from"),
        )
        .group_by(c.ticket_id)
        .subquery("per_ticket")
    )
    newest = corrections.alias("newest")
    category_set = corrections.alias("category_set")
    severity_set = corrections.alias("severity_set")
    query = (
        select(
            newest,
            category_set.c.category.label("set_category"),
            severity_set.c.severity.label("set_severity"),
        )
        .select_from(
            per_ticket.join(newest, newest.c.id == per_ticket.c.newest)
            .outerjoin(category_set, category_set.c.id == per_ticket.c.category_from)
            .outerjoin(severity_set, severity_set.c.id == per_ticket.c.severity_from)
        )
        .order_by(newest.c.id)
    )
    return [
        replace(
            _correction(row),
            category=row.set_category if row.set_category is not None else row.suggested_category,
            severity=row.set_severity if row.set_severity is not None else row.suggested_severity,
        )
        for row in await connection.execute(query)
    ]


# ---------------------------------------------------------------------- messages
def _message(row: Row[Any]) -> MessageRecord:
    return MessageRecord(
        direction=row.direction,
        channel=row.channel,
        chat_id=row.chat_id,
        kind=row.kind,
        text=row.text,
        conversation_id=row.conversation_id,
        ticket_id=row.ticket_id,
        data=row.data,
        platform_message_id=row.platform_message_id,
        created_at=row.created_at,
    )


class SqlMessageRepository(_QueuedInserts):
    _insert = _INSERT_MESSAGES

    async def add(self, message: MessageRecord) -> None:
        """Queue the row (written before commit)."""
        self._pending.append(
            dict(
                direction=message.direction,
                channel=message.channel,
                chat_id=message.chat_id,
                kind=message.kind,
                text=message.text,
                conversation_id=message.conversation_id,
                ticket_id=message.ticket_id,
                data=message.data,
                platform_message_id=message.platform_message_id,
                created_at=message.created_at,
                edited_at=None,
            )
        )

    async def edit(
        self, channel: str, chat_id: str, platform_message_id: str, text: str, at: datetime
    ) -> MessageRecord | None:
        await self.write_pending()
        row = (
            await self.connection.execute(
                select(messages)
                .where(
                    messages.c.channel == channel,
                    messages.c.chat_id == chat_id,
                    messages.c.platform_message_id == platform_message_id,
                    messages.c.direction == "in",
                    messages.c.kind != "edit",
                )
                .order_by(messages.c.id)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        history = list((row.data or {}).get("previous_texts", []))
        history.append({"text": row.text, "until": at.isoformat()})
        data = {**(row.data or {}), "previous_texts": history}
        await self.connection.execute(
            update(messages).where(messages.c.id == row.id).values(text=text, data=data, edited_at=at)
        )
        return replace(_message(row), text=text, data=data)

    async def for_ticket(self, ticket_id: int, direction: str | None = None) -> Sequence[MessageRecord]:
        await self.write_pending()
        query = select(messages).where(messages.c.ticket_id == ticket_id)
        if direction is not None:
            query = query.where(messages.c.direction == direction)
        rows = await self.connection.execute(query.order_by(messages.c.id))
        return [_message(r) for r in rows]

    async def for_conversation(self, conversation_id: int) -> Sequence[MessageRecord]:
        await self.write_pending()
        rows = await self.connection.execute(
            select(messages).where(messages.c.conversation_id == conversation_id).order_by(messages.c.id)
        )
        return [_message(r) for r in rows]


# ---------------------------------------------------------------------- ticket events
def _event(row: Row[Any]) -> TicketEvent:
    return TicketEvent(
        ticket_id=row.ticket_id,
        kind=row.kind,
        actor=row.actor,
        from_state=row.from_state,
        to_state=row.to_state,
        data=row.data,
        created_at=row.created_at,
    )


class SqlTicketEventRepository(_QueuedInserts):
    _insert = _INSERT_EVENTS

    async def add(self, event: TicketEvent) -> None:
        """Queue the row (written before commit)."""
        self._pending.append(
            dict(
                ticket_id=event.ticket_id,
                kind=event.kind,
                actor=event.actor,
                from_state=event.from_state,
                to_state=event.to_state,
                data=event.data,
                created_at=event.created_at,
            )
        )

    async def for_ticket(self, ticket_id: int) -> Sequence[TicketEvent]:
        await self.write_pending()
        rows = await self.connection.execute(
            select(ticket_events).where(ticket_events.c.ticket_id == ticket_id).order_by(ticket_events.c.id)
        )
        return [_event(r) for r in rows]


# ---------------------------------------------------------------------- outbox
def _outbox(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        channel=row.channel,
        target=row.target,
        kind=row.kind,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        conversation_id=row.conversation_id,
        ticket_id=row.ticket_id,
    )


class SqlOutboxRepository(_Repository):
    async def add(self, item: OutboxItem) -> OutboxItem:
        return (await self.add_all([item]))[0]

    async def add_all(self, items: Sequence[OutboxItem]) -> Sequence[OutboxItem]:
        if not items:
            return items
        rows = [
            dict(
                channel=item.channel,
                target=item.target,
                kind=item.kind,
                payload=item.payload,
                status=item.status,
                attempts=item.attempts,
                next_attempt_at=item.next_attempt_at,
                last_error=item.last_error,
                conversation_id=item.conversation_id,
                ticket_id=item.ticket_id,
                created_at=item.created_at,
                sent_at=item.sent_at,
            )
            for item in items
        ]
        result = await self.connection.execute(_INSERT_OUTBOX, rows)
        for item, new_id in zip(items, result.scalars(), strict=True):
            item.id = new_id
        return items

    async def pending(self, channel: str, target: str | None = None, limit: int = 100) -> Sequence[OutboxItem]:
        query = select(outbox).where(outbox.c.channel == channel, outbox.c.status == "pending")
        if target is not None:
            query = query.where(outbox.c.target == target)
        rows = await self.connection.execute(query.order_by(outbox.c.id).limit(limit))
        return [_outbox(r) for r in rows]

    async def claim(
        self, channel: str, target: str | None, now: datetime, lease_until: datetime, limit: int = 100
    ) -> Sequence[OutboxItem]:
        query = select(outbox).where(outbox.c.channel == channel, outbox.c.status == "pending")
        if target is not None:
            query = query.where(outbox.c.target == target)
        # plain FOR UPDATE (no SKIP LOCKED): a second claimer waits a moment and then sees
        # the lease, instead of skipping a chat's first items and sending its later ones
        rows = await self.connection.execute(query.order_by(outbox.c.id).limit(limit).with_for_update())
        taken: list[OutboxItem] = []
        blocked: set[str] = set()
        for row in rows:
            if row.target in blocked:
                continue
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                blocked.add(row.target)
                continue
            taken.append(_outbox(row))
        if taken:
            await self.connection.execute(
                update(outbox).where(outbox.c.id.in_([i.id for i in taken])).values(next_attempt_at=lease_until)
            )
        return taken

    async def _lock_in_order(self, item_ids: Sequence[int]) -> None:
        """PostgreSQL: lock the rows by id first, as a claim does, so that an UPDATE of
        many items (which locks them in storage order) cannot deadlock with a claim."""
        if self._postgres and len(item_ids) > 1:
            await self.connection.execute(_LOCK_IN_ORDER, {"b_ids": list(item_ids)})

    async def release(self, item_ids: Sequence[int], now: datetime) -> None:
        if item_ids:
            await self._lock_in_order(item_ids)
            await self.connection.execute(
                update(outbox).where(outbox.c.id.in_(list(item_ids))).values(next_attempt_at=now)
            )

    async def renew(self, item_ids: Sequence[int], until: datetime) -> None:
        if item_ids:
            await self._lock_in_order(item_ids)
            await self.connection.execute(
                update(outbox)
                .where(outbox.c.id.in_(sorted(item_ids)), outbox.c.status == "pending")
                .values(next_attempt_at=until)
            )

    async def mark_sent(self, item_ids: Sequence[int], at: datetime) -> None:
        if item_ids:
            await self._lock_in_order(item_ids)
            await self.connection.execute(_MARK_SENT, {"b_ids": list(item_ids), "b_at": at})

    async def has_pending(self, channel: str, target: str) -> bool:
        row = (
            await self.connection.execute(_ANY_PENDING, {"b_channel": channel, "b_target": target})
        ).first()
        return row is not None

    async def mark_retry(self, item_id: int, error: str, retry_at: datetime) -> None:
        await self.connection.execute(
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(attempts=outbox.c.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at)
        )

    async def mark_failed(self, item_id: int, error: str) -> None:
        await self.connection.execute(
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(status="failed", attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )


# ---------------------------------------------------------------------- timers
def _timer(row: Row[Any]) -> Timer:
    return Timer(
        id=row.id,
        ticket_id=row.ticket_id,
        kind=row.kind,
        due_at=row.due_at,
        remind_at=row.remind_at,
        reminded_at=row.reminded_at,
        fired_at=row.fired_at,
        done_at=row.done_at,
        created_at=row.created_at,
    )


def _timer_values(timer: Timer) -> dict[str, Any]:
    return dict(
        ticket_id=timer.ticket_id,
        kind=timer.kind,
        due_at=timer.due_at,
        remind_at=timer.remind_at,
        reminded_at=timer.reminded_at,
        fired_at=timer.fired_at,
        done_at=timer.done_at,
        created_at=timer.created_at or timer.due_at,
    )


class SqlTimerRepository(_Repository):
    async def add_all(self, items: Sequence[Timer]) -> None:
        if items:
            result = await self.connection.execute(
                insert(timers).returning(timers.c.id, sort_by_parameter_order=True), [_timer_values(t) for t in items]
            )
            for timer, new_id in zip(items, result.scalars(), strict=True):
                timer.id = new_id

    async def open_for_ticket(self, ticket_id: int) -> Sequence[Timer]:
        rows = await self.connection.execute(
            select(timers).where(timers.c.ticket_id == ticket_id, timers.c.done_at.is_(None)).order_by(timers.c.id)
        )
        return [_timer(r) for r in rows]

    async def save(self, timer: Timer) -> None:
        await self.connection.execute(update(timers).where(timers.c.id == timer.id).values(_timer_values(timer)))

    async def finish(self, ticket_id: int, kinds: Sequence[TimerKind], at: datetime) -> None:
        if kinds:
            await self.connection.execute(
                update(timers)
                .where(timers.c.ticket_id == ticket_id, timers.c.kind.in_(list(kinds)), timers.c.done_at.is_(None))
                .values(done_at=at)
            )

    @staticmethod
    def _due(now: datetime) -> ColumnElement[bool]:
        return and_(
            timers.c.done_at.is_(None),
            or_(
                and_(timers.c.fired_at.is_(None), timers.c.due_at <= now),
                and_(timers.c.reminded_at.is_(None), timers.c.remind_at <= now),
            ),
        )

    async def next_due(self, now: datetime, exclude: Sequence[int] = ()) -> Timer | None:
        query = select(timers).where(self._due(now))
        if exclude:
            query = query.where(timers.c.id.not_in(list(exclude)))
        row = (await self.connection.execute(query.order_by(timers.c.due_at, timers.c.id).limit(1))).first()
        return _timer(row) if row else None

    async def lock_if_due(self, timer_id: int, now: datetime) -> Timer | None:
        query = select(timers).where(timers.c.id == timer_id, self._due(now))
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        row = (await self.connection.execute(query)).first()
        return _timer(row) if row else None


# ---------------------------------------------------------------------- key terms and hot issues
class SqlTermRepository(_Repository):
    async def add(self, ticket: Ticket, terms: Sequence[str]) -> None:
        if terms:
            await self.connection.execute(
                insert(ticket_terms),
                [
                    dict(
                        ticket_id=ticket.id,
                        customer_id=ticket.customer_id,
                        category=ticket.category,
                        term=term[:64],
                        created_at=ticket.created_at,
                    )
                    for term in terms
                ],
            )

    async def customers_with(
        self, category: str, terms: Sequence[str], since: datetime
    ) -> Sequence[tuple[str, int, int]]:
        rows = await self.connection.execute(
            select(ticket_terms.c.term, ticket_terms.c.ticket_id, ticket_terms.c.customer_id)
            .where(
                ticket_terms.c.category == category,
                ticket_terms.c.term.in_(list(terms)),
                ticket_terms.c.created_at >= since,
            )
            .order_by(ticket_terms.c.ticket_id)
        )
        return [(term, ticket_id, customer_id) for term, ticket_id, customer_id in rows]


class SqlHotIssueRepository(_Repository):
    """Hot issues; :meth:`lock` serialises the decisions of one category."""

    _LOCK = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("b_key"))))

    async def lock(self, category: str) -> None:
        # PostgreSQL: a transaction-scoped advisory lock, released by COMMIT or ROLLBACK
        # (a dead process's connection ends, so does its lock). It works across
        # processes and needs no row to exist yet, which a row lock would. Under READ
        # COMMITTED (our isolation level) every later statement of this transaction
        # sees what the previous holder committed: its ticket terms and its issue.
        # SQLite: nothing to do, BEGIN IMMEDIATE already lets one writer in at a time.
        if self._postgres:
            await self.connection.execute(self._LOCK, {"b_key": f"hot_issue:{category}"})

    async def recent(self, category: str, terms: Sequence[str], since: datetime) -> HotIssue | None:
        row = (
            await self.connection.execute(
                select(hot_issues)
                .where(
                    hot_issues.c.category == category,
                    hot_issues.c.term.in_(list(terms)),
                    hot_issues.c.created_at >= since,
                )
                .order_by(hot_issues.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return HotIssue(row.id, row.category, row.term, row.created_at, (), row.pinged_at)

    async def add(self, issue: HotIssue) -> HotIssue:
        issue.id = (
            await self.connection.execute(
                insert(hot_issues).returning(hot_issues.c.id),
                dict(category=issue.category, term=issue.term[:64], created_at=issue.created_at, pinged_at=issue.pinged_at),
            )
        ).scalar_one()
        return issue

    async def mark_pinged(self, issue_id: int, at: datetime) -> None:
        await self.connection.execute(update(hot_issues).where(hot_issues.c.id == issue_id).values(pinged_at=at))


# ---------------------------------------------------------------------- processed updates
class SqlProcessedUpdateRepository(_Repository):
    async def record(self, channel: str, update_id: str) -> bool:
        result = await self.connection.execute(
            _RECORD_UPDATE[self.connection.dialect.name],
            {"channel": channel, "update_id": update_id, "processed_at": datetime.now(UTC)},
        )
        return bool(result.rowcount)
