"""SQL for the inbox (inbound updates stored before they are confirmed) and for leases.

The rules that use them live in :mod:`flows.inbox`; here is only how they are stored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.domain import InboxEntry
from storage.models import InboxRow, LeaseRow
from storage.repositories.base import table_of

inbox = table_of(InboxRow)
leases = table_of(LeaseRow)

_DIALECTS = ("postgresql", "sqlite")


def _upsert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` with ``ON CONFLICT`` for ``dialect`` (PostgreSQL and SQLite spell it alike)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
CHAT_LEASE_PREFIX = "chat:"
PRUNE_BATCH = 5000


def chat_lease(channel: str, chat: str) -> str:
    """The lease name under which one process works on a chat's inbound updates."""
    return f"{CHAT_LEASE_PREFIX}{channel}:{chat}"


def _entry(row: Any) -> InboxEntry:  # a Row of _COLUMNS
    return InboxEntry(row.channel, row.update_id, row.chat, row.seq, row.payload, row.id, row.attempts)


def _without_nul(value: Any) -> Any:
    """PostgreSQL cannot store U+0000 in text or JSONB: drop it wherever it appears."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


_COLUMNS = (inbox.c.id, inbox.c.channel, inbox.c.update_id, inbox.c.chat, inbox.c.seq, inbox.c.payload, inbox.c.attempts)
_WAITING_ONE = (
    select(*_COLUMNS)
    .where(
        inbox.c.channel == bindparam("b_channel"),
        inbox.c.chat == bindparam("b_chat"),
        inbox.c.processed_at.is_(None),
    )
    .order_by(inbox.c.seq, inbox.c.id)
    .limit(bindparam("b_limit"))
)


#: what an entry handled in the transaction that stores it keeps as its payload
HANDLED_PAYLOAD: dict[str, Any] = {}


def _insert(dialect: str, many: bool) -> Any:
    statement = (
        _upsert(dialect, inbox)
        .values(
            channel=bindparam("b_channel"), update_id=bindparam("b_update_id"), chat=bindparam("b_chat"),
            seq=bindparam("b_seq"), payload=bindparam("b_payload", type_=inbox.c.payload.type),
            received_at=bindparam("b_now", type_=inbox.c.received_at.type),
            processed_at=bindparam("b_processed", type_=inbox.c.processed_at.type), attempts=0,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    )
    if many:
        return statement.returning(inbox.c.id, inbox.c.channel, inbox.c.update_id)
    return statement.returning(inbox.c.id)


_BUSY = (
    select(inbox.c.channel, inbox.c.chat)
    .where(
        tuple_(inbox.c.channel, inbox.c.chat).in_(bindparam("b_chats", expanding=True)),
        inbox.c.processed_at.is_(None),
    )
    .distinct()
)


def _take_one(dialect: str) -> Any:
    statement = _upsert(dialect, leases).values(
        name=bindparam("b_name"), owner=bindparam("b_owner"), expires_at=bindparam("b_until", type_=leases.c.expires_at.type)
    )
    return statement.on_conflict_do_update(
        index_elements=["name"],
        set_=dict(owner=statement.excluded.owner, expires_at=statement.excluded.expires_at),
        where=or_(
            leases.c.expires_at < bindparam("b_now", type_=leases.c.expires_at.type),
            leases.c.owner == statement.excluded.owner,
        ),
    ).returning(leases.c.name)


_INSERT_ONE = {dialect: _insert(dialect, many=False) for dialect in _DIALECTS}
_INSERT_MANY = {dialect: _insert(dialect, many=True) for dialect in _DIALECTS}
_TAKE_ONE = {dialect: _take_one(dialect) for dialect in _DIALECTS}
_MARK_PROCESSED = (
    update(inbox)
    .where(inbox.c.id == bindparam("b_id"), inbox.c.processed_at.is_(None))
    .values(processed_at=bindparam("b_at"))
)


class SqlInboxRepository:
    """Rows of the ``inbox`` table (implements flows.ports.InboxRepository)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def add_all(
        self, entries: Sequence[InboxEntry], now: datetime, handled: Collection[tuple[str, str]] = ()
    ) -> list[InboxEntry]:
        """Store what is new; returns those entries with their ids (a re-delivered
        update is recognised by the unique key and left out). The entries whose
        (channel, update_id) is in ``handled`` are handled in this same transaction:
        they are stored handled, without their payload (nothing reads it again; the
        row is kept only to recognise a re-delivery)."""
        # the same update twice in one batch (two deliveries gathered together) is one
        entries = list({(e.channel, e.update_id): e for e in entries}.values())
        if not entries:
            return []
        dialect = self.connection.dialect.name
        clean = _without_nul if dialect == "postgresql" else (lambda v: v)
        if len(entries) == 1:  # a webhook's update: one prebuilt statement
            e = entries[0]
            done = (e.channel, e.update_id) in handled
            params = dict(
                b_channel=e.channel, b_update_id=e.update_id, b_chat=clean(e.chat), b_seq=e.seq,
                b_payload=HANDLED_PAYLOAD if done else clean(e.payload), b_now=now, b_processed=now if done else None,
            )  # fmt: skip
            new_id = (await self.connection.execute(_INSERT_ONE[dialect], params)).scalar_one_or_none()
            return [] if new_id is None else [replace(e, id=new_id)]
        rows = []
        for e in entries:
            done = (e.channel, e.update_id) in handled
            rows.append(dict(
                b_channel=e.channel, b_update_id=e.update_id, b_chat=clean(e.chat), b_seq=e.seq,
                b_payload=HANDLED_PAYLOAD if done else clean(e.payload), b_now=now, b_processed=now if done else None,
            ))  # fmt: skip
        # one statement (SQLAlchemy's insertmanyvalues), the ids matched to the rows
        result = await self.connection.execute(_INSERT_MANY[dialect], rows)
        stored = {(row.channel, row.update_id): row.id for row in result}
        return [replace(e, id=stored[(e.channel, e.update_id)]) for e in entries if (e.channel, e.update_id) in stored]

    async def busy_chats(self, chats: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (channel, chat) of ``chats`` that have entries not handled yet."""
        if not chats:
            return set()
        rows = await self.connection.execute(_BUSY, {"b_chats": sorted(chats)})
        return {(row.channel, row.chat) for row in rows}

    async def release_chats(self, channel: str, chats: Sequence[str], owner: str) -> None:
        """Give up the leases of these chats (``owner``'s own), in one statement."""
        await SqlLeaseRepository(self.connection).release([chat_lease(channel, chat) for chat in chats], owner)

    async def add_failed(self, entry: InboxEntry, error: str, now: datetime) -> bool:
        """Keep an update that cannot be stored as it is (set aside with the error), so
        its platform can be told it arrived; False when it was stored already."""
        result = await self.connection.execute(
            _upsert(self.connection.dialect.name, inbox)
            .values(
                channel=entry.channel, update_id=entry.update_id, chat=entry.chat[:128], seq=entry.seq,
                payload={"unstorable": _without_nul(repr(entry.payload))[:20000]}, received_at=now,
                processed_at=now, failed_at=now, attempts=0, last_error=error[:2000],
            )  # fmt: skip
            .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        )
        return bool(result.rowcount)

    async def waiting(self, channel: str, chats: Sequence[str], limit: int = 50) -> dict[str, list[InboxEntry]]:
        """Each chat's entries not handled yet, oldest first, at most ``limit`` a chat."""
        out: dict[str, list[InboxEntry]] = {}
        for chat in chats:
            rows = await self.connection.execute(_WAITING_ONE, {"b_channel": channel, "b_chat": chat, "b_limit": limit})
            if found := [_entry(row) for row in rows]:
                out[chat] = found
        return out

    async def mark_processed(self, entry_id: int, at: datetime) -> bool:
        """False when it was handled already (by this or another process)."""
        result = await self.connection.execute(_MARK_PROCESSED, {"b_id": entry_id, "b_at": at})
        return bool(result.rowcount)

    async def mark_failed(self, entry_id: int, error: str, at: datetime, *, give_up: bool) -> int:
        """Count a failed attempt (with its error); ``give_up`` sets the entry aside
        (out of the queue, kept with its error, never pruned). Returns the attempts."""
        values: dict[str, Any] = dict(attempts=inbox.c.attempts + 1, last_error=error[:2000])
        if give_up:
            values.update(processed_at=at, failed_at=at)
        result = await self.connection.execute(
            update(inbox).where(inbox.c.id == entry_id).values(**values).returning(inbox.c.attempts)
        )
        return int(result.scalar_one_or_none() or 0)

    async def stranded(self, owner: str, now: datetime, limit: int = 100) -> Sequence[tuple[str, str]]:
        """(channel, chat) of waiting entries that nobody works on: no lease, an expired
        one, or one of ``owner``'s own (its worker may have stopped on an error)."""
        lease_name = literal(CHAT_LEASE_PREFIX) + inbox.c.channel + literal(":") + inbox.c.chat
        rows = await self.connection.execute(
            select(inbox.c.channel, inbox.c.chat)
            .select_from(inbox.outerjoin(leases, leases.c.name == lease_name))
            .where(
                inbox.c.processed_at.is_(None),
                or_(leases.c.name.is_(None), leases.c.expires_at < now, leases.c.owner == owner),
            )
            .group_by(inbox.c.channel, inbox.c.chat)
            .order_by(func.min(inbox.c.id))
            .limit(limit)
        )
        return [(row.channel, row.chat) for row in rows]

    async def take_chats(self, channel: str, chats: Sequence[str], owner: str, now: datetime, until: datetime) -> set[str]:
        """Take the leases of these chats (free, expired or ``owner``'s own); returns the chats held."""
        names = {chat_lease(channel, chat): chat for chat in chats}
        taken = await SqlLeaseRepository(self.connection).take(list(names), owner, now, until)
        return {names[name] for name in taken}

    async def release_chat(self, channel: str, chat: str, owner: str, now: datetime, until: datetime, limit: int = 50) -> Sequence[InboxEntry]:
        """Give up a chat's lease unless entries wait for it; returns those (the lease is
        then kept). The lease row is locked first, so an entry stored by a process that
        was refused the lease a moment ago is seen here (see :class:`SqlLeaseRepository`)."""
        name = chat_lease(channel, chat)
        leases_ = SqlLeaseRepository(self.connection)
        await leases_.release([name], owner)
        waiting = (await self.waiting(channel, [chat], limit)).get(chat, [])
        if waiting and not await leases_.take([name], owner, now, until):
            return []  # another process took it meanwhile: it handles them
        return waiting

    async def prune(self, before: datetime) -> int:
        """Forget up to :data:`PRUNE_BATCH` handled entries older than ``before``
        (platforms re-deliver for a day at most); set-aside entries stay. No index on
        ``processed_at`` (it would be written with every message for an hourly prune):
        the oldest rows come first in id order, where the walk starts."""
        doomed = (
            select(inbox.c.id)
            .where(inbox.c.processed_at < before, inbox.c.failed_at.is_(None))
            .order_by(inbox.c.id)
            .limit(PRUNE_BATCH)
            .scalar_subquery()
        )
        result = await self.connection.execute(delete(inbox).where(inbox.c.id.in_(doomed)))
        return int(result.rowcount or 0)


class SqlLeaseRepository:
    """Rows of the ``leases`` table (implements flows.ports.LeaseRepository).

    Taking a lease is one upsert that only overwrites an expired lease or one of the
    same owner; on PostgreSQL it locks the row even when it does not overwrite it, so
    a holder that releases the lease and then looks for waiting work (in one
    transaction) sees whatever a refused taker stored before it. Several rows are
    always locked in name order (taking and renewing alike), so two processes cannot
    deadlock on each other's leases.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def take(self, names: Sequence[str], owner: str, now: datetime, until: datetime) -> set[str]:
        """Take (or keep) the leases that are free, expired or already ``owner``'s;
        returns the names now held by ``owner``. One prebuilt upsert, its rows in name order."""
        statement = _TAKE_ONE[self.connection.dialect.name]
        rows = [{"b_name": name, "b_owner": owner, "b_until": until, "b_now": now} for name in sorted(set(names))]
        if len(rows) == 1:
            return {row.name for row in await self.connection.execute(statement, rows[0])}
        # several: one statement (SQLAlchemy's insertmanyvalues), its rows in name order
        return {row.name for row in await self.connection.execute(statement, rows)} if rows else set()

    async def renew(self, owner: str, now: datetime, until: datetime, prefix: str = "") -> set[str]:
        """Extend ``owner``'s unexpired leases whose names start with ``prefix``;
        returns the names still held."""
        mine = (
            select(leases.c.name)
            .where(leases.c.owner == owner, leases.c.expires_at >= now, leases.c.name.startswith(prefix, autoescape=True))
            .order_by(leases.c.name)
            .with_for_update()
        )
        names = [row.name for row in await self.connection.execute(mine)]  # locked in name order
        if names:
            await self.connection.execute(update(leases).where(leases.c.name.in_(names)).values(expires_at=until))
        return set(names)

    async def release(self, names: Sequence[str], owner: str) -> None:
        """Give up leases (only ``owner``'s own)."""
        if names:
            await self.connection.execute(delete(leases).where(leases.c.name.in_(sorted(names)), leases.c.owner == owner))

    async def holder(self, name: str, now: datetime) -> str | None:
        """Who holds a lease now (None when nobody does)."""
        row = (
            await self.connection.execute(select(leases.c.owner).where(leases.c.name == name, leases.c.expires_at >= now))
        ).first()
        return row.owner if row else None
