"""Messages, ticket events, the outbox and processed update ids in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flows.domain import (
    MessageRecord,
    OutboxItem,
    TicketEvent,
)
from tests.fakes.memory.tables import Message, Repo, Transaction, json_copy, outbox_copy


class MemoryMessageRepository(Repo):
    async def add(self, message: MessageRecord) -> None:
        self.db.messages[self.db.next_id("messages")] = Message(replace(message, data=json_copy(message.data)))

    async def edit(
        self, channel: str, chat_id: str, platform_message_id: str, text: str, at: datetime
    ) -> MessageRecord | None:
        for message_id in sorted(self.db.messages):
            record = self.db.messages[message_id].record
            if (record.channel, record.chat_id, record.platform_message_id) == (channel, chat_id, platform_message_id) and (
                record.direction == "in" and record.kind != "edit"
            ):
                history = list((record.data or {}).get("previous_texts", []))
                history.append({"text": record.text, "until": at.isoformat()})
                edited = replace(record, text=text, data=json_copy({**(record.data or {}), "previous_texts": history}))
                self.db.messages[message_id] = Message(edited, at)
                return replace(edited, data=json_copy(edited.data))
        return None

    async def for_conversation(self, conversation_id: int) -> Sequence[MessageRecord]:
        return self._where(lambda m: m.conversation_id == conversation_id)

    async def for_ticket(self, ticket_id: int, direction: str | None = None) -> Sequence[MessageRecord]:
        return self._where(lambda m: m.ticket_id == ticket_id and (direction is None or m.direction == direction))

    def _where(self, match: Any) -> list[MessageRecord]:
        return [
            replace(m.record, data=json_copy(m.record.data))
            for _, m in sorted(self.db.messages.items())
            if match(m.record)
        ]


class MemoryTicketEventRepository(Repo):
    async def add(self, event: TicketEvent) -> None:
        self.db.events[self.db.next_id("events")] = replace(event, data=json_copy(event.data))

    async def for_ticket(self, ticket_id: int) -> Sequence[TicketEvent]:
        return [replace(e, data=json_copy(e.data)) for _, e in sorted(self.db.events.items()) if e.ticket_id == ticket_id]

    async def any_by(self, actor: str, kinds: Sequence[str]) -> bool:
        return any(e.actor == actor and e.kind in kinds for e in self.db.events.values())


class MemoryOutboxRepository(Repo):
    async def add(self, item: OutboxItem) -> OutboxItem:
        return (await self.add_all([item]))[0]

    async def add_all(self, items: Sequence[OutboxItem]) -> Sequence[OutboxItem]:
        for item in items:
            item.id = self.db.next_id("outbox")
            self.db.outbox[item.id] = outbox_copy(item)
        return items

    def _pending(self, channel: str, target: str | None) -> list[OutboxItem]:
        return [
            item
            for _, item in sorted(self.db.outbox.items())
            if item.channel == channel and item.status == "pending" and (target is None or item.target == target)
        ]

    async def pending(self, channel: str, target: str | None = None, limit: int = 100) -> Sequence[OutboxItem]:
        return [outbox_copy(item) for item in self._pending(channel, target)[:limit]]

    async def claim(
        self, channel: str, target: str | None, now: datetime, lease_until: datetime, limit: int = 100
    ) -> Sequence[OutboxItem]:
        taken: list[OutboxItem] = []
        blocked: set[str] = set()
        for item in self._pending(channel, target)[:limit]:
            if item.target in blocked:
                continue
            if item.next_attempt_at is not None and item.next_attempt_at > now:
                blocked.add(item.target)
                continue
            taken.append(outbox_copy(item))  # as read, before the lease is written
            self._change(item.id, next_attempt_at=lease_until)
        return taken

    def _change(self, item_id: int | None, **values: Any) -> None:
        stored = self.db.outbox.get(item_id or 0)
        if stored is not None:
            self.db.outbox[stored.id or 0] = replace(stored, **values)

    async def release(self, item_ids: Sequence[int], now: datetime) -> None:
        for item_id in item_ids:
            self._change(item_id, next_attempt_at=now)

    async def renew(self, item_ids: Sequence[int], until: datetime) -> None:
        for item_id in item_ids:
            stored = self.db.outbox.get(item_id)
            if stored is not None and stored.status == "pending":
                self._change(item_id, next_attempt_at=until)

    async def mark_sent(self, item_ids: Sequence[int], at: datetime) -> None:
        for item_id in item_ids:
            self._change(item_id, status="sent", sent_at=at, last_error=None)

    async def has_pending(self, channel: str, target: str) -> bool:
        return bool(self._pending(channel, target))

    async def mark_retry(self, item_id: int, error: str, retry_at: datetime) -> None:
        stored = self.db.outbox.get(item_id)
        if stored is not None:
            self._change(item_id, attempts=stored.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at)

    async def mark_failed(self, item_id: int, error: str) -> None:
        stored = self.db.outbox.get(item_id)
        if stored is not None:
            self._change(item_id, status="failed", attempts=stored.attempts + 1, last_error=error[:2000])


class MemoryProcessedUpdateRepository(Repo):
    def __init__(self, uow: Transaction) -> None:
        super().__init__(uow)
        self.recorded: list[tuple[str, str]] = []

    async def record(self, channel: str, update_id: str) -> bool:
        key = (channel, update_id)
        if key in self.db.updates:
            return False
        self.db.updates[key] = datetime.now(UTC)
        self.recorded.append(key)
        return True
