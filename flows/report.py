"""The supervisors' report: what needs action now, what came in during a period and
how well promises were kept.

Pure: a :class:`Report` holds figures that ``storage.reports`` computes with SQL, and
this module turns it into a plain-text table (:func:`format_text`, for a terminal or a
Slack code block) or CSV (:func:`format_csv`). Channels that want a report (the Slack
digest) depend on :class:`ReportSource`, not on storage.

Which tickets count: those *created* in ``[since, until)`` (since inclusive, until
exclusive), with their state and timestamps as they are when the report is made
(``generated_at``). Definitions:

- **Service promises** (per severity): first response (an agent claimed the ticket,
  ``first_response_at`` against ``first_response_due``), substantive reply
  (``first_reply_at`` against ``reply_due``) and resolution (``resolved_at`` against
  ``resolution_due``). A later step also keeps an earlier promise: a substantive reply
  or a resolution counts as a response, and a resolution (its message goes to the
  customer) as a substantive reply. Each ticket with a deadline falls into one bucket:
  *met* (done by the deadline), *missed* (done after it), *overdue* (not done, deadline
  passed at ``generated_at``) or *open* (not done, deadline still ahead). Tickets
  without a deadline are left out. ``met %`` = met / (met + missed + overdue): an
  overdue promise is already broken, so it is decided, as a miss.
- **Median times** are measured from submission (``created_at``) to the first response
  and to the resolution, over the tickets that got there.
- **Satisfaction**: the ratings (1-5) of the period's tickets.
- **Hot issues**: those opened in the period, with all the tickets and customers linked.
- **Key terms**: the terms recorded in the period, by the number of tickets.
- **Needs action now** (:class:`Actions`, at ``generated_at``, whatever the period):
  every open ticket by severity and age (:data:`AGE_BUCKETS`), the oldest, and the
  promises not yet kept (the open SLA timers of :mod:`flows.sla`) overdue, due within
  ``due_within`` (default 4 hours) or later, with the ticket numbers of the most urgent.
- **Trend** (:class:`Trend`): the period's tickets per day (per week for periods longer
  than :data:`DAILY_TREND_DAYS` days) by category.

CSV layout (:func:`format_csv`): one table with the header ``section,key,metric,value``
and machine ids (not display names) so it does not depend on the language::

    period,since,,2026-11-01T00:00:00+08:00       period,until / generated_at alike
    total,tickets,,1234
    category,delivery,tickets,412                 one row per category, most first
    severity,general,tickets,900                  every severity, general..major
    state,new,tickets,120                         every state
    sla,general/first_response,met,300            metrics met, missed, overdue, open,
    sla,all/resolution,met_percent,93.8           met_percent (empty when undecided);
                                                  key "all" sums the severities
    median_seconds,all,first_response,4380        metrics first_response, resolution
    median_seconds,hot,resolution,                (empty: no ticket got there)
    satisfaction,average,,4.12                    satisfaction,count,,512
    rating,5,count,300                            every rating 1..5
    hot_issue,7,category,delivery                 metrics category, term, tickets,
    hot_issue,7,created_at,2026-11-03T10:00:00+00:00   customers, created_at
    term,耳机,tickets,57                          most frequent first
    now,due_within_hours,,4                       the look-ahead of "due soon"
    open,all,tickets,3                            open,hot,1d_3d,2: every severity and
                                                  age bucket (lt_1d 1d_3d 3d_7d ge_7d)
    oldest,T000004,created_at,2026-11-01T...      metrics severity, category, state,
                                                  created_at, age_seconds, owner
    pending,hot/first_response,overdue,1          metrics overdue, due_soon, later;
                                                  key "all" sums the severities
    overdue,T000002/first_response,due_at,...     metrics severity, category, due_at,
    due_soon,T000005/resolution,due_at,...        owner (the listed, most urgent ones)
    trend,unit,,day                               day or week
    trend,2026-11-01,total,12                     a bucket (its local start date):
    trend,2026-11-01,delivery,7                   total and every category of the period
"""

from __future__ import annotations

import csv
import io
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from flows.domain import Severity, TicketState, TimerKind
from flows.sla import SLA_KINDS
from flows.texts import Catalogue

__all__ = [
    "AGE_BUCKETS",
    "DUE_WITHIN",
    "Actions",
    "AgeBucket",
    "DuePromise",
    "HotIssueLine",
    "Medians",
    "OpenTicket",
    "PendingCounts",
    "PendingState",
    "Promise",
    "PROMISES",
    "RATINGS",
    "Report",
    "ReportSource",
    "SlaCounts",
    "TermCount",
    "Trend",
    "TrendUnit",
    "age_bucket",
    "csv_rows",
    "duration",
    "format_csv",
    "format_duration",
    "format_text",
    "median",
    "pending_state",
    "promise_of",
    "trend_buckets",
]

RATINGS = (1, 2, 3, 4, 5)
SEVERITIES = tuple(Severity)
STATES = tuple(TicketState)


class Promise(StrEnum):
    """The service promises measured by the report (the SLA kinds of ``TimerKind``)."""

    FIRST_RESPONSE = "first_response"
    SUBSTANTIVE_REPLY = "substantive_reply"
    RESOLUTION = "resolution"


PROMISES = tuple(Promise)
_PROMISE_OF_TIMER = {kind: Promise(kind.value) for kind in SLA_KINDS}  # one promise per SLA timer of flows.sla


def promise_of(kind: TimerKind) -> Promise:
    """The promise an SLA timer (:data:`flows.sla.SLA_KINDS`) keeps watch over."""
    return _PROMISE_OF_TIMER[kind]


# ---------------------------------------------------------------------- needs action now
DUE_WITHIN = timedelta(hours=4)
"""Default look-ahead of "due soon": promises whose deadline comes within it."""


class AgeBucket(StrEnum):
    """How long ago an open ticket was submitted (its age at the report's time)."""

    UNDER_1_DAY = "lt_1d"
    DAYS_1_TO_3 = "1d_3d"
    DAYS_3_TO_7 = "3d_7d"
    OVER_7_DAYS = "ge_7d"


AGE_BUCKETS: tuple[tuple[AgeBucket, timedelta | None], ...] = (
    (AgeBucket.UNDER_1_DAY, timedelta(days=1)),
    (AgeBucket.DAYS_1_TO_3, timedelta(days=3)),
    (AgeBucket.DAYS_3_TO_7, timedelta(days=7)),
    (AgeBucket.OVER_7_DAYS, None),
)
"""Each bucket and its upper bound (exclusive): an age of exactly one day is in 1-3 days."""


def age_bucket(age: timedelta) -> AgeBucket:
    """The bucket of an open ticket submitted ``age`` ago."""
    return next(bucket for bucket, below in AGE_BUCKETS if below is None or age < below)


class PendingState(StrEnum):
    OVERDUE = "overdue"  # the deadline has passed (the timer breached: flows.sla.deadline_due)
    DUE_SOON = "due_soon"  # due within the look-ahead
    LATER = "later"


def pending_state(due_at: datetime, now: datetime, within: timedelta) -> PendingState:
    """Where a promise not yet kept stands at ``now``: overdue once its deadline is
    reached (as :func:`flows.sla.deadline_due` breaches it), due soon when the deadline
    comes within ``within``, else later."""
    if due_at <= now:
        return PendingState.OVERDUE
    return PendingState.DUE_SOON if due_at <= now + within else PendingState.LATER


@dataclass(frozen=True, slots=True)
class PendingCounts:
    """The promises not yet kept of open tickets, by where their deadline stands."""

    overdue: int = 0
    due_soon: int = 0
    later: int = 0

    @property
    def total(self) -> int:
        return self.overdue + self.due_soon + self.later

    def __add__(self, other: PendingCounts) -> PendingCounts:
        return PendingCounts(self.overdue + other.overdue, self.due_soon + other.due_soon, self.later + other.later)


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """An open ticket (new, claimed or reopened) as the supervisor needs to act on it."""

    number: str
    severity: Severity
    category: str
    state: TicketState
    created_at: datetime
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class DuePromise:
    """A promise of an open ticket that is overdue or due soon."""

    number: str
    severity: Severity
    category: str
    promise: Promise
    due_at: datetime
    owner: str | None = None


def _zero_ages() -> dict[Severity, dict[AgeBucket, int]]:
    return {s: dict.fromkeys(AgeBucket, 0) for s in Severity}


def _zero_pending() -> dict[Severity, dict[Promise, PendingCounts]]:
    return {s: {p: PendingCounts() for p in PROMISES} for s in Severity}


@dataclass(frozen=True)
class Actions:
    """What needs action at the report's time (``Report.generated_at``), whatever the period.

    Every ticket open now (:data:`flows.ticket.OPEN_STATES`: new, claimed, reopened; a
    resolved ticket waits for the customer) counts, by severity and age (from
    submission). Its promises not yet kept are its open SLA timers (:mod:`flows.sla`:
    first response, substantive reply, resolution; a reopened ticket's start again),
    counted by :func:`pending_state`. The lists hold the most urgent: highest severity
    first, then the earliest deadline (``oldest``: the earliest submitted), each at most
    the number the report was asked for; the counts hold them all.
    """

    due_within: timedelta = DUE_WITHIN
    open_by_age: Mapping[Severity, Mapping[AgeBucket, int]] = field(default_factory=_zero_ages)
    oldest: tuple[OpenTicket, ...] = ()
    pending: Mapping[Severity, Mapping[Promise, PendingCounts]] = field(default_factory=_zero_pending)
    overdue: tuple[DuePromise, ...] = ()
    due_soon: tuple[DuePromise, ...] = ()

    def open_count(self, severity: Severity | None = None) -> int:
        """Open tickets of ``severity`` (None: all)."""
        grades = SEVERITIES if severity is None else (severity,)
        return sum(sum(self.open_by_age[s].values()) for s in grades)

    def open_in(self, bucket: AgeBucket) -> int:
        return sum(self.open_by_age[s][bucket] for s in SEVERITIES)

    def pending_all(self, promise: Promise) -> PendingCounts:
        """One promise summed over the severities."""
        total = PendingCounts()
        for by_promise in self.pending.values():
            total = total + by_promise[promise]
        return total

    def pending_for(self, severity: Severity) -> PendingCounts:
        """Every promise of one severity."""
        total = PendingCounts()
        for counts in self.pending[severity].values():
            total = total + counts
        return total

    @property
    def overdue_count(self) -> int:
        return sum(self.pending_all(p).overdue for p in PROMISES)

    @property
    def due_soon_count(self) -> int:
        return sum(self.pending_all(p).due_soon for p in PROMISES)


# ---------------------------------------------------------------------- trend
class TrendUnit(StrEnum):
    DAY = "day"
    WEEK = "week"


DAILY_TREND_DAYS = 31
"""Periods up to this many days show tickets per day; longer ones per week."""


def trend_buckets(since: datetime, until: datetime) -> tuple[TrendUnit, tuple[datetime, ...]]:
    """The trend's unit and the start of each bucket, on the local calendar of
    ``since``'s time zone: days (weeks from Monday for periods longer than
    :data:`DAILY_TREND_DAYS` days). The first bucket starts at ``since`` and runs to the
    next local midnight (Monday); the last ends at ``until``. A day is 23 or 25 hours
    across a daylight-saving change."""
    if since >= until:
        raise ValueError("the period is empty")
    unit = TrendUnit.DAY if until - since <= timedelta(days=DAILY_TREND_DAYS) else TrendUnit.WEEK
    first = datetime.combine(since.date(), time(0), tzinfo=since.tzinfo)  # local midnight of since's day
    if unit is TrendUnit.WEEK:
        first -= timedelta(days=first.weekday())  # that week's Monday
    step = timedelta(days=1 if unit is TrendUnit.DAY else 7)
    starts = [since]
    n = 1
    while (start := first + n * step) < until:  # aware arithmetic: local wall-clock time
        starts.append(start)
        n += 1
    return unit, tuple(starts)


@dataclass(frozen=True)
class Trend:
    """Tickets submitted per day (or week) of the period, by category.

    ``starts`` are the buckets' starts (:func:`trend_buckets`); ``by_category`` has one
    count per bucket for each category of the period, most tickets first."""

    unit: TrendUnit = TrendUnit.DAY
    starts: tuple[datetime, ...] = ()
    by_category: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def totals(self) -> tuple[int, ...]:
        return tuple(sum(counts[i] for counts in self.by_category.values()) for i in range(len(self.starts)))


@dataclass(frozen=True, slots=True)
class SlaCounts:
    """How one promise went for a group of tickets (see the module docstring)."""

    met: int = 0
    missed: int = 0
    overdue: int = 0  # not done, deadline passed
    open: int = 0  # not done, deadline ahead

    @property
    def decided(self) -> int:
        """Promises whose outcome is known: kept, or broken (late or still overdue)."""
        return self.met + self.missed + self.overdue

    @property
    def total(self) -> int:
        return self.decided + self.open

    @property
    def met_percent(self) -> float | None:
        """met / decided in percent; None when nothing is decided yet."""
        return 100.0 * self.met / self.decided if self.decided else None

    def __add__(self, other: SlaCounts) -> SlaCounts:
        return SlaCounts(
            self.met + other.met,
            self.missed + other.missed,
            self.overdue + other.overdue,
            self.open + other.open,
        )


@dataclass(frozen=True, slots=True)
class Medians:
    """Median time from submission to the first response and to the resolution."""

    first_response: timedelta | None = None
    resolution: timedelta | None = None


@dataclass(frozen=True, slots=True)
class HotIssueLine:
    """A hot issue (热点) opened in the period."""

    id: int
    category: str
    term: str
    created_at: datetime
    tickets: int
    customers: int


@dataclass(frozen=True, slots=True)
class TermCount:
    term: str
    tickets: int


def _zero_sla() -> dict[Severity, dict[Promise, SlaCounts]]:
    return {s: {p: SlaCounts() for p in PROMISES} for s in SEVERITIES}


@dataclass(frozen=True)
class Report:
    """Figures for the tickets created in ``[since, until)``, as of ``generated_at``.

    Mappings keyed by severity, state, promise and rating hold every key (zeros
    included); ``by_category`` holds the categories that have tickets, most first.
    """

    since: datetime
    until: datetime
    generated_at: datetime
    total: int = 0
    by_category: Mapping[str, int] = field(default_factory=dict)
    by_severity: Mapping[Severity, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    by_state: Mapping[TicketState, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    sla: Mapping[Severity, Mapping[Promise, SlaCounts]] = field(default_factory=_zero_sla)
    medians: Medians = field(default_factory=Medians)
    medians_by_severity: Mapping[Severity, Medians] = field(
        default_factory=lambda: {s: Medians() for s in SEVERITIES}
    )
    ratings: Mapping[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))
    hot_issues: tuple[HotIssueLine, ...] = ()
    top_terms: tuple[TermCount, ...] = ()
    actions: Actions = field(default_factory=Actions)
    trend: Trend = field(default_factory=Trend)

    def sla_all(self, promise: Promise) -> SlaCounts:
        """One promise summed over the severities."""
        total = SlaCounts()
        for by_promise in self.sla.values():
            total = total + by_promise[promise]
        return total

    @property
    def rating_count(self) -> int:
        return sum(self.ratings.values())

    @property
    def rating_average(self) -> float | None:
        count = self.rating_count
        return sum(r * n for r, n in self.ratings.items()) / count if count else None


class ReportSource(Protocol):
    """Something that makes a report for a period (``storage.reports.build_report``
    bound to a database, e.g. ``functools.partial(build_report, database)``)."""

    async def __call__(self, since: datetime, until: datetime) -> Report: ...


def duration(seconds: float | None) -> timedelta | None:
    """Seconds as a duration rounded to the millisecond (None stays None)."""
    return None if seconds is None else timedelta(seconds=round(float(seconds), 3))


def median(values: Sequence[float]) -> timedelta | None:
    """The median of durations in seconds (the mean of the middle two for an even
    count, rounded to the millisecond), None if empty."""
    return duration(statistics.median(values)) if values else None


# ---------------------------------------------------------------------- plain text
def _width(text: str) -> int:
    """Columns the text takes in a monospaced font (CJK characters take two)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[bool]) -> list[str]:
    """Aligned columns, two spaces apart; ``right`` marks the right-aligned (numeric) ones."""
    rows = [list(r) for r in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(_pad(c, w, r) for c, w, r in zip(cells, widths, right, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return out


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def _share(count: int, total: int) -> str:
    return _percent(100.0 * count / total if total else None)


def format_duration(value: timedelta | None, texts: Catalogue, language: str) -> str:
    """"45m", "3h 05m", "2d 4h" (in ``language``); "-" for None."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return texts.text(language, "report.duration_minutes", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return texts.text(language, "report.duration_hours", hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return texts.text(language, "report.duration_days", days=days, hours=hours)


def _when(moment: datetime, zone: datetime) -> str:
    """``moment`` in the time zone of the report's period."""
    return moment.astimezone(zone.tzinfo).strftime("%Y-%m-%d %H:%M")


def _zone_name(moment: datetime) -> str:
    name = moment.tzname() or ""
    offset = moment.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    if not name or name == offset or name.startswith("UTC"):
        return name or offset
    return f"{name}, {offset}"


def format_text(
    report: Report,
    texts: Catalogue,
    language: str,
    category_names: Mapping[str, str],
) -> str:
    """The report as aligned plain-text tables (monospaced: a terminal, a Slack code block).

    ``category_names`` maps category ids to display names in ``language`` (unknown ids
    are shown as they are). Times are shown in the time zone of ``report.since``.
    """

    def t(key: str, **params: object) -> str:
        return texts.text(language, f"report.{key}", **params)

    def severity(s: Severity) -> str:
        return texts.text(language, f"severity_name.{s.value}")

    def category(c: str) -> str:
        return category_names.get(c, c)

    total = report.total
    zone = report.since
    lines = [
        t("title", since=_when(report.since, zone), until=_when(report.until, zone), zone=_zone_name(zone)),
        t("generated", at=_when(report.generated_at, zone)),
        t("total", count=f"{total:,}"),
    ]
    if not total:
        lines += ["", t("no_tickets")]

    def section(title: str, body: list[str]) -> None:
        lines.extend(["", title, *body])

    _action_sections(report, lines, texts, language, category)
    _trend_section(report, lines, texts, language, category)

    counts = t("col_tickets"), t("col_share")
    section(
        t("by_category"),
        _table(
            (t("col_category"), *counts),
            ((category(c), f"{n:,}", _share(n, total)) for c, n in report.by_category.items()),
            (False, True, True),
        )
        if report.by_category
        else [t("none")],
    )
    section(
        t("by_severity"),
        _table(
            (t("col_severity"), *counts),
            ((severity(s), f"{report.by_severity[s]:,}", _share(report.by_severity[s], total)) for s in SEVERITIES),
            (False, True, True),
        ),
    )
    section(
        t("by_state"),
        _table(
            (t("col_state"), *counts),
            (
                (texts.text(language, f"ticket_state.{s.value}"), f"{report.by_state[s]:,}", _share(report.by_state[s], total))
                for s in STATES
            ),
            (False, True, True),
        ),
    )

    sla_rows: list[tuple[str, ...]] = []
    groups: list[tuple[str, Mapping[Promise, SlaCounts]]] = [(severity(s), report.sla[s]) for s in SEVERITIES]
    groups.append((t("all"), {p: report.sla_all(p) for p in PROMISES}))
    for label, by_promise in groups:
        for i, promise in enumerate(PROMISES):
            c = by_promise[promise]
            sla_rows.append(
                (
                    label if i == 0 else "",
                    t(f"promise_{promise.value}"),
                    f"{c.met:,}",
                    f"{c.missed:,}",
                    f"{c.overdue:,}",
                    f"{c.open:,}",
                    _percent(c.met_percent),
                )
            )
    section(
        t("sla"),
        [
            *_table(
                (t("col_severity"), t("col_promise"), t("col_met"), t("col_missed"), t("col_overdue"), t("col_open"), t("col_met_percent")),
                sla_rows,
                (False, False, True, True, True, True, True),
            ),
            t("sla_note"),
        ],
    )

    median_rows = [
        (t("all"), format_duration(report.medians.first_response, texts, language), format_duration(report.medians.resolution, texts, language))
    ]
    for s in SEVERITIES:
        m = report.medians_by_severity[s]
        median_rows.append(
            (severity(s), format_duration(m.first_response, texts, language), format_duration(m.resolution, texts, language))
        )
    section(
        t("medians"),
        _table((t("col_severity"), t("col_first_response"), t("col_resolution")), median_rows, (False, True, True)),
    )

    average = report.rating_average
    rated = report.rating_count
    section(
        t("satisfaction"),
        [
            t("satisfaction_summary", average=f"{average:.2f}", count=f"{rated:,}"),
            *_table(
                (t("col_rating"), t("col_count"), t("col_share")),
                ((str(r), f"{report.ratings[r]:,}", _share(report.ratings[r], rated)) for r in reversed(RATINGS)),
                (True, True, True),
            ),
        ]
        if average is not None
        else [t("satisfaction_none")],
    )

    section(
        t("hot_issues"),
        _table(
            (t("col_category"), t("col_term"), t("col_tickets"), t("col_customers"), t("col_created")),
            (
                (category(h.category), h.term, f"{h.tickets:,}", f"{h.customers:,}", _when(h.created_at, zone))
                for h in report.hot_issues
            ),
            (False, False, True, True, False),
        )
        if report.hot_issues
        else [t("none")],
    )
    section(
        t("top_terms", count=len(report.top_terms)),
        _table(
            ("#", t("col_term"), t("col_tickets")),
            ((str(i), term.term, f"{term.tickets:,}") for i, term in enumerate(report.top_terms, 1)),
            (True, False, True),
        )
        if report.top_terms
        else [t("none")],
    )
    return "\n".join(lines) + "\n"


def hours_text(value: timedelta) -> str:
    """A look-ahead in hours: "4", "1.5"."""
    return f"{value.total_seconds() / 3600:g}"


def _action_sections(
    report: Report, lines: list[str], texts: Catalogue, language: str, category: Callable[[str], str]
) -> None:
    """"Needs action now": open tickets by severity and age, the oldest, the promises of
    open tickets (overdue, due soon, later) and the lists of overdue and due-soon ones."""

    def t(key: str, **params: object) -> str:
        return texts.text(language, f"report.{key}", **params)

    def severity(s: Severity) -> str:
        return texts.text(language, f"severity_name.{s.value}")

    actions = report.actions
    now = report.generated_at
    zone = report.since
    hours = hours_text(actions.due_within)
    lines += [
        "",
        t(
            "now",
            at=_when(now, zone),
            open=f"{actions.open_count():,}",
            overdue=f"{actions.overdue_count:,}",
            due_soon=f"{actions.due_soon_count:,}",
            hours=hours,
        ),
    ]

    def section(title: str, body: list[str]) -> None:
        lines.extend(["", title, *body])

    age_rows = [
        (severity(s), *(f"{actions.open_by_age[s][b]:,}" for b in AgeBucket), f"{actions.open_count(s):,}")
        for s in SEVERITIES
    ]
    age_rows.append((t("all"), *(f"{actions.open_in(b):,}" for b in AgeBucket), f"{actions.open_count():,}"))
    section(
        t("open_by_age"),
        _table(
            (t("col_severity"), *(t(f"age_{b.value}") for b in AgeBucket), t("col_total")),
            age_rows,
            (False, *(True for _ in AgeBucket), True),
        ),
    )
    section(
        t("oldest", count=len(actions.oldest)),
        _table(
            (t("col_ticket"), t("col_severity"), t("col_category"), t("col_state"), t("col_submitted"), t("col_age"), t("col_owner")),
            (
                (
                    o.number,
                    severity(o.severity),
                    category(o.category),
                    texts.text(language, f"ticket_state.{o.state.value}"),
                    _when(o.created_at, zone),
                    format_duration(now - o.created_at, texts, language),
                    o.owner or "-",
                )
                for o in actions.oldest
            ),
            (False, False, False, False, False, True, False),
        )
        if actions.oldest
        else [t("none")],
    )

    pending_rows: list[tuple[str, ...]] = []
    groups: list[tuple[str, Mapping[Promise, PendingCounts]]] = [(severity(s), actions.pending[s]) for s in SEVERITIES]
    groups.append((t("all"), {p: actions.pending_all(p) for p in PROMISES}))
    for label, by_promise in groups:
        for i, promise in enumerate(PROMISES):
            c = by_promise[promise]
            pending_rows.append(
                (label if i == 0 else "", t(f"promise_{promise.value}"), f"{c.overdue:,}", f"{c.due_soon:,}", f"{c.later:,}")
            )
    section(
        t("pending"),
        _table(
            (t("col_severity"), t("col_promise"), t("col_overdue"), t("col_due_soon", hours=hours), t("col_later")),
            pending_rows,
            (False, False, True, True, True),
        ),
    )

    def promise_table(items: Sequence[DuePromise], overdue: bool) -> list[str]:
        if not items:
            return [t("none")]
        return _table(
            (
                t("col_ticket"), t("col_severity"), t("col_category"), t("col_promise"), t("col_due"),
                t("col_late_by") if overdue else t("col_due_in"), t("col_owner"),
            ),
            (
                (
                    d.number,
                    severity(d.severity),
                    category(d.category),
                    t(f"promise_{d.promise.value}"),
                    _when(d.due_at, zone),
                    format_duration(now - d.due_at if overdue else d.due_at - now, texts, language),
                    d.owner or "-",
                )
                for d in items
            ),
            (False, False, False, False, False, True, False),
        )

    section(
        t("overdue_list", shown=len(actions.overdue), count=f"{actions.overdue_count:,}"),
        promise_table(actions.overdue, True),
    )
    section(
        t("due_soon_list", hours=hours, shown=len(actions.due_soon), count=f"{actions.due_soon_count:,}"),
        promise_table(actions.due_soon, False),
    )


def trend_label(start: datetime) -> str:
    """A trend bucket by the local date it starts on."""
    return start.strftime("%Y-%m-%d")


def _trend_section(
    report: Report, lines: list[str], texts: Catalogue, language: str, category: Callable[[str], str]
) -> None:
    def t(key: str, **params: object) -> str:
        return texts.text(language, f"report.{key}", **params)

    trend = report.trend
    title = t(f"trend_{trend.unit.value}")
    lines += ["", title]
    if not trend.by_category:
        lines.append(t("none"))
        return
    names = list(trend.by_category)
    totals = trend.totals
    rows = [
        (trend_label(start), f"{totals[i]:,}", *(f"{trend.by_category[c][i]:,}" for c in names))
        for i, start in enumerate(trend.starts)
    ]
    lines += _table(
        (t(f"col_{trend.unit.value}"), t("col_total"), *(category(c) for c in names)),
        rows,
        (False, True, *(True for _ in names)),
    )


# ---------------------------------------------------------------------- CSV
CSV_HEADER = ("section", "key", "metric", "value")


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _seconds(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds():g}"


def csv_rows(report: Report) -> list[tuple[str, str, str, str]]:
    """The rows of :func:`format_csv` (header excluded), all values as text."""
    rows: list[tuple[str, str, str, str]] = [
        ("period", "since", "", _iso(report.since)),
        ("period", "until", "", _iso(report.until)),
        ("period", "generated_at", "", _iso(report.generated_at)),
        ("total", "tickets", "", str(report.total)),
    ]
    rows += [("category", c, "tickets", str(n)) for c, n in report.by_category.items()]
    rows += [("severity", s.value, "tickets", str(report.by_severity[s])) for s in SEVERITIES]
    rows += [("state", s.value, "tickets", str(report.by_state[s])) for s in STATES]
    groups: list[tuple[str, Mapping[Promise, SlaCounts]]] = [(s.value, report.sla[s]) for s in SEVERITIES]
    groups.append(("all", {p: report.sla_all(p) for p in PROMISES}))
    for group, by_promise in groups:
        for promise in PROMISES:
            c = by_promise[promise]
            key = f"{group}/{promise.value}"
            rows += [
                ("sla", key, "met", str(c.met)),
                ("sla", key, "missed", str(c.missed)),
                ("sla", key, "overdue", str(c.overdue)),
                ("sla", key, "open", str(c.open)),
                ("sla", key, "met_percent", _number(c.met_percent, 1)),
            ]
    medians = [("all", report.medians)] + [(s.value, report.medians_by_severity[s]) for s in SEVERITIES]
    for group, m in medians:
        rows += [
            ("median_seconds", group, "first_response", _seconds(m.first_response)),
            ("median_seconds", group, "resolution", _seconds(m.resolution)),
        ]
    rows += [
        ("satisfaction", "average", "", _number(report.rating_average, 2)),
        ("satisfaction", "count", "", str(report.rating_count)),
    ]
    rows += [("rating", str(r), "count", str(report.ratings[r])) for r in RATINGS]
    for h in report.hot_issues:
        key = str(h.id)
        rows += [
            ("hot_issue", key, "category", h.category),
            ("hot_issue", key, "term", h.term),
            ("hot_issue", key, "tickets", str(h.tickets)),
            ("hot_issue", key, "customers", str(h.customers)),
            ("hot_issue", key, "created_at", _iso(h.created_at)),
        ]
    rows += [("term", term.term, "tickets", str(term.tickets)) for term in report.top_terms]
    rows += _action_rows(report)
    trend = report.trend
    rows.append(("trend", "unit", "", trend.unit.value))
    totals = trend.totals
    for i, start in enumerate(trend.starts):
        key = trend_label(start)
        rows.append(("trend", key, "total", str(totals[i])))
        rows += [("trend", key, c, str(counts[i])) for c, counts in trend.by_category.items()]
    return rows


def _action_rows(report: Report) -> list[tuple[str, str, str, str]]:
    actions = report.actions
    now = report.generated_at
    rows: list[tuple[str, str, str, str]] = [
        ("now", "due_within_hours", "", hours_text(actions.due_within)),
        ("open", "all", "tickets", str(actions.open_count())),
    ]
    for s in SEVERITIES:
        rows += [("open", s.value, b.value, str(actions.open_by_age[s][b])) for b in AgeBucket]
    for o in actions.oldest:
        rows += [
            ("oldest", o.number, "severity", o.severity.value),
            ("oldest", o.number, "category", o.category),
            ("oldest", o.number, "state", o.state.value),
            ("oldest", o.number, "created_at", _iso(o.created_at)),
            ("oldest", o.number, "age_seconds", _seconds(now - o.created_at)),
            ("oldest", o.number, "owner", o.owner or ""),
        ]
    groups: list[tuple[str, Mapping[Promise, PendingCounts]]] = [(s.value, actions.pending[s]) for s in SEVERITIES]
    groups.append(("all", {p: actions.pending_all(p) for p in PROMISES}))
    for group, by_promise in groups:
        for promise in PROMISES:
            c = by_promise[promise]
            key = f"{group}/{promise.value}"
            rows += [
                ("pending", key, PendingState.OVERDUE.value, str(c.overdue)),
                ("pending", key, PendingState.DUE_SOON.value, str(c.due_soon)),
                ("pending", key, PendingState.LATER.value, str(c.later)),
            ]
    for section, items in ((PendingState.OVERDUE, actions.overdue), (PendingState.DUE_SOON, actions.due_soon)):
        for d in items:
            key = f"{d.number}/{d.promise.value}"
            rows += [
                (section.value, key, "severity", d.severity.value),
                (section.value, key, "category", d.category),
                (section.value, key, "due_at", _iso(d.due_at)),
                (section.value, key, "owner", d.owner or ""),
            ]
    return rows


def format_csv(report: Report) -> str:
    """The report as one CSV table ``section,key,metric,value`` (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    return buffer.getvalue()
