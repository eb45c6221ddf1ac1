"""Repositories: the only place that reads and writes rows. They return domain objects.

They run SQLAlchemy Core statements on the unit of work's connection (the tables are
those of the typed models in :mod:`storage.models`). Core, not ORM sessions, because
every inbound message runs through here: the ORM's identity map and flush bookkeeping
cost more than the statements themselves (see benchmarks/engine.py).

One module per part of the domain; the repositories are importable from here, the
tables from :mod:`storage.repositories.base` (the submodules' names are taken).
"""

from storage.repositories.base import MappingMismatch, copied_fields, table_of
from storage.repositories.conversations import SqlConversationRepository, SqlCustomerRepository
from storage.repositories.hot_issues import SqlHotIssueRepository, SqlTermRepository
from storage.repositories.messages import SqlMessageRepository, SqlTicketEventRepository
from storage.repositories.outbox import SqlOutboxRepository
from storage.repositories.tickets import SqlTicketRepository, desk_labels
from storage.repositories.timers import SqlTimerRepository
from storage.repositories.updates import SqlProcessedUpdateRepository

__all__ = [
    "MappingMismatch",
    "SqlConversationRepository",
    "SqlCustomerRepository",
    "SqlHotIssueRepository",
    "SqlMessageRepository",
    "SqlOutboxRepository",
    "SqlProcessedUpdateRepository",
    "SqlTermRepository",
    "SqlTicketEventRepository",
    "SqlTicketRepository",
    "SqlTimerRepository",
    "copied_fields",
    "desk_labels",
    "table_of",
]
