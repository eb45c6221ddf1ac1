"""Repositories: the only place that reads and writes rows. They return domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from flows.domain import (
    Attachment,
    Conversation,
    ConversationState,
    Customer,
    Draft,
    MessageRecord,
    OutboxItem,
    Severity,
    Ticket,
    TicketEvent,
    TicketState,
)
from flows.formatting import ticket_number
from storage.models import (
    ConversationRow,
    CustomerRow,
    MessageRow,
    OutboxRow,
    ProcessedUpdateRow,
    TicketEventRow,
    TicketRow,
)

_TERMINAL = (ConversationState.CLOSED, ConversationState.CANCELLED)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.bind.dialect.name == "postgresql"


# ---------------------------------------------------------------------- customers
def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        display_name=row.display_name,
        language=row.language,
        created_at=row.created_at,
    )


class SqlCustomerRepository(_Repository):
    async def get_or_create(self, channel: str, external_id: str, display_name: str, language: str) -> Customer:
        row = await self.session.scalar(
            select(CustomerRow).where(CustomerRow.channel == channel, CustomerRow.external_id == external_id)
        )
        if row is None:
            row = CustomerRow(
                channel=channel,
                external_id=external_id,
                display_name=display_name[:256],
                language=language,
                created_at=datetime.now(UTC),
            )
            self.session.add(row)
            await self.session.flush()
        elif display_name and row.display_name != display_name[:256]:
            row.display_name = display_name[:256]
        return _customer(row)

    async def get(self, customer_id: int) -> Customer | None:
        row = await self.session.get(CustomerRow, customer_id)
        return _customer(row) if row else None

    async def save(self, customer: Customer) -> None:
        row = await self.session.get(CustomerRow, customer.id)
        assert row is not None
        row.display_name = customer.display_name
        row.language = customer.language


# ---------------------------------------------------------------------- conversations
def _conversation(row: ConversationRow) -> Conversation:
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


def _fill_conversation(row: ConversationRow, conv: Conversation) -> None:
    row.customer_id = conv.customer_id
    row.channel = conv.channel
    row.chat_id = conv.chat_id
    row.state = conv.state
    row.active = conv.state not in _TERMINAL
    row.step = conv.step
    row.draft = conv.draft.to_dict()
    row.ticket_id = conv.ticket_id
    row.created_at = conv.created_at or conv.updated_at  # type: ignore[assignment]
    row.updated_at = conv.updated_at or conv.created_at  # type: ignore[assignment]


class SqlConversationRepository(_Repository):
    async def active_for_chat(self, channel: str, chat_id: str) -> Conversation | None:
        row = await self.session.scalar(
            select(ConversationRow)
            .where(
                ConversationRow.channel == channel,
                ConversationRow.chat_id == chat_id,
                ConversationRow.active.is_(True),
            )
            .order_by(ConversationRow.id.desc())
            .limit(1)
            .with_for_update()
        )
        return _conversation(row) if row else None

    async def get(self, conversation_id: int) -> Conversation | None:
        row = await self.session.get(ConversationRow, conversation_id, with_for_update=True)
        return _conversation(row) if row else None

    async def add(self, conversation: Conversation) -> Conversation:
        row = ConversationRow()
        _fill_conversation(row, conversation)
        self.session.add(row)
        await self.session.flush()
        conversation.id = row.id
        return conversation

    async def save(self, conversation: Conversation) -> None:
        row = await self.session.get(ConversationRow, conversation.id)
        assert row is not None, f"conversation {conversation.id} vanished"
        _fill_conversation(row, conversation)


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
    "escalated",
    "crisis",
    "rating",
    "feedback",
    "reopen_count",
    "language",
    "created_at",
    "updated_at",
    "first_response_due",
    "reply_due",
    "resolution_due",
    "first_response_at",
    "resolved_at",
    "closed_at",
)


def _ticket(row: TicketRow) -> Ticket:
    values: dict[str, Any] = {name: getattr(row, name) for name in _TICKET_FIELDS}
    return Ticket(
        id=row.id,
        number=row.number,
        photos=[Attachment.from_dict(p) for p in row.photos or ()],
        **values,
    )


def _fill_ticket(row: TicketRow, ticket: Ticket) -> None:
    for name in _TICKET_FIELDS:
        setattr(row, name, getattr(ticket, name))
    row.photos = [p.to_dict() for p in ticket.photos]


_SEVERITY_RANK = case(
    {Severity.MAJOR: 0, Severity.HOT: 1, Severity.IMPORTANT: 2},
    value=TicketRow.severity,
    else_=3,
)


class SqlTicketRepository(_Repository):
    async def add(self, ticket: Ticket) -> Ticket:
        row = TicketRow()
        _fill_ticket(row, ticket)
        self.session.add(row)
        await self.session.flush()
        row.number = ticket_number(row.id)
        ticket.id, ticket.number = row.id, row.number
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self.session.get(TicketRow, ticket_id)
        return _ticket(row) if row else None

    async def by_number(self, number: str) -> Ticket | None:
        row = await self.session.scalar(select(TicketRow).where(TicketRow.number == number))
        return _ticket(row) if row else None

    async def save(self, ticket: Ticket) -> None:
        row = await self.session.get(TicketRow, ticket.id)
        assert row is not None, f"ticket {ticket.id} vanished"
        _fill_ticket(row, ticket)

    async def for_customer(self, customer_id: int, limit: int = 10) -> Sequence[Ticket]:
        rows = await self.session.scalars(
            select(TicketRow).where(TicketRow.customer_id == customer_id).order_by(TicketRow.id.desc()).limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def unclaimed(self, limit: int = 50) -> Sequence[Ticket]:
        rows = await self.session.scalars(
            select(TicketRow)
            .where(TicketRow.state.in_((TicketState.NEW, TicketState.REOPENED)), TicketRow.owner_id.is_(None))
            .order_by(_SEVERITY_RANK, TicketRow.id)
            .limit(limit)
        )
        return [_ticket(r) for r in rows]

    async def count_by_state(self) -> dict[TicketState, int]:
        rows = await self.session.execute(select(TicketRow.state, func.count()).group_by(TicketRow.state))
        return {state: count for state, count in rows}


# ---------------------------------------------------------------------- messages
def _message(row: MessageRow) -> MessageRecord:
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


class SqlMessageRepository(_Repository):
    async def add(self, message: MessageRecord) -> int:
        row = MessageRow(
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
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def edit(
        self, channel: str, chat_id: str, platform_message_id: str, text: str, at: datetime
    ) -> MessageRecord | None:
        row = await self.session.scalar(
            select(MessageRow)
            .where(
                MessageRow.channel == channel,
                MessageRow.chat_id == chat_id,
                MessageRow.platform_message_id == platform_message_id,
                MessageRow.direction == "in",
                MessageRow.kind != "edit",
            )
            .order_by(MessageRow.id)
            .limit(1)
        )
        if row is None:
            return None
        history = list((row.data or {}).get("previous_texts", []))
        history.append({"text": row.text, "until": at.isoformat()})
        row.data = {**(row.data or {}), "previous_texts": history}
        row.text = text
        row.edited_at = at
        return _message(row)

    async def for_conversation(self, conversation_id: int) -> Sequence[MessageRecord]:
        rows = await self.session.scalars(
            select(MessageRow).where(MessageRow.conversation_id == conversation_id).order_by(MessageRow.id)
        )
        return [_message(r) for r in rows]


# ---------------------------------------------------------------------- ticket events
class SqlTicketEventRepository(_Repository):
    async def add(self, event: TicketEvent) -> None:
        self.session.add(
            TicketEventRow(
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
        rows = await self.session.scalars(
            select(TicketEventRow).where(TicketEventRow.ticket_id == ticket_id).order_by(TicketEventRow.id)
        )
        return [
            TicketEvent(
                ticket_id=r.ticket_id,
                kind=r.kind,
                actor=r.actor,
                from_state=r.from_state,
                to_state=r.to_state,
                data=r.data,
                created_at=r.created_at,
            )
            for r in rows
        ]


# ---------------------------------------------------------------------- outbox
def _outbox(row: OutboxRow) -> OutboxItem:
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
        row = OutboxRow(
            channel=item.channel,
            target=item.target,
            kind=item.kind,
            payload=item.payload,
            status=item.status,
            attempts=item.attempts,
            next_attempt_at=item.next_attempt_at,
            conversation_id=item.conversation_id,
            ticket_id=item.ticket_id,
            created_at=item.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        item.id = row.id
        return item

    async def pending(self, channel: str, target: str | None = None, limit: int = 100) -> Sequence[OutboxItem]:
        query = select(OutboxRow).where(OutboxRow.channel == channel, OutboxRow.status == "pending")
        if target is not None:
            query = query.where(OutboxRow.target == target)
        query = query.order_by(OutboxRow.id).limit(limit)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        rows = await self.session.scalars(query)
        return [_outbox(r) for r in rows]

    async def mark_sent(self, item_id: int, at: datetime) -> None:
        await self.session.execute(
            update(OutboxRow).where(OutboxRow.id == item_id).values(status="sent", sent_at=at, last_error=None)
        )

    async def mark_retry(self, item_id: int, error: str, retry_at: datetime) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(attempts=OutboxRow.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at)
        )

    async def mark_failed(self, item_id: int, error: str) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(status="failed", attempts=OutboxRow.attempts + 1, last_error=error[:2000])
        )


# ---------------------------------------------------------------------- processed updates
class SqlProcessedUpdateRepository(_Repository):
    async def record(self, channel: str, update_id: str) -> bool:
        insert = pg_insert if self._postgres else sqlite_insert
        statement = (
            insert(ProcessedUpdateRow)
            .values(channel=channel, update_id=update_id, processed_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]
