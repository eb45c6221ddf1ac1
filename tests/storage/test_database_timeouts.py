"""A database that stalls or refuses is an error within the configured time, not a hang;
SQLite files are private; the URL's password is never shown.

The stalled servers are asyncio servers on an ephemeral loopback port: one accepts and
never answers, one completes PostgreSQL's start-up handshake and then never answers a
query. The timeouts are small; no test asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.database import (
    Database,
    DatabaseURLError,
    create_private_file,
    database_unavailable,
    mask_url,
    normalise_url,
    sqlite_url,
)

PASSWORD = "S3cret-Pa55word"
PG_ENV = "TEST_DATABASE_URL"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.read()  # read whatever comes, answer nothing, until the client hangs up
    finally:
        writer.close()


def _message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


async def _handshake_then_never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """PostgreSQL's start-up as a trusting server does it, then silence."""
    try:
        while True:
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            (code,) = struct.unpack("!i", (await reader.readexactly(length - 4))[:4])
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: "no"
                writer.write(b"N")
                continue
            if code == 80877102:  # CancelRequest (the client's timeout): taken, connection closed
                return
            break  # the StartupMessage
        reply = _message(b"R", struct.pack("!i", 0))  # AuthenticationOk
        for key, value in (
            ("server_version", "16.0"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"), ("integer_datetimes", "on"), ("standard_conforming_strings", "on"),
        ):
            reply += _message(b"S", key.encode() + b"\0" + value.encode() + b"\0")
        reply += _message(b"K", struct.pack("!ii", 4242, 1)) + _message(b"Z", b"I")  # ReadyForQuery
        writer.write(reply)
        await reader.read()  # queries: never answered
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def stalled_port() -> AsyncIterator[int]:
    server, port = await _serve(_never_answer)
    yield port
    server.close()


@pytest.fixture
async def silent_after_handshake_port() -> AsyncIterator[int]:
    server, port = await _serve(_handshake_then_never_answer)
    yield port
    server.close()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _select_one(database: Database) -> None:
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


# ---------------------------------------------------------------------- PostgreSQL timeouts
async def test_a_server_that_accepts_and_never_answers_is_a_timeout(stalled_port: int) -> None:
    database = Database.from_url(f"postgresql://bot:{PASSWORD}@127.0.0.1:{stalled_port}/bot", connect_timeout=0.5)
    try:
        with pytest.raises(TimeoutError) as raised:
            await asyncio.wait_for(_select_one(database), timeout=30)  # the guard, not the claim
        assert database_unavailable(raised.value)
    finally:
        await database.dispose()


async def test_a_server_that_stops_answering_after_connecting_is_a_timeout(silent_after_handshake_port: int) -> None:
    # the connection opens; the statements on it get no answer: the client-side
    # statement timeout (asyncpg's command_timeout) ends the wait
    database = Database.from_url(
        f"postgresql://bot:{PASSWORD}@127.0.0.1:{silent_after_handshake_port}/bot",
        connect_timeout=30,
        statement_timeout=0.2,
    )
    try:
        with pytest.raises(TimeoutError) as raised:
            await asyncio.wait_for(_select_one(database), timeout=30)
        assert database_unavailable(raised.value)
    finally:
        await database.dispose()


async def test_connection_refused_is_unavailable() -> None:
    database = Database.from_url(f"postgresql://bot:{PASSWORD}@127.0.0.1:{_closed_port()}/bot", connect_timeout=0.5)
    try:
        with pytest.raises(OSError) as raised:
            await _select_one(database)
        assert database_unavailable(raised.value)
    finally:
        await database.dispose()


def _pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return url


async def test_postgresql_cancels_a_statement_that_runs_too_long() -> None:
    database = Database.from_url(_pg_url(), statement_timeout=0.2)
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "200ms"
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT pg_sleep(30)"))
        assert "statement timeout" in str(raised.value)
        assert database_unavailable(raised.value)  # a stalled database, not a wrong setting
    finally:
        await database.dispose()


async def test_statement_timeout_none_switches_it_off() -> None:
    database = Database.from_url(_pg_url(), statement_timeout=None)
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "0"
    finally:
        await database.dispose()


async def test_an_unknown_role_is_a_wrong_setting_not_an_outage() -> None:
    from sqlalchemy.engine import make_url

    url = make_url(_pg_url()).set(username="no_such_role_here").render_as_string(hide_password=False)
    database = Database.from_url(url)
    try:
        with pytest.raises(DBAPIError) as raised:
            await _select_one(database)
        assert not database_unavailable(raised.value)
    finally:
        await database.dispose()


# ---------------------------------------------------------------------- SQLite
async def test_sqlite_busy_timeout_is_configurable(tmp_path: Path) -> None:
    database = Database.from_url(sqlite_url(tmp_path / "bot.db"), busy_timeout=2.5)
    try:
        async with database.engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 2500
    finally:
        await database.dispose()


async def test_sqlite_locked_by_another_process_is_unavailable(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "bot.db"
    database = Database.from_url(sqlite_url(path), busy_timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        await _select_one(database)
        holder.execute("BEGIN EXCLUSIVE")  # as another process writing would
        with pytest.raises(Exception) as raised:
            async with database.engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert "locked" in str(raised.value)
        assert database_unavailable(raised.value)
    finally:
        holder.close()
        await database.dispose()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual umask would give 0644
    try:
        path = tmp_path / "new-folder" / "bot.db"
        database = Database.from_url(sqlite_url(path))
        try:
            async with database.engine.begin() as connection:
                await connection.execute(text("CREATE TABLE said (what TEXT)"))
                await connection.execute(text("INSERT INTO said VALUES ('my kettle leaks')"))
            companions = [path, path.with_name("bot.db-wal"), path.with_name("bot.db-shm")]
            assert all(p.exists() for p in companions)
            assert {p.name: _mode(p) for p in companions} == {p.name: 0o600 for p in companions}
            assert _mode(path.parent) == 0o700
        finally:
            await database.dispose()
    finally:
        os.umask(old_umask)


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    assert create_private_file(path) is False
    assert _mode(path) == 0o640


# ---------------------------------------------------------------------- the password is not shown
def test_database_repr_and_masked_url_hide_the_password(tmp_path: Path) -> None:
    database = Database.from_url(f"postgresql://bot:{PASSWORD}@127.0.0.1:5432/bot")
    assert PASSWORD not in repr(database)
    assert PASSWORD not in database.masked_url
    assert database.masked_url == "postgresql://bot:***@127.0.0.1:5432/bot"
    assert PASSWORD in database.url  # still usable to open the same database again


@pytest.mark.parametrize(
    "url",
    [f"mysql://bot:{PASSWORD}@db.example/bot", f"postgresql://bot:{PASSWORD}@db.example:notaport/bot"],
)
def test_url_errors_do_not_repeat_the_password(url: str) -> None:
    with pytest.raises(DatabaseURLError) as raised:
        normalise_url(url)
    assert PASSWORD not in str(raised.value)


def test_mask_url() -> None:
    assert mask_url(f"postgresql://bot:{PASSWORD}@h/db") == "postgresql://bot:***@h/db"
    assert mask_url("sqlite:////var/lib/bot/bot.db") == "sqlite:////var/lib/bot/bot.db"
    assert PASSWORD not in mask_url(f"postgresql://bot:{PASSWORD}@h:port/db")


def test_libpq_sslmode_is_read_as_asyncpgs_ssl_and_unknown_options_are_named() -> None:
    """A URL from a hosting provider (``?sslmode=require``) made asyncpg raise a TypeError
    deep in the pool: a traceback from every command (#11 point 14)."""
    assert normalise_url("postgresql://bot@db/bot?sslmode=require") == "postgresql+asyncpg://bot@db/bot?ssl=require"
    assert normalise_url("postgres://bot@db/bot?ssl=verify-full&target_session_attrs=read-write").endswith(
        "?ssl=verify-full&target_session_attrs=read-write"
    )
    with pytest.raises(DatabaseURLError, match=r"unknown option application_name, connect_timeout in .*\(timeouts are \[database\]"):
        normalise_url(f"postgresql://bot:{PASSWORD}@db/bot?application_name=x&connect_timeout=3")
    assert normalise_url(f"postgresql://db/bot?user=bot&password={PASSWORD}").endswith(f"?password={PASSWORD}&user=bot")
    with pytest.raises(DatabaseURLError, match="unknown option app in") as raised:
        normalise_url(f"postgresql://db/bot?user=bot&password={PASSWORD}&app=x")
    assert PASSWORD not in str(raised.value)
    with pytest.raises(DatabaseURLError, match="ssl / sslmode 'on' in") as raised:
        normalise_url(f"postgresql://bot:{PASSWORD}@db/bot?sslmode=on")
    assert PASSWORD not in str(raised.value)
