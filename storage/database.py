"""Engines and the unit of work: one session and one transaction per event."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from flows.ports import (
    ConversationRepository,
    CustomerRepository,
    DuplicateUpdate,
    HotIssueRepository,
    InboxRepository,
    LeaseRepository,
    MessageRepository,
    OutboxRepository,
    ProcessedUpdateRepository,
    TermRepository,
    TicketEventRepository,
    TicketRepository,
    TimerRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from flows.redaction import redact
from storage.inbox import SqlInboxRepository, SqlLeaseRepository
from storage.models import ProcessedUpdateRow
from storage.sqlite_inline import AUTOCHECKPOINT_PAGES, Checkpointer, inline_connector
from storage.repositories.base import ReadAhead
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
    table_of,
)

logger = logging.getLogger(__name__)

DEFAULT_SQLITE_FILE = "complaint-bot.db"

# seconds; bot/config.py reads them from [database] (connect_timeout, statement_timeout, ...)
DEFAULT_CONNECT_TIMEOUT = 5.0  # PostgreSQL: TCP connect, TLS and authentication
DEFAULT_STATEMENT_TIMEOUT = 10.0  # PostgreSQL: one statement (server and client side)
DEFAULT_POOL_TIMEOUT = 10.0  # PostgreSQL: waiting for a free pooled connection
DEFAULT_BUSY_TIMEOUT = 10.0  # SQLite: waiting for another process's lock on the file
# the client gives up this much later than the server's statement_timeout (at most as much
# again), so that a live server reports its own clean "canceling statement" error and only
# a stalled one is cut off by the client
CLIENT_TIMEOUT_GRACE = 1.0


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
        raise DatabaseURLError(redact(f"cannot parse {url!r}: {exc}")) from exc
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg", query=_postgresql_options(parsed))
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        shown = parsed.render_as_string(hide_password=True)
        raise DatabaseURLError(f"unsupported database {backend!r} in {shown!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


# what a PostgreSQL URL's query may say (asyncpg's connect arguments, and SQLAlchemy's
# multi-host ``host``); libpq's ``sslmode`` is read as asyncpg's ``ssl``, which takes its values
_POSTGRESQL_OPTIONS = frozenset(
    {"ssl", "host", "user", "password", "passfile", "service", "servicefile", "target_session_attrs", "krbsrvname", "gsslib"}
)
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _postgresql_options(url: URL) -> dict[str, str | tuple[str, ...]]:
    """The URL's query for asyncpg; DatabaseURLError for what asyncpg would refuse with
    a TypeError deep in the connection pool."""
    query = dict(url.query)
    if "sslmode" in query:
        mode = query.pop("sslmode")
        query.setdefault("ssl", mode)
    shown = redact(url.render_as_string(hide_password=True))
    unknown = sorted(set(query) - _POSTGRESQL_OPTIONS)
    if unknown:
        timeouts = " (timeouts are [database] settings of the config file)" if any("timeout" in k for k in unknown) else ""
        raise DatabaseURLError(
            f"unknown option {', '.join(unknown)} in {shown!r}: a PostgreSQL URL may carry "
            f"{', '.join(sorted(_POSTGRESQL_OPTIONS | {'sslmode'}))}{timeouts}"
        )
    if "ssl" in query and query["ssl"] not in _SSL_MODES:
        raise DatabaseURLError(f"ssl / sslmode {query['ssl']!r} in {shown!r} is not one of {', '.join(_SSL_MODES)}")
    return query


def mask_url(url: str) -> str:
    """``url`` fit to print or log: the password (if any) replaced by ``***``."""
    try:
        # redacted as well: SQLAlchemy ends the password at its first @, the rest of an
        # unencoded @ in it would be shown as part of the host
        return redact(make_url(url).render_as_string(hide_password=True))
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy can read: mask what looks like one
        return redact(url)


def sqlite_url(path: str | Path) -> str:
    return f"sqlite+aiosqlite:///{Path(path).expanduser().resolve()}"


def create_engine(
    url: str,
    *,
    search_path: str | None = None,
    echo: bool = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = DEFAULT_STATEMENT_TIMEOUT,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL, foreign keys and write-ahead locking.

    ``search_path`` (PostgreSQL only) puts every table in that schema; the tests use it
    to run in a schema of their own.

    Timeouts, in seconds, so that a database that stalls is an error, not a hang.
    PostgreSQL: ``connect_timeout`` bounds opening a connection (asyncpg's ``timeout``);
    ``statement_timeout`` bounds each statement, on the server (its ``statement_timeout``
    setting) and in the client (asyncpg's ``command_timeout``, a little later, for a
    server that does not answer at all); None switches it off (migrations, reports);
    ``pool_timeout`` bounds the wait for a free connection of the pool. SQLite:
    ``busy_timeout`` bounds the wait for another process's lock on the file.
    A connection that fails raises the driver's error, :func:`database_unavailable`
    tells which of them are worth retrying.
    """
    url = normalise_url(url)
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        server_settings: dict[str, str] = {}
        if search_path:
            server_settings["search_path"] = search_path
        connect_args["timeout"] = connect_timeout
        if statement_timeout:
            server_settings["statement_timeout"] = str(max(1, round(statement_timeout * 1000)))
            connect_args["command_timeout"] = statement_timeout + min(CLIENT_TIMEOUT_GRACE, statement_timeout)
        if server_settings:
            connect_args["server_settings"] = server_settings
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True, pool_timeout=pool_timeout)
    else:
        database = make_url(url).database or ":memory:"
        if database == ":memory:":
            raise DatabaseURLError("an in-memory SQLite database is lost at exit: give a file path")
        # one connection, statements run on the loop's thread (see storage.sqlite_inline)
        connect = _private_file_first(database, inline_connector(database))
        kwargs.update(async_creator=connect, pool_size=1, max_overflow=0, pool_timeout=60)
    engine = create_async_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout)
    return engine


def _private_file_first(database: str, connect: Callable[[], Any]) -> Callable[[], Any]:
    """``connect``, after creating the SQLite file with mode 0600 if it does not exist.

    The file holds what customers said: only the bot's user may read it. SQLite gives
    the ``-wal``, ``-shm`` and ``-journal`` files it creates next to it the same mode.
    """

    async def connect_private() -> Any:
        create_private_file(database)
        return await connect()

    return connect_private


def create_private_file(path: str | Path) -> bool:
    """Create ``path`` empty with mode 0600 (its folder 0700 if new); False if it exists."""
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
    finally:
        os.close(fd)
    return True


def _configure_sqlite(engine: AsyncEngine, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
    busy_ms = max(0, round(busy_timeout * 1000))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the connection is in autocommit mode (isolation_level None, see sqlite_inline):
        # we issue BEGIN ourselves, because pysqlite's implicit transactions defer locking
        cursor = dbapi_connection.cursor()
        # first: switching to WAL waits for other processes' locks too
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # checkpoints run in a thread of their own (storage.sqlite_inline.Checkpointer);
        # SQLite's own, inside a commit, only if that one cannot keep up
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
    # each transaction begins with BEGIN IMMEDIATE: see storage.sqlite_inline._begin_if_needed


# SQLSTATEs of a server that is there but cannot serve now: connection exceptions (08...),
# shutting down or starting up, too many connections, out of resources, statement
# cancelled by statement_timeout, lock not available
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53", "57014", "55P03", "40P01", "40001")  # 40…: deadlock, serialization
_TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "EHOSTDOWN",
        "ENETUNREACH", "ENETDOWN", "ETIMEDOUT", "EPIPE",
    )
    if hasattr(errno, name)
)


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, the driver error SQLAlchemy wraps and whatever they were raised from."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is s for s in seen) or len(seen) > 20:
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        pending.extend([orig if isinstance(orig, BaseException) else None, current.__cause__])
    return seen


def database_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database being down, stalled or busy (worth waiting for), rather
    than a mistake in the settings (wrong address, password, database name, schema)?

    Transient: connection refused or reset, timeouts (connect, statement, pool), a
    server starting up or shutting down or out of connections, SQLite's "database is
    locked". Everything else, authentication failures among them, is not.
    """
    for error in _causes(exc):
        if isinstance(error, (TimeoutError, PoolTimeoutError, ConnectionError)):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, socket.gaierror):
            if error.errno == socket.EAI_AGAIN:  # "temporary failure in name resolution"
                return True
            continue  # an unknown host name is a wrong setting
        if isinstance(error, OSError):
            if error.errno in _TRANSIENT_ERRNOS:
                return True
            # asyncio, when every address of the host refused: OSError("Multiple exceptions: ...")
            if error.errno is None and "Connect call failed" in str(error):
                return True
        if isinstance(error, sqlite3.OperationalError):
            text = str(error).lower()
            if "locked" in text or "busy" in text:
                return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATES):
            return True
    return False


# the primary key of processed_updates: violating it means another transaction recorded
# the same update id (named in storage/models.py's NAMING_CONVENTION and the migration)
PROCESSED_UPDATES_KEY = str(table_of(ProcessedUpdateRow).primary_key.name)


def violated_constraint(exc: BaseException) -> str | None:
    """The name of the constraint an IntegrityError violated, as the driver reports it.

    PostgreSQL names it: asyncpg's exception (which SQLAlchemy's adapter raises its own
    from) has ``constraint_name``, psycopg's has ``diag.constraint_name``. SQLite names
    no constraint in its errors (None here); there the repositories avoid the violation
    instead (``INSERT ... ON CONFLICT DO NOTHING``, and one writer at a time).
    """
    for error in _causes(exc):
        name = getattr(error, "constraint_name", None)
        if name is None:
            name = getattr(getattr(error, "diag", None), "constraint_name", None)
        if isinstance(name, str) and name:
            return name
    return None


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
        # typed as the ports (flows/ports.py) the flows use; the unit of work keeps the
        # SQL classes of the ones it drives itself at commit
        self._messages = SqlMessageRepository(self.connection)
        self._events = SqlTicketEventRepository(self.connection)
        self._updates = SqlProcessedUpdateRepository(self.connection)
        read_ahead = ReadAhead()  # a conversation read with its customer and its chat's waiting replies
        self.customers: CustomerRepository = SqlCustomerRepository(self.connection, read_ahead)
        self.conversations: ConversationRepository = SqlConversationRepository(self.connection, read_ahead)
        self.tickets: TicketRepository = SqlTicketRepository(self.connection)
        self.messages: MessageRepository = self._messages
        self.events: TicketEventRepository = self._events
        self.outbox: OutboxRepository = SqlOutboxRepository(self.connection, read_ahead)
        self.updates: ProcessedUpdateRepository = self._updates
        self.timers: TimerRepository = SqlTimerRepository(self.connection)
        self.terms: TermRepository = SqlTermRepository(self.connection)
        self.hot_issues: HotIssueRepository = SqlHotIssueRepository(self.connection)
        self.inbox: InboxRepository = SqlInboxRepository(self.connection)
        self.leases: LeaseRepository = SqlLeaseRepository(self.connection)
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
            await self._messages.write_pending()
            await self._events.write_pending()
            await self._transaction.commit()
        except IntegrityError as exc:
            if await self._duplicate_update(exc):
                raise DuplicateUpdate(str(exc.orig)) from exc
            raise

    async def _duplicate_update(self, exc: IntegrityError) -> bool:
        """Did ``exc`` come from another transaction recording one of our update ids?

        PostgreSQL names the violated constraint; SQLite does not, so there the update
        ids this transaction recorded are looked up once it is rolled back."""
        name = violated_constraint(exc)
        if name is not None or self.connection.dialect.name != "sqlite":
            return name == PROCESSED_UPDATES_KEY
        recorded = list(self._updates.recorded)
        if not recorded:
            return False
        if self._transaction.is_active:
            await self._transaction.rollback()
        async with self.connection.begin():
            return await self._updates.any_stored(recorded)

    async def rollback(self) -> None:
        await self._transaction.rollback()


class Database:
    """The engine and the unit-of-work factory the rest of the bot is given."""

    def __init__(self, engine: AsyncEngine, url: str | None = None, options: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.url = url or engine.url.render_as_string(hide_password=False)
        self.options = dict(options or {})  # what from_url was given, to open the same database again
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._checkpointer: Checkpointer | None = None

    @property
    def masked_url(self) -> str:
        """The URL to print or log: ``url`` carries the password, this does not."""
        return mask_url(self.url)

    def __repr__(self) -> str:
        return f"Database({self.masked_url!r})"

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs), url, kwargs)

    def unit_of_work(self) -> SqlUnitOfWork:
        if self._checkpointer is None and self.engine.dialect.name == "sqlite" and self.engine.url.database:
            self._checkpointer = Checkpointer(self.engine.url.database)  # the first unit of work starts it
            self._checkpointer.start()
        return SqlUnitOfWork(self.engine)

    __call__ = unit_of_work

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        await self.engine.dispose()


if TYPE_CHECKING:  # mypy checks that the SQL unit of work is what flows/ports.py asks for

    def _implements_ports(database: Database) -> tuple[UnitOfWorkFactory, UnitOfWork]:
        return database, database.unit_of_work()
