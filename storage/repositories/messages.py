"""Every message in and out, and every event of a ticket: written in one INSERT at commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from flows.domain import MessageRecord, TicketEvent
from storage.models import MessageRow, TicketEventRow
from storage.repositories.base import _QueuedInserts, copied_fields, from_row, messages, ticket_events, values_of

_INSERT_MESSAGES = insert(messages)
_INSERT_EVENTS = insert(ticket_events)


# the one list of each object's fields is its dataclass, checked against the table: the
# row's id is not read back, a message's edited_at is set by edit() only
_MESSAGE_FIELDS = copied_fields(MessageRecord, MessageRow, model_only=("id", "edited_at"))
_EVENT_FIELDS = copied_fields(TicketEvent, TicketEventRow, model_only=("id",))


def _message(row: Row[Any]) -> MessageRecord:
    return from_row(MessageRecord, row, _MESSAGE_FIELDS)


class SqlMessageRepository(_QueuedInserts):
    _insert = _INSERT_MESSAGES

    async def add(self, message: MessageRecord) -> None:
        """Queue the row (written before commit)."""
        values = values_of(message, _MESSAGE_FIELDS)
        values["edited_at"] = None
        self._pending.append(values)

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
    return from_row(TicketEvent, row, _EVENT_FIELDS)


class SqlTicketEventRepository(_QueuedInserts):
    _insert = _INSERT_EVENTS

    async def add(self, event: TicketEvent) -> None:
        """Queue the row (written before commit)."""
        self._pending.append(values_of(event, _EVENT_FIELDS))

    async def for_ticket(self, ticket_id: int) -> Sequence[TicketEvent]:
        await self.write_pending()
        rows = await self.connection.execute(
            select(ticket_events).where(ticket_events.c.ticket_id == ticket_id).order_by(ticket_events.c.id)
        )
        return [_event(r) for r in rows]

    async def any_by(self, actor: str, kinds: Sequence[str]) -> bool:
        await self.write_pending()
        query = select(ticket_events.c.id).where(ticket_events.c.actor == actor, ticket_events.c.kind.in_(list(kinds))).limit(1)
        return (await self.connection.execute(query)).first() is not None
