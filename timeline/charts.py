"""Server-side SVG bar charts: geometry only, drawn by templates/timeline/_bar_chart.html.

No JavaScript and no external library: the SVG is part of the page, carries a <title> and
<desc>, and the same numbers are given as a table for screen readers and text browsers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH = 720
HEIGHT = 220
LEFT = 36  # room for the y-axis labels
BOTTOM = 28  # room for the x-axis labels
TOP = 10
MAX_MONTHS = 48  # beyond this many months, bars are years


@dataclass(frozen=True)
class Bar:
    label: str
    long_label: str
    x: float
    width: float
    ai: int
    other: int
    ai_y: float
    ai_height: float
    other_y: float
    other_height: float
    show_label: bool

    @property
    def total(self) -> int:
        return self.ai + self.other


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    plot_left: int
    plot_bottom: float
    period: str  # "month" or "year"
    total_ai: int
    total_other: int


def _months_between(first: date, last: date) -> list[date]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def change_chart(monthly: list[tuple[date, int, int]]) -> BarChart | None:
    """Stacked bars (AI-relevant below, other changes above) per month, or per year when
    the history is long; months without changes are shown as empty bars."""
    if not monthly:
        return None
    counts = {m: (ai, other) for m, ai, other in monthly}
    months = _months_between(monthly[0][0], monthly[-1][0])
    period = "month"
    periods: list[tuple[str, str, int, int]] = []
    if len(months) > MAX_MONTHS:
        period = "year"
        for year in range(months[0].year, months[-1].year + 1):
            ai = sum(counts.get(date(year, m, 1), (0, 0))[0] for m in range(1, 13))
            other = sum(counts.get(date(year, m, 1), (0, 0))[1] for m in range(1, 13))
            periods.append((str(year), str(year), ai, other))
    else:
        for m in months:
            ai, other = counts.get(m, (0, 0))
            periods.append((m.strftime("%b %y"), m.strftime("%B %Y"), ai, other))

    top = _nice_max(max(ai + other for _, _, ai, other in periods) or 1)
    plot_width = WIDTH - LEFT - 8
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    slot = plot_width / len(periods)
    bar_width = max(2.0, slot * 0.7)
    label_every = max(1, round(len(periods) / 12))
    bars = []
    for i, (label, long_label, ai, other) in enumerate(periods):
        ai_h = plot_height * ai / top
        other_h = plot_height * other / top
        bars.append(
            Bar(
                label=label,
                long_label=long_label,
                x=round(LEFT + i * slot + (slot - bar_width) / 2, 2),
                width=round(bar_width, 2),
                ai=ai,
                other=other,
                ai_y=round(bottom - ai_h, 2),
                ai_height=round(ai_h, 2),
                other_y=round(bottom - ai_h - other_h, 2),
                other_height=round(other_h, 2),
                show_label=i % label_every == 0,
            )
        )
    ticks = [Tick(value=top * k // 4, y=round(bottom - plot_height * k / 4, 2)) for k in range(5)]
    return BarChart(
        bars=bars,
        ticks=ticks,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_bottom=bottom,
        period=period,
        total_ai=sum(b.ai for b in bars),
        total_other=sum(b.other for b in bars),
    )
