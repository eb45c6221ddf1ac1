"""SQLite for the async engine without a thread hop per statement.

SQLAlchemy's ``sqlite+aiosqlite`` dialect sends every statement to aiosqlite's worker
thread and back. On this workload that hop costs 300-700 µs, while the statement
itself takes a few µs: an inbound message needs about ten statements, so the hop alone
would cap the bot at a few hundred messages per second on one core.

This module gives the dialect a connection with aiosqlite's async interface that runs
each statement directly on the event loop's thread with the standard ``sqlite3``
module. That is safe because:

- statements of this bot touch a handful of rows by index: microseconds each;
- the engine built in :mod:`storage.database` keeps ONE connection for the process,
  so two transactions of this process never wait for each other's SQLite lock inside
  SQLite (they queue on the pool, asynchronously);
- several *processes* sharing one SQLite file would block the loop while waiting for
  the file lock (``busy_timeout``); multi-process deployments use PostgreSQL, as
  DESIGN.md says.

Long read-only work (reports over many tickets) must not run on this engine; it uses
its own synchronous engine in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

#: seconds between two checkpoints of the background checkpointer
CHECKPOINT_INTERVAL = 3.0
#: the WAL pages after which a commit checkpoints by itself (SQLite's own mechanism): only
#: when the background checkpointer cannot keep up (it normally keeps the WAL far smaller)
AUTOCHECKPOINT_PAGES = 16000


_OUTSIDE_TRANSACTIONS = ("PRAGMA", "BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM")


def _begin_if_needed(conn: sqlite3.Connection, sql: str) -> None:
    """Every transaction takes the write lock at its start (``BEGIN IMMEDIATE``), so two
    writers never deadlock on a lock upgrade and what a transaction read still holds
    when it writes. The connection is in autocommit mode (``isolation_level=None``): the
    first statement after a commit or rollback begins the next transaction here, which
    is where SQLAlchemy's transaction (always begun before its first statement) begins.
    (A ``begin`` event listener on the engine would do the same, at the cost of
    SQLAlchemy dispatching its execution events on every statement.)"""
    if not conn.in_transaction and not sql.lstrip()[:9].upper().startswith(_OUTSIDE_TRANSACTIONS):
        conn.execute("BEGIN IMMEDIATE")


class InlineCursor:
    """An aiosqlite-style cursor whose coroutines finish without suspending."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        _begin_if_needed(self._cursor.connection, sql)
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        _begin_if_needed(self._cursor.connection, sql)
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def nextset(self) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """Stands in for aiosqlite's request queue: runs the function at once.

    SQLAlchemy's aiosqlite adapter sets ``isolation_level`` by queueing a function
    and awaiting a future; here the function runs immediately and resolves it.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller
            future.set_exception(exc)


class InlineConnection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's dialect uses."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # the dialect checks this before commit/rollback
        self._tx = _ImmediateQueue(conn)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    def stop(self) -> None:
        """Forced close (the dialect's terminate)."""
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value  # type: ignore[assignment]  # sqlite3 checks the value


def inline_connector(database: str) -> Callable[[], Any]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(
            database,
            check_same_thread=False,  # the pool may close it from another thread at exit
            isolation_level=None,  # we issue BEGIN IMMEDIATE ourselves
        )
        return InlineConnection(conn)

    return connect


class Checkpointer:
    """Copies the WAL back into the database file in a thread of its own.

    SQLite checkpoints by itself in the commit that makes the WAL reach
    ``wal_autocheckpoint`` pages: copying thousands of pages (and, with synchronous=NORMAL,
    syncing the file) inside a commit, that is on the event loop here, for several
    milliseconds. A PASSIVE checkpoint on another connection, in another thread (the
    ``sqlite3`` module lets go of the GIL while SQLite works), does the same copying
    without making the writer wait. The engine keeps ``wal_autocheckpoint`` as a safety
    net (:data:`AUTOCHECKPOINT_PAGES`), for when this thread cannot keep up.
    """

    def __init__(self, database: str, interval: float | None = None) -> None:
        self.database = database
        self.interval = interval if interval is not None else CHECKPOINT_INTERVAL
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.checkpoints = 0  # done so far (for tests)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                if conn is None:
                    if not Path(self.database).exists():  # not created yet (never create it here: its mode is the bot's)
                        continue
                    conn = sqlite3.connect(f"file:{quote(self.database)}?mode=rw", uri=True, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA busy_timeout=1000")
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy, or the file went away: the next round tries again
                    logger.debug("background checkpoint of %s: %s", self.database, exc)
        except Exception:
            logger.exception("the background checkpointer of %s stopped; SQLite checkpoints by itself", self.database)
        finally:
            if conn is not None:
                conn.close()
