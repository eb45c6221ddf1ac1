"""Engine benchmark: simulated customers through the application service on a real database.

    python benchmarks/engine.py                      # 1,000 customers, SQLite file, one core
    python benchmarks/engine.py --database-url postgresql://postgres@127.0.0.1:5432/test

Each customer files a whole complaint in 8 turns (/start, description, confirm the
category, order number, skip the time, phone number, no photos, submit). Prints
messages/s, p50/p99 latency per message, and resident memory after 1,000 and after
10,000 finished conversations. Targets: >= 500 messages/s on one core, p99 <= 20 ms,
memory growth between 1,000 and 10,000 conversations <= 20 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from flows.domain import Inbound, InboundKind, OutboxItem, UserRef  # noqa: E402
from flows.service import ComplaintService  # noqa: E402
from nlp import default_classifier  # noqa: E402
from benchmarks.databases import drop_schema, prepare  # noqa: E402

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
TARGETS = {"messages_per_s": 500, "p99_ms": 20.0, "memory_growth_mb": 20.0}


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def _button(items: list[OutboxItem], action: str) -> str:
    for item in reversed(items):
        for row in item.payload.get("buttons", ()):
            for _label, data in row:
                if data.split(":")[1] == action:
                    return data
    raise RuntimeError(f"no {action!r} button in {[i.payload for i in items]}")


class Driver:
    """Plays customers and records the latency of every message."""

    def __init__(self, service: ComplaintService) -> None:
        self.service = service
        self.latencies: list[float] = []
        self.update = 0
        self.tickets = 0

    async def _send(self, chat: str, kind: InboundKind, **kwargs: object) -> list[OutboxItem]:
        self.update += 1
        inbound = Inbound(
            channel="bench",
            chat_id=chat,
            user=UserRef(chat, f"Customer {chat}", "zh-hans"),
            kind=kind,
            update_id=str(self.update),
            message_id=str(self.update),
            **kwargs,  # type: ignore[arg-type]
        )
        started = time.perf_counter()
        outcome = await self.service.handle(inbound)
        self.latencies.append(time.perf_counter() - started)
        return list(outcome.replies)

    async def customer(self, n: int, rng: random.Random) -> None:
        chat = f"c{n}"
        await self._send(chat, InboundKind.COMMAND, command="start")
        replies = await self._send(chat, InboundKind.TEXT, text=rng.choice(DESCRIPTIONS))
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "confirm"))
        replies = await self._send(chat, InboundKind.TEXT, text=f"ORD{n:08d}")
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "skip"))
        replies = await self._send(chat, InboundKind.TEXT, text=f"138{n:08d}")
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "done"))
        replies = await self._send(chat, InboundKind.BUTTON, button=_button(replies, "submit"))
        if not any("T0" in item.payload["text"] for item in replies):
            raise RuntimeError(f"customer {n} got no ticket number: {replies}")
        self.tickets += 1


async def run_batch(driver: Driver, first: int, count: int, concurrency: int, seed: int) -> float:
    rng = random.Random(seed)
    queue = iter(range(first, first + count))

    async def worker() -> None:
        for n in queue:
            await driver.customer(n, rng)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def main(args: argparse.Namespace) -> int:
    classifier = default_classifier()
    classifier.classify("预热分词器")  # jieba's dictionary loads once, before timing
    database, where, schema = await prepare(args.database_url, "engine-bench")
    service = ComplaintService(database.unit_of_work, classifier)
    driver = Driver(service)
    print(f"database: {where}")
    print(f"cpu affinity: {sorted(os.sched_getaffinity(0))}  concurrency: {args.concurrency}")
    try:
        await run_batch(driver, 0, 20, args.concurrency, 1)  # warm-up (imports, caches, pool)
        driver.latencies.clear()
        elapsed = await run_batch(driver, 20, args.customers, args.concurrency, 2)
        latencies = driver.latencies
        rate = len(latencies) / elapsed
        p50, p99 = percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000
        print(f"customers: {args.customers}, messages: {len(latencies)}, elapsed {elapsed:.2f} s")
        print(f"messages/s: {rate:.0f}   (target >= {TARGETS['messages_per_s']})  {'PASS' if rate >= TARGETS['messages_per_s'] else 'MISS'}")
        print(f"latency p50: {p50:.2f} ms  mean: {statistics.fmean(latencies) * 1000:.2f} ms")
        print(f"latency p99: {p99:.2f} ms   (target <= {TARGETS['p99_ms']})  {'PASS' if p99 <= TARGETS['p99_ms'] else 'MISS'}")

        if args.memory_conversations:
            done = 20 + args.customers
            if done < 1000:
                await run_batch(driver, done, 1000 - done, args.concurrency, 3)
                done = 1000
            gc.collect()
            at_1k = rss_mb()
            print(f"RSS after {driver.tickets:,} finished conversations: {at_1k:.1f} MB")
            await run_batch(driver, done, args.memory_conversations - done, args.concurrency, 4)
            gc.collect()
            at_10k = rss_mb()
            growth = at_10k - at_1k
            print(f"RSS after {driver.tickets:,} finished conversations: {at_10k:.1f} MB")
            verdict = "PASS" if growth <= TARGETS["memory_growth_mb"] else "MISS"
            print(f"memory growth: {growth:+.1f} MB   (target <= {TARGETS['memory_growth_mb']:.0f})  {verdict}")
    finally:
        await database.dispose()
        if schema and args.database_url:
            await drop_schema(args.database_url, schema)
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000, help="customers timed for throughput/latency")
    parser.add_argument("--concurrency", type=int, default=8, help="customers talking at the same time")
    parser.add_argument("--memory-conversations", type=int, default=10_000, help="0 to skip the memory run")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if not arguments.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.exit(asyncio.run(main(arguments)))
