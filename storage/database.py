"""Engines and the unit of work: one session and one transaction per event."""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from flows.ports import DuplicateUpdate
from storage.sqlite_inline import inline_connector
from storage.repositories import (
    SqlConversationRepository,
    SqlCustomerRepository,
    SqlHotIssueRepository,
    SqlMessageRepository,
    SqlOutboxRepository,
    SqlProcessedUpdateRepository,
    SqlTicketEventRepository,
    SqlTermRepository,
    SqlTicketRepository,
    SqlTimerRepository,
)

logger = logging.getLogger(__name__)

DEFAULT_SQLITE_FILE = "complaint-bot.db"


class DatabaseURLError(ValueError):
    """DATABASE_URL is not something we can connect to."""


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver we ship.

    ``postgres://`` and ``postgresql://`` become ``postgresql+asyncpg://``,
    ``sqlite:///file.db`` becomes ``sqlite+aiosqlite:///file.db``.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise DatabaseURLError(f"cannot parse {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise DatabaseURLError(f"unsupported database {backend!r} in {url!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: str | Path) -> str:
    return f"sqlite+aiosqlite:///{Path(path).expanduser().resolve()}"


def create_engine(url: str, *, search_path: str | None = None, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL, foreign keys and write-ahead locking.

    ``search_path`` (PostgreSQL only) puts every table in that schema; the tests use it
    to run in a schema of their own.
    """
    url = normalise_url(url)
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        if search_path:
            connect_args["server_settings"] = {"search_path": search_path}
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    else:
        database = make_url(url).database or ":memory:"
        if database == ":memory:":
            raise DatabaseURLError("an in-memory SQLite database is lost at exit: give a file path")
        # one connection, statements run on the loop's thread (see storage.sqlite_inline)
        kwargs.update(async_creator=inline_connector(database), pool_size=1, max_overflow=0, pool_timeout=60)
    engine = create_async_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    database = engine.url.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the connection is in autocommit mode (isolation_level None, see sqlite_inline):
        # we issue BEGIN ourselves, because pysqlite's implicit transactions defer locking
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=4000")  # fewer checkpoints (each one syncs)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # take the write lock up front: two writers never deadlock on a lock upgrade
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class SqlUnitOfWork:
    """One transaction over every repository (implements flows.ports.UnitOfWork)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __aenter__(self) -> Self:
        self.connection = await self._engine.connect()
        try:
            self._transaction = await self.connection.begin()
        except BaseException:
            await self.connection.close()
            raise
        self.customers = SqlCustomerRepository(self.connection)
        self.conversations = SqlConversationRepository(self.connection)
        self.tickets = SqlTicketRepository(self.connection)
        self.messages = SqlMessageRepository(self.connection)
        self.events = SqlTicketEventRepository(self.connection)
        self.outbox = SqlOutboxRepository(self.connection)
        self.updates = SqlProcessedUpdateRepository(self.connection)
        self.timers = SqlTimerRepository(self.connection)
        self.terms = SqlTermRepository(self.connection)
        self.hot_issues = SqlHotIssueRepository(self.connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            await self.connection.close()

    async def commit(self) -> None:
        try:
            await self.messages.write_pending()
            await self.events.write_pending()
            await self._transaction.commit()
        except IntegrityError as exc:
            if "processed_updates" in str(exc.orig) or "pk_processed_updates" in str(exc):
                raise DuplicateUpdate(str(exc.orig)) from exc
            raise

    async def rollback(self) -> None:
        await self._transaction.rollback()


class Database:
    """The engine and the unit-of-work factory the rest of the bot is given."""

    def __init__(self, engine: AsyncEngine, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.url = url or engine.url.render_as_string(hide_password=False)
        self.options = dict(options or {})  # what from_url was given, to open the same database again
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs), url, kwargs)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    __call__ = unit_of_work

    async def dispose(self) -> None:
        await self.engine.dispose()
