"""The composition root: the one place that builds everything from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.config import ConfigError, Settings
from flows.service import Clock, ComplaintService, utcnow
from nlp import Classifier, LexiconError
from storage.database import Database, DatabaseURLError, sqlite_url
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


def open_database(settings: Settings) -> Database:
    try:
        return Database.from_url(database_url(settings))
    except DatabaseURLError as exc:
        raise ConfigError("DATABASE_URL", str(exc), "Use postgresql://user@host:5432/dbname or sqlite:///path/file.db.") from exc


async def ensure_schema(database: Database, settings: Settings) -> None:
    """Migrate the embedded SQLite file; require an up-to-date schema elsewhere."""
    setting = "DATABASE_URL" if settings.database_url else "database.sqlite_file"
    try:
        if settings.uses_embedded_database:
            await upgrade(database.engine)
            return
        current = await current_revision(database.engine)
    except (OperationalError, DBAPIError, OSError) as exc:
        raise ConfigError(setting, f"cannot open the database ({exc.__class__.__name__}: {exc})", "Check the URL or path and that the server is running.") from exc
    head = head_revision()
    if current != head:
        raise ConfigError(
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


async def build(settings: Settings, *, clock: Clock = utcnow, desk_connected: bool = False) -> App:
    """Open the database (migrating the embedded one), load the lexicons, build the service."""
    classifier = load_classifier(settings)
    database = open_database(settings)
    try:
        await ensure_schema(database, settings)
    except BaseException:
        await database.dispose()
        raise
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
