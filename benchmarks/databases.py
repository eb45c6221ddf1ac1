"""Fresh migrated databases for the benchmarks: a temporary SQLite file, or a schema of
its own in a PostgreSQL database (dropped afterwards)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from sqlalchemy import text

from storage.database import Database, create_engine, sqlite_url
from storage.migrate import upgrade


async def prepare(url: str | None, prefix: str, folder: Path | None = None) -> tuple[Database, str, str | None]:
    """(database, where it is, PostgreSQL schema or None), schema built by the migrations."""
    if url is None:
        path = (folder or Path(tempfile.mkdtemp(prefix=f"{prefix}-"))) / f"{prefix}.db"
        database = Database.from_url(sqlite_url(path))
        await upgrade(database.engine)
        return database, f"SQLite file {path}", None
    schema = f"{prefix.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    database = Database.from_url(url, search_path=schema)
    await upgrade(database.engine)
    return database, f"PostgreSQL {url} (schema {schema})", schema


async def drop_schema(url: str, schema: str) -> None:
    admin = create_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()
