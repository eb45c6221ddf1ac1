"""Start-up while the database is down: `run` waits for it and says so once; the other
commands fail fast with a clean error; a wrong setting is an error at once.

Nothing here sleeps to wait for something: the tests wait on the "waiting for the
database" line (``say``) or on a count of attempts, and retries are 20 ms apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

import bot.bootstrap as bootstrap
from bot.bootstrap import (
    DatabaseUnavailable,
    StoppedWaitingForDatabase,
    build,
    ensure_schema,
    open_database,
    wait_for_database,
)
from bot.config import CannotStart, ConfigError, Settings
from storage.database import Database

PASSWORD = "S3cret-Pa55word"
GUARD = 60  # seconds: only so that a broken test fails instead of hanging


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(tmp_path: Path, database_url: str | None = None) -> Settings:
    return Settings(
        database_url=database_url,
        sqlite_file=tmp_path / "bot.db",
        database_connect_timeout=0.5,
        sqlite_busy_timeout=0.02,
        database_retry_every=0.02,
    )


class Said:
    """Collects what wait_for_database says; ``first`` is set at the first line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.first = asyncio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self.first.set()


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> dict[str, asyncio.Event | int]:
    """Counts ensure_schema calls; ``third`` is set at the third."""
    seen: dict[str, asyncio.Event | int] = {"count": 0, "third": asyncio.Event()}

    async def counting(database: Database, settings: Settings) -> None:
        seen["count"] = int(seen["count"]) + 1
        if seen["count"] >= 3:
            seen["third"].set()  # type: ignore[union-attr]
        await ensure_schema(database, settings)

    monkeypatch.setattr(bootstrap, "ensure_schema", counting)
    return seen


async def test_without_waiting_a_refused_connection_fails_fast_with_a_clean_error(tmp_path: Path) -> None:
    port = _closed_port()
    settings = _settings(tmp_path, f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot")
    with pytest.raises(DatabaseUnavailable) as raised:
        await asyncio.wait_for(build(settings), GUARD)
    error = raised.value
    assert isinstance(error, CannotStart)  # the CLI prints "cannot start", exit 2
    assert error.setting == "DATABASE_URL"
    assert f"cannot reach the database at postgresql://bot:***@127.0.0.1:{port}/bot (ConnectionRefusedError:" in str(error)
    assert PASSWORD not in str(error)


async def test_waits_saying_so_once_and_stops_when_asked(tmp_path: Path, attempts: dict) -> None:
    port = _closed_port()
    settings = _settings(tmp_path, f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot")
    database = open_database(settings)
    said, stop = Said(), asyncio.Event()
    waiting = asyncio.create_task(wait_for_database(database, settings, stop=stop, say=said))
    try:
        await asyncio.wait_for(attempts["third"].wait(), GUARD)
        stop.set()
        with pytest.raises(StoppedWaitingForDatabase):
            await asyncio.wait_for(waiting, GUARD)
    finally:
        waiting.cancel()
        await database.dispose()
    assert len(said.lines) == 1  # once, however many attempts
    assert said.lines[0].startswith(
        f"waiting for the database at postgresql://bot:***@127.0.0.1:{port}/bot (ConnectionRefusedError: "
    )
    assert said.lines[0].endswith("; retrying every 0.02 s")
    assert PASSWORD not in said.lines[0]


async def test_build_waits_when_asked_and_gives_up_cleanly_on_stop(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"postgresql://bot:{PASSWORD}@127.0.0.1:{_closed_port()}/bot")
    stop = asyncio.Event()
    building = asyncio.create_task(build(settings, wait_for_db=True, stop=stop))
    done, _ = await asyncio.wait({building}, timeout=0.3)
    assert not done  # still waiting, not failed
    stop.set()
    with pytest.raises(StoppedWaitingForDatabase):
        await asyncio.wait_for(building, GUARD)


async def test_gives_up_after_max_wait(tmp_path: Path) -> None:
    settings = _settings(tmp_path, f"postgresql://bot:{PASSWORD}@127.0.0.1:{_closed_port()}/bot")
    database = open_database(settings)
    said = Said()
    try:
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(wait_for_database(database, settings, max_wait=0.1, say=said), GUARD)
    finally:
        await database.dispose()
    assert len(said.lines) == 1


async def test_a_wrong_setting_is_an_error_at_once_even_when_waiting(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    settings = replace(_settings(tmp_path), sqlite_file=tmp_path / "a-file" / "bot.db")
    said = Said()
    database = open_database(settings)
    try:
        with pytest.raises(ConfigError) as raised:
            await asyncio.wait_for(wait_for_database(database, settings, say=said), GUARD)
    finally:
        await database.dispose()
    assert not isinstance(raised.value, DatabaseUnavailable)
    assert raised.value.setting == "database.sqlite_file"
    assert said.lines == []


async def test_waits_for_a_locked_sqlite_file_and_starts_when_it_is_free(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    holder = sqlite3.connect(settings.sqlite_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the file
    database = open_database(settings)
    said = Said()
    waiting = asyncio.create_task(wait_for_database(database, settings, say=said))
    try:
        await asyncio.wait_for(said.first.wait(), GUARD)
        assert said.lines[0].startswith(f"waiting for the database at {settings.sqlite_file.resolve()} (")  # the path, not the driver URL
        assert "database is locked" in said.lines[0]
        holder.execute("COMMIT")
        await asyncio.wait_for(waiting, GUARD)
        assert said.lines[-1].endswith("answers; starting")
        async with database.engine.connect() as connection:  # migrated
            assert (await connection.execute(text("SELECT count(*) FROM tickets"))).scalar() == 0
    finally:
        waiting.cancel()
        holder.close()
        await database.dispose()


# ---------------------------------------------------------------------- PostgreSQL comes up late
@contextlib.asynccontextmanager
async def _proxy(port: int, target: tuple[str, int]) -> AsyncIterator[None]:
    """A TCP relay on ``port`` to ``target``: the database "starts" when it does."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_waits_for_postgresql_and_starts_when_it_answers(tmp_path: Path, pg_schema: tuple[str, str]) -> None:
    from sqlalchemy.engine import make_url

    url, schema = pg_schema
    real = make_url(url)
    port = _closed_port()
    late = real.set(host="127.0.0.1", port=port, password=PASSWORD).render_as_string(hide_password=False)
    settings = _settings(tmp_path, late)
    database = Database.from_url(late, search_path=schema, connect_timeout=0.5)
    said = Said()
    waiting = asyncio.create_task(wait_for_database(database, settings, say=said))
    try:
        await asyncio.wait_for(said.first.wait(), GUARD)
        assert "ConnectionRefusedError" in said.lines[0]
        async with _proxy(port, (real.host or "127.0.0.1", real.port or 5432)):
            await asyncio.wait_for(waiting, GUARD)
            assert said.lines[-1] == f"the database at postgresql://{real.username}:***@127.0.0.1:{port}/{real.database} answers; starting"
            await database.dispose()  # before the relay goes
    finally:
        waiting.cancel()
        await database.dispose()
    assert all(PASSWORD not in line for line in said.lines)
