"""Customers and their conversations with the bot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.domain import Conversation, ConversationState, Customer, Draft
from storage.models import ConversationRow, CustomerRow
from storage.repositories.base import OUTBOX_PENDING, ReadAhead, _Repository, conversations, copied_fields, customers, from_row, outbox, values_of

_TERMINAL = (ConversationState.CLOSED, ConversationState.CANCELLED)

# Statements on the per-message path are built once: building and coercing a statement
# costs more than running it.
_CUSTOMER_BY_PLATFORM_ID = select(customers).where(
    customers.c.channel == bindparam("b_channel"), customers.c.external_id == bindparam("b_external_id")
)
# whether replies wait to be sent to the conversation's chat, read with the conversation
# (the service asks next, before it writes replies: see SqlOutboxRepository.has_pending)
_REPLIES_WAITING = (
    exists()
    .where(
        outbox.c.channel == conversations.c.channel,
        OUTBOX_PENDING,
        outbox.c.target == conversations.c.chat_id,
    )
    .label("replies_waiting")
)
# and its customer, whom the service asks for next (SqlCustomerRepository.get_or_create):
# one statement instead of three; only the conversation is locked
_CUSTOMER_PREFIX = "cu_"
_WITH_CUSTOMER = select(
    conversations, _REPLIES_WAITING, *(column.label(_CUSTOMER_PREFIX + column.key) for column in customers.c)
).select_from(conversations.outerjoin(customers, customers.c.id == conversations.c.customer_id))
_ACTIVE_CONVERSATION = (
    _WITH_CUSTOMER.where(
        conversations.c.channel == bindparam("b_channel"),
        conversations.c.chat_id == bindparam("b_chat_id"),
        conversations.c.active.is_(True),
    )
    .order_by(conversations.c.id.desc())
    .limit(1)
    .with_for_update(of=conversations)
)
_CONVERSATION_BY_ID = _WITH_CUSTOMER.where(conversations.c.id == bindparam("b_id")).with_for_update(of=conversations)
_UPDATE_CONVERSATION = update(conversations).where(conversations.c.id == bindparam("b_id"))


# the one list of each object's fields is its dataclass, checked against the table: the
# ids are set by the database; a conversation's draft is stored as JSON and its active
# column is derived from the state
_CUSTOMER_FIELDS = copied_fields(Customer, CustomerRow, converted=("id",))
_CONVERSATION_FIELDS = copied_fields(Conversation, ConversationRow, converted=("id", "draft"), model_only=("active",))


def _customer(row: Row[Any]) -> Customer:
    return from_row(Customer, row, _CUSTOMER_FIELDS, id=row.id)


def _joined_customer(row: Row[Any]) -> Customer | None:
    """The customer read with a conversation (columns ``cu_...``), None without one."""
    mapping = row._mapping
    if mapping[_CUSTOMER_PREFIX + "id"] is None:
        return None
    values = {name: mapping[_CUSTOMER_PREFIX + name] for name in _CUSTOMER_FIELDS}
    return Customer(id=mapping[_CUSTOMER_PREFIX + "id"], **values)


class SqlCustomerRepository(_Repository):
    def __init__(self, connection: AsyncConnection, read_ahead: ReadAhead | None = None) -> None:
        super().__init__(connection)
        self.read_ahead = read_ahead if read_ahead is not None else ReadAhead()

    async def get_or_create(self, channel: str, external_id: str, display_name: str, language: str) -> Customer:
        name = display_name[:256]
        known = self.read_ahead.customers.pop((channel, external_id), None)
        if known is not None:  # read with the chat's conversation in this transaction
            if name and known.display_name != name:
                known.display_name = name
                await self.save(known)
            return known
        row = (
            await self.connection.execute(
                _CUSTOMER_BY_PLATFORM_ID, {"b_channel": channel, "b_external_id": external_id}
            )
        ).first()
        if row is None:
            new = Customer(None, channel, external_id, name, language, datetime.now(UTC))
            new.id = (
                await self.connection.execute(
                    insert(customers).returning(customers.c.id), values_of(new, _CUSTOMER_FIELDS)
                )
            ).scalar_one()
            return new
        customer = _customer(row)
        if name and row.display_name != name:
            customer.display_name = name
            await self.save(customer)
        return customer

    async def get(self, customer_id: int) -> Customer | None:
        row = (await self.connection.execute(select(customers).where(customers.c.id == customer_id))).first()
        return _customer(row) if row else None

    async def save(self, customer: Customer) -> None:
        self.read_ahead.customers.pop((customer.channel, customer.external_id), None)
        await self.connection.execute(
            update(customers)
            .where(customers.c.id == customer.id)
            .values(display_name=customer.display_name[:256], language=customer.language)
        )


_UNKNOWN = object()


def _conversation(row: Row[Any]) -> Conversation:
    return from_row(Conversation, row, _CONVERSATION_FIELDS, id=row.id, draft=Draft.from_dict(row.draft))


def _conversation_values(conv: Conversation) -> dict[str, Any]:
    values = values_of(conv, _CONVERSATION_FIELDS)
    values["draft"] = conv.draft.to_dict()
    values["active"] = conv.state not in _TERMINAL
    # a conversation not yet stamped takes its one timestamp for both
    values["created_at"] = conv.created_at or conv.updated_at
    values["updated_at"] = conv.updated_at or conv.created_at
    return values


class SqlConversationRepository(_Repository):
    def __init__(self, connection: AsyncConnection, read_ahead: ReadAhead | None = None) -> None:
        super().__init__(connection)
        self.read_ahead = read_ahead if read_ahead is not None else ReadAhead()
        self._stored: dict[int, dict[str, Any]] = {}  # conversation id -> its row as read or written

    def _read(self, row: Row[Any] | None) -> Conversation | None:
        if row is None:
            return None
        self.read_ahead.replies_waiting[(row.channel, row.chat_id)] = bool(row.replies_waiting)
        customer = _joined_customer(row)
        if customer is not None:
            self.read_ahead.customers[(customer.channel, customer.external_id)] = customer
        # what the row holds, so that save() writes only what changed
        self._stored[row.id] = {name: getattr(row, name) for name in _CONVERSATION_FIELDS} | {"active": row.active}
        return _conversation(row)

    async def active_for_chat(self, channel: str, chat_id: str) -> Conversation | None:
        result = await self.connection.execute(_ACTIVE_CONVERSATION, {"b_channel": channel, "b_chat_id": chat_id})
        return self._read(result.first())

    async def get(self, conversation_id: int) -> Conversation | None:
        return self._read((await self.connection.execute(_CONVERSATION_BY_ID, {"b_id": conversation_id})).first())

    async def add(self, conversation: Conversation) -> Conversation:
        values = _conversation_values(conversation)
        conversation.id = (
            await self.connection.execute(insert(conversations).returning(conversations.c.id), values)
        ).scalar_one()
        self._stored[conversation.id] = values
        return conversation

    async def save(self, conversation: Conversation) -> None:
        """Write the draft and the columns that changed since the row was read or
        written in this transaction (every column of a conversation it did not read):
        SQLite rewrites an index only when the UPDATE names one of its columns. (The
        draft shares its lists with the objects it is made from, so it is not compared.)"""
        values = _conversation_values(conversation)
        assert conversation.id is not None
        stored = self._stored.get(conversation.id)
        changed = values if stored is None else {
            k: v for k, v in values.items() if k == "draft" or stored.get(k, _UNKNOWN) != v
        }  # fmt: skip
        self._stored[conversation.id] = values
        result = await self.connection.execute(_UPDATE_CONVERSATION, {"b_id": conversation.id, **changed})
        assert result.rowcount == 1, f"conversation {conversation.id} vanished"
