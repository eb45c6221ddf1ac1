"""What every repository shares: the tables, the base classes and the domain-to-row mapping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, Table, insert, inspect, literal_column
from sqlalchemy.ext.asyncio import AsyncConnection

from flows.domain import Customer
from storage.models import (
    Base,
    ConversationRow,
    CorrectionRow,
    CustomerRow,
    HotIssueRow,
    MessageRow,
    OutboxRow,
    ProcessedUpdateRow,
    TicketEventRow,
    TicketRow,
    TicketTermRow,
    TimerRow,
)

T = TypeVar("T")


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (typed as a Table, which the models' tables are)."""
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - every model here maps one table
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


customers = table_of(CustomerRow)
conversations = table_of(ConversationRow)
tickets = table_of(TicketRow)
messages = table_of(MessageRow)
ticket_events = table_of(TicketEventRow)
outbox = table_of(OutboxRow)
processed_updates = table_of(ProcessedUpdateRow)
timers = table_of(TimerRow)
ticket_terms = table_of(TicketTermRow)
hot_issues = table_of(HotIssueRow)
corrections = table_of(CorrectionRow)

#: an outbox row that waits to be sent, said with the literal the partial index
#: ``ix_outbox_pending`` is made with (a bound parameter would not let the planner use it)
OUTBOX_PENDING = outbox.c.status == literal_column("'pending'")


class MappingMismatch(TypeError):
    """A domain dataclass and its model disagree about which fields are stored."""


def copied_fields(
    domain: type,
    model: type[Base],
    *,
    converted: tuple[str, ...] = (),
    domain_only: tuple[str, ...] = (),
    model_only: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """The fields copied as they are between ``domain`` (a dataclass) and ``model``'s columns.

    The domain dataclass and the model's columns must name the same fields: this is
    the one mapping between them, so a new field is a domain field, a model column
    and a migration, and nothing else. ``converted`` are the fields the repository
    converts itself (the primary key, JSON shapes...); they must exist on both sides
    too. ``domain_only`` are fields that are not stored (read from elsewhere),
    ``model_only`` columns the domain object does not carry (an id nobody reads back,
    a value derived from other fields); each must exist on its side and only there.
    Raises :class:`MappingMismatch` naming what is missing where.

    Called once per mapping, at import: the repositories keep the tuple and copy with
    :func:`values_of` and :func:`from_row`, which do no introspection.
    """
    if not is_dataclass(domain):
        raise TypeError(f"{domain.__name__} is not a dataclass")
    domain_names = [f.name for f in fields(domain)]
    columns = [column.key for column in inspect(model).columns]
    missing_columns = [name for name in domain_names if name not in columns and name not in domain_only]
    missing_fields = [name for name in columns if name not in domain_names and name not in model_only]
    unknown_converted = [name for name in converted if name not in domain_names or name not in columns]
    wrong_domain_only = [name for name in domain_only if name not in domain_names or name in columns]
    wrong_model_only = [name for name in model_only if name not in columns or name in domain_names]
    problems = []
    if missing_columns:
        problems.append(f"{domain.__name__} fields without a column in {model.__name__}: {', '.join(missing_columns)}")
    if missing_fields:
        problems.append(f"{model.__name__} columns without a field in {domain.__name__}: {', '.join(missing_fields)}")
    if unknown_converted:
        problems.append(f"converted fields that are not on both sides: {', '.join(unknown_converted)}")
    if wrong_domain_only:
        problems.append(
            f"domain-only fields that are not fields of {domain.__name__} only: {', '.join(wrong_domain_only)}"
        )
    if wrong_model_only:
        problems.append(f"model-only columns that are not columns of {model.__name__} only: {', '.join(wrong_model_only)}")
    if problems:
        raise MappingMismatch(
            "; ".join(problems)
            + " (add the field to the domain dataclass, the column to storage/models.py and a migration:"
            " `complaint-bot db revision -m ...`)"
        )
    return tuple(name for name in domain_names if name not in converted and name not in domain_only)


def values_of(obj: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The column values of ``obj``'s fields ``names`` (a :func:`copied_fields` tuple), as
    they are; the repository adds the converted ones to the dict."""
    return {name: getattr(obj, name) for name in names}


def from_row(cls: Callable[..., T], row: Row[Any], names: tuple[str, ...], /, **converted: Any) -> T:
    """``cls`` built from ``row``'s columns ``names`` (a :func:`copied_fields` tuple) as they
    are, and from the ``converted`` fields the repository gives."""
    return cls(**{name: getattr(row, name) for name in names}, **converted)


def insert_ids(table: Table) -> dict[str, Any]:
    """The INSERT of :func:`inserted_ids` for ``table``, by dialect (built once)."""
    return {
        "postgresql": insert(table).returning(table.c.id, sort_by_parameter_order=True),
        "sqlite": insert(table).returning(table.c.id),
    }


async def inserted_ids(connection: AsyncConnection, statements: dict[str, Any], rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` with one statement (SQLAlchemy's insertmanyvalues); returns their
    new ids in the order of ``rows``.

    PostgreSQL: SQLAlchemy sorts the ids by parameter order. SQLite: SQLAlchemy cannot
    (it would send one INSERT a row), but it does not need to: one writer at a time, and
    a rowid one above the largest for each row in the order of the VALUES, so the ids
    sorted are in the order of the rows."""
    if len(rows) == 1:  # the common case: a plain INSERT ... RETURNING (insertmanyvalues costs more)
        return [(await connection.execute(statements[connection.dialect.name], rows[0])).scalar_one()]
    result = await connection.execute(statements[connection.dialect.name], rows)
    ids = list(result.scalars())
    if connection.dialect.name == "sqlite":
        ids.sort()
    if len(ids) != len(rows):  # pragma: no cover - an INSERT without ON CONFLICT stores every row
        raise RuntimeError(f"{len(rows)} rows inserted, {len(ids)} ids returned")
    return ids


@dataclass
class ReadAhead:
    """What one statement of a transaction read for another repository's next question
    (one statement instead of several on the per-message path): a conversation is read
    with its customer and with whether replies wait for its chat. Each answer is used
    once and forgotten, and forgotten as soon as the transaction writes what it is about."""

    replies_waiting: dict[tuple[str, str], bool] = field(default_factory=dict)  # (channel, target)
    customers: dict[tuple[str, str], Customer] = field(default_factory=dict)  # by (channel, external id)


class _Repository:
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    @property
    def _postgres(self) -> bool:
        return self.connection.dialect.name == "postgresql"


class _QueuedInserts(_Repository):
    """Rows nobody reads back within the transaction are queued and written in one
    INSERT by :meth:`write_pending` (the unit of work calls it before committing)."""

    _insert: Any  # the prebuilt INSERT of the repository's table

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self._pending: list[dict[str, Any]] = []

    async def write_pending(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await self.connection.execute(self._insert, rows)
