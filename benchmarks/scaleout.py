"""Scale-out benchmark: 1 vs 2 bot processes sharing one PostgreSQL database, through the
inbound path (flows/inbox.py), with a check that every update was handled once and in
order per chat.

Usage::

    python benchmarks/scaleout.py                                   # 1 then 2 processes, postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/scaleout.py --processes 1 2 3 --customers 600 --concurrency 48
    python benchmarks/scaleout.py --database-url postgresql://user@host:5432/db

For each number of processes, in a fresh schema (dropped afterwards):

- N worker processes (multiprocessing, spawn) each build what ``complaint-bot run`` builds
  for inbound work: their own engine (pool), ``ComplaintService`` and ``Inbox`` (distinct
  lease owners, the inbox's sweep running), an ``OutboxRelay`` that marks replies sent
  (its sender delivers nothing) as production's relay would, and a webhook-like HTTP
  endpoint on 127.0.0.1 whose handler does what ``handlers.telegram.webhook_handler``
  does: ``Inbox.receive(channel, [entry])``, then 200 (503 when the database cannot take
  the update). The channel is the engine benchmark's (benchmarks/engine.py): a payload
  holding the Inbound's fields. When the channel's ``handled`` returns, the worker tells
  the load generator (update id, which process, the reply buttons) over a socket.
- The load generator (this process) plays ``--customers`` customers, ``--concurrency`` at a
  time, each filing a complaint in 8 updates, and spreads every chat's updates over the
  processes in turn (update k of a chat goes to process k mod N, as a round-robin load
  balancer would). The first two updates of each chat (/start and the description) are
  sent one right after the other (the description as soon as /start was answered 200, as
  Telegram sends a chat's next update), so that the description usually reaches the
  other process while /start is still being handled; every later update waits for the
  previous one's replies (it presses their buttons).

Prints messages/s, p50/p99 latency from the POST to the last of the update's replies
going out (whichever process's relay sent it; a customer reads replies before answering
them, so the next update waits for them too), from the POST to ``handled`` returning, and
from the POST to the webhook's 200 (the inbox commit), the worker
processes' CPU per message, and how many updates were handled by another process than the
one they were POSTed to. Then checks, in the database: each chat's inbound ``messages`` rows
are its updates in update order, each once; every inbox row is processed, none failed; no
reply is left pending; each update was reported handled exactly once; every reply was
sent, none twice.

This machine has 2 cores shared by the worker processes, the load generator and the
PostgreSQL server: with 2 processes they compete with each other and with the load
generator, so the figures show correctness and relative scaling here, not the capacity
of a deployment with a core per process. Nothing is pinned. A measurement, not a test:
exits 0 (the checks print FAILED when they fail).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
CHANNEL = "bench"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ====================================================================== a bot process
def worker(index: int, url: str, schema: str, notify_port: int, pipe: Connection) -> None:
    """One bot process: engine, service, inbox, relay and the webhook-like endpoint."""
    asyncio.run(_worker_main(index, url, schema, notify_port, pipe))


async def _worker_main(index: int, url: str, schema: str, notify_port: int, pipe: Connection) -> None:
    from aiohttp import web

    from benchmarks.engine import MARK_DELAY, OUTBOX_LEASE, BenchChannel, NullSender
    from flows.domain import Inbound, InboundKind, InboxEntry, OutboxItem
    from flows.inbox import DatabaseUnavailable, Inbox
    from flows.outbox import OutboxRelay
    from flows.service import ComplaintService, Outcome, utcnow
    from nlp import default_classifier
    from storage.database import Database, database_unavailable

    database = Database.from_url(url, search_path=schema)
    classifier = default_classifier()
    classifier.warm_up()
    service = ComplaintService(database.unit_of_work, classifier)
    _, notifier = await asyncio.open_connection("127.0.0.1", notify_port)

    class Sender(NullSender):
        """Delivers nothing; tells the load generator which reply went out (and where)."""

        async def send(self, item: OutboxItem) -> None:
            notifier.write(json.dumps({"s": item.id, "w": index}).encode() + b"\n")

    relay = OutboxRelay(database.unit_of_work, CHANNEL, Sender(), utcnow, mark_delay=MARK_DELAY, lease=OUTBOX_LEASE)

    class Channel(BenchChannel):
        async def handled(self, entry: InboxEntry, inbound: Inbound, outcome: Outcome) -> None:
            try:
                await super().handled(entry, inbound, outcome)
            finally:
                buttons = [data for item in outcome.replies for row in item.payload.get("buttons", ()) for _, data in row]
                ticket = any("T0" in item.payload.get("text", "") for item in outcome.replies)
                line = {"u": int(entry.update_id), "w": index, "b": buttons, "t": ticket, "i": [item.id for item in outcome.replies], "c": outcome.claimed}
                notifier.write(json.dumps(line).encode() + b"\n")

    channel = Channel(relay)
    inbox = Inbox(  # as bot/runner.py builds it (PostgreSQL: the lease fence on)
        database.unit_of_work,
        service,
        utcnow,
        owner=f"scaleout-w{index}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        reply_claim=timedelta(seconds=OUTBOX_LEASE),
        is_outage=database_unavailable,
        fence=True,
    )
    inbox.register(channel)
    inbox.ride_along(relay.write_marks)

    async def receive(request: web.Request) -> web.Response:
        data = await request.json()
        update_id = int(data.pop("update_id"))
        chat = data.pop("chat")
        kind = InboundKind(data.pop("kind"))
        entry = InboxEntry(CHANNEL, str(update_id), chat, update_id, BenchChannel.payload(chat, kind, update_id, data))
        try:
            await inbox.receive(CHANNEL, [entry])
        except DatabaseUnavailable:
            return web.Response(status=503, text="database unavailable")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/update", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stop, stop_relay = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(inbox.run(stop)), asyncio.create_task(relay.run(stop_relay))]
    loop = asyncio.get_running_loop()
    pipe.send({"port": runner.addresses[0][1], "pid": os.getpid(), "owner": inbox.owner})
    cpu = time.process_time()
    while True:
        message = await loop.run_in_executor(None, pipe.recv)
        if message == "begin":
            cpu = time.process_time()
            pipe.send("ok")
        elif message == "end":
            pipe.send(time.process_time() - cpu)
        elif message == "stop":
            break
    await runner.cleanup()  # no new updates; then the inbox finishes what it holds, then the relay
    stop.set()
    await asyncio.gather(tasks[0], return_exceptions=True)
    stop_relay.set()
    await asyncio.gather(tasks[1], return_exceptions=True)
    notifier.close()
    await database.dispose()
    pipe.send("stopped")


# ====================================================================== the load generator
class Generator:
    """Customers whose updates go round-robin to the worker processes."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.update_ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reported: Counter[int] = Counter()  # update id -> times reported handled
        self.sent: dict[str, list[int]] = defaultdict(list)  # chat -> update ids in order
        self.posted_to: dict[int, int] = {}
        self.handled_by: dict[int, int] = {}
        self.latencies: list[float] = []  # POST -> every reply sent (what the customer sees)
        self.handled_latencies: list[float] = []  # POST -> handled returned
        self.acks: list[float] = []
        self.sends: Counter[int] = Counter()  # reply (outbox id) -> times sent
        self.sent_at: dict[int, float] = {}  # reply -> first time sent
        self.sent_by: dict[int, int] = {}
        self.reply_waiters: dict[int, asyncio.Future[None]] = {}
        self.replies_of: dict[int, list[int]] = {}  # update -> its replies
        self.late = 0  # updates whose replies went out after handled returned (by a later drain)
        self.late_unclaimed = 0  # ... of which handling found older replies of the chat still pending
        self.unclaimed = 0  # updates whose replies were not claimed at handling (older ones pending)
        self.errors: list[str] = []
        self.tickets = 0
        self.session: Any = None

    async def listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                note = json.loads(line)
                if "s" in note:  # a reply went out
                    item, now = note["s"], time.perf_counter()
                    self.sends[item] += 1
                    self.sent_at.setdefault(item, now)
                    self.sent_by.setdefault(item, note["w"])
                    reply = self.reply_waiters.pop(item, None)
                    if reply is not None and not reply.done():
                        reply.set_result(None)
                    continue
                update_id = note["u"]
                self.reported[update_id] += 1
                self.handled_by[update_id] = note["w"]
                waiter = self.pending.pop(update_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result({**note, "at": time.perf_counter()})
        except (asyncio.CancelledError, ConnectionError):
            pass

    async def post(self, chat: str, turn: int, kind: str, **fields: Any) -> tuple[int, float, asyncio.Future[dict[str, Any]]] | None:
        """POST one update to process ``turn mod N`` and wait for its 200 (the inbox commit);
        returns (update id, when it was sent, its handled note to come), None when it failed."""
        update_id = next(self.update_ids)
        target = (turn + int(chat[1:])) % len(self.ports)
        self.sent[chat].append(update_id)
        self.posted_to[update_id] = target
        waiter = self.pending[update_id] = asyncio.get_running_loop().create_future()
        body = {"update_id": update_id, "chat": chat, "kind": kind, **fields}
        started = time.perf_counter()
        try:
            async with self.session.post(f"http://127.0.0.1:{self.ports[target]}/update", json=body) as response:
                await response.read()
                if response.status != 200:
                    self.errors.append(f"update {update_id}: answered {response.status}")
                    self.pending.pop(update_id, None)
                    return None
        except Exception as exc:  # noqa: BLE001 - counted and shown
            self.errors.append(f"update {update_id} of {chat}: {exc.__class__.__name__}: {exc}")
            self.pending.pop(update_id, None)
            return None
        self.acks.append(time.perf_counter() - started)
        return update_id, started, waiter

    async def handled(self, posted: tuple[int, float, asyncio.Future[dict[str, Any]]] | None) -> dict[str, Any] | None:
        """The note of the process that handled a posted update (None: failed or timed out)."""
        if posted is None:
            return None
        update_id, started, waiter = posted
        try:
            note = await asyncio.wait_for(waiter, 60)
        except (TimeoutError, asyncio.TimeoutError):
            self.errors.append(f"update {update_id}: not handled within 60 s")
            return None
        finally:
            self.pending.pop(update_id, None)
        self.handled_latencies.append(note["at"] - started)
        self.replies_of[update_id] = note["i"]
        waiting = []
        for item in note["i"]:
            if item not in self.sent_at:
                waiting.append(self.reply_waiters.setdefault(item, asyncio.get_running_loop().create_future()))
        if waiting:
            try:
                await asyncio.wait_for(asyncio.gather(*waiting), 60)
            except (TimeoutError, asyncio.TimeoutError):
                self.errors.append(f"update {update_id}: replies not sent within 60 s of being handled")
                return None
        delivered = max([note["at"], *(self.sent_at[item] for item in note["i"])])
        if note["i"] and not note["c"]:
            self.unclaimed += 1
        if delivered - note["at"] > 0.05:
            self.late += 1
            self.late_unclaimed += not note["c"]
        self.latencies.append(delivered - started)
        return note

    async def send(self, chat: str, turn: int, kind: str, **fields: Any) -> dict[str, Any] | None:
        return await self.handled(await self.post(chat, turn, kind, **fields))

    @staticmethod
    def _button(notes: list[dict[str, Any]], action: str) -> str:
        for note in reversed(notes):
            for data in note["b"]:
                if data.split(":")[1] == action:
                    return data
        raise RuntimeError(f"no {action!r} button in {notes}")

    async def customer(self, n: int) -> None:
        from benchmarks.engine import DESCRIPTIONS

        chat = f"s{n}"
        # /start and the description one right after the other, as people type them: the
        # description goes to the other process as soon as /start is committed (Telegram
        # sends a chat's next update once the previous one was answered 200), usually while
        # /start is still being handled there
        start = await self.post(chat, 0, "command", command="start")
        description = await self.post(chat, 1, "text", text=DESCRIPTIONS[n % len(DESCRIPTIONS)])
        first = [await self.handled(start), await self.handled(description)]
        notes = [note for note in first if note is not None]
        if len(notes) < 2:
            return
        steps: list[tuple[str, dict[str, Any]]] = [
            ("button", {"button": "confirm"}), ("text", {"text": f"ORD{n:08d}"}), ("button", {"button": "skip"}),
            ("text", {"text": f"138{n:08d}"}), ("button", {"button": "done"}), ("button", {"button": "submit"}),
        ]  # fmt: skip
        for turn, (kind, fields) in enumerate(steps, start=2):
            if kind == "button":
                fields = {"button": self._button(notes, fields["button"])}
            note = await self.send(chat, turn, kind, **fields)
            if note is None:
                return
            notes = [note]
        if notes[-1]["t"]:
            self.tickets += 1
        else:
            self.errors.append(f"customer {n}: no ticket number after submit")

    async def run(self, first: int, count: int, concurrency: int) -> float:
        queue = iter(range(first, first + count))

        async def one() -> None:
            for n in queue:
                try:
                    await self.customer(n)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    self.errors.append(f"customer {n}: {exc.__class__.__name__}: {exc}")

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return time.perf_counter() - started


async def verify(url: str, schema: str, generator: Generator) -> list[tuple[str, bool, str]]:
    """What the database says after the run."""
    from sqlalchemy import func, select

    from storage.database import Database
    from storage.models import InboxRow, MessageRow, OutboxRow

    database = Database.from_url(url, search_path=schema)
    checks: list[tuple[str, bool, str]] = []
    try:
        async with database.engine.connect() as conn:
            rows = await conn.execute(
                select(MessageRow.chat_id, MessageRow.platform_message_id)
                .where(MessageRow.direction == "in", MessageRow.channel == CHANNEL)
                .order_by(MessageRow.id)
            )
            stored: dict[str, list[int]] = defaultdict(list)
            for chat, message_id in rows:
                stored[chat].append(int(message_id or 0))
            wrong = [chat for chat, ids in generator.sent.items() if stored.get(chat) != ids]
            duplicated = sum(len(ids) - len(set(ids)) for ids in stored.values())
            sent = sum(len(ids) for ids in generator.sent.values())
            detail = f"{len(generator.sent)} chats, {sent} updates; {len(wrong)} chats differ, {duplicated} duplicate rows"
            if wrong:
                chat = wrong[0]
                detail += f"; e.g. {chat}: sent {generator.sent[chat]}, stored {stored.get(chat)}"
            checks.append(("inbound messages per chat = its updates, in update order, each once", not wrong and not duplicated, detail))

            total = (await conn.execute(select(func.count()).select_from(InboxRow))).scalar_one()
            waiting = (await conn.execute(select(func.count()).select_from(InboxRow).where(InboxRow.processed_at.is_(None)))).scalar_one()
            failed = (await conn.execute(select(func.count()).select_from(InboxRow).where(InboxRow.last_error.is_not(None)))).scalar_one()
            retried = (await conn.execute(select(func.count()).select_from(InboxRow).where(InboxRow.attempts > 0))).scalar_one()
            checks.append(("inbox: every update stored once and processed, none failed",
                           total == sent and waiting == 0 and failed == 0,
                           f"{total} rows for {sent} updates, {waiting} unprocessed, {failed} with an error, {retried} retried"))  # fmt: skip

            pending = (await conn.execute(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.channel == CHANNEL, OutboxRow.status != "sent")
            )).scalar_one()  # fmt: skip
            replies = (await conn.execute(select(func.count()).select_from(OutboxRow).where(OutboxRow.channel == CHANNEL))).scalar_one()
            checks.append(("outbox: every reply marked sent after the clean stop", pending == 0, f"{replies} replies, {pending} not marked sent"))
        twice = sum(1 for n in generator.reported.values() if n > 1)
        missing = sent - len(generator.reported)
        checks.append(("each update reported handled exactly once", twice == 0 and missing == 0, f"{twice} reported more than once, {missing} never"))
        items = [item for ids in generator.replies_of.values() for item in ids]
        unsent = sum(1 for item in items if item not in generator.sends)
        resent = sum(1 for item in items if generator.sends[item] > 1)
        checks.append(("every reply sent, none twice", unsent == 0 and resent == 0, f"{len(items)} replies, {unsent} never sent, {resent} sent more than once"))
    finally:
        await database.dispose()
    return checks


async def one_configuration(processes: int, args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.databases import drop_schema, prepare

    database, where, schema = await prepare(args.database_url, f"scaleout-{processes}p")
    await database.dispose()
    assert schema is not None
    generator: Generator | None = None
    context = multiprocessing.get_context("spawn")
    notes = await asyncio.start_server(lambda r, w: generator.listen(r, w) if generator else None, "127.0.0.1", 0)
    notify_port = notes.sockets[0].getsockname()[1]
    pipes: list[Connection] = []
    workers = []
    loop = asyncio.get_running_loop()
    result: dict[str, Any] = {"processes": processes, "where": where}
    try:
        ports = []
        generator = Generator([])
        for index in range(processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=worker, args=(index, args.database_url, schema, notify_port, theirs), daemon=True)
            process.start()
            pipes.append(ours)
            workers.append(process)
        for pipe in pipes:
            hello = await loop.run_in_executor(None, pipe.recv)
            ports.append(hello["port"])
        generator.ports = ports
        import aiohttp

        generator.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        await generator.run(0, 20, min(args.concurrency, 20))  # warm-up: pools, caches, imports
        generator.latencies.clear()
        generator.handled_latencies.clear()
        generator.acks.clear()
        generator.tickets = 0
        generator.late = generator.late_unclaimed = generator.unclaimed = 0
        for pipe in pipes:
            pipe.send("begin")
        for pipe in pipes:
            await loop.run_in_executor(None, pipe.recv)
        cpu = time.process_time()
        elapsed = await generator.run(1000, args.customers, args.concurrency)
        generator_cpu = time.process_time() - cpu
        for pipe in pipes:
            pipe.send("end")
        worker_cpu = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
        await generator.session.close()
        for pipe in pipes:
            pipe.send("stop")
        for pipe in pipes:
            await asyncio.wait_for(loop.run_in_executor(None, pipe.recv), 30)
        handled = len(generator.latencies)
        timed = [u for chat, ids in generator.sent.items() if int(chat[1:]) >= 1000 for u in ids]
        moved = sum(1 for u in timed if u in generator.handled_by and generator.handled_by[u] != generator.posted_to[u])
        result.update(
            handled=handled,
            elapsed=elapsed,
            rate=handled / elapsed,
            p50=percentile(generator.latencies, 0.5) * 1000,
            p99=percentile(generator.latencies, 0.99) * 1000,
            h50=percentile(generator.handled_latencies, 0.5) * 1000,
            h99=percentile(generator.handled_latencies, 0.99) * 1000,
            late=generator.late,
            late_unclaimed=generator.late_unclaimed,
            unclaimed=generator.unclaimed,
            ack50=percentile(generator.acks, 0.5) * 1000,
            ack99=percentile(generator.acks, 0.99) * 1000,
            worker_cpu_ms=sum(worker_cpu) / handled * 1000 if handled else float("nan"),
            worker_cpu=worker_cpu,
            generator_cpu_ms=generator_cpu / handled * 1000 if handled else float("nan"),
            moved=moved / len(timed) if timed else 0.0,
            tickets=generator.tickets,
            errors=list(generator.errors),
        )
        result["checks"] = await verify(args.database_url, schema, generator)
    finally:
        for process in workers:
            process.join(10)
            if process.is_alive():
                process.terminate()
        notes.close()
        await drop_schema(args.database_url, schema)
    return result


async def main(args: argparse.Namespace) -> int:
    from benchmarks.databases import code_version

    print(f"code: {code_version()}")
    print(f"database: {args.database_url} (a fresh schema per configuration, dropped afterwards)")
    print(f"cores: {os.cpu_count()} (affinity {sorted(os.sched_getaffinity(0))}), nothing pinned; "
          f"{args.customers} customers x 8 updates per configuration, {args.concurrency} at a time")  # fmt: skip
    print("NOTE: on this 2-core machine the worker processes share the cores with the load generator and the")
    print("      PostgreSQL server: 2 processes compete with them, so this shows correctness and relative")
    print("      scaling here, not what two processes on machines of their own would do.")
    results = []
    for round_ in range(args.repeat):
        for processes in args.processes:
            result = await one_configuration(processes, args)
            results.append(result)
            print(f"\n{processes} process{'es' if processes > 1 else ''} (run {round_ + 1}): {result['handled']} updates in {result['elapsed']:.2f} s")
            print(f"  messages/s {result['rate']:,.0f}   POST -> replies sent: p50 {result['p50']:.1f} ms   p99 {result['p99']:.1f} ms")
            print(f"  POST -> handled returned: p50 {result['h50']:.1f} ms, p99 {result['h99']:.1f} ms;   "
                  f"POST -> webhook 200 (inbox commit): p50 {result['ack50']:.1f} ms, p99 {result['ack99']:.1f} ms")  # fmt: skip
            print(f"  updates whose replies were written unclaimed (older replies of the chat still pending): {result['unclaimed']}; "
                  f"whose replies went out > 50 ms after handled returned (left to a later drain): {result['late']} "
                  f"({result['late_unclaimed']} of them unclaimed)")  # fmt: skip
            print(f"  worker CPU {result['worker_cpu_ms']:.2f} ms per update ({', '.join(f'{c:.1f} s' for c in result['worker_cpu'])}); "
                  f"load generator {result['generator_cpu_ms']:.2f} ms per update")  # fmt: skip
            if processes > 1:
                print(f"  handled by another process than the one it was POSTed to: {result['moved'] * 100:.0f} % of updates")
            print(f"  complaints finished with a ticket number: {result['tickets']} of {args.customers}")
            for error in result["errors"][:5]:
                print(f"  error: {error}")
            if len(result["errors"]) > 5:
                print(f"  ... {len(result['errors'])} errors in all")
            for name, ok, detail in result["checks"]:
                print(f"  check: {name}: {'ok' if ok else 'FAILED'} ({detail})")
    by: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        by[result["processes"]].append(result)
    print("\nsummary (median, range over runs)")
    base = statistics.median(r["rate"] for r in by[min(by)])
    for processes, runs in sorted(by.items()):
        rates = [r["rate"] for r in runs]
        p99s = [r["p99"] for r in runs]
        print(f"  {processes} process{'es' if processes > 1 else '  '}: {statistics.median(rates):,.0f} messages/s ({min(rates):,.0f}–{max(rates):,.0f}), "
              f"p99 {statistics.median(p99s):.1f} ms ({min(p99s):.1f}–{max(p99s):.1f}); "
              f"{statistics.median(rates) / base:.2f}x {min(by)} process{'es' if min(by) > 1 else ''}")  # fmt: skip
    failed = [name for r in results for name, ok, _ in r["checks"] if not ok]
    print(f"checks: {'all passed' if not failed else 'FAILED: ' + '; '.join(sorted(set(failed)))}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="numbers of bot processes to compare")
    parser.add_argument("--customers", type=int, default=400, help="customers per configuration (8 updates each)")
    parser.add_argument("--concurrency", type=int, default=32, help="customers talking at the same time")
    parser.add_argument("--repeat", type=int, default=1, help="run the configurations this many times, alternating")
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL URL (default: %(default)s)")
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
