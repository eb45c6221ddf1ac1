"""The inbox: inbound updates committed before they are confirmed, handled once and in
order per chat, by one process or several sharing the database, surviving a dead one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from flows.domain import Inbound, InboundKind, InboxEntry, UserRef
from flows.inbox import DatabaseUnavailable, Inbox
from flows.polling import Poller
from flows.service import ComplaintService, Outcome
from nlp import default_classifier
from storage.database import Database
from storage.models import InboxRow, MessageRow

pytestmark = pytest.mark.usefixtures("backend")


class Channel:
    """A customer channel as the inbox sees it; records what it was told."""

    name = "telegram"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (chat, update_id) in handling order
        self.reassured: list[str] = []
        self.gate: asyncio.Event | None = None  # when set, handling waits on it

    def decode(self, entry: InboxEntry) -> Inbound | None:
        if entry.payload.get("ignore"):
            return None
        return Inbound(
            channel=self.name,
            chat_id=entry.chat,
            user=UserRef(entry.chat, "Customer " + entry.chat, "zh-hans"),
            kind=InboundKind.TEXT,
            text=entry.payload["text"],
            update_id=entry.update_id,
            message_id=entry.update_id,
        )

    async def handled(self, entry: InboxEntry, inbound: Inbound, outcome: Outcome) -> None:
        self.seen.append((entry.chat, entry.update_id))

    async def reassure(self, entry: InboxEntry) -> None:
        self.reassured.append(entry.chat)


def entry(update_id: int, chat: str, text: str = "快递一直没到", **extra: Any) -> InboxEntry:
    return InboxEntry("telegram", str(update_id), chat, update_id, {"text": text, **extra})


def make_inbox(
    database: Database, *, lease: float = 10.0, owner: str | None = None, inline: bool = True
) -> tuple[Inbox, Channel]:
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731 - leases need real time
    service = ComplaintService(database.unit_of_work, default_classifier(), clock=clock)
    inbox = Inbox(database.unit_of_work, service, clock, owner=owner, lease=lease, sweep_interval=0.05, inline=inline)
    channel = Channel()
    inbox.register(channel)
    return inbox, channel


def hold_handling(inbox: Inbox) -> asyncio.Event:
    """Handling waits until the returned event is set (never set: a process that hangs,
    then dies). The inbox's workers handle everything (nothing on arrival)."""
    gate = asyncio.Event()
    inbox.inline = False
    real = inbox.service.handle

    async def held(*args: Any, **kwargs: Any) -> Outcome:
        await gate.wait()
        return await real(*args, **kwargs)

    inbox.service.handle = held  # type: ignore[method-assign]
    return gate


async def settle(*inboxes: Inbox, rounds: int = 400) -> None:
    """Until no inbox has work in hand (the sweeps pick up what is left)."""
    for _ in range(rounds):
        await asyncio.sleep(0.01)
        if all(i.busy == 0 for i in inboxes):
            for inbox in inboxes:
                await inbox.sweep()
            await asyncio.sleep(0.01)
            if all(i.busy == 0 for i in inboxes):
                return
    raise AssertionError("inboxes still busy")


async def stored_texts(database: Database) -> dict[str, list[str]]:
    """Inbound message texts per chat, in the order they were handled."""
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            select(MessageRow.chat_id, MessageRow.platform_message_id).where(MessageRow.direction == "in").order_by(MessageRow.id)
        )
        out: dict[str, list[str]] = {}
        for chat, message_id in rows:
            out.setdefault(chat, []).append(message_id)
        return out


async def waiting(database: Database) -> int:
    async with database.engine.connect() as conn:
        return len((await conn.execute(select(InboxRow.id).where(InboxRow.processed_at.is_(None)))).all())


async def test_entries_are_handled_once_in_order_per_chat(database: Database) -> None:
    inbox, channel = make_inbox(database)
    batch = [entry(i, str(100 + i % 3)) for i in range(1, 13)]
    await inbox.receive("telegram", batch)
    await inbox.receive("telegram", batch[3:6])  # the platform sends some again
    await settle(inbox)
    texts = await stored_texts(database)
    for chat in ("100", "101", "102"):
        expected = [e.update_id for e in batch if e.chat == chat]
        assert texts[chat] == expected
    assert sorted(u for _, u in channel.seen) == sorted(e.update_id for e in batch)
    assert await waiting(database) == 0
    await inbox.close()


async def test_an_update_that_needs_nothing_is_marked_and_the_lease_given_back(database: Database) -> None:
    inbox, channel = make_inbox(database)
    await inbox.receive("telegram", [entry(1, "7", ignore=True)])
    await settle(inbox)
    assert channel.seen == []
    assert await waiting(database) == 0
    async with database.unit_of_work() as uow:
        assert await uow.leases.holder("chat:telegram:7", datetime.now(UTC)) is None


async def test_a_database_that_cannot_take_the_batch_confirms_nothing_and_reassures_once(database: Database) -> None:
    inbox, channel = make_inbox(database)
    broken = Database.from_url("postgresql://postgres@127.0.0.1:9/none")  # nothing listens on port 9
    inbox.uow_factory = broken.unit_of_work
    for _ in range(2):
        with pytest.raises(DatabaseUnavailable):
            await inbox.receive("telegram", [entry(1, "5"), entry(2, "5"), entry(3, "6")])
    assert channel.reassured == ["5", "6"]  # once per chat for the whole outage
    await broken.dispose()
    inbox.uow_factory = database.unit_of_work
    await inbox.receive("telegram", [entry(1, "5"), entry(2, "5"), entry(3, "6")])
    await settle(inbox)
    assert (await stored_texts(database)) == {"5": ["1", "2"], "6": ["3"]}


@pytest.fixture
async def second_process(database: Database) -> AsyncIterator[Database]:
    """Another engine on the same database, as a second bot process would have."""
    other = Database.from_url(database.url, **database.options)
    yield other
    await other.dispose()


async def test_two_processes_share_chats_each_update_once_in_order(
    database: Database, second_process: Database, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("several processes share PostgreSQL, not a SQLite file")
    a, channel_a = make_inbox(database, owner="a")
    b, channel_b = make_inbox(second_process, owner="b")
    chats = [str(500 + n) for n in range(6)]
    update = 0
    for _round in range(5):
        receivers = []
        for chat in chats:
            update += 1
            target = a if update % 2 else b
            receivers.append(target.receive("telegram", [entry(update, chat, f"第{update}条：快递丢了")]))
        await asyncio.gather(*receivers)
    await settle(a, b)
    texts = await stored_texts(database)
    for chat in chats:
        assert texts[chat] == sorted(texts[chat], key=int), f"chat {chat} out of order: {texts[chat]}"
        assert len(texts[chat]) == 5
    handled = channel_a.seen + channel_b.seen
    assert len(handled) == len(set(handled)) == 30
    await a.close()
    await b.close()


async def test_a_killed_process_work_is_taken_over_after_its_lease(
    database: Database, second_process: Database, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("several processes share PostgreSQL, not a SQLite file")
    a, channel_a = make_inbox(database, owner="dead", lease=0.3)
    b, channel_b = make_inbox(second_process, owner="alive", lease=0.3)
    hold_handling(a)
    await a.receive("telegram", [entry(1, "900"), entry(2, "900"), entry(3, "901")])
    await asyncio.sleep(0.05)
    for worker in list(a._workers.values()):  # kill -9: no close, no release, no renewal
        worker.cancel()
    assert await b.sweep() == 0  # the leases are still live
    await asyncio.sleep(0.4)
    assert await b.sweep() == 2
    await settle(b)
    assert (await stored_texts(database)) == {"900": ["1", "2"], "901": ["3"]}
    assert channel_a.seen == []
    await b.close()


async def test_a_failing_update_is_retried_then_set_aside_without_blocking_its_chat(database: Database) -> None:
    inbox, channel = make_inbox(database)
    inbox.max_attempts = 2
    original = channel.decode

    def decode(e: InboxEntry) -> Inbound | None:
        if e.payload["text"] == "boom":
            raise ValueError("cannot read this update")
        return original(e)

    channel.decode = decode  # type: ignore[method-assign]
    await inbox.receive("telegram", [entry(1, "42", "boom"), entry(2, "42", "包裹丢了")])
    for _ in range(300):
        inbox._retry_at.clear()  # no waiting for the back-off in a test
        await inbox.sweep()
        await asyncio.sleep(0.01)
        if await waiting(database) == 0 and inbox.busy == 0:
            break
    assert (await stored_texts(database)) == {"42": ["2"]}
    async with database.engine.connect() as conn:
        row = (await conn.execute(select(InboxRow).where(InboxRow.update_id == "1"))).one()
    assert row.attempts == 2 and row.processed_at is not None and "cannot read this update" in row.last_error


class Source:
    """A long-polling platform: returns unconfirmed updates from ``offset`` on."""

    def __init__(self, updates: list[InboxEntry]) -> None:
        self.updates = updates
        self.confirmed = 0
        self.fetches: list[int | None] = []

    async def prepare(self) -> None:
        pass

    async def fetch(self, offset: int | None, timeout: float) -> list[tuple[int, InboxEntry | None]]:
        self.fetches.append(offset)
        self.confirmed = max(self.confirmed, offset or 0)
        await asyncio.sleep(0.01)
        return [(e.seq, e) for e in self.updates if e.seq >= (offset or 0)][:3]

    async def confirm(self, offset: int) -> None:
        self.confirmed = max(self.confirmed, offset)


async def test_polling_confirms_only_committed_batches(database: Database) -> None:
    inbox, _ = make_inbox(database)
    source = Source([entry(i, str(300 + i % 2)) for i in range(1, 8)])
    poller = Poller(inbox, "telegram", source, "poller:telegram:test", poll_timeout=0.01, retry_delay=0.01)
    stop = asyncio.Event()
    healthy = inbox.uow_factory
    broken = Database.from_url("postgresql://postgres@127.0.0.1:9/none")
    inbox.uow_factory = broken.unit_of_work  # the database is down from the start
    poller.polling = True  # (the lease itself needs the database)
    task = asyncio.create_task(poller.run(stop))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(source.fetches) >= 3:
            break
    assert set(source.fetches) == {None}  # the first batch, again and again: nothing confirmed
    inbox.uow_factory = healthy
    await broken.dispose()
    for _ in range(300):
        await asyncio.sleep(0.01)
        if poller.offset == 8:
            break
    stop.set()
    await task
    assert source.confirmed == 8
    await settle(inbox)
    texts = await stored_texts(database)
    assert texts == {"300": ["2", "4", "6"], "301": ["1", "3", "5", "7"]}


async def test_a_second_poller_stands_by_and_takes_over_when_the_first_dies(
    database: Database, second_process: Database, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("several processes share PostgreSQL, not a SQLite file")
    a, _ = make_inbox(database, owner="first", lease=0.3)
    b, _ = make_inbox(second_process, owner="second", lease=0.3)
    source_a = Source([entry(i, "77") for i in range(1, 4)])
    source_b = Source([entry(i, "77") for i in range(1, 7)])
    first = Poller(a, "telegram", source_a, "poller:telegram:1", poll_timeout=0.01, retry_delay=0.01)
    second = Poller(b, "telegram", source_b, "poller:telegram:1", poll_timeout=0.01, retry_delay=0.01)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    task_a = asyncio.create_task(first.run(stop_a))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if first.offset == 4:
            break
    task_b = asyncio.create_task(second.run(stop_b))
    await asyncio.sleep(0.3)
    assert first.polling and not second.polling and source_b.fetches == [], "one poller per token"
    task_a.cancel()  # kill -9: no confirmation, no release; its lease is no longer renewed
    await asyncio.gather(task_a, return_exceptions=True)
    for _ in range(300):
        await asyncio.sleep(0.01)
        if second.offset == 7:
            break
    assert second.polling and source_b.fetches[0] is None
    stop_b.set()
    await task_b
    await settle(a, b)
    assert (await stored_texts(database)) == {"77": ["1", "2", "3", "4", "5", "6"]}, "each update once, in order"


async def test_a_stalled_database_is_an_outage_within_its_timeout_not_a_hang(database: Database) -> None:
    """A server that accepts connections and never answers: receive fails after the
    connect timeout (nothing confirmed, the customer reassured), not never."""

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # holds the connection open, says nothing
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stalled = Database.from_url(f"postgresql://postgres@127.0.0.1:{port}/test", connect_timeout=0.3, pool_timeout=0.3)
    inbox, channel = make_inbox(database)
    inbox.uow_factory = stalled.unit_of_work
    try:
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(inbox.receive("telegram", [entry(1, "31")]), timeout=10)
        assert channel.reassured == ["31"]
    finally:
        server.close()
        await stalled.dispose()


async def test_after_a_takeover_the_chat_s_older_updates_go_first(
    database: Database, second_process: Database, backend: str
) -> None:
    """A dead process left 1-3 of a chat behind; 4 reaches another process before its
    sweep does: it handles 1, 2, 3, then 4."""
    if backend == "sqlite":
        pytest.skip("several processes share PostgreSQL, not a SQLite file")
    a, _ = make_inbox(database, owner="dead", lease=0.2)
    b, _ = make_inbox(second_process, owner="alive", lease=0.2)
    b.sweep_interval = 60  # no sweep comes to the rescue: the receive itself must see 1-3
    hold_handling(a)
    await a.receive("telegram", [entry(1, "950"), entry(2, "950"), entry(3, "950")])
    await asyncio.sleep(0.05)
    for worker in list(a._workers.values()):
        worker.cancel()
    await asyncio.sleep(0.3)  # the dead process's lease runs out
    await b.receive("telegram", [entry(4, "950")])
    await settle(b)
    assert (await stored_texts(database))["950"] == ["1", "2", "3", "4"]


async def test_a_long_backlog_is_read_in_batches_and_kept_in_order(database: Database) -> None:
    inbox, _ = make_inbox(database)
    inbox.batch = 4
    stuck = hold_handling(inbox)
    await inbox.receive("telegram", [entry(i, "960") for i in range(1, 11)])
    await inbox.receive("telegram", [entry(11, "960")])  # arrives while 1-10 wait
    stuck.set()
    await settle(inbox)
    assert (await stored_texts(database))["960"] == [str(i) for i in range(1, 12)]


async def test_an_outage_while_handling_is_waited_out_not_counted_against_the_update(database: Database) -> None:
    inbox, channel = make_inbox(database, inline=False)
    inbox.max_attempts = 2
    real = inbox.service.handle
    failures = 0

    async def flaky(*args: Any, **kwargs: Any) -> Outcome:
        nonlocal failures
        if failures < 5:
            failures += 1
            raise ConnectionResetError("connection to the database lost")
        return await real(*args, **kwargs)

    inbox.service.handle = flaky  # type: ignore[method-assign]
    await inbox.receive("telegram", [entry(1, "970")])
    for _ in range(300):
        inbox._retry_at.clear()
        await inbox.sweep()
        await asyncio.sleep(0.01)
        if await waiting(database) == 0 and inbox.busy == 0:
            break
    assert (await stored_texts(database)) == {"970": ["1"]}, "handled once the database was back, not set aside"
    assert channel.reassured == ["970"]


async def test_an_update_that_cannot_be_stored_as_it_is_does_not_hold_up_the_others(database: Database, backend: str) -> None:
    """PostgreSQL refuses U+0000 in JSON text: such an update is stored without it; the
    batch is confirmed and every update handled."""
    inbox, _ = make_inbox(database)
    await inbox.receive("telegram", [entry(1, "980", "快递\x00没到"), entry(2, "981", "包裹丢了")])
    await settle(inbox)
    assert (await stored_texts(database)) == {"980": ["1"], "981": ["2"]}


async def test_a_poller_that_cannot_prepare_tries_again(database: Database) -> None:
    inbox, _ = make_inbox(database)
    source = Source([entry(1, "990")])
    fails = 2

    async def prepare() -> None:
        nonlocal fails
        if fails:
            fails -= 1
            raise ConnectionError("deleteWebhook: Bad Gateway")

    source.prepare = prepare  # type: ignore[method-assign]
    poller = Poller(inbox, "telegram", source, "poller:telegram:prep", poll_timeout=0.01, retry_delay=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    for _ in range(300):
        await asyncio.sleep(0.01)
        if poller.offset == 2:
            break
    stop.set()
    await task
    assert fails == 0 and poller.offset == 2
    async with database.unit_of_work() as uow:
        assert await uow.leases.holder("poller:telegram:prep", datetime.now(UTC)) is None, "given back at stop"


async def test_closing_finishes_the_update_in_hand_and_gives_the_chat_back(database: Database) -> None:
    inbox, channel = make_inbox(database)
    gate = hold_handling(inbox)
    await inbox.receive("telegram", [entry(i, "995") for i in range(1, 6)])
    await asyncio.sleep(0.02)
    closing = asyncio.create_task(inbox.close())
    await asyncio.sleep(0.02)
    gate.set()
    await closing
    assert (await stored_texts(database)) == {"995": ["1"]}, "only the update in hand"
    assert await waiting(database) == 4
    async with database.unit_of_work() as uow:
        assert await uow.leases.holder("chat:telegram:995", datetime.now(UTC)) is None
    with pytest.raises(DatabaseUnavailable):
        await inbox.receive("telegram", [entry(6, "995")])
