"""The desk's corrections of the classifier, read back as labelled data.

Agents and supervisors who change a ticket's category or severity leave a row in
``corrections`` (see :mod:`flows.desk`); each ticket's labels combine all its rows, taking
only the labels people set (see :func:`export_corrections`). The fitting tool (``complaint-bot lexicon fit
--from-desk``) reads them here in the format of ``complaints_train.json``.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from flows.domain import Correction
from flows.formatting import ticket_number
from storage.database import Database, DatabaseURLError, normalise_url
from storage.repositories import desk_labels

__all__ = ["export_corrections", "labelled", "load_corrections"]


def labelled(correction: Correction) -> dict[str, Any]:
    """One correction as a labelled example (the keys of ``complaints_train.json`` and more)."""
    return {
        "id": f"desk-{correction.id}",
        "text": correction.text,
        "category": correction.category,
        "also_ok": [],
        "severity": correction.severity.value,
        "suggested_category": correction.suggested_category,
        "suggested_severity": correction.suggested_severity.value,
        "by": correction.actor_name or correction.actor_id,
        "at": correction.created_at.isoformat(),
        "ticket": ticket_number(correction.ticket_id),
    }


async def load_corrections(database: Database) -> list[dict[str, Any]]:
    """The labels the desk gave every corrected ticket (see :func:`storage.repositories.desk_labels`),
    as :func:`labelled` dicts, oldest first."""
    async with database.engine.connect() as connection:
        found = await desk_labels(connection)
    return [labelled(c) for c in found]


def export_corrections(database_url: str, *, search_path: str | None = None) -> list[dict[str, Any]]:
    """The desk's corrections of the classifier as labelled examples, for ``lexicon fit``.

    ``database_url`` is the bot's ``DATABASE_URL`` (``sqlite:///path/bot.db``,
    ``postgresql://user@host/db``; the async drivers are chosen as for the bot);
    ``search_path`` is a PostgreSQL schema, if the tables live in one.

    Returns one dict per corrected ticket, oldest first::

        {"id": "desk-<newest correction id>", "text": <the ticket's description>,
         "category": <the category a person set most recently, else the suggested one>,
         "also_ok": [],
         "severity": <the severity a person set most recently, else the suggested one>,
         "suggested_category": ..., "suggested_severity": ...  (the classifier's, at intake),
         "by": <who made the newest correction>, "at": <its ISO 8601 time, UTC>,
         "ticket": <ticket number, "T000042">}

    The labels are what people decided about the text, or what the classifier suggested
    where nobody changed it; all of a ticket's corrections count, so the category and the
    severity may come from different ones. A severity that only automatic upgrades gave
    the ticket (hot issue, repeat complaint, overdue) is never a label: the text does not
    show it. A ticket whose category alone was corrected keeps the suggested severity.

    A synchronous call (it runs its own event loop, in a thread of its own when the caller
    already runs one). Raises :class:`storage.database.DatabaseURLError` for a URL that is
    not SQLite or PostgreSQL, or an SQLite file that does not exist; SQLAlchemy's errors
    for a database that cannot be reached or is not migrated (``complaint-bot db upgrade``).
    """
    _require_sqlite_file(database_url)

    async def export() -> list[dict[str, Any]]:
        database = Database.from_url(database_url, search_path=search_path, statement_timeout=None)
        try:
            return await load_corrections(database)
        finally:
            await database.dispose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(export())
    result: list[list[dict[str, Any]]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(export()))
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=run, name="export-corrections")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return result[0]


def _require_sqlite_file(database_url: str) -> None:
    """Opening a missing SQLite file would create an empty database: say so instead."""
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).expanduser().exists():
        raise DatabaseURLError(f"no SQLite database at {url.database!r}")
