"""Report benchmark: the supervisors' report over many tickets.

    python benchmarks/report.py                      # 100,000 tickets, temporary SQLite file
    python benchmarks/report.py --tickets 20000 --chart /tmp/report.png
    python benchmarks/report.py --database-url postgresql://postgres@127.0.0.1:5432/test

Generates tickets spread over the last ~90 days with realistic mixes (categories,
severities, response and resolution times around the SLA table's deadlines, so that
most promises are met and some are late or overdue; states by age; ratings that drop
when a promise was broken; key terms; a few hot issues with bursts of tickets) into a
fresh database built by the migrations, with bulk Core inserts. Then times
``build_report`` for the last 30 and the last 90 days and prints the figures next to
the target (< 5 s each), and how long the event loop stalled meanwhile (the SQLite
report runs in a worker thread, so the loop should keep ticking).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from flows.domain import Severity, TicketState, TimerKind  # noqa: E402
from flows.sla import ServiceLevels  # noqa: E402
from flows.ticket import OPEN_STATES  # noqa: E402
from flows.report import format_text  # noqa: E402
from flows.texts import default_catalogue  # noqa: E402
from nlp import default_classifier  # noqa: E402
from benchmarks.databases import drop_schema, prepare  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.models import CustomerRow, HotIssueRow, TicketRow, TicketTermRow, TimerRow  # noqa: E402
from storage.reports import build_report  # noqa: E402

TARGET_S = 5.0
DAYS = 90
BATCH = 5_000

CATEGORIES = {  # share of tickets, key terms (most frequent first)
    "delivery": (0.30, ["快递", "包裹", "顺丰", "外卖", "骑手", "中通", "驿站", "快递员", "配送站", "生鲜"]),
    "product_quality": (0.22, ["耳机", "台灯", "手机壳", "充电宝", "牛奶", "面包", "T恤", "运动鞋", "空气炸锅", "床垫"]),
    "service": (0.12, ["客服", "店长", "门店", "热线", "售货员", "前台", "经理"]),
    "after_sales": (0.12, ["退款", "退货", "换货", "保修", "维修点", "洗衣机", "冰箱"]),
    "billing": (0.08, ["发票", "会员卡", "优惠券", "运费", "自动续费", "信用卡"]),
    "misleading": (0.07, ["尺码", "色差", "主图", "直播间", "促销", "赠品"]),
    "safety": (0.04, ["炸鸡", "奶茶", "沙拉", "儿童座椅", "插线板", "酸奶"]),
    "other": (0.05, ["停车场", "APP", "小程序", "积分", "门禁"]),
}
SEVERITY_MIX = {Severity.GENERAL: 0.70, Severity.IMPORTANT: 0.20, Severity.HOT: 0.08, Severity.MAJOR: 0.02}
# how often each promise is kept (the rest are late), a lognormal spread around the deadline
KEPT = {"first_response": 0.88, "reply": 0.82, "resolution": 0.78}
SPREAD = 0.9
RATING_WEIGHTS = {True: (3, 4, 10, 33, 50), False: (22, 25, 25, 18, 10)}  # promises kept / broken
HOURS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 3, 3, 3, 2.5, 3, 3, 3, 2.5, 2.5, 2, 2, 2, 1.5, 1, 0.5]


def _phi_inverse(p: float) -> float:
    """The standard normal quantile (bisection; enough for choosing a spread)."""
    lo, hi = -8.0, 8.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _delay(rng: random.Random, deadline: timedelta, kept: float) -> timedelta:
    """A delay that is within ``deadline`` with probability ``kept``."""
    mu = -_phi_inverse(kept) * SPREAD
    return deadline * math.exp(rng.gauss(mu, SPREAD))


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _created(rng: random.Random, start: datetime) -> datetime:
    day = rng.randrange(DAYS)
    hour = rng.choices(range(24), weights=HOURS)[0]
    return start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))


class Generator:
    """Rows for customers, hot issues, tickets and their key terms (deterministic per seed)."""

    def __init__(self, tickets: int, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = tickets
        self.now = now
        self.start = now - timedelta(days=DAYS)
        self.customers = max(tickets // 3, 10)
        self.levels = ServiceLevels()
        self.hot: list[dict[str, Any]] = []
        self.term_rows = 0
        self.timer_rows = 0

    def customer_rows(self) -> list[dict[str, Any]]:
        return [
            dict(id=i, channel="telegram", external_id=str(100_000 + i), display_name=f"客户{i}",
                 language="zh" if i % 10 else "en", created_at=self.start - timedelta(days=30))
            for i in range(1, self.customers + 1)
        ]

    def hot_issue_rows(self, count: int) -> list[dict[str, Any]]:
        """A few hot issues, each with a burst of tickets over three days."""
        rng = self.rng
        for i in range(1, count + 1):
            category = rng.choice(["safety", "product_quality", "delivery", "safety"])
            term = rng.choice(CATEGORIES[category][1][:4])
            created = _created(rng, self.start)
            self.hot.append(dict(id=i, category=category, term=term, created_at=created,
                                 pinged_at=created + timedelta(minutes=1), burst=rng.randint(8, 60)))
        return [{k: v for k, v in issue.items() if k != "burst"} for issue in self.hot]

    def _arrivals(self) -> list[tuple[datetime, dict[str, Any] | None]]:
        """When each ticket comes in (in order, as ids grow in a real database) and its hot issue."""
        rng = self.rng
        bursts = [issue for issue in self.hot for _ in range(issue["burst"])]
        arrivals: list[tuple[datetime, dict[str, Any] | None]] = []
        for _ in range(self.count):
            if bursts and rng.random() < 0.02:
                issue = bursts.pop(rng.randrange(len(bursts)))
                created = issue["created_at"] + timedelta(hours=rng.uniform(-48, 24))
            else:
                issue, created = None, _created(rng, self.start)
            arrivals.append((min(created, self.now - timedelta(minutes=1)), issue))
        arrivals.sort(key=lambda arrival: arrival[0])
        return arrivals

    def _ticket(self, n: int, created: datetime, issue: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
        rng = self.rng
        if issue is not None:
            category = issue["category"]
            severity = Severity.HOT if rng.random() < 0.8 else Severity.MAJOR
        else:
            category = _pick(rng, {c: share for c, (share, _) in CATEGORIES.items()})
            severity = _pick(rng, SEVERITY_MIX)
        fr_due = created + self.levels.first_response[severity]
        reply_due = created + self.levels.substantive_reply[severity]
        res_due = created + self.levels.resolution[severity]

        response = created + _delay(rng, self.levels.first_response[severity], KEPT["first_response"])
        reply = max(response, created + _delay(rng, self.levels.substantive_reply[severity], KEPT["reply"]))
        resolved = max(reply, created + _delay(rng, self.levels.resolution[severity], KEPT["resolution"]))
        if rng.random() < 0.01:  # forgotten: nobody ever picked it up
            response = reply = resolved = self.now + timedelta(days=365)
        row: dict[str, Any] = dict(
            id=n, number=f"T{n:06d}", customer_id=rng.randint(1, self.customers), channel="telegram",
            chat_id="", category=category, severity=severity, state=TicketState.NEW,
            description="", language="zh", created_at=created, updated_at=created,
            first_response_due=fr_due, reply_due=reply_due, resolution_due=res_due,
            first_response_at=None, first_reply_at=None, resolved_at=None, closed_at=None,
            rating=None, reopen_count=0, hot_issue_id=issue["id"] if issue else None, sla_started_at=None,
        )
        row["chat_id"] = str(row["customer_id"])
        if response <= self.now:
            row.update(state=TicketState.CLAIMED, first_response_at=response, updated_at=response)
        if reply <= self.now:
            row["first_reply_at"] = reply
        if resolved <= self.now:
            row.update(state=TicketState.RESOLVED, resolved_at=resolved, updated_at=resolved)
            kept = resolved <= res_due and response <= fr_due
            answered = resolved + timedelta(hours=rng.uniform(1, 72))
            if answered <= self.now and rng.random() < 0.85:
                rating = rng.choices((1, 2, 3, 4, 5), weights=RATING_WEIGHTS[kept])[0]
                if rating <= 2 and rng.random() < 0.3:  # reopened, being handled again
                    row.update(state=TicketState.REOPENED, rating=rating, resolved_at=None, reopen_count=1,
                               updated_at=answered)
                else:
                    row.update(state=TicketState.CLOSED, rating=rating, closed_at=answered, updated_at=answered)
        if row["state"] is TicketState.REOPENED:  # every promise starts again at the reopening
            again = row["updated_at"]
            row.update(first_response_due=again + self.levels.first_response[severity],
                       reply_due=again + self.levels.substantive_reply[severity],
                       resolution_due=again + self.levels.resolution[severity], sla_started_at=again)
        vocabulary = CATEGORIES[category][1]
        terms = {issue["term"]} if issue else set()
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            terms.add(vocabulary[min(int(rng.expovariate(0.45)), len(vocabulary) - 1)])
        return row, sorted(terms)

    @staticmethod
    def _timers(row: dict[str, Any]) -> list[dict[str, Any]]:
        """The open SLA timers of an open ticket: its promises not kept yet (flows.sla)."""
        if row["state"] not in OPEN_STATES:
            return []
        reopened = row["state"] is TicketState.REOPENED
        due = []
        if row["first_response_at"] is None or reopened:
            due.append((TimerKind.FIRST_RESPONSE, row["first_response_due"]))
        if row["first_reply_at"] is None or reopened:
            due.append((TimerKind.SUBSTANTIVE_REPLY, row["reply_due"]))
        due.append((TimerKind.RESOLUTION, row["resolution_due"]))
        return [
            dict(ticket_id=row["id"], kind=kind, due_at=at, remind_at=None, reminded_at=None, fired_at=None,
                 done_at=None, created_at=row["updated_at"])
            for kind, at in due
        ]

    def batches(self) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]]:
        """(tickets, ticket terms, timers) in batches of :data:`BATCH` tickets."""
        tickets: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []
        timers: list[dict[str, Any]] = []
        for n, (created, issue) in enumerate(self._arrivals(), 1):
            row, words = self._ticket(n, created, issue)
            tickets.append(row)
            terms += [
                dict(ticket_id=n, customer_id=row["customer_id"], category=row["category"], term=word,
                     created_at=row["created_at"])
                for word in words
            ]
            timers += self._timers(row)
            if len(tickets) == BATCH:
                self.term_rows += len(terms)
                self.timer_rows += len(timers)
                yield tickets, terms, timers
                tickets, terms, timers = [], [], []
        if tickets:
            self.term_rows += len(terms)
            self.timer_rows += len(timers)
            yield tickets, terms, timers


async def fill(database: Database, generator: Generator, hot_issues: int) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(insert(CustomerRow.__table__), generator.customer_rows())
        await conn.execute(insert(HotIssueRow.__table__), generator.hot_issue_rows(hot_issues))
        for tickets, terms, timers in generator.batches():
            await conn.execute(insert(TicketRow.__table__), tickets)
            await conn.execute(insert(TicketTermRow.__table__), terms)
            if timers:
                await conn.execute(insert(TimerRow.__table__), timers)
    if database.engine.dialect.name == "postgresql":
        async with database.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))


async def timed_report(database: Database, since: datetime, until: datetime, top: int) -> tuple[Any, float, float]:
    """The report, its wall time, and the longest stall of the event loop meanwhile."""
    stall = 0.0
    running = True

    async def heartbeat() -> None:
        nonlocal stall
        while running:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stall = max(stall, time.perf_counter() - before - 0.005)

    ticker = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    started = time.perf_counter()
    report = await build_report(database, since, until, top_terms=top, now=until)
    elapsed = time.perf_counter() - started
    running = False
    await ticker
    return report, elapsed, stall


async def main(args: argparse.Namespace) -> int:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as folder:
        database, where, schema = await prepare(args.database_url, "report-bench", Path(folder))
        print(f"database: {where}")
        try:
            generator = Generator(args.tickets, now, args.seed)
            started = time.perf_counter()
            await fill(database, generator, args.hot_issues)
            filled = time.perf_counter() - started
            print(
                f"generated {args.tickets:,} tickets, {generator.customers:,} customers, "
                f"{generator.term_rows:,} key terms, {generator.timer_rows:,} open promises, "
                f"{args.hot_issues} hot issues over {DAYS} days in {filled:.1f} s"
            )
            await timed_report(database, now - timedelta(days=1), now, args.top)  # warm-up: imports, connections
            verdicts = []
            last = None
            for days in (30, 90):
                report, elapsed, stall = await timed_report(database, now - timedelta(days=days), now, args.top)
                verdict = "PASS" if elapsed < TARGET_S else "MISS"
                verdicts.append(verdict)
                print(
                    f"report, last {days} days: {report.total:>7,} tickets  {elapsed:6.3f} s   "
                    f"(target < {TARGET_S:.0f} s)  {verdict}   event loop stalled at most {stall * 1000:.1f} ms"
                )
                last = report
            assert last is not None
            if args.show:
                language = args.lang
                names = {c.id: c.name(language) for c in default_classifier().taxonomy}
                print()
                print(format_text(last, default_catalogue(), language, names))
            if args.chart:
                from handlers.charts import render_chart

                taxonomy = default_classifier().taxonomy
                render_chart(
                    last,
                    args.chart,
                    language=args.lang,
                    category_names={c.id: c.name(args.lang) for c in taxonomy},
                    texts=default_catalogue(),
                    fallback_category_names={c.id: c.name("en") for c in taxonomy},
                )
                print(f"chart of the 90-day report: {args.chart}")
        finally:
            await database.dispose()
            if schema and args.database_url:
                await drop_schema(args.database_url, schema)
    return 0 if all(v == "PASS" for v in verdicts) else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to generate (default: 100,000)")
    parser.add_argument("--hot-issues", type=int, default=6, help="hot issues to generate (default: 6)")
    parser.add_argument("--top", type=int, default=10, help="key terms in the report (default: 10)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--chart", type=Path, default=None, help="write the 90-day report's chart (PNG) here")
    parser.add_argument("--show", action="store_true", help="print the 90-day report as text")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of --show and --chart")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
