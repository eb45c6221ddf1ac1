"""A picture of the supervisors' report: one PNG with four panels (matplotlib, Agg).

Tickets by category, tickets by severity, promises met per severity, and the
satisfaction ratings. Chinese labels need a CJK font; without one the chart is drawn
with English labels so that it is always readable (never boxes instead of characters).
matplotlib is imported only when a chart is drawn (the bot does not pay for it otherwise)
and draws on an Agg canvas of its own, without pyplot's global state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import IO, Any

from flows.domain import Severity
from flows.report import PROMISES, RATINGS, Report
from flows.texts import Catalogue

__all__ = ["CJK_FONTS", "cjk_font", "render_chart"]

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


@cache
def cjk_font() -> str | None:
    """The first installed font of :data:`CJK_FONTS`, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def render_chart(
    report: Report,
    path_or_buffer: str | Path | IO[bytes],
    *,
    language: str,
    category_names: Mapping[str, str],
    texts: Catalogue,
    fallback_category_names: Mapping[str, str] | None = None,
) -> str:
    """Draw ``report`` as a PNG into a file path or a binary buffer.

    ``category_names`` maps category ids to names in ``language``. When ``language``
    needs a CJK font that is not installed, labels fall back to English and category
    names to ``fallback_category_names`` (English names), or to the ids.
    Returns the language the labels were drawn in.
    """
    import matplotlib
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

        names = {c: readable(c) for c in {*names, *report.by_category}}

    def t(key: str, **params: object) -> str:
        return texts.text(language, f"report.{key}", **params)

    def severity(s: Severity) -> str:
        return texts.text(language, f"severity_name.{s.value}")

    families = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False, "font.size": 10}):
        figure = Figure(figsize=(13, 9), dpi=100, layout="constrained")
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
        (by_category, by_severity), (sla, satisfaction) = figure.subplots(2, 2)

        for axis in (by_severity.yaxis, satisfaction.yaxis, by_category.xaxis):  # counts
            axis.set_major_locator(MaxNLocator(integer=True))
            axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        _bars_by_category(by_category, report, names, t)
        _bars_by_severity(by_severity, report, severity, t)
        _sla(sla, report, severity, t)
        _satisfaction(satisfaction, report, t)

        figure.savefig(path_or_buffer, format="png")
    return language


def _no_data(ax: Any, t: Any) -> None:
    ax.text(0.5, 0.5, t("chart_no_data"), ha="center", va="center", transform=ax.transAxes, color="grey")
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
    if not report.total:
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
