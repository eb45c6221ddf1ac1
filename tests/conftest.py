"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set).

Schemas are built by running the Alembic migrations, never by ``create_all``.
PostgreSQL tests run in a schema of their own that is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

if TYPE_CHECKING:
    from tests.service.conftest import Clock, Customer

from flows.service import ComplaintService
from nlp import default_classifier
from storage.database import Database, create_engine, sqlite_url
from storage.migrate import upgrade

os.environ.setdefault("PTB_TIMEDELTA", "1")  # as bot/cli.py does

PG_ENV = "TEST_DATABASE_URL"
PG_SKIP_REASON = f"{PG_ENV} is not set: PostgreSQL tests skipped (.ci/run sets it)"

def run_in_thread(coro_fn) -> None:  # type: ignore[no-untyped-def]
    """Run a coroutine to completion on a fresh loop in another thread.

    Session fixtures are first requested from inside a running test loop, where
    ``asyncio.run`` is not allowed.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro_fn()).result()


TABLES = ("inbox", "leases", "processed_updates", "outbox", "corrections", "ticket_events", "messages", "timers", "ticket_terms", "tickets", "hot_issues", "conversations", "customers")


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(PG_ENV)
    return f"PostgreSQL tests: {'on, ' + url if url else 'SKIPPED (' + PG_ENV + ' unset)'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def migrate() -> None:
        engine = create_engine(sqlite_url(path))
        await upgrade(engine)
        await engine.dispose()

    run_in_thread(migrate)
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[tuple[str, str]]:
    """(url, schema): a fresh schema in the test database, migrated once per session."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    schema = f"cb_test_{uuid.uuid4().hex[:10]}"

    async def setup() -> None:
        admin = create_engine(url)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        engine = create_engine(url, search_path=schema)
        await upgrade(engine)
        await engine.dispose()

    async def teardown() -> None:
        admin = create_engine(url)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

    run_in_thread(setup)
    yield url, schema
    run_in_thread(teardown)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database; SQLite by default, both backends where ``backend`` is used."""
    kind = request.getfixturevalue("backend") if "backend" in request.fixturenames else "sqlite"
    if kind == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database.from_url(sqlite_url(path))
    else:
        db = await empty_postgresql(request.getfixturevalue("pg_schema"))
    yield db
    await db.dispose()


async def empty_postgresql(pg_schema: tuple[str, str]) -> Database:
    """The test schema of PostgreSQL, emptied (tables kept, ids restarted)."""
    url, schema = pg_schema
    db = Database.from_url(url, search_path=schema)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return db


# ---------------------------------------------------------------------- the application service
# (for tests/service and for adapter tests that need a service on the test database)
@pytest.fixture
def clock() -> "Clock":
    from tests.service.conftest import Clock

    return Clock()


@pytest.fixture
def make_service(database: Database, clock: "Clock"):  # type: ignore[no-untyped-def]
    def make(**kwargs: Any) -> ComplaintService:
        kwargs.setdefault("clock", clock)
        return ComplaintService(database.unit_of_work, default_classifier(), **kwargs)

    return make


@pytest.fixture
def service(make_service) -> ComplaintService:  # type: ignore[no-untyped-def]
    return make_service()


@pytest.fixture
def customer(service: ComplaintService) -> "Customer":
    from tests.service.conftest import Customer

    return Customer(service)
