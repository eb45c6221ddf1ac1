"""The SQLite checkpointer thread (issue 12): the WAL is copied back into the database
file off the event loop, a file that does not exist is never created by it, and it
stops with the database."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from flows.domain import MessageRecord
from flows.service import utcnow
from storage import sqlite_inline
from storage.database import Database, sqlite_url
from storage.migrate import upgrade
from storage.models import MessageRow
from storage.sqlite_inline import Checkpointer


async def test_what_was_committed_reaches_the_database_file_without_a_commit_checkpointing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "CHECKPOINT_INTERVAL", 0.02)
    path = tmp_path / "bot.db"
    database = Database.from_url(sqlite_url(path))
    await upgrade(database.engine)
    async with database.unit_of_work() as uow:
        await uow.messages.add(MessageRecord("in", "telegram", "1", "text", "快递一直没到", created_at=utcnow()))
        await uow.commit()
    checkpointer = database._checkpointer
    assert checkpointer is not None, "the first unit of work starts it"
    for _ in range(200):  # a few rounds, each a PASSIVE checkpoint
        await asyncio.sleep(0.01)
        if checkpointer.checkpoints >= 2:
            break
    # the database file alone, without its WAL: only a checkpoint puts the row there
    # (SQLite's own would wait for 16,000 pages)
    alone = tmp_path / "alone.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as conn:
        assert conn.execute("SELECT text FROM messages").fetchall() == [("快递一直没到",)]
    async with database.engine.connect() as conn:
        assert (await conn.execute(select(MessageRow.text))).scalars().all() == ["快递一直没到"]
    await database.dispose()
    assert database._checkpointer is None
    assert not any(t.name == "sqlite-checkpoint" and t.is_alive() for t in threading.enumerate())


def test_a_file_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "not-yet.db"
    checkpointer = Checkpointer(str(path), interval=0.01)
    checkpointer.start()
    time.sleep(0.1)
    checkpointer.stop()
    assert not path.exists(), "the bot creates its file itself, readable by its user only"
    assert checkpointer.checkpoints == 0

