"""The report's charts: matplotlib figures (no pyplot; the style's rc context is global, so one chart is
drawn at a time) as SVG text that both the HTML page and the PDF embed. Glyphs are drawn as paths, so a viewer without a
Chinese font still reads the labels; drawing them needs one on this machine (fonts-wqy-microhei)."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import Bbox

TIER_COLOURS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c229", "blue": "#1f77b4", "unscored": "#9e9e9e"}
SERIES = ("#1f5fa8", "#4caf50", "#8e8e8e", "#d62728")
MIN_SLOTS = 4
"""A bar chart is laid out for at least this many groups, so a lone group keeps a bar's width."""
EMPTY_HEIGHT = 0.5
"""Inches: the height of a chart with nothing to draw."""


_DRAWING = threading.Lock()
ROTATIONS = (0, 30, 45, 90)
"""The angles tried, in turn, for a chart's category labels until none overlaps another."""
PROBLEMS: list[str] = []
"""Labels that still overlap or leave the figure after every rotation was tried, one line each: logged,
and read by the tests (none is the expectation)."""
log = logging.getLogger(__name__)


def _svg(draw: Callable[[Axes], None], height: float = 2.8) -> str:
    with (
        _DRAWING,
        mpl.rc_context(
            {
                "font.family": "sans-serif",
                "font.sans-serif": ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "DejaVu Sans"],
                "svg.fonttype": "path",
                "svg.hashsalt": "firewarden",  # the same figures give the same bytes
                "axes.spines.top": False,
                "axes.spines.right": False,
                "font.size": 9,
            }
        ),
    ):
        figure = Figure(figsize=(7.0, height), layout="constrained")
        ax = figure.add_subplot()
        draw(ax)
        for problem in _fit_labels(figure, ax):
            log.warning("report chart: %s", problem)
            PROBLEMS.append(problem)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]


def _overlaps(boxes: Sequence[Bbox]) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def _shown(locs: Sequence[float], labels: Sequence[Text], limits: tuple[float, float]) -> list[Text]:
    """The tick labels drawn: those with text whose tick lies within the axis's view."""
    low, high = min(limits), max(limits)
    return [t for loc, t in zip(locs, labels, strict=False) if t.get_text() and low <= loc <= high]


def layout_problems(figure: Figure) -> list[str]:
    """Text of the figure that overlaps other text of the same axis or of the legend, or leaves the figure."""
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    inside = figure.bbox.padded(1.0)
    problems = []
    for ax in figure.axes:
        groups = [_shown(list(ax.xaxis.get_majorticklocs()), ax.get_xticklabels(), ax.get_xlim()),
                  _shown(list(ax.yaxis.get_majorticklocs()), ax.get_yticklabels(), ax.get_ylim())]  # fmt: skip
        legend = ax.get_legend()
        if legend is not None:
            groups.append([t for t in legend.get_texts() if t.get_text()])
        for texts in groups:
            boxes = [t.get_window_extent(renderer) for t in texts]
            problems += [f"{texts[i].get_text()!r} overlaps {texts[j].get_text()!r}" for i, j in _overlaps(boxes)]
            problems += [f"{t.get_text()!r} leaves the figure" for t, b in zip(texts, boxes, strict=True)
                         if not (inside.contains(b.x0, b.y0) and inside.contains(b.x1, b.y1))]  # fmt: skip
    return problems


def _fit_labels(figure: Figure, ax: Axes) -> list[str]:
    """Turn the category labels under the bars until none overlaps another (:data:`ROTATIONS`); what
    still does not fit, after the last."""
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    problems = layout_problems(figure)
    for angle in ROTATIONS:
        if not problems or not labels:
            break
        for t in labels:
            t.set_rotation(angle)
            t.set_horizontalalignment("right" if 0 < angle < 90 else "center")
            t.set_rotation_mode("anchor" if 0 < angle < 90 else "default")
        problems = layout_problems(figure)
    return problems


def _empty(ax: Axes, message: str) -> None:
    """A chart with nothing to draw: one line saying so, as tall as the line (not a chart's height)."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_axis_off()
    figure = ax.get_figure(root=True)
    assert isinstance(figure, Figure)
    figure.set_size_inches(7.0, EMPTY_HEIGHT)


def _groups(ax: Axes, count: int, series: Mapping[str, Sequence[float | None]], names: dict[str, str]) -> None:
    """Vertical bars: one group per position 0..count-1, one bar per series (a missing value as 0)."""
    width = 0.8 / len(series)
    for n, (key, ys) in enumerate(series.items()):
        xs = [i + (n - (len(series) - 1) / 2) * width for i in range(count)]
        ax.bar(xs, [y or 0 for y in ys], width=width, color=SERIES[n % len(SERIES)], label=names[key])


def stacked_bars(
    labels: Sequence[str],
    stacks: dict[str, Sequence[float]],
    colours: dict[str, str],
    names: dict[str, str],
    empty: str,
) -> str:
    """Horizontal bars, one per label, each a stack of ``stacks`` (series → one value per label)."""

    def draw(ax: Axes) -> None:
        if not labels or not any(sum(v) for v in stacks.values()):
            _empty(ax, empty)
            return
        left = [0.0] * len(labels)
        for key, values in stacks.items():
            ax.barh(list(labels), list(values), left=left, color=colours[key], label=names[key])
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)

    return _svg(draw, height=max(1.8, 0.32 * len(labels) + 1.0))


def grouped_bars(
    labels: Sequence[str], series: dict[str, Sequence[float | None]], names: dict[str, str], empty: str,
    integer: bool = True,
) -> str:  # fmt: skip
    """Vertical bars, one group per label, one bar per series."""

    def draw(ax: Axes) -> None:
        values = [v for s in series.values() for v in s if v]
        if not labels or not values:
            _empty(ax, empty)
            return
        _groups(ax, len(labels), series, names)
        ax.set_xticks(range(len(labels)), list(labels))
        ax.set_xlim(-0.6, max(len(labels), MIN_SLOTS) - 0.4)  # a lone bar is a bar, not the page's width
        if integer:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if len(series) > 1:
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:  # one series: its name is the axis's
            ax.set_ylabel(next(iter(names[k] for k in series)), fontsize=8)

    return _svg(draw)


def monthly(
    months: Sequence[str], bars: dict[str, Sequence[float]], share: Sequence[float | None], names: dict[str, str],
    share_name: str, empty: str,
) -> str:  # fmt: skip
    """Counts per month as bars, and a share (0..1) as a line on its own axis."""

    def draw(ax: Axes) -> None:
        if not months or not any(sum(v) for v in bars.values()):
            _empty(ax, empty)
            return
        _groups(ax, len(months), bars, names)
        ax.set_xticks(range(len(months)), list(months))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        right = ax.twinx()
        points = [(i, s) for i, s in enumerate(share) if s is not None]
        if points:
            right.plot([p[0] for p in points], [p[1] for p in points], color=SERIES[3], marker="o", label=share_name)
        right.set_ylim(0, 1)
        right.yaxis.set_major_formatter(PercentFormatter(1.0))
        right.spines["right"].set_visible(True)
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left")

    return _svg(draw)
