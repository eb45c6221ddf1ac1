"""A customer talking to the real application service, and the store it runs on.

The intake, desk and timer tests run on the in-memory unit of work
(:class:`tests.fakes.memory.MemoryDatabase`) by default: ``store`` is what the service
runs on and what a test reads through (``async with store() as uow``). A test marked
``every_store`` runs on memory, on SQLite and on PostgreSQL (when TEST_DATABASE_URL is
set): the smaller set of the same scenarios kept on the real databases (TEST_STORE=sqlite
runs all of them on SQLite, to compare). A test that asks
for ``database`` or ``backend`` (concurrency, leases, the inbox, crashes, SQL reads) runs
on the real databases only, and ``store`` is that database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from flows.domain import Attachment, ConversationState, Draft, Inbound, InboundKind, MessageRecord, OutboxItem, Reply, Ticket, UserRef
from flows.ports import UnitOfWorkFactory
from flows.service import ComplaintService, Outcome
from flows.steps import INTAKE_STEPS, Detail, step_of
from flows.texts import default_catalogue
from nlp import default_classifier
from storage.database import Database
from storage.models import MessageRow, OutboxRow, TicketEventRow, TicketTermRow
from tests.fakes.memory import MemoryDatabase

STORES = ("memory", "sqlite", "postgresql")
STORE_ENV = "TEST_STORE"
every_store = pytest.mark.every_store
"""Run on every store: memory, SQLite, PostgreSQL (skipped without TEST_DATABASE_URL)."""

Store = UnitOfWorkFactory


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker("every_store"):
        metafunc.parametrize("store_kind", STORES, indirect=True)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """"memory", unless the test is marked ``every_store`` (then each in turn); the
    environment's TEST_STORE=sqlite (or postgresql) runs the memory tests there instead."""
    return str(getattr(request, "param", os.environ.get(STORE_ENV, "memory")))


@pytest.fixture
def store(request: pytest.FixtureRequest, store_kind: str) -> Store:
    """The unit-of-work factory the service runs on."""
    if "database" in request.fixturenames or "backend" in request.fixturenames:
        return request.getfixturevalue("database")  # type: ignore[no-any-return]  # a test about the real databases
    if store_kind == "memory":
        return MemoryDatabase()
    if store_kind == "sqlite":
        return request.getfixturevalue("database")  # type: ignore[no-any-return]  # tests/conftest.py: SQLite by default
    return request.getfixturevalue("postgresql_store")  # type: ignore[no-any-return]


@pytest.fixture
async def postgresql_store(pg_schema: tuple[str, str]) -> AsyncIterator[Database]:
    """An empty PostgreSQL database (skipped without TEST_DATABASE_URL)."""
    from tests.conftest import empty_postgresql

    db = await empty_postgresql(pg_schema)
    yield db
    await db.dispose()


@pytest.fixture
def make_service(store: Store, clock: "Clock"):  # type: ignore[no-untyped-def]
    def make(**kwargs: Any) -> ComplaintService:
        kwargs.setdefault("clock", clock)
        return ComplaintService(store, default_classifier(), **kwargs)

    return make


# ---------------------------------------------------------------------- reading what was stored
# (everything, where no repository lists it: from the memory's tables or by SQL)
async def stored_messages(store: Store) -> list[MessageRecord]:
    """Every message in and out, oldest first."""
    if isinstance(store, MemoryDatabase):
        return store.messages()
    assert isinstance(store, Database)
    async with store.sessions() as session:
        rows = (await session.scalars(select(MessageRow).order_by(MessageRow.id))).all()
    return [
        MessageRecord(r.direction, r.channel, r.chat_id, r.kind, r.text, r.conversation_id, r.ticket_id, r.data, r.platform_message_id, r.created_at)
        for r in rows
    ]


async def count_outbox(store: Store, **where: object) -> int:
    """Outbox items with those field values, whatever their status."""
    if isinstance(store, MemoryDatabase):
        return sum(all(getattr(i, k) == v for k, v in where.items()) for i in store.outbox_items())
    return await _sql_count(store, OutboxRow, where)


async def count_events(store: Store, **where: object) -> int:
    """Ticket events with those field values."""
    if isinstance(store, MemoryDatabase):
        return sum(all(getattr(e, k) == v for k, v in where.items()) for e in store.ticket_events())
    return await _sql_count(store, TicketEventRow, where)


async def count_messages(store: Store, **where: object) -> int:
    """Messages with those field values."""
    return sum(all(getattr(m, k) == v for k, v in where.items()) for m in await stored_messages(store))


async def stored_terms(store: Store) -> set[str]:
    """Every key term kept for hot issues and reports."""
    if isinstance(store, MemoryDatabase):
        return set(store.terms())
    assert isinstance(store, Database)
    async with store.sessions() as session:
        return set((await session.scalars(select(TicketTermRow.term))).all())


async def _sql_count(store: Store, model: type, where: dict[str, object]) -> int:
    assert isinstance(store, Database)
    async with store.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


class Clock:
    """Controlled time: tests move it, nothing sleeps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Customer:
    """Sends inbound events as a channel adapter would and keeps what came back."""

    service: ComplaintService
    chat_id: str = "100"
    language: str | None = "zh-hans"
    channel: str = "telegram"
    private: bool = True
    replies: list[Reply] = field(default_factory=list)
    last: Outcome | None = None
    _update: int = 0
    _message: int = 0

    async def send(self, kind: InboundKind, *, update_id: str | None = None, **kwargs: Any) -> list[Reply]:
        self._update += 1
        if kind in (InboundKind.TEXT, InboundKind.PHOTO, InboundKind.DOCUMENT, InboundKind.UNSUPPORTED) and "message_id" not in kwargs:
            self._message += 1
            kwargs["message_id"] = str(self._message)
        inbound = Inbound(
            channel=self.channel,
            chat_id=self.chat_id,
            user=UserRef(self.chat_id, "Customer " + self.chat_id, self.language),
            kind=kind,
            update_id=update_id or f"{self.chat_id}-{self._update}",
            private_chat=self.private,
            **kwargs,
        )
        self.last = await self.service.handle(inbound)
        self.replies = [Reply.from_payload(item.payload) for item in self.last.replies]
        return self.replies

    def receive(self, items: Sequence[OutboxItem]) -> None:
        """Take replies that reached the chat because of something an agent did."""
        self.replies = [Reply.from_payload(item.payload) for item in items]

    async def say(self, text: str) -> list[Reply]:
        return await self.send(InboundKind.TEXT, text=text)

    async def command(self, command: str, args: str = "") -> list[Reply]:
        return await self.send(InboundKind.COMMAND, command=command, text=args)

    async def photo(self, file_id: str = "photo-1", caption: str = "") -> list[Reply]:
        return await self.send(InboundKind.PHOTO, attachment=Attachment("photo", file_id, mime_type="image/jpeg"), text=caption)

    def button(self, label: str) -> str:
        """The data of the button whose label contains ``label`` in the last replies."""
        for reply in reversed(self.replies):
            for row in reply.buttons:
                for button in row:
                    if label in button.label:
                        return button.data
        raise AssertionError(f"no button {label!r} in {[b.label for r in self.replies for row in r.buttons for b in row]}")

    async def press(self, label: str) -> list[Reply]:
        return await self.send(InboundKind.BUTTON, button=self.button(label))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def at_detail(self) -> bool:
        """Is the conversation on a detail question (a :class:`flows.steps.Detail` step)?"""
        conversation = self.last.conversation if self.last else None
        step = step_of(conversation.state) if conversation else None
        return step is not None and isinstance(step.reader, Detail)

    async def skip_details(self) -> list[Reply]:
        """Skip every detail question the step table asks (order number, when, contact...,
        however many there are), from the first one: the photos question comes next."""
        assert self.at_detail, "not on a detail question"
        for _ in INTAKE_STEPS:  # at most one skip per step of the table
            if not self.at_detail:
                return self.replies
            await self.press("跳过")
        raise AssertionError("skipping the details never ended")

    async def submit(self, text: str) -> Ticket:
        """Describe a complaint, accept the suggested category, skip every detail, submit."""
        await self.say(text)
        await self.press("是的")
        await self.skip_details()
        await self.press("没有照片")
        await self.press("提交")
        assert self.last and self.last.ticket and self.last.ticket.number
        return self.last.ticket


# ---------------------------------------------------------------------- what the tests read
TEXTS = default_catalogue()


def zh(key: str, **params: object) -> str:
    """The Chinese text of ``key``, as the customer reads it."""
    return TEXTS.text("zh", key, **params)


def en(key: str, **params: object) -> str:
    return TEXTS.text("en", key, **params)


def state(customer: Customer) -> ConversationState:
    """The state of the customer's conversation after their last message."""
    assert customer.last and customer.last.conversation
    return customer.last.conversation.state


def draft(customer: Customer) -> Draft:
    assert customer.last and customer.last.conversation
    return customer.last.conversation.draft


async def said_about(store: Store, ticket_id: int) -> list[str]:
    """What is stored as the customer's messages about the ticket."""
    async with store() as uow:
        return [m.text for m in await uow.messages.for_ticket(ticket_id, direction="in") if m.kind == "text"]
