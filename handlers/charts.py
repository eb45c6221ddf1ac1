"""A picture of the supervisors' report: one PNG, JPEG, SVG or PDF (matplotlib, Agg).

First what needs action now: open tickets by severity and age (with the oldest), and
the promises of open tickets overdue, due soon or later (with the ticket numbers to act
on); then the trend of the period (tickets per day or week by category); then its
history: tickets by category and by severity, promises met per severity, satisfaction.

Chinese labels need a CJK font. The project depends on ``pylopdf-fonts-zh-cn`` (Noto Sans
SC, SIL Open Font License), so they work on a fresh machine; a CJK font installed on the
system (:data:`CJK_FONTS`) is used when that package is missing. Without any, the chart
is drawn with English labels so that it is always readable (never boxes instead of
characters), and :func:`render_chart` says which language it drew.
matplotlib is imported only when a chart is drawn (the bot does not pay for it otherwise)
and draws on an Agg canvas of its own, without pyplot's global state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from flows.domain import Severity
from flows.report import PROMISES, RATINGS, Actions, AgeBucket, DuePromise, Report, format_duration, hours_text, trend_label
from flows.texts import Catalogue

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CJK_FONTS", "FORMATS", "PACKAGED_FONT", "Chart", "ChartFormatError", "chart_format", "cjk_font", "draw_chart",
    "packaged_font", "render_chart",
]  # fmt: skip

FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".svg": "svg", ".pdf": "pdf"}
"""The picture formats a chart is written in, by the file's suffix (matplotlib's names)."""


class ChartFormatError(ValueError):
    """A chart file's suffix names no format :data:`FORMATS` knows."""


def chart_format(path: str | Path) -> str:
    """The format a chart file named ``path`` is written in: its suffix decides
    (``report.jpg`` is a JPEG), so that the data is what the name says. Raises
    :class:`ChartFormatError` for a suffix that names no known format, or none."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        what = f"the suffix {Path(path).suffix!r}" if suffix else "no suffix"
        raise ChartFormatError(f"{path}: {what} names no picture format; end the name with one of {known}")
    return FORMATS[suffix]

PACKAGED_FONT = "pylopdf_fonts_zh_cn"
"""The module of the font package the project depends on (Noto Sans SC, OFL-1.1)."""

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Source Han Sans",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Serif CJK SC",
)
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_SEVERITY_COLOURS = {
    Severity.GENERAL: "#8fb3d9",
    Severity.IMPORTANT: "#f2c14e",
    Severity.HOT: "#f08a4b",
    Severity.MAJOR: "#d1495b",
}
_PROMISE_COLOURS = ("#4c78a8", "#72b7b2", "#54a24b")
_AGE_COLOURS = {
    AgeBucket.UNDER_1_DAY: "#c6dbef",
    AgeBucket.DAYS_1_TO_3: "#6baed6",
    AgeBucket.DAYS_3_TO_7: "#2171b5",
    AgeBucket.OVER_7_DAYS: "#08306b",
}
_PENDING_COLOURS = ("#d1495b", "#f2c14e", "#c9c9c9")  # overdue, due soon, later
_CATEGORY_COLOURS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#bab0ac")
_TICKETS_NAMED = 3  # ticket numbers written under each bar of the promise panel, per list


@cache
def cjk_font() -> str | None:
    """The font family for Chinese labels: the packaged Noto Sans SC, else the first
    installed font of :data:`CJK_FONTS`, else None."""
    from matplotlib import font_manager

    packaged = packaged_font()
    if packaged is not None:
        return packaged
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def packaged_font() -> str | None:
    """Register the font of the ``pylopdf-fonts-zh-cn`` package with matplotlib and
    return its family name (None if the package or its file is missing)."""
    import importlib

    from matplotlib import font_manager

    try:
        path = Path(importlib.import_module(PACKAGED_FONT).sans_path())
    except (ImportError, AttributeError):
        return None
    if not path.is_file():
        return None
    font_manager.fontManager.addfont(str(path))
    name: str = font_manager.FontProperties(fname=str(path)).get_name()
    return name


@dataclass(frozen=True)
class Chart:
    """A drawn report chart: the matplotlib figure and the language of its labels."""

    figure: Figure
    language: str
    font: str | None

    def save(self, path_or_buffer: str | Path | IO[bytes], format: str = "png") -> None:  # noqa: A002 - matplotlib's name
        """Write the chart into a file path or a binary buffer, as ``format`` (one of
        :data:`FORMATS`' values; :func:`chart_format` reads it from a file name)."""
        with _style(self.font):
            self.figure.savefig(path_or_buffer, format=format)


@contextmanager
def _style(font: str | None) -> Iterator[None]:
    import matplotlib

    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False, "font.size": 10}):
        yield


def render_chart(
    report: Report,
    path_or_buffer: str | Path | IO[bytes],
    *,
    language: str,
    category_names: Mapping[str, str],
    texts: Catalogue,
    fallback_category_names: Mapping[str, str] | None = None,
    format: str = "png",  # noqa: A002 - matplotlib's name
) -> str:
    """Draw ``report`` into a file path or a binary buffer (:func:`draw_chart`), as
    ``format`` (PNG unless told; :func:`chart_format` reads it from a file name).

    Returns the language the labels were drawn in: English when ``language`` needs a
    CJK font and none is available.
    """
    chart = draw_chart(
        report, language=language, category_names=category_names, texts=texts,
        fallback_category_names=fallback_category_names,
    )
    chart.save(path_or_buffer, format)
    return chart.language


def draw_chart(
    report: Report,
    *,
    language: str,
    category_names: Mapping[str, str],
    texts: Catalogue,
    fallback_category_names: Mapping[str, str] | None = None,
) -> Chart:
    """The report's chart, not yet written.

    ``category_names`` maps category ids to names in ``language``. When ``language``
    needs a CJK font that is not available, labels fall back to English and category
    names to ``fallback_category_names`` (English names), or to the ids.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    font = cjk_font()
    names = dict(category_names)
    if font is None and (language != "en" or any(_CJK.search(n) for n in names.values())):
        language = "en"
        fallback = fallback_category_names or {}

        def readable(category: str) -> str:
            name = fallback.get(category) or names.get(category) or category
            return category.replace("_", " ") if _CJK.search(name) else name

        names = {c: readable(c) for c in {*names, *report.by_category, *report.trend.by_category, *_action_categories(report)}}

    def t(key: str, **params: object) -> str:
        return texts.text(language, f"report.{key}", **params)

    def severity(s: Severity) -> str:
        return texts.text(language, f"severity_name.{s.value}")

    with _style(font):
        figure = Figure(figsize=(13, 17), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        zone = report.since.tzinfo
        figure.suptitle(
            t(
                "chart_title",
                since=report.since.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                until=report.until.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                count=f"{report.total:,}",
            ),
            fontsize=14,
        )
        axes = figure.subplot_mosaic(
            [["open", "pending"], ["trend", "trend"], ["category", "severity"], ["sla", "satisfaction"]]
        )
        for axis in (
            axes["open"].yaxis, axes["pending"].yaxis, axes["trend"].yaxis,
            axes["severity"].yaxis, axes["satisfaction"].yaxis, axes["category"].xaxis,
        ):  # counts
            axis.set_major_locator(MaxNLocator(integer=True))
            axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        _open_by_age(axes["open"], report, severity, t, texts, language)
        _pending(axes["pending"], report, severity, t)
        _trend(axes["trend"], report, names, t)
        _bars_by_category(axes["category"], report, names, t)
        _bars_by_severity(axes["severity"], report, severity, t)
        _sla(axes["sla"], report, severity, t)
        _satisfaction(axes["satisfaction"], report, t)
    return Chart(figure, language, font)


def _action_categories(report: Report) -> set[str]:
    actions = report.actions
    return {o.category for o in actions.oldest} | {d.category for d in (*actions.overdue, *actions.due_soon)}


def _no_data(ax: Any, t: Any, message: str | None = None) -> None:
    ax.text(0.5, 0.5, message or t("chart_no_data"), ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _bars_by_category(ax: Any, report: Report, names: Mapping[str, str], t: Any) -> None:
    ax.set_title(t("chart_by_category"))
    if not report.by_category:
        _no_data(ax, t)
        return
    items = list(report.by_category.items())[::-1]  # most at the top
    bars = ax.barh([names.get(c, c) for c, _ in items], [n for _, n in items], color="#4c78a8")
    ax.bar_label(bars, labels=[f"{n:,}" for _, n in items], padding=2, fontsize=8)
    ax.set_xlabel(t("col_tickets"))
    ax.margins(x=0.15)


def _bars_by_severity(ax: Any, report: Report, severity: Any, t: Any) -> None:
    ax.set_title(t("chart_by_severity"))
    if not sum(report.by_severity.values()):
        _no_data(ax, t)
        return
    grades = list(Severity)
    counts = [report.by_severity[s] for s in grades]
    bars = ax.bar([severity(s) for s in grades], counts, color=[_SEVERITY_COLOURS[s] for s in grades])
    ax.bar_label(bars, labels=[f"{n:,}" for n in counts], padding=2, fontsize=8)
    ax.set_ylabel(t("col_tickets"))
    ax.margins(y=0.15)


def _sla(ax: Any, report: Report, severity: Any, t: Any) -> None:
    ax.set_title(t("chart_sla"))
    if not any(report.sla_all(p).decided for p in PROMISES):
        still_open = sum(report.sla_all(p).open for p in PROMISES)
        if still_open:  # the period's promises are all still running: say so, not "no data"
            _no_data(ax, t, t("chart_sla_undecided", open=f"{still_open:,}"))
        else:
            _no_data(ax, t)
        return
    grades = list(Severity)
    width = 0.8 / len(PROMISES)
    for i, promise in enumerate(PROMISES):
        values = [report.sla[s][promise].met_percent for s in grades]
        positions = [g + (i - (len(PROMISES) - 1) / 2) * width for g in range(len(grades))]
        bars = ax.bar(
            positions,
            [v or 0 for v in values],
            width,
            label=t(f"promise_{promise.value}"),
            color=_PROMISE_COLOURS[i % len(_PROMISE_COLOURS)],
        )
        ax.bar_label(bars, labels=["-" if v is None else f"{v:.0f}" for v in values], padding=2, fontsize=7)
    ax.set_xticks(range(len(grades)), [severity(s) for s in grades])
    ax.set_ylim(0, 115)
    ax.set_ylabel(t("col_met_percent"))
    ax.legend(loc="upper right", fontsize=8, ncols=len(PROMISES), frameon=False)


def _satisfaction(ax: Any, report: Report, t: Any) -> None:
    ax.set_title(t("chart_satisfaction"))
    if not report.rating_count:
        _no_data(ax, t)
        return
    counts = [report.ratings[r] for r in RATINGS]
    colours = ["#d1495b", "#f08a4b", "#f2c14e", "#9bc53d", "#54a24b"]
    bars = ax.bar([str(r) for r in RATINGS], counts, color=colours)
    ax.bar_label(bars, labels=[f"{n:,}" for n in counts], padding=2, fontsize=8)
    ax.set_xlabel(t("col_rating"))
    ax.set_ylabel(t("col_count"))
    ax.margins(y=0.15)
    average = report.rating_average
    if average is not None:
        ax.text(
            0.02,
            0.95,
            t("satisfaction_summary", average=f"{average:.2f}", count=f"{report.rating_count:,}"),
            transform=ax.transAxes,
            va="top",
            fontsize=9,
        )


def _open_by_age(ax: Any, report: Report, severity: Any, t: Any, texts: Catalogue, language: str) -> None:
    """Open tickets now: a stacked bar per severity, one segment per age bucket."""
    ax.set_title(t("chart_open_by_age"))
    actions = report.actions
    if not actions.open_count():
        _no_data(ax, t)
        return
    grades = list(Severity)
    labels = [severity(s) for s in grades]
    bottom = [0] * len(grades)
    for bucket in AgeBucket:
        counts = [actions.open_by_age[s][bucket] for s in grades]
        ax.bar(labels, counts, bottom=bottom, color=_AGE_COLOURS[bucket], label=t(f"age_{bucket.value}"))
        bottom = [b + n for b, n in zip(bottom, counts, strict=True)]
    for x, total in enumerate(bottom):  # the total above each stack
        if total:
            ax.annotate(f"{total:,}", (x, total), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    ax.set_ylabel(t("col_tickets"))
    ax.set_ylim(0, _headroom(max(bottom)))
    ax.legend(loc="upper right", fontsize=8, ncols=2, frameon=False)
    if actions.oldest:
        first = actions.oldest[0]
        age = format_duration(report.generated_at - first.created_at, texts, language)
        ax.text(0.01, 0.97, t("chart_oldest", ticket=first.number, age=age), transform=ax.transAxes, va="top", fontsize=9)


def _headroom(highest: int) -> float:
    """The top of a stacked panel: room above the bars for the legend and the notes."""
    return highest * 1.5 + 1


def _ticket_list(items: Sequence[DuePromise], count: int, t: Any) -> str:
    """The ticket numbers of the listed promises (each once, one a line), and how many
    more promises."""
    numbers: list[str] = []
    covered = 0
    for item in items:
        if item.number not in numbers:
            if len(numbers) == _TICKETS_NAMED:
                break
            numbers.append(item.number)
        covered += 1
    if count > covered:
        numbers.append(t("chart_more", count=f"{count - covered:,}"))
    return "\n".join(numbers)


def _bar_label(name: str, grade: Severity, actions: Actions, hours: str, t: Any) -> str:
    """The label under one severity's bar: its name, then the numbers of its own tickets
    whose promises are overdue or due soon (the lists are per severity, so a number
    stands under the bar it is counted in)."""
    counts = actions.pending_for(grade)
    lines = [name]
    for key, items, count in (
        ("chart_overdue_tickets", actions.overdue, counts.overdue),
        ("chart_due_soon_tickets", actions.due_soon, counts.due_soon),
    ):
        if count:
            own = [item for item in items if item.severity is grade]
            lines.append(t(key, hours=hours, tickets=_ticket_list(own, count, t)))
    return "\n".join(lines)


def _pending(ax: Any, report: Report, severity: Any, t: Any) -> None:
    """The promises of open tickets now, per severity: overdue, due soon, later; and the
    ticket numbers of the overdue and due-soon ones."""
    ax.set_title(t("chart_pending"))
    actions = report.actions
    grades = list(Severity)
    per_grade = [actions.pending_for(s) for s in grades]
    if not any(c.total for c in per_grade):
        _no_data(ax, t)
        return
    hours = hours_text(actions.due_within)
    labels = [severity(s) for s in grades]
    parts = (
        ([c.overdue for c in per_grade], t("col_overdue")),
        ([c.due_soon for c in per_grade], t("col_due_soon", hours=hours)),
        ([c.later for c in per_grade], t("col_later")),
    )
    bottom = [0] * len(grades)
    readable = max(c.total for c in per_grade) * 0.06  # a smaller segment is too thin for its number
    for (counts, label), colour in zip(parts, _PENDING_COLOURS, strict=True):
        bars = ax.bar(labels, counts, bottom=bottom, color=colour, label=label)
        ax.bar_label(bars, labels=[f"{n:,}" if n and n >= readable else "" for n in counts], label_type="center", fontsize=8)
        bottom = [b + n for b, n in zip(bottom, counts, strict=True)]
    for x, total in enumerate(bottom):
        if total:
            ax.annotate(f"{total:,}", (x, total), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    ax.set_ylabel(t("col_promise"))
    ax.set_ylim(0, _headroom(max(bottom)))
    ax.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    # under each bar, the numbers of that severity's tickets to act on
    ax.set_xticks(range(len(grades)), [_bar_label(label, s, actions, hours, t) for label, s in zip(labels, grades, strict=True)])
    for tick in ax.get_xticklabels():
        tick.set_fontsize(8)


def _trend(ax: Any, report: Report, names: Mapping[str, str], t: Any) -> None:
    """Tickets per day (or week) of the period, stacked by category."""
    trend = report.trend
    ax.set_title(t(f"chart_trend_{trend.unit.value}"))
    if not trend.by_category:
        _no_data(ax, t)
        return
    positions = list(range(len(trend.starts)))
    bottom = [0] * len(positions)
    for i, (category, counts) in enumerate(trend.by_category.items()):
        ax.bar(
            positions, counts, bottom=bottom, width=0.8, label=names.get(category, category),
            color=_CATEGORY_COLOURS[i % len(_CATEGORY_COLOURS)],
        )
        bottom = [b + n for b, n in zip(bottom, counts, strict=True)]
    step = max(1, len(positions) // 16)  # at most about 16 dates under the axis
    ax.set_xticks(positions[::step], [trend_label(s)[5:] if len(positions) <= 62 else trend_label(s) for s in trend.starts[::step]])
    ax.set_ylabel(t("col_tickets"))
    ax.margins(y=0.2)
    ax.legend(loc="upper left", fontsize=8, ncols=min(4, len(trend.by_category)), frameon=False)
