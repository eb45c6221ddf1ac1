"""Crash benchmark: customers talk to the real ``complaint-bot run`` process(es) while
the bot is killed with ``kill -9`` at random moments, against the emulated Bot API.

Usage::

    python benchmarks/crash.py                          # 50 customers x 5 messages, long polling, SQLite, 3 kill -9
    python benchmarks/crash.py --database-url postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/crash.py --mode webhook           # behind a load balancer (one process)
    python benchmarks/crash.py --processes 2 --mode webhook --database-url postgresql://...
                                                        # two processes, a random one killed each time
    python benchmarks/crash.py --database-url postgresql://... --db-fault refuse --kills 1
                                                        # the database refuses connections; kill -9 0.8 s later
    python benchmarks/crash.py --database-url postgresql://... --db-fault stall --kill-after 20 --kills 1
                                                        # the database stalls (no answer, no error) for 20 s; then kill -9
    python benchmarks/crash.py --stop sigterm --kills 1 # a clean SIGTERM while replies are going out

Each customer is a person: sends a message, waits for the answer (up to
``--answer-timeout`` seconds, enough to cover a restart and the takeover of a dead
process's leases), thinks a moment, sends the next. The bot (``python -m bot.cli run``,
tests/fakes/bot_process.py) runs as a subprocess against a FakeTelegram in this process;
in webhook mode a round-robin balancer on 127.0.0.1 stands in for nginx in front of the
process(es). ``--kills`` times, when a random number of messages has been sent (plus up
to 0.3 s), a process (a random one of ``--processes``) is killed and started again at
once (with ``--db-fault``, the database first goes into trouble: PostgreSQL behind a TCP
proxy that refuses or stalls, or a SQLite file held locked; it comes back
``--fault-for`` seconds after the trouble began).

At the end, once everything is answered (or ``--settle`` seconds have passed), the
process(es) are stopped cleanly and the database and the fake are compared: messages
sent / stored (and stored twice) / answered (every reply of the message delivered and
marked sent) / answered twice (a reply delivered again) / lost (never stored) /
unanswered, per kill the replies it caused to be delivered twice, the "your message is
safe" notes sent during database trouble, and the longest a customer waited. Exits 1 if
a message was lost, stored twice, left unanswered or handled out of order, or if more
replies were delivered twice than there were kills (one per kill -9, none for a clean
SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/telegram.py is named like the python-telegram-bot package: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from tests.fakes.bot_process import (  # noqa: E402
    KILL_GRACE,
    BotProcess,
    DatabaseLock,
    Ledger,
    TcpProxy,
    WebhookBalancer,
    create_database,
    drop_database,
    read_ledger,
    reassurance_texts,
)
from tests.fakes.telegram_api import FakeTelegram, FakeUser  # noqa: E402
from benchmarks.engine import DESCRIPTIONS  # noqa: E402  (one list of complaints for every benchmark)

FOLLOW_UPS = ["订单号 20261130001", "已经等了很久了", "是昨天下午发生的", "请尽快处理", "谢谢", "我的电话是13800138000"]
SECRET = "crash-benchmark-webhook-secret"


@dataclass
class Stop:
    """One kill -9 (or SIGTERM) of a bot process."""

    number: int
    process: str
    signal: str
    at: float  # time.time()
    after_messages: int
    fault: str | None = None
    duplicates: int = 0
    ages: list[float] = field(default_factory=list)  # how long before the stop each repeated reply had gone out
    chats: dict[str, int] = field(default_factory=dict)  # chat -> replies it got twice after this stop


@dataclass
class Run:
    sent: int = 0
    sent_ids: dict[int, list[int]] = field(default_factory=dict)  # chat -> message ids
    waits: list[float] = field(default_factory=list)  # send -> first answer, seconds
    answers: int = 0  # answers customers saw so far
    timeouts: int = 0  # answers a customer gave up waiting for (they came later or never)
    stops: list[Stop] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = field(default_factory=time.monotonic)

    def note_sent(self, chat: int, message_id: int) -> None:
        self.sent += 1
        self.sent_ids.setdefault(chat, []).append(message_id)
        self.changed.set()

    def note_answer(self, wait: float) -> None:
        self.answers += 1
        self.waits.append(wait)
        self.changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self.changed.clear()
            await self.changed.wait()


# ---------------------------------------------------------------------- the customers
async def customer(user: FakeUser, index: int, run: Run, args: argparse.Namespace, rng: random.Random,
                   safe: frozenset[str]) -> None:
    await asyncio.sleep(rng.uniform(0, 1.0))  # they do not all start in the same millisecond
    texts = [DESCRIPTIONS[index % len(DESCRIPTIONS)], *rng.sample(FOLLOW_UPS, k=min(len(FOLLOW_UPS), args.messages - 1))]
    texts += [FOLLOW_UPS[i % len(FOLLOW_UPS)] for i in range(args.messages - len(texts))]
    for text in texts[: args.messages]:
        message = user.send_text(text)
        run.note_sent(user.id, message["message_id"])
        began = time.monotonic()
        try:
            await user.wait_for_bot_message(lambda m: m.get("text") not in safe, timeout=args.answer_timeout)
            run.note_answer(time.monotonic() - began)
        except TimeoutError:
            run.timeouts += 1
        await asyncio.sleep(rng.uniform(0, 2 * args.think))


# ---------------------------------------------------------------------- trouble
class Fault:
    """The database in trouble (``--db-fault``) and back."""

    def __init__(self, kind: str | None, proxy: TcpProxy | None, sqlite_file: Path) -> None:
        self.kind = kind
        self.proxy = proxy
        self.sqlite_file = sqlite_file
        self.lock: DatabaseLock | None = None

    async def begin(self) -> None:
        if self.kind is None:
            return
        if self.proxy is not None:
            await self.proxy.set_mode(self.kind)
        else:  # SQLite: a stall is the file held locked
            self.lock = await DatabaseLock(self.sqlite_file).acquire()

    async def end(self) -> None:
        if self.proxy is not None:
            await self.proxy.set_mode("forward")
        if self.lock is not None:
            await self.lock.release()
            self.lock = None


async def chaos(bots: Sequence[BotProcess], run: Run, total: int, args: argparse.Namespace, rng: random.Random,
                fault: Fault) -> None:
    """``--kills`` stops at random moments of the burst, each followed by a restart.

    A stop comes once the customers have sent a random number of messages and the bot
    has answered someone since the previous restart (it works again, rather than standing
    by for a dead process's leases), or every message has been sent."""
    moments = sorted(rng.sample(range(1, total), k=min(args.kills, total - 1)))
    answers = 0
    for number, moment in enumerate(moments, 1):
        await run.until(lambda: run.sent >= moment and (run.answers > answers or run.sent == total))
        await asyncio.sleep(rng.uniform(0, 0.3))
        victim = rng.choice(list(bots))
        began = time.monotonic()
        if fault.kind:
            await fault.begin()
            await asyncio.sleep(args.kill_after)
        stop = Stop(number, victim.name, args.stop, time.time(), run.sent, fault.kind)
        run.stops.append(stop)
        if args.stop == "sigterm":
            code = await victim.terminate(timeout=60)
            if code != 0:
                print(f"  ! {victim.name} exited with {code} after SIGTERM", flush=True)
        else:
            victim.kill()
        print(f"  stop #{number}: {args.stop} {victim.name} after message {stop.after_messages} "
              f"({time.monotonic() - run.started:.1f} s{', database ' + fault.kind if fault.kind else ''})", flush=True)
        await victim.start(wait=False)
        if fault.kind:
            await asyncio.sleep(max(0.0, began + args.fault_for - time.monotonic()))
            await fault.end()
        await victim.wait_ready(timeout=args.answer_timeout + 60)
        answers = run.answers


async def settle(where: str | Path, fake: FakeTelegram, run: Run, timeout: float) -> Ledger:
    """The ledger once every message is stored and answered and no reply is pending."""
    deadline = time.monotonic() + timeout
    while True:
        ledger = await read_ledger(where, fake)
        done = not ledger.pending and all(
            ledger.chat(chat).answered(str(m)) for chat, ids in run.sent_ids.items() for m in ids)
        if done or time.monotonic() > deadline:
            return ledger
        await asyncio.sleep(0.5)


# ---------------------------------------------------------------------- the run
async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="crash-bench-"))
    url = await create_database(args.database_url) if args.database_url else None
    proxy = None
    if url and args.db_fault:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        proxy = await TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432)).start()
    bot_url = proxy.url_for(url) if proxy and url else url
    sqlite_file = workdir / "bot.db"
    fake = await FakeTelegram(latency=args.latency, webhook_retry_delays=(0.25,) * 960).start()
    balancer = await WebhookBalancer().start() if args.mode == "webhook" else None
    bots = [
        BotProcess(fake, workdir, name=f"bot{i + 1}", mode=args.mode, database_url=bot_url, sqlite_file=sqlite_file,
                   webhook_url=balancer.url if balancer else None, webhook_secret=SECRET, busy_timeout=args.busy_timeout)
        for i in range(args.processes)
    ]
    if balancer is not None:
        balancer.backends = [bot.endpoint for bot in bots]
    where = url or sqlite_file
    kind = "PostgreSQL" if url else "SQLite"
    total = args.customers * args.messages
    label = (f"{args.customers} customers x {args.messages} messages, {args.mode}, {kind}, "
             f"{args.processes} process{'es' if args.processes > 1 else ''}, {args.kills} x "
             f"{'kill -9' if args.stop == 'sigkill' else 'SIGTERM'}"
             f"{f', database {args.db_fault}s {args.kill_after:g} s before each kill' if args.db_fault else ''}")
    print(f"crash benchmark: {label} (Bot API latency {args.latency * 1000:.0f} ms, seed {args.seed})", flush=True)
    failed = True
    try:
        safe = reassurance_texts()
        for bot in bots:  # one after the other: the first one migrates a SQLite file
            await bot.start()
        run = Run()
        users = [fake.user(first_name=f"Customer{i}", language_code="zh-hans") for i in range(args.customers)]
        fault = Fault(args.db_fault, proxy, sqlite_file)
        talking = asyncio.gather(*(customer(u, i, run, args, random.Random(rng.random()), safe) for i, u in enumerate(users)))
        breaking = asyncio.ensure_future(chaos(bots, run, total, args, rng, fault))
        await asyncio.wait({talking, breaking}, return_when=asyncio.FIRST_EXCEPTION)
        if breaking.done() and breaking.exception() is not None:
            talking.cancel()  # a bot that does not come back: no point in waiting for answers
            await asyncio.gather(talking, return_exceptions=True)
        await breaking
        await talking
        burst = time.monotonic() - run.started
        ledger = await settle(where, fake, run, args.settle)
        for bot in bots:
            if bot.running:
                await bot.terminate(timeout=60)
        # after the clean stop, every delivered reply is marked
        ledger = await read_ledger(where, fake, [stop.at for stop in run.stops])
        failed = report(ledger, run, total, burst, args)
        if failed or args.keep:
            dump(workdir / "deliveries.json", fake, run, ledger)
        return 1 if failed else 0
    finally:
        for bot in bots:
            await bot.close()
        for stopping in (balancer, fake, proxy):
            if stopping is not None:
                with contextlib.suppress(Exception):
                    await stopping.stop()
        if url:
            await drop_database(url)
        if failed or args.keep:
            print(f"logs: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def dump(path: Path, fake: FakeTelegram, run: Run, ledger: Ledger) -> None:
    """What the fake received and when the stops came, for a look afterwards (with the
    bots' logs and, on SQLite, the database next to it)."""
    import json

    sends = [{"call": c.index, "at": c.time, "chat": c.params.get("chat_id"), "status": c.status, "text": c.params.get("text")}
             for c in fake.calls_to("sendMessage")]
    stops = [{"number": s.number, "process": s.process, "signal": s.signal, "at": s.at} for s in run.stops]
    chats = {chat: {"inbound": entry.inbound, "outbox": entry.outbox,
                    "delivered": {i: d.call for i, d in entry.delivered.items()},
                    "duplicates": [(i, d.call) for i, d in entry.duplicates], "unexpected": [d.call for d in entry.unexpected]}
             for chat, entry in ledger.chats.items()}
    path.write_text(json.dumps({"sends": sends, "stops": stops, "sent": run.sent_ids, "chats": chats},
                               ensure_ascii=False, indent=1))


def report(ledger: Ledger, run: Run, total: int, burst: float, args: argparse.Namespace) -> bool:
    """Print the figures; True when the run failed its targets."""
    stored = answered = twice_stored = out_of_order = 0
    for chat, ids in run.sent_ids.items():
        entry = ledger.chat(chat)
        out_of_order += not entry.in_order
        for m in ids:
            count = entry.stored(str(m))
            stored += count > 0
            twice_stored += count > 1
            answered += entry.answered(str(m))
    duplicates = ledger.duplicates
    for outbox_id, sent in duplicates:  # caused by the first stop after the first delivery
        chat = next(c for c in ledger.chats.values() if outbox_id in c.delivered)
        first = chat.delivered[outbox_id].at
        stop = next((s for s in run.stops if first - KILL_GRACE < s.at <= sent.at), None)
        if stop is not None:
            stop.duplicates += 1
            stop.ages.append(stop.at - first)
            stop.chats[chat.chat] = stop.chats.get(chat.chat, 0) + 1
    unattributed = len(duplicates) - sum(s.duplicates for s in run.stops)
    lost = total - stored
    unanswered = stored - answered
    reassured = sum(len(c.reassured) for c in ledger.chats.values())
    unexpected = len(ledger.unexpected)
    allowed = sum(1 for s in run.stops if s.signal == "sigkill")
    waits = sorted(run.waits)
    print(f"  sent {total} | stored {stored} (twice {twice_stored}) | answered {answered} | "
          f"answered twice {len(duplicates)} | lost {lost} | unanswered {unanswered}")
    print(f"  told 'your message is safe' {reassured} | chats out of order {out_of_order} | "
          f"unexpected deliveries {unexpected} | answers not awaited ({args.answer_timeout:g} s) {run.timeouts}")
    for stop in run.stops:
        print(f"  stop #{stop.number} ({stop.signal} {stop.process} after message {stop.after_messages}"
              f"{', database ' + stop.fault if stop.fault else ''}): {stop.duplicates} answered twice"
              + (f" in {len(stop.chats)} chats (at most {max(stop.chats.values())} per chat), first requested"
                 f" {min(stop.ages) * 1000:.0f} to {max(stop.ages) * 1000:.0f} ms before the stop" if stop.ages else ""))
    if unattributed:
        print(f"  answered twice with no stop in between: {unattributed}")
    if waits:
        print(f"  wait for an answer: p50 {statistics.median(waits):.2f} s, max {waits[-1]:.1f} s; burst took {burst:.1f} s")
    reasons = []
    if lost:
        reasons.append(f"{lost} lost")
    if twice_stored:
        reasons.append(f"{twice_stored} stored twice")
    if unanswered:
        reasons.append(f"{unanswered} unanswered")
    if out_of_order:
        reasons.append(f"{out_of_order} chats out of order")
    if unexpected:
        reasons.append(f"{unexpected} unexpected deliveries")
    if len(duplicates) > allowed:
        reasons.append(f"{len(duplicates)} answered twice > {allowed} allowed")
    print(f"  RESULT: {'FAILED (' + ', '.join(reasons) + ')' if reasons else 'ok'}", flush=True)
    return bool(reasons)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50, help="customers talking at the same time (default 50)")
    parser.add_argument("--messages", type=int, default=5, help="messages each customer sends (default 5)")
    parser.add_argument("--kills", type=int, default=3, help="stops of a bot process during the burst (default 3)")
    parser.add_argument("--stop", choices=("sigkill", "sigterm"), default="sigkill", help="kill -9 (default) or a clean SIGTERM")
    parser.add_argument("--mode", choices=("polling", "webhook"), default="polling")
    parser.add_argument("--processes", type=int, default=1, help="bot processes on one database (default 1; 2: a random one is killed)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL; a database of its own is created and dropped (default: a SQLite file)")
    parser.add_argument("--db-fault", choices=("refuse", "stall"), default=None,
                        help="before each kill the database refuses connections / stalls (PostgreSQL behind a TCP proxy; SQLite: stall = the file locked)")
    parser.add_argument("--kill-after", type=float, default=None, help="seconds from the database fault to the kill (default 0.8 for refuse, 20 for stall)")
    parser.add_argument("--fault-for", type=float, default=None, help="seconds the database stays in trouble (default: kill-after + 2)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the Bot API takes to answer (default 0.05)")
    parser.add_argument("--think", type=float, default=0.3, help="mean seconds a customer pauses between messages (default 0.3)")
    parser.add_argument("--answer-timeout", type=float, default=90.0, help="seconds a customer waits for an answer (default 90)")
    parser.add_argument("--settle", type=float, default=120.0, help="seconds to wait for the last answers after the burst (default 120)")
    parser.add_argument("--busy-timeout", default="10s", help="the bot's SQLite busy_timeout (default 10s, the bot's default)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random; printed)")
    parser.add_argument("--keep", action="store_true", help="keep the bots' logs and the SQLite file")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    if args.db_fault == "refuse" and not args.database_url:
        parser.error("--db-fault refuse needs --database-url (a SQLite file cannot refuse connections)")
    if args.kill_after is None:
        args.kill_after = {"refuse": 0.8, "stall": 20.0}.get(args.db_fault or "", 0.0)
    if args.fault_for is None:
        args.fault_for = args.kill_after + 2.0
    if args.processes < 1 or args.customers < 1 or args.messages < 1 or args.kills < 0:
        parser.error("--processes, --customers and --messages must be >= 1, --kills >= 0")
    return args


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main(parse_args())))
    sys.exit(130)
