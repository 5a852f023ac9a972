"""A PNG of the ARR and MRR movements charts, for slides and e-mail (needs matplotlib).

Matplotlib is an optional dependency (`pip install 'arr-ledger[charts]'`); the HTML report
needs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, BinaryIO

from ledger.domain.errors import LedgerError
from projections.render.chart import INFLOWS, OUTFLOWS
from projections.render.svg import COLORS, Row, period_label, value
from projections.render.text import label


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
    return [float(sign * (value(r, key) or Decimal(0))) for r in rows]


def draw_arr(axes: Any, rows: Sequence[Row], places: list[int]) -> None:
    arr = amounts(rows, "arr")
    axes.plot(places, arr, color=COLORS["arr"], marker="o", markersize=3, linewidth=2)
    axes.fill_between(places, arr, color=COLORS["arr"], alpha=0.12)
    axes.set_title("ARR over time", loc="left")
    axes.set_ylabel(f"ARR ({rows[0]['currency']})")


def draw_movements(axes: Any, rows: Sequence[Row], places: list[int]) -> None:
    for keys, sign in ((INFLOWS, 1), (OUTFLOWS, -1)):
        level = [0.0] * len(rows)
        for key in keys:
            heights = amounts(rows, key, sign)
            axes.bar(places, heights, bottom=level, color=COLORS[key], label=label(key))
            level = [a + b for a, b in zip(level, heights, strict=True)]
    net = amounts(rows, "net_new")
    axes.plot(places, net, color=COLORS["net_new"], marker="o", markersize=3, label="net new")
    axes.axhline(0, color="#8a96a3", linewidth=0.8)
    axes.set_title("MRR movements", loc="left")
    axes.set_ylabel(f"MRR ({rows[0]['currency']})")
    axes.legend(ncol=6, fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), frameon=False)


def write_png(rows: Sequence[Row], every: str, file: BinaryIO) -> None:
    plt = pyplot()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    places = list(range(len(rows)))
    draw_arr(top, rows, places)
    draw_movements(bottom, rows, places)
    stride = max(1, -(-len(rows) // 12))
    shown = [i for i in places if (len(rows) - 1 - i) % stride == 0]
    bottom.set_xticks(shown, [period_label(rows[i]["as_of"], every) for i in shown], rotation=30)
    for axes in (top, bottom):
        axes.set_axisbelow(True)
        axes.grid(axis="y", color="#e3e7ec")
        axes.yaxis.set_major_formatter(lambda amount, _: f"{amount:,.0f}")
    figure.tight_layout()
    figure.savefig(file, dpi=110, format="png")
    plt.close(figure)
