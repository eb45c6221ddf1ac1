"""The supervisors' report (:class:`flows.report.Report`) computed with aggregate SQL.

What needs action now (open tickets by age, promises overdue and due soon) and the
trend are counted in the database too: the bounds (age buckets, the look-ahead, the
trend's days or weeks) come from :mod:`flows.report`, the promises not yet kept are
the open SLA timers of :mod:`flows.sla`; only the listed tickets travel.

Counts, promise outcomes and ratings are grouped in the database (one GROUP BY pass over
the period's tickets). Medians: PostgreSQL computes them (``percentile_cont``); SQLite
has no median, so only the durations, in seconds computed in SQL, travel to Python.
What counts as met, late, overdue or open is defined in :mod:`flows.report`.

The bot's SQLite engine runs its statements on the event loop's thread
(:mod:`storage.sqlite_inline`), so a report, which reads every ticket of the period,
must not use it: on SQLite the report reads through a synchronous engine of its own
(stdlib ``sqlite3``) in a worker thread, in one read transaction (WAL: writers are not
blocked). On PostgreSQL it uses the async engine in a REPEATABLE READ transaction.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    String,
    and_,
    case,
    create_engine,
    distinct,
    event,
    extract,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.pool import NullPool

from flows.domain import Severity, TicketState, TimerKind
from flows.report import (
    AGE_BUCKETS,
    DUE_WITHIN,
    PROMISES,
    RATINGS,
    Actions,
    AgeBucket,
    DuePromise,
    HotIssueLine,
    Medians,
    OpenTicket,
    PendingCounts,
    PendingState,
    Promise,
    Report,
    SlaCounts,
    TermCount,
    Trend,
    duration,
    median,
    promise_of,
    trend_buckets,
)
from flows.sla import SLA_KINDS
from flows.ticket import OPEN_STATES
from storage.database import Database
from storage.models import HotIssueRow, TicketRow, TicketTermRow, TimerRow

__all__ = ["build_report", "collect_report"]

tickets = TicketRow.__table__
hot_issues = HotIssueRow.__table__
ticket_terms = TicketTermRow.__table__
timers = TimerRow.__table__

_BUSY_TIMEOUT_MS = 10_000


async def build_report(
    database: Database,
    since: datetime,
    until: datetime,
    *,
    top_terms: int = 10,
    now: datetime | None = None,
    due_within: timedelta = DUE_WITHIN,
    listed: int = 20,
    oldest: int = 5,
) -> Report:
    """The report for the tickets created in ``[since, until)``, and what needs action now.

    ``since`` and ``until`` must be timezone-aware; the report keeps them as given (its
    text shows times in ``since``'s time zone). ``now`` (default: the current time) is
    when open promises are judged overdue or not and open tickets' ages are measured.
    ``due_within`` is the look-ahead of "due soon"; at most ``listed`` overdue and
    ``listed`` due-soon promises, and the ``oldest`` oldest open tickets, are listed.
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    if since >= until:
        raise ValueError(f"the period is empty: since {since.isoformat()} is not before until {until.isoformat()}")
    if top_terms < 0 or listed < 0 or oldest < 0:
        raise ValueError("top_terms, listed and oldest must not be negative")
    if due_within <= timedelta(0):
        raise ValueError("due_within must be positive")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    limits = _Limits(top_terms=top_terms, due_within=due_within, listed=listed, oldest=oldest)
    engine = database.engine
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            raise ValueError("a report needs an SQLite file, not an in-memory database")
        return await asyncio.to_thread(_sqlite_report, path, since, until, now, limits)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            return await conn.run_sync(collect_report, since, until, now, limits)


@dataclass(frozen=True, slots=True)
class _Limits:
    """How much the report lists, and the look-ahead of "due soon"."""

    top_terms: int = 10
    due_within: timedelta = DUE_WITHIN
    listed: int = 20
    oldest: int = 5


def _sqlite_report(path: str, since: datetime, until: datetime, now: datetime, limits: _Limits) -> Report:
    engine = create_engine(URL.create("sqlite", database=path), poolclass=NullPool)  # stdlib sqlite3

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # BEGIN is ours (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # one read transaction: every query of the report sees the same snapshot
        connection.exec_driver_sql("BEGIN")

    try:
        with engine.connect() as conn, conn.begin():
            return collect_report(conn, since, until, now, limits)
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- the queries
def _seconds_between(conn: Connection, end: ColumnElement[Any], start: ColumnElement[Any]) -> ColumnElement[Any]:
    if conn.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


def _done_columns() -> dict[Promise, tuple[ColumnElement[Any], ColumnElement[Any]]]:
    """(deadline, when it was done) per promise; a later step also keeps an earlier promise."""
    c = tickets.c
    resolved = func.coalesce(c.resolved_at, c.closed_at)
    return {
        Promise.FIRST_RESPONSE: (c.first_response_due, func.coalesce(c.first_response_at, c.first_reply_at, resolved)),
        Promise.SUBSTANTIVE_REPLY: (c.reply_due, func.coalesce(c.first_reply_at, resolved)),
        Promise.RESOLUTION: (c.resolution_due, resolved),
    }


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _medians(
    conn: Connection,
    in_period: ColumnElement[bool],
    done: dict[Promise, tuple[ColumnElement[Any], ColumnElement[Any]]],
) -> tuple[Medians, dict[Severity, Medians]]:
    """Median times from submission to the first response and to the resolution.

    A resolved ticket always has a response time: its resolution counts as the response
    when none was recorded. PostgreSQL computes the medians itself (``percentile_cont``,
    the same definition as :func:`statistics.median`); SQLite has no median, so only the
    durations in seconds travel and Python takes the medians.
    """
    c = tickets.c
    responded = _seconds_between(conn, done[Promise.FIRST_RESPONSE][1], c.created_at)
    resolved = _seconds_between(conn, done[Promise.RESOLUTION][1], c.created_at)
    if conn.dialect.name == "postgresql":
        overall = Medians()
        by_severity = {s: Medians() for s in Severity}
        rows = conn.execute(
            select(
                type_coerce(c.severity, String),
                func.percentile_cont(0.5).within_group(responded),
                func.percentile_cont(0.5).within_group(resolved),
            )
            .where(in_period)
            .group_by(func.rollup(c.severity))  # one row per severity, and one (NULL) for all
        )
        for severity, response_seconds, resolution_seconds in rows:
            found = Medians(duration(response_seconds), duration(resolution_seconds))
            if severity is None:
                overall = found
            else:
                by_severity[Severity(severity)] = found
        return overall, by_severity

    first_response: dict[str, list[float]] = {s.value: [] for s in Severity}
    resolution: dict[str, list[float]] = {s.value: [] for s in Severity}
    rows = conn.execute(
        select(type_coerce(c.severity, String), responded, resolved).where(
            in_period, done[Promise.FIRST_RESPONSE][1].is_not(None)
        )
    )
    for severity, response_seconds, resolution_seconds in rows:
        first_response[severity].append(float(response_seconds))
        if resolution_seconds is not None:
            resolution[severity].append(float(resolution_seconds))
    overall = Medians(
        first_response=median([v for values in first_response.values() for v in values]),
        resolution=median([v for values in resolution.values() for v in values]),
    )
    return overall, {s: Medians(median(first_response[s.value]), median(resolution[s.value])) for s in Severity}


def collect_report(
    conn: Connection, since: datetime, until: datetime, now: datetime, limits: _Limits | None = None
) -> Report:
    """Run the report's queries on a synchronous connection (both backends)."""
    limits = limits or _Limits()
    top_terms = limits.top_terms
    c = tickets.c
    in_period = and_(c.created_at >= since, c.created_at < until)
    now_param = literal(now, type_=c.created_at.type)

    # One pass over the period's tickets, grouped by (category, severity, state): at most
    # categories x 4 x 5 rows, each with its promise outcomes and ratings, summed up here.
    measures: list[ColumnElement[Any]] = [func.count()]
    done = _done_columns()
    for promise in PROMISES:
        due, when = done[promise]
        measures += [
            _count_if(and_(due.is_not(None), when.is_not(None), when <= due)),  # met
            _count_if(and_(due.is_not(None), when.is_not(None), when > due)),  # late
            _count_if(and_(due.is_not(None), when.is_(None), due < now_param)),  # overdue
            _count_if(and_(due.is_not(None), when.is_(None), due >= now_param)),  # open
        ]
    measures += [_count_if(c.rating == rating) for rating in RATINGS]
    by_category: dict[str, int] = defaultdict(int)
    by_severity = dict.fromkeys(Severity, 0)
    by_state = dict.fromkeys(TicketState, 0)
    sla = {s: {p: SlaCounts() for p in PROMISES} for s in Severity}
    ratings = dict.fromkeys(RATINGS, 0)
    total = 0
    rows = conn.execute(
        select(c.category, c.severity, c.state, *measures)
        .where(in_period)
        .group_by(c.category, c.severity, c.state)
    )
    for category, severity, state, count, *values in rows:
        grade = Severity(severity)
        total += count
        by_category[category] += count
        by_severity[grade] += count
        by_state[TicketState(state)] += count
        outcomes, rated = values[: 4 * len(PROMISES)], values[4 * len(PROMISES) :]
        for i, promise in enumerate(PROMISES):
            met, late, overdue, pending = (int(v) for v in outcomes[4 * i : 4 * i + 4])
            sla[grade][promise] = sla[grade][promise] + SlaCounts(met, late, overdue, pending)
        for rating, n in zip(RATINGS, rated, strict=True):
            ratings[rating] += int(n)

    medians, medians_by_severity = _medians(conn, in_period, done)

    # hot issues opened in the period, with all their tickets
    h = hot_issues.c
    rows = conn.execute(
        select(h.id, h.category, h.term, h.created_at, func.count(c.id), func.count(distinct(c.customer_id)))
        .select_from(hot_issues.outerjoin(tickets, c.hot_issue_id == h.id))
        .where(h.created_at >= since, h.created_at < until)
        .group_by(h.id, h.category, h.term, h.created_at)
        .order_by(h.created_at, h.id)
    )
    issues = tuple(
        HotIssueLine(id=i, category=category, term=term, created_at=created, tickets=n, customers=customers)
        for i, category, term, created, n, customers in rows
    )

    # key terms recorded in the period, by tickets
    terms: tuple[TermCount, ...] = ()
    if top_terms:
        k = ticket_terms.c
        tickets_with = func.count(distinct(k.ticket_id))
        rows = conn.execute(
            select(k.term, tickets_with)
            .where(k.created_at >= since, k.created_at < until)
            .group_by(k.term)
            .order_by(tickets_with.desc(), k.term)
            .limit(top_terms)
        )
        terms = tuple(TermCount(term, n) for term, n in rows)

    return Report(
        since=since,
        until=until,
        generated_at=now,
        total=total,
        by_category=dict(sorted(by_category.items(), key=lambda item: (-item[1], item[0]))),
        by_severity=by_severity,
        by_state=by_state,
        sla=sla,
        medians=medians,
        medians_by_severity=medians_by_severity,
        ratings=ratings,
        hot_issues=issues,
        top_terms=terms,
        actions=_actions(conn, now, limits),
        trend=_trend(conn, since, until, in_period),
    )


# ---------------------------------------------------------------------- needs action now
def _counted(conn: Connection, columns: Sequence[ColumnElement[Any]], where: ColumnElement[bool], select_from: Any) -> Any:
    """Rows of (columns..., count) grouped by ``columns``: through a subquery, so that an
    expression with bound parameters (a CASE over times) is grouped by its result on
    PostgreSQL too."""
    inner = select(*(column.label(f"c{i}") for i, column in enumerate(columns))).select_from(select_from).where(where).subquery()
    keys = [inner.c[f"c{i}"] for i in range(len(columns))]
    return conn.execute(select(*keys, func.count()).group_by(*keys))


def _severity_rank() -> ColumnElement[Any]:
    """Severity as its rank (general 0 .. major 3), for "most severe first"."""
    c = tickets.c
    return case(*((type_coerce(c.severity, String) == s.value, s.rank) for s in Severity), else_=0)


def _actions(conn: Connection, now: datetime, limits: _Limits) -> Actions:
    """Open tickets by severity and age, the oldest, and the promises not yet kept."""
    c = tickets.c
    is_open = c.state.in_(OPEN_STATES)

    # age buckets: created after now - bound is younger than the bound (flows.report.AGE_BUCKETS)
    whens = [(c.created_at > now - below, i) for i, (_, below) in enumerate(AGE_BUCKETS) if below is not None]
    age = case(*whens, else_=len(AGE_BUCKETS) - 1)
    open_by_age = {s: dict.fromkeys(AgeBucket, 0) for s in Severity}
    for severity, index, count in _counted(conn, [type_coerce(c.severity, String), age], is_open, tickets):
        open_by_age[Severity(severity)][AGE_BUCKETS[int(index)][0]] = int(count)

    owner = func.coalesce(c.owner_name, c.owner_id)
    rows = conn.execute(
        select(c.id, c.number, c.severity, c.category, c.state, c.created_at, owner)
        .where(is_open)
        .order_by(c.created_at, c.id)
        .limit(limits.oldest)
    )
    oldest = tuple(
        OpenTicket(number or f"#{i}", Severity(severity), category, TicketState(state), created, who)
        for i, number, severity, category, state, created, who in rows
    )

    # the promises not yet kept: open SLA timers of open tickets (flows.sla)
    t = timers.c
    joined = timers.join(tickets, t.ticket_id == c.id)
    not_kept = and_(t.done_at.is_(None), t.kind.in_(SLA_KINDS), is_open)
    soon = now + limits.due_within
    states = (PendingState.OVERDUE, PendingState.DUE_SOON, PendingState.LATER)
    where = case((t.due_at <= now, 0), (t.due_at <= soon, 1), else_=2)  # flows.report.pending_state
    found: dict[tuple[Severity, Promise], dict[PendingState, int]] = defaultdict(lambda: dict.fromkeys(states, 0))
    for severity, kind, index, count in _counted(
        conn, [type_coerce(c.severity, String), type_coerce(t.kind, String), where], not_kept, joined
    ):
        found[Severity(severity), promise_of(TimerKind(kind))][states[int(index)]] = int(count)
    pending = {
        s: {p: PendingCounts(*(found[s, p][state] for state in states)) for p in PROMISES} for s in Severity
    }

    def listed(condition: ColumnElement[bool]) -> tuple[DuePromise, ...]:
        if not limits.listed:
            return ()
        rows = conn.execute(
            select(c.id, c.number, c.severity, c.category, t.kind, t.due_at, owner)
            .select_from(joined)
            .where(not_kept, condition)
            .order_by(_severity_rank().desc(), t.due_at, c.id, t.id)
            .limit(limits.listed)
        )
        return tuple(
            DuePromise(number or f"#{i}", Severity(severity), category, promise_of(TimerKind(kind)), due, who)
            for i, number, severity, category, kind, due, who in rows
        )

    return Actions(
        due_within=limits.due_within,
        open_by_age=open_by_age,
        oldest=oldest,
        pending=pending,
        overdue=listed(t.due_at <= now),
        due_soon=listed(and_(t.due_at > now, t.due_at <= soon)),
    )


# ---------------------------------------------------------------------- trend
def _trend(conn: Connection, since: datetime, until: datetime, in_period: ColumnElement[bool]) -> Trend:
    """The period's tickets per day or week (flows.report.trend_buckets) by category."""
    c = tickets.c
    unit, starts = trend_buckets(since, until)

    def bucket(lo: int, hi: int) -> ColumnElement[Any]:
        """The bucket among lo..hi a ticket falls in: a binary search, a few comparisons a row."""
        if lo == hi:
            return literal(lo)
        mid = (lo + hi) // 2
        return case((c.created_at < starts[mid + 1], bucket(lo, mid)), else_=bucket(mid + 1, hi))

    counts: dict[str, list[int]] = {}
    for category, index, count in _counted(conn, [c.category, bucket(0, len(starts) - 1)], in_period, tickets):
        counts.setdefault(category, [0] * len(starts))[int(index)] = int(count)
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    return Trend(unit=unit, starts=starts, by_category={category: tuple(n) for category, n in ordered})
