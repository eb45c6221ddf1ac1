"""The outbox: what the bot will send, written in the same transaction as the change it reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.domain import OutboxItem
from storage.models import OutboxRow
from storage.repositories.base import OUTBOX_PENDING, ReadAhead, _Repository, copied_fields, from_row, insert_ids, inserted_ids, outbox, values_of

# Statements on the per-message path are built once: building and coercing a statement
# costs more than running it.
_INSERT_OUTBOX = insert_ids(outbox)
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
        OUTBOX_PENDING,
        outbox.c.target == bindparam("b_target"),
    )
    .limit(1)
)

# the one list of outbox fields is the OutboxItem dataclass, checked against the table;
# the id is set by the database
_OUTBOX_FIELDS = copied_fields(OutboxItem, OutboxRow, converted=("id",))


def _outbox(row: Row[Any]) -> OutboxItem:
    return from_row(OutboxItem, row, _OUTBOX_FIELDS, id=row.id)


class SqlOutboxRepository(_Repository):
    def __init__(self, connection: AsyncConnection, read_ahead: ReadAhead | None = None) -> None:
        super().__init__(connection)
        # whether items wait for a chat, read with its conversation in this transaction
        self.replies_waiting = (read_ahead if read_ahead is not None else ReadAhead()).replies_waiting

    async def add(self, item: OutboxItem) -> OutboxItem:
        return (await self.add_all([item]))[0]

    async def add_all(self, items: Sequence[OutboxItem]) -> Sequence[OutboxItem]:
        if not items:
            return items
        for item in items:
            self.replies_waiting.pop((item.channel, item.target), None)
        rows = [values_of(item, _OUTBOX_FIELDS) for item in items]
        for item, new_id in zip(items, await inserted_ids(self.connection, _INSERT_OUTBOX, rows), strict=True):
            item.id = new_id
        return items

    async def pending(self, channel: str, target: str | None = None, limit: int = 100) -> Sequence[OutboxItem]:
        query = select(outbox).where(outbox.c.channel == channel, OUTBOX_PENDING)
        if target is not None:
            query = query.where(outbox.c.target == target)
        rows = await self.connection.execute(query.order_by(outbox.c.id).limit(limit))
        return [_outbox(r) for r in rows]

    async def claim(
        self, channel: str, target: str | None, now: datetime, lease_until: datetime, limit: int = 100
    ) -> Sequence[OutboxItem]:
        query = select(outbox).where(outbox.c.channel == channel, OUTBOX_PENDING)
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
                .where(outbox.c.id.in_(sorted(item_ids)), OUTBOX_PENDING)
                .values(next_attempt_at=until)
            )

    async def mark_sent(self, item_ids: Sequence[int], at: datetime) -> None:
        if item_ids:
            await self._lock_in_order(item_ids)
            await self.connection.execute(_MARK_SENT, {"b_ids": list(item_ids), "b_at": at})

    async def has_pending(self, channel: str, target: str) -> bool:
        known = self.replies_waiting.pop((channel, target), None)
        if known is not None:  # read with the conversation, nothing written to it since
            return known
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
