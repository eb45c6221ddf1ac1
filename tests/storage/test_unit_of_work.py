"""The unit of work's seams: the one domain-to-row mapping, the severity order, and how
a duplicate update id is recognised (by the constraint's name or a query, never by text)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from flows.domain import (
    Conversation,
    ConversationState,
    Correction,
    Customer,
    HotIssue,
    MessageRecord,
    OutboxItem,
    Severity,
    Ticket,
    TicketEvent,
    Timer,
)
from flows.ports import DuplicateUpdate
from storage.database import PROCESSED_UPDATES_KEY, Database, violated_constraint
from storage.models import CorrectionRow, HotIssueRow, MessageRow, TicketRow
from storage.repositories import MappingMismatch, copied_fields
from storage.repositories.base import from_row, processed_updates, tickets, values_of

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


# ---------------------------------------------------------------------- one mapping
def test_the_ticket_dataclass_and_the_tickets_table_name_the_same_fields() -> None:
    copied = copied_fields(Ticket, TicketRow, converted=("id", "number", "photos"))
    assert set(copied) | {"id", "number", "photos"} == {f.name for f in fields(Ticket)}
    assert set(copied) | {"id", "number", "photos"} == set(tickets.c.keys())


def test_the_correction_dataclass_and_its_table_name_the_same_fields() -> None:
    assert set(copied_fields(Correction, CorrectionRow, converted=("id",))) == {f.name for f in fields(Correction)} - {"id"}


def test_a_field_missing_on_either_side_is_named() -> None:
    @dataclass
    class Wider(Ticket):
        loyalty_level: int = 0

    with pytest.raises(MappingMismatch, match=r"Wider fields without a column in TicketRow: loyalty_level"):
        copied_fields(Wider, TicketRow)

    @dataclass
    class Narrow:
        id: int
        number: str

    with pytest.raises(MappingMismatch, match=r"TicketRow columns without a field in Narrow: customer_id, "):
        copied_fields(Narrow, TicketRow)
    with pytest.raises(MappingMismatch, match=r"converted fields that are not on both sides: nothing"):
        copied_fields(Ticket, TicketRow, converted=("nothing",))


def test_fields_on_one_side_only_are_declared_and_must_be_on_that_side_only() -> None:
    @dataclass
    class Issue:
        id: int | None
        category: str
        term: str
        created_at: datetime
        ticket_ids: tuple[int, ...] = ()
        pinged_at: datetime | None = None

    assert copied_fields(HotIssue, HotIssueRow, converted=("id",), domain_only=("ticket_ids",)) == (
        "category", "term", "created_at", "pinged_at"
    )  # fmt: skip
    assert copied_fields(MessageRecord, MessageRow, model_only=("id", "edited_at")) == tuple(
        f.name for f in fields(MessageRecord)
    )
    with pytest.raises(MappingMismatch, match=r"Issue fields without a column in HotIssueRow: ticket_ids"):
        copied_fields(Issue, HotIssueRow)
    with pytest.raises(MappingMismatch, match=r"MessageRow columns without a field in MessageRecord: id, edited_at"):
        copied_fields(MessageRecord, MessageRow)
    with pytest.raises(MappingMismatch, match=r"domain-only fields that are not fields of Issue only: term, nothing"):
        copied_fields(Issue, HotIssueRow, domain_only=("ticket_ids", "term", "nothing"))
    with pytest.raises(MappingMismatch, match=r"model-only columns that are not columns of MessageRow only: text, nothing"):
        copied_fields(MessageRecord, MessageRow, model_only=("id", "edited_at", "text", "nothing"))


def test_values_of_and_from_row_copy_the_named_fields_and_take_the_converted_ones() -> None:
    from types import SimpleNamespace

    names = copied_fields(HotIssue, HotIssueRow, converted=("id",), domain_only=("ticket_ids",))
    issue = HotIssue(7, "delivery", "顺丰", NOW, (1, 2), None)
    values = values_of(issue, names)
    assert values == {"category": "delivery", "term": "顺丰", "created_at": NOW, "pinged_at": None}
    row = SimpleNamespace(id=7, **values)
    assert from_row(HotIssue, row, names, id=row.id, ticket_ids=(1, 2)) == issue


def test_every_repository_takes_its_fields_from_its_dataclass() -> None:
    """Each mapping is computed once, at import; what it leaves out is what the
    repository converts (or what one side only has)."""
    from storage.repositories import conversations, hot_issues, messages, outbox, tickets, timers

    mappings = [
        (conversations._CUSTOMER_FIELDS, Customer, {"id"}),
        (conversations._CONVERSATION_FIELDS, Conversation, {"id", "draft"}),
        (messages._MESSAGE_FIELDS, MessageRecord, set()),
        (messages._EVENT_FIELDS, TicketEvent, set()),
        (outbox._OUTBOX_FIELDS, OutboxItem, {"id"}),
        (timers._TIMER_FIELDS, Timer, {"id"}),
        (hot_issues._HOT_ISSUE_FIELDS, HotIssue, {"id", "ticket_ids"}),
        (tickets._TICKET_FIELDS, Ticket, {"id", "number", "photos"}),
        (tickets._CORRECTION_FIELDS, Correction, {"id"}),
    ]
    for names, domain, left_out in mappings:
        assert isinstance(names, tuple)
        assert names == tuple(f.name for f in fields(domain) if f.name not in left_out), domain.__name__


# ---------------------------------------------------------------------- severity order
@pytest.mark.usefixtures("backend")
async def test_queues_list_the_most_severe_first_in_severity_rank_order(database: Database) -> None:
    async with database() as uow:
        customer = await uow.customers.get_or_create("telegram", "7", "Han Meimei", "zh")
        assert customer.id is not None
        conversation = await uow.conversations.add(
            Conversation(None, customer.id, "telegram", "7", ConversationState.SUBMITTED, created_at=NOW, updated_at=NOW)
        )
        assert conversation.id is not None
        # added lowest first, twice over: the queue sorts by rank, then by age
        for severity in [*Severity, *Severity]:
            await uow.tickets.add(
                Ticket(None, None, customer.id, conversation.id, "telegram", "7", "delivery", severity,
                       created_at=NOW, updated_at=NOW)  # fmt: skip
            )
        await uow.commit()
    async with database() as uow:
        queue = await uow.tickets.unclaimed()
    expected = sorted(queue, key=lambda t: (-t.severity.rank, t.id))
    assert [(t.severity, t.id) for t in queue] == [(t.severity, t.id) for t in expected]
    assert queue[0].severity is max(Severity, key=lambda s: s.rank)


# ---------------------------------------------------------------------- duplicate updates
async def _record_committed(database: Database, update_id: str) -> None:
    async with database() as uow:
        assert await uow.updates.record("telegram", update_id)
        await uow.commit()


@pytest.mark.usefixtures("backend")
async def test_a_duplicate_update_id_at_commit_is_a_duplicate_update(database: Database) -> None:
    """Another transaction recorded the same update id: the commit says DuplicateUpdate."""
    await _record_committed(database, "u-1")
    async with database() as uow:
        # as if this transaction had recorded u-1 while another one did too: its row is
        # written at commit (the queued-insert path) and collides
        uow._updates.recorded.append(("telegram", "u-1"))
        uow._messages._insert = insert(processed_updates)
        uow._messages._pending = [{"channel": "telegram", "update_id": "u-1", "processed_at": NOW}]
        with pytest.raises(DuplicateUpdate):
            await uow.commit()


@pytest.mark.usefixtures("backend")
async def test_another_integrity_error_at_commit_is_not_a_duplicate_update(database: Database) -> None:
    async with database() as uow:
        uow._messages._pending = [
            {"direction": "in", "channel": "telegram", "chat_id": "1", "kind": "text", "text": "",
             "ticket_id": 999_999, "created_at": NOW}  # fmt: skip
        ]
        with pytest.raises(IntegrityError) as raised:
            await uow.commit()
    assert not isinstance(raised.value, DuplicateUpdate)


@pytest.mark.usefixtures("backend")
async def test_the_violated_constraint_is_read_from_the_driver(database: Database, backend: str) -> None:
    await _record_committed(database, "u-2")
    async with database.engine.connect() as connection:
        with pytest.raises(IntegrityError) as raised:
            await connection.execute(
                insert(processed_updates), {"channel": "telegram", "update_id": "u-2", "processed_at": NOW}
            )
    if backend == "postgresql":
        assert violated_constraint(raised.value) == PROCESSED_UPDATES_KEY == "pk_processed_updates"
    else:  # SQLite names no constraint in its errors: the unit of work asks the table instead
        assert violated_constraint(raised.value) is None


@pytest.mark.parametrize(
    ("domain", "model", "domain_only", "model_only"),
    [
        ("Customer", "CustomerRow", set(), set()),
        ("Conversation", "ConversationRow", set(), {"active"}),  # derived from the state
        ("MessageRecord", "MessageRow", set(), {"id", "edited_at"}),
        ("TicketEvent", "TicketEventRow", set(), {"id"}),
        ("OutboxItem", "OutboxRow", set(), set()),
        ("Timer", "TimerRow", set(), set()),
        ("HotIssue", "HotIssueRow", {"ticket_ids"}, set()),  # read from the tickets
        ("InboxEntry", "InboxRow", {"inbound"}, {"received_at", "processed_at", "failed_at", "last_error"}),  # inbound: read when it arrived, not stored
    ],
)
def test_the_other_domain_objects_and_their_tables_differ_only_as_the_repositories_expect(
    domain: str, model: str, domain_only: set[str], model_only: set[str]
) -> None:
    """A field added on one side only fails here: add the column (and a migration) or
    map it in the repository, then update this table."""
    from sqlalchemy import inspect

    from flows import domain as domain_module
    from storage import models

    names = {f.name for f in fields(getattr(domain_module, domain))}
    columns = {c.key for c in inspect(getattr(models, model)).columns}
    assert (names - columns, columns - names) == (domain_only, model_only)
