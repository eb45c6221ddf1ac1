"""Ticket timers: the service promises' deadlines and the automatic upgrades."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select, update

from flows.domain import Timer, TimerKind
from storage.models import TimerRow
from storage.repositories.base import _Repository, copied_fields, from_row, insert_ids, inserted_ids, timers, values_of

# the one list of timer fields is the Timer dataclass, checked against the table; the id
# is set by the database
_TIMER_FIELDS = copied_fields(Timer, TimerRow, converted=("id",))


_INSERT_TIMERS = insert_ids(timers)


def _timer(row: Row[Any]) -> Timer:
    return from_row(Timer, row, _TIMER_FIELDS, id=row.id)


def _timer_values(timer: Timer) -> dict[str, Any]:
    values = values_of(timer, _TIMER_FIELDS)
    values["created_at"] = timer.created_at or timer.due_at
    return values


class SqlTimerRepository(_Repository):
    async def add_all(self, items: Sequence[Timer]) -> None:
        if items:
            new_ids = await inserted_ids(self.connection, _INSERT_TIMERS, [_timer_values(t) for t in items])
            for timer, new_id in zip(items, new_ids, strict=True):
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
