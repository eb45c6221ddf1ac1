"""storage/sqlite_inline.py stands in for aiosqlite's connection inside SQLAlchemy's
``sqlite+aiosqlite`` adapter, which reaches into aiosqlite's private attributes
(``_conn``, ``_tx``, ``_connection``). SQLAlchemy is pinned to a tested range in
pyproject.toml; this test says which attribute is missing when a new SQLAlchemy reaches
for something the stand-in does not have."""

from __future__ import annotations

import inspect
import re
import sqlite3
from pathlib import Path

import sqlalchemy
from sqlalchemy.connectors import asyncio as sa_asyncio
from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite

from storage.sqlite_inline import InlineConnection, InlineCursor

# what the stand-in provides of aiosqlite's private attributes, and why
PRIVATE = {
    "_conn": "the sqlite3 connection; the adapter sets isolation_level on it",
    "_tx": "aiosqlite's request queue; the adapter queues the isolation_level change on it",
    "_connection": "aiosqlite's 'open' marker; the adapter checks it before commit and rollback",
}


def _used(module: object, holder: str) -> set[str]:
    return set(re.findall(rf"self\.{holder}\.(\w+)", inspect.getsource(module)))  # type: ignore[arg-type]


def test_the_stand_in_has_every_connection_attribute_sqlalchemy_uses(tmp_path: Path) -> None:
    connection = InlineConnection(sqlite3.connect(tmp_path / "probe.db"))
    try:
        used = (
            _used(sa_aiosqlite.AsyncAdapt_aiosqlite_connection, "_connection")
            | _used(sa_asyncio.AsyncAdapt_dbapi_connection, "_connection")
            | _used(sa_asyncio.AsyncAdapt_dbapi_cursor, "_connection")
            | {"cursor"}
        )
        for name in sorted(used):
            assert hasattr(connection, name), (
                f"SQLAlchemy {sqlalchemy.__version__}'s aiosqlite adapter uses the connection attribute "
                f"{name!r}, which storage.sqlite_inline.InlineConnection does not provide"
                + (" (a private attribute of aiosqlite)" if name.startswith("_") else "")
                + ": add it there, or keep SQLAlchemy in the range pinned in pyproject.toml"
            )
        private = {name for name in used if name.startswith("_")}
        assert private <= set(PRIVATE), (
            f"SQLAlchemy {sqlalchemy.__version__} now reaches for aiosqlite's private "
            f"{sorted(private - set(PRIVATE))}: check storage/sqlite_inline.py against it"
        )
    finally:
        connection.stop()


def test_the_stand_in_has_every_cursor_attribute_sqlalchemy_uses(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "probe.db")
    cursor = InlineCursor(connection.cursor())
    try:
        # the engine never asks for server-side cursors (stream_results), only these
        for name in sorted(_used(sa_asyncio.AsyncAdapt_dbapi_cursor, "_cursor") | {"__aenter__"}):
            assert hasattr(cursor, name), (
                f"SQLAlchemy {sqlalchemy.__version__}'s async adapter uses the cursor attribute {name!r}, "
                "which storage.sqlite_inline.InlineCursor does not provide"
            )
    finally:
        connection.close()
