"""An in-memory unit of work: the ports of :mod:`flows.ports` without a database.

``MemoryDatabase()`` is a :class:`flows.ports.UnitOfWorkFactory`: ``async with db() as uow``
opens one transaction. A transaction works on a snapshot of the tables (each table a
dict of immutable-by-convention rows: a row is replaced, never changed in place), its
commit makes the snapshot the database's state, anything else (rollback, an exception,
leaving without commit) throws it away. One transaction runs at a time (an asyncio
lock held from ``__aenter__`` to ``__aexit__``), as SQLite's ``BEGIN IMMEDIATE`` has it.

What is copied from the SQL repositories (storage/repositories, storage/inbox.py):
numbering (ids from 1, ticket numbers ``T000042``), orders (queues most severe then
oldest, a customer's tickets newest first, timers by due time), JSON columns (payloads,
drafts, photos go through JSON, so tuples come back as lists), truncations (terms to 64
characters, errors to 2000), the outbox claim/lease/renew/release rules, timers'
``next_due``/``lock_if_due`` and processed update ids (a second ``record`` is False).
Rows come out as fresh objects: changing one changes nothing until it is saved.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Self

from flows.domain import MessageRecord, OutboxItem, TicketEvent
from flows.ports import DuplicateUpdate, UnitOfWork, UnitOfWorkFactory
from tests.fakes.memory.inbox import MemoryInboxRepository, MemoryLeaseRepository
from tests.fakes.memory.messages import (
    MemoryMessageRepository,
    MemoryOutboxRepository,
    MemoryProcessedUpdateRepository,
    MemoryTicketEventRepository,
)
from tests.fakes.memory.tables import Tables, json_copy, outbox_copy
from tests.fakes.memory.tickets import (
    MemoryConversationRepository,
    MemoryCustomerRepository,
    MemoryHotIssueRepository,
    MemoryTermRepository,
    MemoryTicketRepository,
    MemoryTimerRepository,
)

__all__ = ["MemoryDatabase", "MemoryUnitOfWork"]


class MemoryUnitOfWork:
    """One transaction on a :class:`MemoryDatabase` (implements flows.ports.UnitOfWork)."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database
        self.tables = database.tables
        self._open = False
        self.customers = MemoryCustomerRepository(self)
        self.conversations = MemoryConversationRepository(self)
        self.tickets = MemoryTicketRepository(self)
        self.messages = MemoryMessageRepository(self)
        self.events = MemoryTicketEventRepository(self)
        self.outbox = MemoryOutboxRepository(self)
        self.updates = MemoryProcessedUpdateRepository(self)
        self.timers = MemoryTimerRepository(self)
        self.terms = MemoryTermRepository(self)
        self.hot_issues = MemoryHotIssueRepository(self)
        self.inbox = MemoryInboxRepository(self)
        self.leases = MemoryLeaseRepository(self)

    async def __aenter__(self) -> Self:
        database = self._database
        if database.holder is not None and database.holder is asyncio.current_task():
            raise RuntimeError("a second transaction inside the first one would wait for ever")
        await database.lock.acquire()
        database.holder = asyncio.current_task()
        self._open = True
        self.tables = self._database.tables.snapshot()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._open:
            await self.rollback()

    async def commit(self) -> None:
        assert self._open, "commit outside the transaction"
        # one transaction at a time: nobody can have recorded our update ids since we
        # began (``updates.record`` said False then); checked anyway, as the SQL one does
        committed = self._database.tables.updates
        if any(key in committed for key in self.updates.recorded):
            await self.rollback()
            raise DuplicateUpdate("update id recorded by another transaction")
        self._database.tables = self.tables
        self._database.commits += 1
        self._end()

    async def rollback(self) -> None:
        if self._open:
            self._end()

    def _end(self) -> None:
        self._open = False
        self.tables = self._database.tables.snapshot()  # reads after the end see committed state
        self._database.holder = None
        self._database.lock.release()


class MemoryDatabase:
    """The state and the unit-of-work factory (implements flows.ports.UnitOfWorkFactory)."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.lock = asyncio.Lock()
        self.holder: asyncio.Task[object] | None = None  # the task in a transaction
        self.commits = 0

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    __call__ = unit_of_work

    # what a test reads of the committed state where no repository lists it
    def messages(self) -> list[MessageRecord]:
        """Every message in and out, oldest first."""
        return [replace(m.record, data=json_copy(m.record.data)) for _, m in sorted(self.tables.messages.items())]

    def outbox_items(self) -> list[OutboxItem]:
        """Every outbox item, whatever its status, in the order written."""
        return [outbox_copy(item) for _, item in sorted(self.tables.outbox.items())]

    def ticket_events(self) -> list[TicketEvent]:
        """Every ticket event, oldest first."""
        return [replace(e, data=json_copy(e.data)) for _, e in sorted(self.tables.events.items())]

    def terms(self) -> list[str]:
        """Every stored key term."""
        return [row.term for _, row in sorted(self.tables.terms.items())]

    def __repr__(self) -> str:
        return f"MemoryDatabase({len(self.tables.tickets)} tickets, {self.commits} commits)"


if TYPE_CHECKING:  # mypy checks that the memory unit of work is what flows/ports.py asks for

    def _implements_ports(database: MemoryDatabase) -> tuple[UnitOfWorkFactory, UnitOfWork]:
        return database, database.unit_of_work()

    memory_uow_factory: UnitOfWorkFactory = MemoryDatabase()
