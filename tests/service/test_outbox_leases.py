"""Outbox leases of seconds: renewed while the process lives, taken over when it dies,
and a clean stop leaves nothing that went out pending and nothing claimed for long."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from flows.domain import Inbound, InboundKind, OutboxItem, UserRef
from flows.outbox import DeliveryError, OutboxRelay
from flows.service import ComplaintService, Outcome
from storage.database import Database
from storage.models import OutboxRow
from tests.service.conftest import Clock, Customer
from tests.service.test_outbox_relay import FlakySender

pytestmark = pytest.mark.usefixtures("backend")  # SQLite and PostgreSQL

LEASE = 10.0  # seconds of the fake clock; the heartbeat runs every HEARTBEAT real seconds
HEARTBEAT = 0.01


class GatedSender:
    """A platform that answers only once ``gate`` is open (a slow send under way)."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.gate = asyncio.Event()
        self.sending = asyncio.Event()  # a send is waiting at the gate

    async def send(self, item: OutboxItem) -> None:
        self.sending.set()
        await self.gate.wait()
        self.delivered.append((item.target, item.payload["text"]))


class Process:
    """A bot process seen from the relay: its way to the database and to a platform that
    does not answer. :meth:`kill` is ``kill -9``: nothing it does reaches the database any more."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.dead = False
        self.sending = asyncio.Event()
        self._killed = asyncio.Event()

    def unit_of_work(self):  # type: ignore[no-untyped-def]
        if self.dead:
            raise ConnectionError("the process is gone")
        return self.database.unit_of_work()

    async def send(self, item: OutboxItem) -> None:
        self.sending.set()
        await self._killed.wait()
        raise ConnectionError("the process is gone")

    def kill(self) -> None:
        self.dead = True
        self._killed.set()


async def holds(value: bool) -> bool:
    return value


async def eventually(check: Callable[[], Awaitable[bool]], limit: float = 10.0) -> None:
    """Wait until ``check`` holds (``limit`` only bounds a broken test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await check():
        assert loop.time() < deadline, "the condition was never reached"
        await asyncio.sleep(0.005)


async def rows(database: Database) -> list[tuple[int, str, str, datetime | None, str | None]]:
    """(id, target, status, next_attempt_at, last_error) of every outbox item, oldest first."""
    async with database.sessions() as session:
        result = await session.execute(
            select(OutboxRow.id, OutboxRow.target, OutboxRow.status, OutboxRow.next_attempt_at, OutboxRow.last_error).order_by(OutboxRow.id)
        )
        return [tuple(row) for row in result.all()]  # type: ignore[misc]


async def all_leased_until(database: Database, until: datetime) -> bool:
    pending = [r for r in await rows(database) if r[2] == "pending"]
    return bool(pending) and all(r[3] == until for r in pending)


async def backlog(customer: Customer) -> list[str]:
    """Three replies waiting for one chat, in the order the customer must read them."""
    texts: list[str] = []
    for step in (customer.say("快递丢了"), customer.press("是的"), customer.say("还是没有消息")):
        texts += [r.text for r in await step]
    return texts


async def say_claimed(service: ComplaintService, chat: str, text: str, claim: OutboxRelay) -> Outcome:
    """A message handled as the Telegram handler does: replies written already claimed for
    ``claim``'s lease, to be handed to ``claim.deliver``."""
    inbound = Inbound(
        channel="telegram",
        chat_id=chat,
        user=UserRef(chat, "Customer " + chat, "zh-hans"),
        kind=InboundKind.TEXT,
        text=text,
        update_id=f"{chat}-claimed",
        message_id="1",
    )
    outcome = await service.handle(inbound, claim_replies=claim.lease)
    assert outcome.claimed and outcome.replies
    return outcome


# ---------------------------------------------------------------------- leases renewed while alive
async def test_a_living_relay_keeps_its_items_past_the_first_lease(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    platform = GatedSender()
    first = OutboxRelay(database.unit_of_work, "telegram", platform, clock, lease=LEASE, heartbeat=HEARTBEAT)
    other = FlakySender()
    second = OutboxRelay(database.unit_of_work, "telegram", other, clock, lease=LEASE)
    drained = await backlog(Customer(service, chat_id="a"))  # claimed by first's drain
    handed = await say_claimed(service, "b", "菜凉了", first)  # claimed by handle, sent by deliver
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop, interval=0.01))
    delivering = asyncio.create_task(first.deliver(handed.replies))
    await platform.sending.wait()
    await eventually(lambda: all_leased_until(database, clock.now + first.lease))
    for _ in range(3):  # three leases' worth of time while the sends hang
        clock.advance(seconds=LEASE * 0.8)
        await eventually(lambda: all_leased_until(database, clock.now + first.lease))
        assert await second.drain() == 0, "renewed items are not taken by another process"
    platform.gate.set()
    assert await delivering == len(handed.replies)
    await eventually(lambda: _none_pending(database))
    stop.set()
    await running
    assert other.delivered == []
    assert [t for c, t in platform.delivered if c == "a"] == drained
    assert [t for c, t in platform.delivered if c == "b"] == [r.payload["text"] for r in handed.replies]


async def _none_pending(database: Database) -> bool:
    return all(r[2] == "sent" for r in await rows(database))


async def test_a_killed_process_s_items_are_sent_by_another_after_one_lease(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    process = Process(database)
    dying = OutboxRelay(process.unit_of_work, "telegram", process, clock, lease=LEASE, heartbeat=HEARTBEAT)
    survivor_platform = FlakySender()
    survivor = OutboxRelay(database.unit_of_work, "telegram", survivor_platform, clock, lease=LEASE)
    texts = await backlog(Customer(service, chat_id="a"))
    stop = asyncio.Event()
    running = asyncio.create_task(dying.run(stop, interval=0.01))
    await process.sending.wait()
    clock.advance(seconds=LEASE * 0.8)
    await eventually(lambda: all_leased_until(database, clock.now + dying.lease))  # renewed: alive
    process.kill()
    last_renewal = clock.now
    clock.advance(seconds=LEASE * 0.9)
    assert await survivor.drain() == 0, "within one lease of its last renewal the items stay"
    clock.advance(seconds=LEASE * 0.2)
    assert clock.now - last_renewal > dying.lease
    assert await survivor.drain() == len(texts), "after one lease without renewal they are taken over"
    assert [t for _, t in survivor_platform.delivered] == texts
    stop.set()
    await running  # the dead relay's close fails quietly (logged): nothing reaches the database


# ---------------------------------------------------------------------- a clean stop
@pytest.mark.parametrize("how", ["close", "stop", "cancel"])
async def test_a_clean_stop_leaves_nothing_that_went_out_pending(
    service: ComplaintService, database: Database, clock: Clock, how: str
) -> None:
    """Batched marks (``mark_delay``) are written by the stop, however it comes: close(),
    ``stop`` set, or the task running the relay cancelled (as bot/runner.py does)."""
    platform = FlakySender()
    relay = OutboxRelay(database.unit_of_work, "telegram", platform, clock, lease=LEASE, mark_delay=60)
    texts = await backlog(Customer(service, chat_id="a"))
    handed = await say_claimed(service, "b", "菜凉了", relay)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop, interval=0.01))
    assert await relay.deliver(handed.replies) == 1
    await eventually(lambda: holds(len(platform.delivered) == len(texts) + 1))
    assert any(r[2] == "pending" for r in await rows(database)), "marks wait for their batch"
    if how == "close":
        await relay.close()
        stop.set()
    elif how == "stop":
        stop.set()
    else:
        running.cancel()
    await asyncio.wait([running])
    assert all(r[2] == "sent" for r in await rows(database)), "everything delivered is marked"
    clock.advance(hours=1)
    again = FlakySender()
    assert await OutboxRelay(database.unit_of_work, "telegram", again, clock).drain() == 0
    assert again.delivered == [], "the next start sends nothing twice"


async def test_close_gives_back_what_was_claimed_and_not_sent(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    platform = GatedSender()
    relay = OutboxRelay(database.unit_of_work, "telegram", platform, clock, lease=LEASE, mark_delay=60)
    texts = await backlog(Customer(service, chat_id="a"))
    draining = asyncio.create_task(relay.drain())
    await platform.sending.wait()  # the first reply is in the platform's hands, the others claimed
    closing = asyncio.create_task(relay.close())
    await eventually(lambda: holds(relay._closing))
    platform.gate.set()  # the send under way finishes; close waited for it
    await closing
    assert await draining == 1
    state = await rows(database)
    assert [r[2] for r in state] == ["sent", "pending", "pending"]
    assert all(r[3] is not None and r[3] <= clock.now for r in state[1:]), "due at once, not after the lease"
    other = FlakySender()
    assert await OutboxRelay(database.unit_of_work, "telegram", other, clock).drain() == 2, "sent at once"
    assert [t for _, t in platform.delivered] + [t for _, t in other.delivered] == texts


async def test_close_does_not_wait_for_ever_and_keeps_the_lease_of_a_send_that_hangs(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    platform = GatedSender()
    relay = OutboxRelay(database.unit_of_work, "telegram", platform, clock, lease=LEASE)
    texts = await backlog(Customer(service, chat_id="a"))
    draining = asyncio.create_task(relay.drain())
    await platform.sending.wait()
    await relay.close(timeout=0.05)
    state = await rows(database)
    assert state[0][3] == clock.now + relay.lease, "it may have gone out: it keeps its lease"
    assert all(r[3] == clock.now for r in state[1:]), "the ones behind it are given back"
    other = FlakySender()
    survivor = OutboxRelay(database.unit_of_work, "telegram", other, clock)
    assert await survivor.drain() == 0, "the chat's order holds: they wait behind the first"
    clock.advance(seconds=LEASE + 1)
    assert await survivor.drain() == len(texts)
    draining.cancel()
    await asyncio.wait([draining])
    await relay.flush_marks()


async def test_a_closed_relay_gives_back_what_it_is_handed(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    platform = FlakySender()
    relay = OutboxRelay(database.unit_of_work, "telegram", platform, clock, lease=LEASE)
    outcome = await say_claimed(service, "b", "菜凉了", relay)
    await relay.close()
    assert await relay.deliver(outcome.replies) == 0
    assert await relay.drain() == 0
    assert platform.delivered == []
    other = FlakySender()
    assert await OutboxRelay(database.unit_of_work, "telegram", other, clock).drain() == len(outcome.replies)


async def test_renewing_touches_only_pending_items(service: ComplaintService, database: Database, clock: Clock) -> None:
    await backlog(Customer(service, chat_id="a"))
    before = await rows(database)
    until = clock.now + timedelta(seconds=LEASE)
    async with database() as uow:
        await uow.outbox.mark_sent([before[0][0]], clock.now)
        await uow.outbox.renew([r[0] for r in before], until)
        await uow.commit()
    state = await rows(database)
    assert state[0][3] == before[0][3], "a sent item is left alone"
    assert [r[3] for r in state[1:]] == [until, until]


# ---------------------------------------------------------------------- secrets in errors
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PASSWORD = "s3cret-pw"
LEAK = f"POST https://api.telegram.org/bot{TOKEN}/sendMessage via http://bot:{PASSWORD}@proxy:3128 failed"


class LeakySender:
    """A platform whose errors quote the Bot API URL (with the token) and a proxy password."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def send(self, item: OutboxItem) -> None:
        if self.kind == "unexpected":
            raise RuntimeError(LEAK)
        raise DeliveryError(LEAK, permanent=self.kind == "permanent")


@pytest.mark.parametrize("kind", ["retry", "permanent", "unexpected"])
async def test_a_failed_send_stores_and_logs_its_error_without_secrets(
    customer: Customer, database: Database, clock: Clock, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    relay = OutboxRelay(database.unit_of_work, "telegram", LeakySender(kind), clock)
    await customer.say("快递丢了")
    with caplog.at_level(logging.INFO, logger="flows.outbox"):
        assert await relay.drain() == 0
    stored = (await rows(database))[0][4]
    assert stored and "api.telegram.org/bot***/sendMessage" in stored and "bot:***@proxy" in stored
    logged = caplog.text
    assert "api.telegram.org/bot***/sendMessage" in logged
    for secret in (TOKEN, PASSWORD, TOKEN.split(":")[1]):
        assert secret not in stored
        assert secret not in logged
