"""Every message in and out, and every event of a ticket: written in one INSERT at commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from flows.domain import MessageRecord, TicketEvent
from storage.repositories.base import _QueuedInserts, messages, ticket_events

_INSERT_MESSAGES = insert(messages)
_INSERT_EVENTS = insert(ticket_events)


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
