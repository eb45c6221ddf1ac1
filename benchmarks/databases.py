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


def code_version() -> str:
    """The commit the bot's code is at, for the figures' record ("+ changes" when the bot's
    packages differ from it in the working tree)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "flows", "storage", "handlers", "bot", "nlp"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + (" + uncommitted changes in the bot's packages" if changed else "")
