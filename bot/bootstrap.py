"""The composition root: the one place that builds everything from the settings."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bot.config import CannotStart, ConfigError, Settings
from flows.redaction import redact
from flows.loops import Stopped, unless_stopped
from flows.service import Clock, ComplaintService, utcnow
from nlp import Classifier, LexiconError
from storage.database import Database, DatabaseURLError, database_unavailable, mask_url, sqlite_url
from storage.migrate import current_revision, head_revision, upgrade

logger = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    database: Database
    classifier: Classifier
    service: ComplaintService
    clock: Clock

    async def close(self) -> None:
        await self.database.dispose()


def database_url(settings: Settings) -> str:
    return settings.database_url or sqlite_url(settings.sqlite_file)


def database_shown(settings: Settings) -> str:
    """The database as the operator gave it, fit to print: DATABASE_URL with its password
    masked, or the SQLite file's path (not the driver URL the bot connects with)."""
    if settings.database_url:
        return mask_url(settings.database_url)
    return str(settings.sqlite_file.expanduser().resolve())


def sqlite_file(database: Database) -> Path | None:
    """The file of a SQLite database, None for PostgreSQL."""
    url = make_url(database.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


@dataclass(frozen=True)
class NewDatabase:
    """A SQLite file that opening the database will create, with the folders it needs.

    The bot creates its SQLite database where it is told to, folders included (``run``,
    ``chat``, ``desk`` and ``db upgrade`` alike), and says so: a typo in the path would
    otherwise go unnoticed behind an empty new database."""

    path: Path
    folders: tuple[Path, ...]  # outermost first

    @classmethod
    def before_opening(cls, database: Database) -> NewDatabase | None:
        path = sqlite_file(database)
        if path is None or path.exists():
            return None
        return cls(path, tuple(p for p in reversed(path.parents) if not p.exists()))

    def __str__(self) -> str:
        if not self.path.exists():  # opening failed: nothing was created
            return ""
        made = f" (its folder {self.path.parent.resolve()} did not exist: created too)" if self.folders else ""
        return f"created a new database at {self.path.resolve()}{made}"


def open_database(settings: Settings, *, long_statements: bool = False) -> Database:
    """The database with the configured timeouts; ``long_statements`` switches the
    statement timeout off (migrations and reports, which may rightly take long)."""
    try:
        return Database.from_url(
            database_url(settings),
            connect_timeout=settings.database_connect_timeout,
            statement_timeout=None if long_statements else settings.database_statement_timeout,
            pool_timeout=settings.database_pool_timeout,
            busy_timeout=settings.sqlite_busy_timeout,
        )
    except DatabaseURLError as exc:
        raise ConfigError("DATABASE_URL", str(exc), "Use postgresql://user@host:5432/dbname or sqlite:///path/file.db.") from exc


def missing_database_file(database: Database, settings: Settings) -> None:
    """Raise :class:`ConfigError` when ``database`` is a SQLite file that does not exist
    (for commands that read a database: opening it would create an empty one)."""
    url = make_url(database.url)
    if url.get_backend_name() != "sqlite" or not url.database or Path(url.database).exists():
        return
    setting = "DATABASE_URL" if settings.database_url else "database.sqlite_file"
    raise ConfigError(
        setting,
        f"there is no database at {url.database}",
        "Point it at the bot's database file, or create one with `complaint-bot db upgrade`.",
    )


def _is_sqlite(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() == "sqlite"
    except Exception:  # noqa: BLE001 - an unreadable URL is reported elsewhere
        return False


class DatabaseUnavailable(CannotStart):
    """The database does not answer: refused, timed out, starting up (PostgreSQL), or
    its file is locked by another program (SQLite). Worth waiting for
    (:func:`wait_for_database`); commands that must not wait report it as it is."""

    def __init__(self, setting: str, url: str, reason: str, *, sqlite: bool = False) -> None:
        if sqlite:
            problem = f"the database file {url} is busy ({reason})"
            fix = "Another program holds it locked: wait, or stop that program (one bot per SQLite file)."
        else:
            problem = f"cannot reach the database at {url} ({reason})"
            fix = "Check that the database server is running and reachable at that address."
        super().__init__(setting, problem, fix)
        self.url = url  # password masked
        self.reason = reason


class StoppedWaitingForDatabase(Exception):
    """The caller's stop event was set while :func:`wait_for_database` waited."""


# what ensure_schema and the db commands catch: driver and connection errors
DATABASE_ERRORS = (OperationalError, DBAPIError, PoolTimeoutError, OSError)


def _reason(exc: BaseException, settings: Settings) -> str:
    """One line on what went wrong: the driver's own error, not SQLAlchemy's wrapping."""
    root = exc
    for _ in range(10):
        orig = getattr(root, "orig", None) if isinstance(root, DBAPIError) else None
        deeper = orig if isinstance(orig, BaseException) else root.__cause__
        if not isinstance(deeper, Exception):  # None, or the CancelledError behind a timeout
            break
        root = deeper
    lines = str(root).strip().splitlines()
    text = lines[0] if lines else ("no answer in time" if isinstance(root, TimeoutError) else "")
    line = f"{root.__class__.__name__}: {text}" if text else root.__class__.__name__
    return redact(line, _password(settings.database_url))


def _password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unreadable URL is reported elsewhere
        return None
    return str(password) if password else None


def database_error(exc: BaseException, database: Database, settings: Settings) -> ConfigError:
    """The error to raise for ``exc`` (a :data:`DATABASE_ERRORS` error): a
    :class:`DatabaseUnavailable` when the database is down or stalled (or its SQLite file
    locked), else a :class:`CannotStart` that points at the address, password or database
    name, with the hint that fits the backend. Neither carries the password."""
    setting = "DATABASE_URL" if settings.database_url else "database.sqlite_file"
    reason = _reason(exc, settings)
    shown = database_shown(settings)
    sqlite = _is_sqlite(database.url)
    if database_unavailable(exc):
        return DatabaseUnavailable(setting, shown, reason, sqlite=sqlite)
    if sqlite:
        fix = "Check the path: its folder must exist or be creatable and writable, and the file must be a SQLite database."
    else:
        fix = "Check the user, password, host and database name in the URL, and that the database exists."
    return CannotStart(setting, f"cannot open the database at {shown} ({reason})", fix)


async def ensure_schema(database: Database, settings: Settings) -> None:
    """Migrate the embedded SQLite file; require an up-to-date schema elsewhere.

    Raises :class:`DatabaseUnavailable` when the database does not answer, a
    :class:`ConfigError` for anything else that is wrong.
    """
    try:
        if settings.uses_embedded_database:
            await upgrade(database.engine)
            return
        current = await current_revision(database.engine)
    except DATABASE_ERRORS as exc:
        raise database_error(exc, database, settings) from exc
    head = head_revision()
    if current != head:
        raise CannotStart(
            "DATABASE_URL",
            f"the database schema is at revision {current or 'none'}, this version needs {head}",
            "Run `complaint-bot db upgrade` first.",
        )


def load_classifier(settings: Settings) -> Classifier:
    try:
        return Classifier.load(
            categories=settings.categories_file,
            severity=settings.severity_file,
            userdict=settings.userdict_file,
        )
    except LexiconError as exc:
        raise ConfigError("classifier", str(exc), "Fix the lexicon file at the line shown.") from exc


def _say_on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def wait_for_database(
    database: Database,
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    max_wait: float | None = None,
    say: Callable[[str], object] = _say_on_stderr,
) -> None:
    """:func:`ensure_schema`, retried every ``settings.database_retry_every`` seconds
    while the database does not answer, saying so once (``say``, default: stderr).

    A wrong setting (URL, password, schema revision) raises :class:`ConfigError` at once.
    Gives up with :class:`DatabaseUnavailable` after ``max_wait`` seconds (None: never),
    or with :class:`StoppedWaitingForDatabase` as soon as ``stop`` is set.
    """
    loop = asyncio.get_running_loop()
    deadline = None if max_wait is None else loop.time() + max_wait
    interval = settings.database_retry_every
    waiting = False
    while True:
        try:
            await _unless_stopped(ensure_schema(database, settings), stop)
        except DatabaseUnavailable as exc:
            if not waiting:
                waiting = True
                say(f"waiting for the database at {exc.url} ({exc.reason}); retrying every {interval:g} s")
            else:
                logger.info("database still unavailable (%s)", exc.reason)
            await database.engine.dispose()  # no half-open connection is kept for the next try
            pause = interval
            if deadline is not None:
                left = deadline - loop.time()
                if left <= 0:
                    raise
                pause = min(pause, left)
            await _unless_stopped(asyncio.sleep(pause), stop)
        else:
            if waiting:
                say(f"the database at {database_shown(settings)} answers; starting")
            return


async def _unless_stopped(work: Awaitable[None], stop: asyncio.Event | None) -> None:
    """Await ``work``; if ``stop`` is set first, cancel it and raise StoppedWaitingForDatabase."""
    try:
        await unless_stopped(stop, work)
    except Stopped as exc:
        raise StoppedWaitingForDatabase("stopped while waiting for the database") from exc


async def build(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    desk_connected: bool = False,
    wait_for_db: bool = False,
    stop: asyncio.Event | None = None,
    max_wait: float | None = None,
) -> App:
    """Open the database (migrating the embedded one), load the lexicons, build the service.

    A database that does not answer raises :class:`DatabaseUnavailable` (a ConfigError)
    at once, unless ``wait_for_db``: then it is waited for, as :func:`wait_for_database`
    does (``stop`` and ``max_wait`` end the wait). ``complaint-bot run`` waits; the other
    commands and the tests fail fast.
    """
    classifier = load_classifier(settings)
    database = open_database(settings)
    new = NewDatabase.before_opening(database) if settings.uses_embedded_database else None
    try:
        if wait_for_db:
            await wait_for_database(database, settings, stop=stop, max_wait=max_wait)
        else:
            await ensure_schema(database, settings)
    except BaseException:
        await database.dispose()
        raise
    if new is not None and str(new):
        _say_on_stderr(f"complaint-bot: {new}")
    service = ComplaintService(
        database.unit_of_work,
        classifier,
        promises=settings.promises,
        handoff=settings.handoff,
        desk_connected=desk_connected,
        default_language=settings.language,
        desk_language=settings.desk_language,
        timezone=settings.timezone,
        clock=clock,
    )
    return App(settings, database, classifier, service, clock)
