"""Platform update ids already handled, so a re-delivery is not handled twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repositories.base import _Repository, processed_updates

_RECORD_UPDATE = {
    dialect: insert_(processed_updates).on_conflict_do_nothing(index_elements=["channel", "update_id"])
    for dialect, insert_ in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


class SqlProcessedUpdateRepository(_Repository):
    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self.recorded: list[tuple[str, str]] = []  # (channel, update id) this transaction stored

    async def record(self, channel: str, update_id: str) -> bool:
        result = await self.connection.execute(
            _RECORD_UPDATE[self.connection.dialect.name],
            {"channel": channel, "update_id": update_id, "processed_at": datetime.now(UTC)},
        )
        if result.rowcount:
            self.recorded.append((channel, update_id))
        return bool(result.rowcount)

    async def any_stored(self, keys: Sequence[tuple[str, str]]) -> bool:
        """Is any of these (channel, update id) stored (by a committed transaction)?"""
        if not keys:
            return False
        c = processed_updates.c
        query = select(c.channel).where(tuple_(c.channel, c.update_id).in_(list(keys))).limit(1)
        return (await self.connection.execute(query)).first() is not None
