"""The report's charts: matplotlib figures (no pyplot; the style's rc context is global, so one chart is
drawn at a time) as SVG text that both the HTML page and the PDF embed. Glyphs are drawn as paths, so a viewer without a
Chinese font still reads the labels; drawing them needs one on this machine (fonts-wqy-microhei)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

TIER_COLOURS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c229", "blue": "#1f77b4", "unscored": "#9e9e9e"}
SERIES = ("#1f5fa8", "#4caf50", "#8e8e8e", "#d62728")


_DRAWING = threading.Lock()


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
        draw(figure.add_subplot())
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_axis_off()


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
        ax.set_xticks(
            range(len(labels)),
            list(labels),
            rotation=20 if len(labels) > 5 else 0,
            ha="right" if len(labels) > 5 else "center",
        )
        if integer:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, frameon=False)

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
        ax.set_xticks(range(len(months)), list(months), rotation=30 if len(months) > 6 else 0)
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
