"""Engine benchmark: simulated customers through the inbound path on a real database,
next to the bare floor of this machine measured in the same run.

Usage::

    python benchmarks/engine.py                      # SQLite file, one core, 3 alternating rounds
    python benchmarks/engine.py --direct             # also the old path (ComplaintService.handle called directly)
    python benchmarks/engine.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/engine.py --no-relay --memory-conversations 0 --rounds 1

Each customer files a whole complaint in 8 messages (/start, description, confirm the
category, order number, skip the time, phone number, no photos, submit); ``--concurrency``
customers (8) talk at the same time. Paths timed, in alternating rounds, each round with
fresh customers:

- floor: the bare cost of a durable message on this machine: one SQLite transaction
  (``BEGIN IMMEDIATE``; a read and three writes; ``COMMIT``, in WAL mode with
  synchronous=NORMAL as the bot, checkpoints every 4,000 pages in the committing thread)
  plus one ``jieba.lcut(text, HMM=False)``,
  on the texts the customers send, one message after the other (standard ``sqlite3``,
  no asyncio, no SQLAlchemy). Always SQLite, whatever ``--database-url`` says.
- floor-fsync: the same with synchronous=FULL (an fsync of the WAL at every commit).
  Not the bot's setting; shown because it is what a floor of some 3,000 messages/s
  (issue 12's table) looks like on this machine.
- inbox (the bot's path): each message enters as a webhook brings it,
  ``Inbox.receive(channel, [entry])``. Since issue 12 the receipts that arrive together
  share one transaction (group commit) and a message of a chat with nothing else waiting
  is handled in it (``ComplaintService.handle_in``); otherwise the chat's worker handles
  it in a transaction of its own. Then the channel's ``handled`` is called. Like
  production (bot/runner.py), the replies are written already claimed and ``handled``
  gives them to a real ``OutboxRelay`` (its sender does nothing: no network here), whose
  sent marks ride along with the next arrivals' transaction (``Inbox.ride_along``) or
  go in batches (MARK_DELAY); the inbox's sweep, the relay's drain and the SQLite
  checkpointer thread run in the background. ``--no-relay``: ``handled`` does nothing
  and the replies stay pending. Latency: from ``receive`` being called to ``handled``
  being called.
- direct (``--direct``): the path before issue 8, ``ComplaintService.handle(inbound)``
  with the update id de-duplicated in ``processed_updates``; replies stay pending.

Prints per round and the median over rounds: messages/s, p50/p99 latency, the ratio
floor/engine from the same round, and (SQLite) the bytes written per message by write
system calls (WAL frames and checkpoints, from /proc/self/io) for the floor and the
engine. Then resident memory after 1,000 and after ``--memory-conversations`` (10,000)
more finished conversations through the inbox path, on the same (growing) database.

Targets printed, with PASS or MISS: issue 12's (SQLite >= 1,200 messages/s, floor/engine
<= 2.5, p99 <= 10 ms; PostgreSQL >= 800 messages/s with 8 concurrent customers, p99 <= 25
ms; bytes written <= 2x the floor's; memory growth 1k -> 10k conversations <= 5 MB). The
floor/engine ratio is printed against both floors: issue 12's table gives a floor of
2,890 messages/s, which on this machine is the size of floor-fsync; the floor with the
bot's own setting (no fsync per commit) is several times faster. The process is pinned
to one core unless ``--all-cores`` (PostgreSQL's server then runs on the other cores).
A measurement, not a test: exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from flows.domain import Inbound, InboundKind, InboxEntry, OutboxItem, UserRef  # noqa: E402
from flows.inbox import Inbox  # noqa: E402
from flows.outbox import OutboxRelay  # noqa: E402
from flows.service import ComplaintService, Outcome, utcnow  # noqa: E402
from nlp import default_classifier  # noqa: E402
from storage.database import Database, database_unavailable  # noqa: E402
from benchmarks.databases import code_version, drop_schema, prepare  # noqa: E402

# production's settings (bot/runner.py OUTBOX_LEASE, handlers/telegram.py MARK_DELAY);
# not imported, so that this benchmark does not load python-telegram-bot
OUTBOX_LEASE = 15.0
MARK_DELAY = 0.02

DESCRIPTIONS = [
    "我买的耳机快递一个星期了还没收到，物流信息也不更新",
    "外卖送到的时候汤全洒了，饭也是凉的",
    "收到的衣服质量很差，洗一次就掉色，线头很多",
    "客服态度很差，问了三遍都不回复",
    "同一个订单被扣了两次钱，要求退还多收的费用",
    "申请退货两周了退款还没到账",
    "实物和图片完全不一样，颜色和尺码都不对",
    "昨天点的外卖吃完肚子疼，拉了一晚上",
    "酒店房间隔音太差，空调还漏水",
    "送错货了，我买的是黑色的，送来的是白色",
    "The parcel never arrived and tracking has not moved for a week",
    "Food was cold and the driver was rude",
]
# issue 12's goals (one core; medians of alternating rounds, ratios from the same round)
TARGETS = {
    "sqlite_messages_per_s": 1200.0, "ratio": 2.5, "sqlite_p99_ms": 10.0,
    "pg_messages_per_s": 800.0, "pg_p99_ms": 25.0, "write_ratio": 2.0, "memory_growth_mb": 5.0,
}  # fmt: skip


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def written_bytes() -> int:
    """Bytes this process passed to write system calls so far (Linux /proc, ``wchar``)."""
    try:
        with open("/proc/self/io") as io:
            for line in io:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _button(items: list[OutboxItem], action: str) -> str:
    for item in reversed(items):
        for row in item.payload.get("buttons", ()):
            for _label, data in row:
                if data.split(":")[1] == action:
                    return data
    raise RuntimeError(f"no {action!r} button in {[i.payload for i in items]}")


# ---------------------------------------------------------------------- the two engine paths
class BenchChannel:
    """A customer channel as the inbox sees it (flows.inbox.InboundChannel): the stored
    payload is the Inbound's fields; ``handled`` hands claimed replies to the relay (as
    handlers/telegram.py does) and wakes the customer waiting for them."""

    name = "bench"

    def __init__(self, relay: OutboxRelay | None) -> None:
        self.relay = relay
        self.waiting: dict[str, asyncio.Future[list[OutboxItem]]] = {}

    @staticmethod
    def payload(chat: str, kind: InboundKind, update_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        return {"chat": chat, "name": f"Customer {chat}", "lang": "zh-hans", "kind": kind.value,
                "update_id": update_id, **fields}  # fmt: skip

    def decode(self, entry: InboxEntry) -> Inbound | None:
        p = entry.payload
        return Inbound(
            channel=self.name,
            chat_id=p["chat"],
            user=UserRef(p["chat"], p["name"], p["lang"]),
            kind=InboundKind(p["kind"]),
            text=p.get("text", ""),
            command=p.get("command"),
            button=p.get("button"),
            update_id=entry.update_id,
            message_id=entry.update_id,
        )

    async def handled(self, entry: InboxEntry, inbound: Inbound, outcome: Outcome) -> None:
        if self.relay is not None:
            if outcome.claimed:
                await self.relay.deliver(outcome.replies)
            elif outcome.replies:
                await self.relay.deliver_target(inbound.chat_id)
        waiter = self.waiting.pop(entry.update_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(list(outcome.replies))

    async def reassure(self, entry: InboxEntry) -> None:
        pass


class NullSender:
    """Delivers nothing (no network in this benchmark); the relay marks the items sent."""

    async def send(self, item: OutboxItem) -> None:
        return None




class Driver:
    """Plays customers through one path and records the latency of every message."""

    def __init__(self, name: str, send: Callable[[str, int, InboundKind, dict[str, Any]], Awaitable[list[OutboxItem]]]) -> None:
        self.name = name
        self._send_path = send
        self.latencies: list[float] = []
        self.tickets = 0

    async def _send(self, chat: str, kind: InboundKind, **fields: Any) -> list[OutboxItem]:
        started = time.perf_counter()
        replies = await self._send_path(chat, next(UPDATE_IDS), kind, fields)
        self.latencies.append(time.perf_counter() - started)
        return replies

    async def customer(self, n: int, rng: random.Random, answered: asyncio.Event | None = None) -> None:
        chat = f"c{n}"
        await self._send(chat, InboundKind.COMMAND, command="start")
        if answered is not None:
            answered.set()
        replies = await self._send(chat, InboundKind.TEXT, text=description(n, rng))
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "confirm"))
        replies = await self._send(chat, InboundKind.TEXT, text=f"ORD{n:08d}")
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "skip"))
        replies = await self._send(chat, InboundKind.TEXT, text=f"138{n:08d}")
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "done"))
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "submit"))
        if not any("T0" in item.payload["text"] for item in replies):
            raise RuntimeError(f"customer {n} got no ticket number: {replies}")
        self.tickets += 1


class _Counter:
    def __init__(self) -> None:
        self.value = 0

    def __next__(self) -> int:
        self.value += 1
        return self.value


UPDATE_IDS = _Counter()


def description(n: int, rng: random.Random) -> str:
    return rng.choice(DESCRIPTIONS)


def production_inbox(database: Database, service: ComplaintService, relay: OutboxRelay | None) -> tuple[Inbox, BenchChannel]:
    """The inbox path wired as bot/runner.py wires a customer channel: an Inbox with the
    lease fence only off SQLite, the replies written claimed for ``relay``, whose sent
    marks ride along with the arrivals' transactions (no relay: replies stay pending)."""
    inbox = Inbox(
        database.unit_of_work,
        service,
        utcnow,
        is_outage=database_unavailable,
        fence=database.engine.dialect.name != "sqlite",  # as bot/runner.py: SQLite is one process only
        reply_claim=timedelta(seconds=OUTBOX_LEASE) if relay is not None else None,
    )
    channel = BenchChannel(relay)
    inbox.register(channel)
    if relay is not None:
        inbox.ride_along(relay.write_marks)
    return inbox, channel


def direct_path(service: ComplaintService) -> Callable[[str, int, InboundKind, dict[str, Any]], Awaitable[list[OutboxItem]]]:
    """The old path: the application service called directly."""

    async def send(chat: str, update_id: int, kind: InboundKind, fields: dict[str, Any]) -> list[OutboxItem]:
        inbound = Inbound(
            channel="bench-direct",
            chat_id=chat,
            user=UserRef(chat, f"Customer {chat}", "zh-hans"),
            kind=kind,
            update_id=str(update_id),
            message_id=str(update_id),
            **fields,
        )
        outcome = await service.handle(inbound)
        return list(outcome.replies)

    return send


def inbox_path(inbox: Inbox, channel: BenchChannel) -> Callable[[str, int, InboundKind, dict[str, Any]], Awaitable[list[OutboxItem]]]:
    """The new path: one entry per receive (as the webhook does), handled by the inbox."""

    async def send(chat: str, update_id: int, kind: InboundKind, fields: dict[str, Any]) -> list[OutboxItem]:
        entry = InboxEntry(channel.name, str(update_id), chat, update_id, channel.payload(chat, kind, update_id, fields))
        waiter = channel.waiting[entry.update_id] = asyncio.get_running_loop().create_future()
        await inbox.receive(channel.name, [entry])
        return await waiter

    return send


LOCKSTEP = False  # --lockstep: the customers start together (see run_batch)


async def run_batch(driver: Driver, first: int, count: int, concurrency: int, seed: int) -> float:
    """``count`` customers, ``concurrency`` at a time, each one's next message as soon as
    the previous one is answered.

    The talking customers start one step apart (the k-th once the (k-1)-th has had its
    first answer), so that at any moment they are at different steps of their
    complaints, as real customers are. Started together (``--lockstep``) they stay in
    step: the bot's group commit answers them together, so every eighth transaction
    holds eight submissions (the heaviest message) and their latency is eight
    submissions long."""
    rng = random.Random(seed)
    queue = iter(range(first, first + count))
    first_answer = [asyncio.Event() for _ in range(concurrency)]

    async def worker(k: int) -> None:
        if k and not LOCKSTEP:
            await first_answer[k - 1].wait()
        first = True
        for n in queue:
            await driver.customer(n, rng, first_answer[k] if first else None)
            first = False
        first_answer[k].set()  # (no customer left for this one)

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return time.perf_counter() - started


# ---------------------------------------------------------------------- the floor
FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (chat TEXT PRIMARY KEY, state TEXT NOT NULL, step INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, chat TEXT NOT NULL, text TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, chat TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL);
"""
FLOOR_REPLY = json.dumps({"text": "感谢您的反馈，我们已经记录下来，客服会在两小时内联系您。Thank you, we will reply within 2 hours."}, ensure_ascii=False)


def customer_texts(first: int, count: int, seed: int) -> list[tuple[str, str]]:
    """(chat, text) of every message the customers of a round send, in a plausible
    interleaving; button presses count with their callback data as text."""
    rng = random.Random(seed)
    per_customer = []
    for n in range(first, first + count):
        chat = f"f{n}"
        per_customer.append([
            (chat, "/start"), (chat, description(n, rng)), (chat, f"{n}.2:confirm"), (chat, f"ORD{n:08d}"),
            (chat, f"{n}.4:skip"), (chat, f"138{n:08d}"), (chat, f"{n}.6:done"), (chat, f"{n}.7:submit"),
        ])  # fmt: skip
    out: list[tuple[str, str]] = []
    for start in range(0, len(per_customer), 8):  # 8 customers at a time, turn by turn
        group = per_customer[start : start + 8]
        for turn in range(8):
            out.extend(c[turn] for c in group)
    return out


class Floor:
    """One SQLite transaction (a read, three writes) plus one jieba cut per message."""

    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()
        self.cut = jieba.lcut
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("busy_timeout=10000", "journal_mode=WAL", f"synchronous={synchronous}", "wal_autocheckpoint=4000", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(FLOOR_SCHEMA)

    def run(self, texts: list[tuple[str, str]]) -> tuple[float, list[float], int]:
        db, cut = self.db, self.cut
        latencies: list[float] = []
        before = written_bytes()
        started = time.perf_counter()
        for chat, text in texts:
            t0 = time.perf_counter()
            words = cut(text, HMM=False)
            now = time.time()
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT state, step FROM conversations WHERE chat = ?", (chat,)).fetchone()
            step = row[1] + 1 if row else 1
            db.execute("INSERT INTO messages (chat, text, created_at) VALUES (?, ?, ?)", (chat, text, str(now)))
            db.execute(
                "INSERT INTO conversations (chat, state, step, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (chat) DO UPDATE SET state = excluded.state, step = excluded.step, updated_at = excluded.updated_at",
                (chat, f"s{len(words)}", step, str(now)),
            )
            db.execute("INSERT INTO outbox (chat, payload, created_at) VALUES (?, ?, ?)", (chat, FLOOR_REPLY, str(now)))
            db.execute("COMMIT")
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        return elapsed, latencies, written_bytes() - before

    def close(self) -> None:
        self.db.close()


# ---------------------------------------------------------------------- rounds
@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    bytes_per_message: list[float] = field(default_factory=list)

    def add(self, count: int, elapsed: float, latencies: list[float], written: int | None) -> None:
        self.rates.append(count / elapsed)
        self.p50.append(percentile(latencies, 0.50) * 1000)
        self.p99.append(percentile(latencies, 0.99) * 1000)
        if written is not None:
            self.bytes_per_message.append(written / count)


def spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """median (min–max)"""
    if not values:
        return "-"
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


async def main(args: argparse.Namespace) -> int:
    classifier = default_classifier()
    classifier.warm_up()  # jieba's dictionary loads once, before timing
    folder = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    database, where, schema = await prepare(args.database_url, "engine-bench", folder if args.database_url is None else None)
    sqlite = args.database_url is None
    floors = {"floor": Floor(folder / "floor.db"), "floor-fsync": Floor(folder / "floor-fsync.db", "FULL")}
    service = ComplaintService(database.unit_of_work, classifier)
    stop = asyncio.Event()
    relay: OutboxRelay | None = None
    background: list[asyncio.Task[None]] = []
    if not args.no_relay:
        relay = OutboxRelay(database.unit_of_work, BenchChannel.name, NullSender(), utcnow, mark_delay=MARK_DELAY, lease=OUTBOX_LEASE)
    inbox, channel = production_inbox(database, service, relay)
    background.append(asyncio.create_task(inbox.run(stop), name="inbox"))
    if relay is not None:
        background.append(asyncio.create_task(relay.run(stop), name="relay"))
    drivers = {"inbox": Driver("inbox", inbox_path(inbox, channel))}
    if args.direct:
        drivers["direct"] = Driver("direct", direct_path(service))

    print(f"code: {code_version()}")
    print(f"database: {where}")
    print(f"floor: SQLite file {folder / 'floor.db'} (standard sqlite3, the bot's pragmas: synchronous=NORMAL, no fsync per commit)")
    print("floor-fsync: the same with synchronous=FULL (an fsync per commit; not the bot's setting, shown for comparison)")
    print(f"cpu affinity: {sorted(os.sched_getaffinity(0))}  concurrency: {args.concurrency} customers")
    print(f"inbox path: one entry per Inbox.receive, replies {'claimed and marked sent by an OutboxRelay (null sender), as in production' if relay else 'left pending (--no-relay)'}")
    figures = {name: Figures() for name in [*floors, *drivers]}
    ratios: dict[str, list[float]] = {name: [] for name in drivers}
    fsync_ratios: dict[str, list[float]] = {name: [] for name in drivers}
    write_ratios: dict[str, list[float]] = {name: [] for name in drivers}
    next_customer = 0

    def customers(count: int) -> int:
        nonlocal next_customer
        first, next_customer = next_customer, next_customer + count
        return first

    try:
        for driver in drivers.values():  # warm-up (imports, caches, pool)
            await run_batch(driver, customers(20), 20, args.concurrency, 1)
        for floor in floors.values():
            floor.run(customer_texts(customers(20), 20, 1))
        print(f"\n{args.rounds} rounds of {args.customers} customers ({args.customers * 8:,} messages) per path, alternating")
        print("round  path      messages/s   p50 ms   p99 ms   bytes written/msg   floor/engine")
        for round_ in range(1, args.rounds + 1):
            order = [*floors, *drivers]
            if round_ % 2 == 0:
                order.reverse()  # alternate which path goes first
            rates: dict[str, float] = {}
            written_in: dict[str, float] = {}
            for name in order:
                seed = 100 + round_
                if name in floors:
                    texts = customer_texts(customers(args.customers), args.customers, seed)
                    elapsed, latencies, written = floors[name].run(texts)
                    count = len(texts)
                    figures[name].add(count, elapsed, latencies, written)
                else:
                    driver = drivers[name]
                    driver.latencies.clear()
                    if relay is not None:
                        await relay.flush_marks()
                    gc.collect()
                    before = written_bytes()
                    elapsed = await run_batch(driver, customers(args.customers), args.customers, args.concurrency, seed)
                    if relay is not None and name == "inbox":
                        await relay.flush_marks()  # the marks of this round's replies count for it
                    written = written_bytes() - before
                    latencies = driver.latencies
                    count = len(latencies)
                    figures[name].add(count, elapsed, latencies, written if sqlite else None)
                rates[name] = count / elapsed
                if sqlite:
                    written_in[name] = written / count
            for name in order:
                f = figures[name]
                ratio = ""
                if name not in floors:
                    ratios[name].append(rates["floor"] / rates[name])
                    fsync_ratios[name].append(rates["floor-fsync"] / rates[name])
                    ratio = f"{ratios[name][-1]:.2f}"
                    if sqlite:
                        write_ratios[name].append(written_in[name] / written_in["floor"])
                shown = f"{f.bytes_per_message[-1]:>9,.0f} ({f.bytes_per_message[-1] / 4096:4.1f} p)" if f.bytes_per_message else f"{'-':>18}"
                print(f"{round_:>5}  {name:<8}  {f.rates[-1]:>10,.0f}  {f.p50[-1]:>7.2f}  {f.p99[-1]:>7.2f}   {shown}   {ratio:>12}")

        print("\nmedian (min–max) over rounds")
        for name, f in figures.items():
            line = f"  {name:<7} messages/s {spread(f.rates)}   p50 {spread(f.p50, '{:.2f}')} ms   p99 {spread(f.p99, '{:.2f}')} ms"
            if f.bytes_per_message:
                line += f"   written/msg {spread([b / 4096 for b in f.bytes_per_message], '{:.1f}')} pages"
            if name in ratios:
                line += f"   floor/engine {spread(ratios[name], '{:.2f}')}   floor-fsync/engine {spread(fsync_ratios[name], '{:.2f}')}"
            print(line)
        if not sqlite:
            print("  (the floor is SQLite on this machine whatever the database: on PostgreSQL the ratio compares unlike things)")

        engine = figures["inbox"]
        rate, p99 = statistics.median(engine.rates), statistics.median(engine.p99)
        print("\ntargets (issue 12), inbox path, medians over rounds")
        if sqlite:
            floor_ratio = statistics.median(ratios["inbox"])
            fsync_ratio = statistics.median(fsync_ratios["inbox"])
            print(f"  messages/s {rate:,.0f}   (>= {TARGETS['sqlite_messages_per_s']:,.0f} on one core)  {verdict(rate >= TARGETS['sqlite_messages_per_s'])}")
            print(f"  p99 {p99:.2f} ms   (<= {TARGETS['sqlite_p99_ms']:.0f})  {verdict(p99 <= TARGETS['sqlite_p99_ms'])}")
            print(f"  floor/engine {floor_ratio:.2f}   (<= {TARGETS['ratio']}; the floor with the bot's synchronous=NORMAL)  {verdict(floor_ratio <= TARGETS['ratio'])}")
            print(f"  floor-fsync/engine {fsync_ratio:.2f}   (<= {TARGETS['ratio']}; a floor of issue 12's size, one fsync per commit)  {verdict(fsync_ratio <= TARGETS['ratio'])}")
            wr = statistics.median(write_ratios["inbox"])
            print(f"  bytes written per message {wr:.1f}x the floor's   (<= {TARGETS['write_ratio']:.0f}x; write system calls, WAL and checkpoints, not WAL bytes alone)  {verdict(wr <= TARGETS['write_ratio'])}")
        else:
            print(f"  messages/s {rate:,.0f} with {args.concurrency} concurrent customers   (>= {TARGETS['pg_messages_per_s']:,.0f})  {verdict(rate >= TARGETS['pg_messages_per_s'])}")
            print(f"  p99 {p99:.2f} ms   (<= {TARGETS['pg_p99_ms']:.0f})  {verdict(p99 <= TARGETS['pg_p99_ms'])}")
        if "direct" in drivers:
            direct = statistics.median(figures["direct"].rates)
            print(f"inbox path / direct path: {rate / direct:.2f} of the old path's messages/s (medians)")
            if sqlite:
                print("  latency is not comparable between the two on SQLite: a direct handle() never yields on the inline")
                print("  SQLite connection, so its 8 customers take turns and its latency is one message's service time;")
                print("  the inbox hands each message to a worker task, so 8 messages are really in flight and each waits")
                print("  for the others (about 8 / messages-per-second)")

        if args.memory_conversations:
            # after the timed rounds: RSS after the memory phase's first 1,000 conversations
            # and after --memory-conversations of them (the same database, which keeps growing)
            memory = Driver("memory", inbox_path(inbox, channel))
            first = min(1000, args.memory_conversations)
            await run_batch(memory, customers(first), first, args.concurrency, 3)
            if relay is not None:
                await relay.flush_marks()
            gc.collect()
            at_1k = rss_mb()
            stored = sum(d.tickets for d in [*drivers.values(), memory])
            print(f"\nmemory (inbox path): RSS after {memory.tickets:,} conversations of the memory phase ({stored:,} stored in all): {at_1k:.1f} MB")
            rest = args.memory_conversations - first
            if rest > 0:
                await run_batch(memory, customers(rest), rest, args.concurrency, 4)
            if relay is not None:
                await relay.flush_marks()
            gc.collect()
            at_10k = rss_mb()
            growth = at_10k - at_1k
            stored = sum(d.tickets for d in [*drivers.values(), memory])
            print(f"memory (inbox path): RSS after {memory.tickets:,} conversations of the memory phase ({stored:,} stored in all): {at_10k:.1f} MB")
            print(f"memory growth: {growth:+.1f} MB   (<= {TARGETS['memory_growth_mb']:.0f})  {verdict(growth <= TARGETS['memory_growth_mb'])}")
            print(f"inbox state after the run: {inbox.busy} chats in hand, {len(inbox._queues)} queues, {len(channel.waiting)} waiters")
    finally:
        stop.set()
        await asyncio.gather(*background, return_exceptions=True)
        for floor in floors.values():
            floor.close()
        await database.dispose()
        if schema and args.database_url:
            await drop_schema(args.database_url, schema)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000, help="customers per path and round (8 messages each)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (floor, floor-fsync, inbox[, direct])")
    parser.add_argument("--concurrency", type=int, default=8, help="customers talking at the same time")
    parser.add_argument("--direct", action="store_true", help="also time the old path (ComplaintService.handle called directly)")
    parser.add_argument("--no-relay", action="store_true", help="inbox path without the outbox relay: replies stay pending")
    parser.add_argument("--memory-conversations", type=int, default=10_000, help="0 to skip the memory run")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--lockstep", action="store_true", help="the customers start together and stay in step (see run_batch)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    LOCKSTEP = arguments.lockstep
    if not arguments.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    asyncio.run(main(arguments))
    sys.exit(0)
