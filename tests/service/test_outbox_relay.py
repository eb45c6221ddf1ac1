"""Delivery through the outbox: in order per chat, retried after outages, never dropped."""

from __future__ import annotations

import asyncio

import pytest

from flows.domain import OutboxItem
from flows.outbox import DeliveryError, OutboxRelay
from storage.database import Database
from tests.service.conftest import Clock, Customer


class FlakySender:
    """Records deliveries; fails while ``down`` (like a platform outage)."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.down = False
        self.retry_after: float | None = None
        self.permanent_for: set[str] = set()

    async def send(self, item: OutboxItem) -> None:
        if item.target in self.permanent_for:
            raise DeliveryError("chat not found", permanent=True)
        if self.down:
            raise DeliveryError("502 Bad Gateway", retry_after=self.retry_after)
        self.delivered.append((item.target, item.payload["text"]))


@pytest.fixture
def sender() -> FlakySender:
    return FlakySender()


@pytest.fixture
def relay(database: Database, sender: FlakySender, clock: Clock) -> OutboxRelay:
    return OutboxRelay(database.unit_of_work, "telegram", sender, clock, base_delay=5)


async def test_replies_are_delivered_in_order(customer: Customer, relay: OutboxRelay, sender: FlakySender) -> None:
    await customer.say("快递丢了")
    assert await relay.deliver_target("100") == len(customer.replies)
    assert [t for _, t in sender.delivered] == [r.text for r in customer.replies]
    assert await relay.deliver_target("100") == 0, "nothing is sent twice"


async def test_outage_delays_replies_and_keeps_their_order(
    customer: Customer, relay: OutboxRelay, sender: FlakySender, clock: Clock, database: Database
) -> None:
    sender.down = True
    await customer.say("快递丢了")
    first = [r.text for r in customer.replies]
    assert await relay.deliver_target("100") == 0
    await customer.press("是的")
    second = [r.text for r in customer.replies]
    assert await relay.deliver_target("100") == 0
    sender.down = False
    assert await relay.drain() == 0, "the failed item waits for its retry time, and so do the later ones"
    clock.advance(seconds=6)
    assert await relay.drain() == len(first) + len(second)
    assert [t for _, t in sender.delivered] == first + second
    async with database() as uow:
        assert await uow.outbox.pending("telegram") == []


async def test_retry_after_is_honoured(customer: Customer, relay: OutboxRelay, sender: FlakySender, clock: Clock) -> None:
    sender.down, sender.retry_after = True, 30
    await customer.say("快递丢了")
    await relay.deliver_target("100")
    sender.down = False
    clock.advance(seconds=20)
    assert await relay.drain() == 0
    clock.advance(seconds=11)
    assert await relay.drain() > 0


async def test_one_chat_down_does_not_block_another(service, relay: OutboxRelay, sender: FlakySender) -> None:  # type: ignore[no-untyped-def]
    a, b = Customer(service, chat_id="a"), Customer(service, chat_id="b")
    await a.say("快递丢了")
    await b.say("菜凉了")
    sender.permanent_for = {"a"}
    await relay.drain()
    assert {t for t, _ in sender.delivered} == {"b"}


async def test_permanent_failure_is_kept_as_failed_not_deleted(
    customer: Customer, relay: OutboxRelay, sender: FlakySender, database: Database
) -> None:
    sender.permanent_for = {"100"}
    await customer.say("快递丢了")
    await customer.press("是的")  # a second reply waits behind the first
    await relay.deliver_target("100")
    async with database() as uow:
        assert await uow.outbox.pending("telegram", "100") != [], "later items still wait behind the failed one"
    from sqlalchemy import select

    from storage.models import OutboxRow

    async with database.sessions() as session:
        statuses = list(await session.scalars(select(OutboxRow.status).order_by(OutboxRow.id)))
    assert statuses[0] == "failed" and all(s == "pending" for s in statuses[1:])


async def test_a_long_outage_delays_but_never_drops(database: Database, sender: FlakySender, clock: Clock, customer: Customer) -> None:
    relay = OutboxRelay(database.unit_of_work, "telegram", sender, clock, base_delay=1, max_delay=60)
    sender.down = True
    await customer.say("快递丢了")
    for _ in range(40):  # about half an hour of outage, tried every minute at most
        await relay.drain()
        clock.advance(seconds=61)
    async with database() as uow:
        waiting = await uow.outbox.pending("telegram", "100")
    assert len(waiting) == len(customer.replies) and waiting[0].attempts == 40
    sender.down = False
    assert await relay.drain() == len(customer.replies)


@pytest.mark.usefixtures("backend")
async def test_two_relays_on_one_database_send_each_item_once_in_order(
    service, database: Database, sender: FlakySender, clock: Clock  # type: ignore[no-untyped-def]
) -> None:
    """Two bot processes share the database: every reply is sent once, each chat in order."""
    first = OutboxRelay(database.unit_of_work, "telegram", sender, clock)
    second = OutboxRelay(database.unit_of_work, "telegram", sender, clock)
    customers = [Customer(service, chat_id=str(n)) for n in range(6)]
    expected: dict[str, list[str]] = {}
    for c in customers:
        await c.say("快递丢了，一直没送到")
        expected.setdefault(c.chat_id, []).extend(r.text for r in c.replies)
        await c.press("是的")
        expected[c.chat_id].extend(r.text for r in c.replies)
    counts = await asyncio.gather(first.drain(), second.drain(), first.drain(), second.drain())
    assert sum(counts) == sum(len(texts) for texts in expected.values())
    for chat, texts in expected.items():
        assert [t for target, t in sender.delivered if target == chat] == texts


async def test_a_claim_abandoned_by_a_crash_is_sent_after_its_lease(
    customer: Customer, database: Database, sender: FlakySender, clock: Clock
) -> None:
    await customer.say("快递丢了")
    crashed = OutboxRelay(database.unit_of_work, "telegram", sender, clock, lease=60)
    claimed = await crashed._claim("100", 100, set())  # the process dies after claiming, before sending
    assert claimed
    survivor = OutboxRelay(database.unit_of_work, "telegram", sender, clock)
    assert await survivor.drain() == 0, "the lease keeps the items from being sent twice at once"
    clock.advance(seconds=61)
    assert await survivor.drain() == len(claimed)


async def test_batched_marks_are_written_before_the_next_claim(
    customer: Customer, database: Database, sender: FlakySender, clock: Clock
) -> None:
    relay = OutboxRelay(database.unit_of_work, "telegram", sender, clock, mark_delay=60)
    await customer.say("快递丢了")
    first = await relay.deliver_target("100")
    async with database() as uow:
        assert len(await uow.outbox.pending("telegram", "100")) == first, "not marked yet"
    await customer.press("是的")
    assert await relay.deliver_target("100") == len(customer.replies), "the marks go first, nothing waits"
    await relay.flush_marks()
    async with database() as uow:
        assert await uow.outbox.pending("telegram", "100") == []
    assert len(sender.delivered) == first + len(customer.replies), "nothing was sent twice"


async def test_a_relay_that_cannot_mark_what_it_sent_stops_sending(
    database: Database, sender: FlakySender, clock: Clock, customer: Customer
) -> None:
    """Each reply is handed to the batched marks as it goes out; while those marks cannot
    be written (the database is gone) nothing more is sent, so a crash then repeats at
    most what went out before the failure."""
    from sqlalchemy import select

    from storage.models import OutboxRow

    await customer.say("快递丢了，三天了还没到")
    await customer.press("是的")
    await customer.say("SF1234567")
    state = {"down": False}

    def uow():  # type: ignore[no-untyped-def]
        if state["down"]:
            raise ConnectionError("database unavailable")
        return database.unit_of_work()

    relay = OutboxRelay(uow, "telegram", sender, clock, mark_delay=0.01)
    items = await relay._claim("100", 100, set())
    assert len(items) >= 3
    state["down"] = True

    original = sender.send

    async def send_then_wait(item: OutboxItem) -> None:
        await asyncio.sleep(0.05)  # meanwhile the batched mark of the one before is tried, and fails
        await original(item)

    sender.send = send_then_wait  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):  # giving the rest back needs the database too
        await relay._send_in_order(items, {i.id for i in items if i.id is not None})
    assert len(sender.delivered) == 2, "once the first mark failed, the reply after the one in hand waits"
    state["down"] = False
    await relay.flush_marks()
    async with database.engine.connect() as conn:
        statuses = dict((await conn.execute(select(OutboxRow.id, OutboxRow.status))).all())
    assert statuses[items[0].id] == "sent"
