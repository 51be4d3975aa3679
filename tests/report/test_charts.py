"""The report's charts keep their labels apart: overlapping category labels are found, and turned until
they fit; a lone bar stays a bar."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from report import charts

LONG = [f"Fire station {n} of the northern district" for n in range(10)]


def test_overlapping_labels_are_found() -> None:
    figure = Figure(figsize=(7.0, 2.8), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.bar(range(len(LONG)), [1] * len(LONG))
    ax.set_xticks(range(len(LONG)), LONG)
    assert any("overlaps" in p for p in charts.layout_problems(figure))


def test_long_labels_are_turned_until_none_overlaps() -> None:
    charts.PROBLEMS.clear()
    svg = charts.grouped_bars(LONG, {"a": [1.0] * 10, "b": [2.0] * 10}, {"a": "A", "b": "B"}, "none")
    assert svg.startswith("<svg")
    assert charts.PROBLEMS == []


def test_a_lone_bar_keeps_a_bars_width(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Figure] = []
    fit = charts._fit_labels
    monkeypatch.setattr(charts, "_fit_labels", lambda figure, ax: drawn.append(figure) or fit(figure, ax))
    charts.grouped_bars(["blue → orange"], {"moves": [1.0]}, {"moves": "Moves"}, "none")
    (ax,) = drawn[0].axes
    (bar,) = ax.patches
    low, high = ax.get_xlim()
    assert bar.get_width() / (high - low) < 0.25  # type: ignore[attr-defined]
    assert ax.get_legend() is None and ax.get_ylabel() == "Moves"  # one series: named on its axis
