from __future__ import annotations

from datetime import date

from timeline.charts import change_chart


def test_it_draws_one_bar_per_month_including_empty_months():
    chart = change_chart([(date(2024, 1, 1), 1, 2), (date(2024, 4, 1), 0, 5)])
    assert [b.label for b in chart.bars] == ["Jan 24", "Feb 24", "Mar 24", "Apr 24"]
    assert [b.total for b in chart.bars] == [3, 0, 0, 5]
    assert chart.total_ai == 1 and chart.total_other == 7
    assert chart.ticks[-1].value >= 5


def test_it_switches_to_years_for_long_histories():
    chart = change_chart([(date(2015, 3, 1), 1, 0), (date(2024, 6, 1), 2, 3)])
    assert chart.period == "year"
    assert chart.bars[0].label == "2015" and chart.bars[-1].label == "2024"
    assert sum(b.total for b in chart.bars) == 6


def test_it_keeps_bars_inside_the_plot():
    chart = change_chart([(date(2024, 1, 1), 7, 13)])
    bar = chart.bars[0]
    assert bar.other_y >= 0
    assert bar.ai_y + bar.ai_height <= chart.plot_bottom + 0.01


def test_it_has_no_chart_without_data():
    assert change_chart([]) is None
