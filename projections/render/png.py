"""A PNG of MRR, ARR, the MRR movements and the last period's bridge, for slides and
e-mail (needs matplotlib).

Matplotlib is an optional dependency (`pip install 'arr-ledger[charts]'`); the HTML report
needs nothing. Every axis's limits are computed from the figures it plots, with a margin,
so that no bar or line is cut off.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from ledger.domain.errors import LedgerError
from projections.render.chart import (
    BRIDGE_NAMES,
    INFLOWS,
    OUTFLOWS,
    bridge_label,
    bridge_levels,
    bridge_steps,
    bridge_ticks,
    headline,
)
from projections.render.svg import COLORS, Row, compact, period_label, value
from projections.render.text import label

ZERO = Decimal(0)
MARGIN = Decimal("0.08")
"""The room left above the highest figure and below the lowest: 8% of their span."""


def pyplot() -> Any:
    """Matplotlib's pyplot on the file-only backend, or a message saying how to get it."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise LedgerError(
            "a PNG chart needs matplotlib: pip install 'arr-ledger[charts]' "
            "(or write -o report.html, which needs nothing)"
        ) from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def amounts(rows: Sequence[Row], key: str, sign: int = 1) -> list[float]:
    """Plot heights: floats for pixels only, from the already rounded figures."""
    return [float(sign * (value(r, key) or ZERO)) for r in rows]


def limits(figures: Iterable[Decimal], floor: Decimal = ZERO) -> tuple[float, float]:
    """The y limits of an axis: `floor` (zero) and every figure inside, with a margin beyond
    the highest and below the lowest (none below the floor, so bars stand on the axis)."""
    values = [floor, *figures]
    low, high = min(values), max(values)
    pad = (high - low) * MARGIN or Decimal(1)
    return float(low - pad if low < 0 else low), float(high + pad)


def amount_format(low: float, high: float) -> Any:
    """Tick labels in whole units with thousands separators, or in cents on an axis
    spanning less than 10 (a ledger with nothing in it yet: 0.00 to 1.00)."""
    places = 0 if high - low >= 10 else 2
    return lambda amount, _: f"{amount:,.{places}f}"


def marker(rows: Sequence[Row]) -> dict[str, Any]:
    """A dot per period while they can be told apart; a daily year is a line."""
    return {"marker": "o", "markersize": 3} if len(rows) <= 60 else {}


def movement_extremes(rows: Sequence[Row]) -> list[Decimal]:
    """What the movements axis shows: each period's stacked inflows (up), outflows (down)
    and its net new."""
    found = []
    for row in rows:
        found.append(sum((value(row, k) or ZERO for k in INFLOWS), ZERO))
        found.append(-sum((value(row, k) or ZERO for k in OUTFLOWS), ZERO))
        found.append(value(row, "net_new") or ZERO)
    return found


def draw_line(axes: Any, rows: Sequence[Row], places: list[int], key: str, title: str) -> None:
    heights = amounts(rows, key)
    axes.plot(places, heights, color=COLORS[key], linewidth=2, **marker(rows))
    axes.fill_between(places, heights, color=COLORS[key], alpha=0.12)
    axes.set_ylim(*limits(value(r, key) or ZERO for r in rows))
    axes.set_title(title, loc="left")
    axes.set_ylabel(f"{label(key)} ({rows[0]['currency']})")


def draw_movements(axes: Any, rows: Sequence[Row], places: list[int]) -> None:
    for keys, sign in ((INFLOWS, 1), (OUTFLOWS, -1)):
        level = [0.0] * len(rows)
        for key in keys:
            heights = amounts(rows, key, sign)
            axes.bar(places, heights, bottom=level, color=COLORS[key], label=label(key))
            level = [a + b for a, b in zip(level, heights, strict=True)]
    net = amounts(rows, "net_new")
    axes.plot(places, net, color=COLORS["net_new"], label="net new", **marker(rows))
    axes.axhline(0, color="#8a96a3", linewidth=0.8)
    axes.set_ylim(*limits(movement_extremes(rows)))
    axes.set_title("MRR movements", loc="left")
    axes.set_ylabel(f"MRR ({rows[0]['currency']})")
    axes.legend(ncol=3, fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), frameon=False)


def draw_bridge(axes: Any, row: Row) -> None:
    """The last period's waterfall: each bar a printed figure, adding up to the end MRR."""
    steps = bridge_steps(row)
    base = bridge_ticks(steps)[0]
    spans = bridge_levels(steps, base)
    places = list(range(len(steps)))
    axes.bar(
        places,
        [float(high - low) for low, high in spans],
        bottom=[float(low) for low, _ in spans],
        color=[COLORS[key] for key, _ in steps],
        width=0.62,
    )
    for n, (low, high) in enumerate(spans):
        axes.annotate(
            bridge_label(n, steps),
            (n, float(max(low, high))),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
        if n < len(steps) - 1:
            axes.plot([n + 0.31, n + 0.69], [float(high)] * 2, color="#8a96a3", linewidth=0.8)
    axes.set_ylim(*limits((edge for span in spans for edge in span), base))
    axes.set_xlim(-0.6, len(steps) - 0.4)
    axes.set_xticks(places, [BRIDGE_NAMES.get(k, label(k)) for k, _ in steps], rotation=30)
    axes.set_title(f"MRR bridge, ({row['from']}, {row['to']}]", loc="left")
    cut = f", axis from {compact(base)}" if base > 0 else ""
    axes.set_ylabel(f"MRR ({row['currency']}){cut}")


def figure(rows: Sequence[Row], start: date, every: str, knowledge: str) -> Any:
    """The matplotlib figure: titled with the period, how often, the currency and what
    the ledger knew; MRR and ARR over time above, the movements and the bridge below."""
    if not rows:
        raise ValueError("a chart needs at least one series row")
    plt = pyplot()
    drawn = plt.figure(figsize=(14, 9.5))
    grid = drawn.add_gridspec(2, 2, width_ratios=(1.7, 1), height_ratios=(1, 1.1))
    mrr = drawn.add_subplot(grid[0, 0])
    movements = drawn.add_subplot(grid[1, 0], sharex=mrr)
    arr = drawn.add_subplot(grid[0, 1])
    bridge = drawn.add_subplot(grid[1, 1])
    places = list(range(len(rows)))
    draw_line(mrr, rows, places, "mrr", "MRR over time")
    draw_line(arr, rows, places, "arr", "ARR over time")
    draw_movements(movements, rows, places)
    draw_bridge(bridge, rows[-1])
    for axes, most in ((mrr, 12), (arr, 6)):
        axes.set_xlim(-0.6, len(rows) - 0.4)
        stride = max(1, -(-len(rows) // most))
        shown = [i for i in places if (len(rows) - 1 - i) % stride == 0]
        axes.set_xticks(shown, [period_label(rows[i]["as_of"], every) for i in shown])
    for axes in (mrr, movements, arr):
        axes.tick_params(axis="x", labelrotation=30)
    for axes in (mrr, movements, arr, bridge):
        axes.set_axisbelow(True)
        axes.grid(axis="y", color="#e3e7ec")
        axes.yaxis.set_major_formatter(amount_format(*axes.get_ylim()))
    title, meta = headline(rows, start, every, knowledge)
    drawn.suptitle(f"{title}\n{meta}", x=0.01, ha="left", fontsize=13)
    drawn.tight_layout()
    return drawn


def write_png(rows: Sequence[Row], start: date, every: str, knowledge: str, file: BinaryIO) -> None:
    plt = pyplot()
    drawn = figure(rows, start, every, knowledge)
    drawn.savefig(file, dpi=110, format="png")
    plt.close(drawn)
