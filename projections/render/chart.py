"""Charts as inline SVG, drawn from series rows in their JSON form (already rounded).

No library and no script: a chart is plain SVG markup, so the page that holds it opens
offline and renders the same in any browser. Each mark carries a `<title>` (the browser's
own tooltip) with the exact printed figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from projections.render.svg import (
    BOTTOM,
    COLORS,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    Row,
    Scale,
    dot,
    dots,
    frame,
    legend,
    money_tip,
    svg,
    ticks,
    tip,
    value,
    x_axis,
    y_axis,
)
from projections.render.text import label

INFLOWS = ("new", "expansion", "reactivation")
OUTFLOWS = ("contraction", "churn")


def domain(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    return min([Decimal(0), *values]), max([Decimal(0), *values])


def arr_chart(rows: Sequence[Row], every: str) -> str:
    """ARR at each period end: an area under a line, a dot per period."""
    days, currency = [r["as_of"] for r in rows], _currency(rows)
    amounts = [value(r, "arr") or Decimal(0) for r in rows]
    marks = ticks(*domain(amounts))
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    points = [(x(Decimal(i)), y(a)) for i, a in enumerate(amounts)]
    line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    base = y(max(marks[0], Decimal(0)))
    area = f"{points[0][0]:.1f},{base:.1f} {line} {points[-1][0]:.1f},{base:.1f}"
    parts = [
        *y_axis(marks, y, f"ARR ({currency})"),
        *x_axis(days, every),
        f'<polygon class="mark area" points="{area}" fill="{COLORS["arr"]}" fill-opacity="0.12"/>',
        f'<polyline class="mark" points="{line}" fill="none" stroke="{COLORS["arr"]}" '
        'stroke-width="2.5"/>',
        *dots(
            points,
            [
                tip(day, [money_tip("arr", a, currency)])
                for day, a in zip(days, amounts, strict=True)
            ],
            COLORS["arr"],
            dot(band, 3.5),
        ),
    ]
    return svg("arr-chart", "ARR over time", parts)


def stack(
    row: Row, keys: Sequence[str], sign: int, y: Scale, left: float, width: float
) -> list[str]:
    """One period's bars of `keys`, stacked up (sign 1) or down (sign −1) from zero."""
    parts, level, currency = [], Decimal(0), str(row.get("currency", ""))
    for key in keys:
        amount = value(row, key) or Decimal(0)
        if amount == 0:
            continue
        top, bottom = y(level + sign * amount), y(level)
        parts.append(
            f'<rect class="mark" x="{left:.1f}" y="{min(top, bottom):.1f}" width="{width:.1f}" '
            f'height="{abs(bottom - top):.1f}" fill="{COLORS[key]}">'
            f"{tip(row['as_of'], [money_tip(key, sign * amount, currency)])}</rect>"
        )
        level += sign * amount
    return parts


def movements_chart(rows: Sequence[Row], every: str) -> str:
    """MRR movements per period: inflows up, outflows down, and the net new line."""
    currency = _currency(rows)
    ups = [sum((value(r, k) or Decimal(0) for k in INFLOWS), Decimal(0)) for r in rows]
    downs = [-sum((value(r, k) or Decimal(0) for k in OUTFLOWS), Decimal(0)) for r in rows]
    nets = [value(r, "net_new") or Decimal(0) for r in rows]
    marks = ticks(*domain([*ups, *downs, *nets]))
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    width = max(band * 0.7, 1.0)
    bars = [
        part
        for i, row in enumerate(rows)
        for keys, sign in ((INFLOWS, 1), (OUTFLOWS, -1))
        for part in stack(row, keys, sign, y, x(Decimal(i)) - width / 2, width)
    ]
    points = [(x(Decimal(i)), y(n)) for i, n in enumerate(nets)]
    parts = [
        *y_axis(marks, y, f"MRR ({currency})"),
        *x_axis([r["as_of"] for r in rows], every),
        *legend([*INFLOWS, *OUTFLOWS, "net_new"]),
        f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(Decimal(0)):.1f}" '
        f'y2="{y(Decimal(0)):.1f}"/>',
        *bars,
        f'<polyline class="mark" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}" '
        f'fill="none" stroke="{COLORS["net_new"]}" stroke-width="2"/>',
        *dots(
            points,
            [
                tip(r["as_of"], [money_tip("net_new", n, currency)])
                for r, n in zip(rows, nets, strict=True)
            ],
            COLORS["net_new"],
            dot(band, 3),
        ),
    ]
    return svg("movements-chart", "MRR movements", parts)


def runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive defined points: an undefined ratio (null) breaks the line."""
    found: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            found.append([])
        else:
            found[-1].append(point)
    return [run for run in found if run]


def ratio_line(rows: Sequence[Row], key: str, x: Scale, y: Scale, radius: float) -> list[str]:
    ratios = [value(r, key) for r in rows]
    points = [None if v is None else (x(Decimal(i)), y(v)) for i, v in enumerate(ratios)]
    color = COLORS[key]
    parts = [
        f'<polyline class="mark" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in run)}" '
        f'fill="none" stroke="{color}" stroke-width="2"/>'
        for run in runs(points)
        if len(run) > 1
    ]
    shown = [
        (p, tip(r["as_of"], [f"{label(key)} {v}"]))
        for p, r, v in zip(points, rows, ratios, strict=True)
        if p is not None
    ]
    return [*parts, *dots([p for p, _ in shown], [t for _, t in shown], color, radius)]


def retention_chart(rows: Sequence[Row], every: str) -> str:
    """NRR and GRR of each period, around the 1.0 line (null where no customer was active)."""
    ratios = [v for r in rows for k in ("nrr", "grr") if (v := value(r, k)) is not None]
    low, high = min([Decimal(1), *ratios]), max([Decimal(1), *ratios])
    marks = ticks(low, high)
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    parts = [
        *y_axis(marks, y, "ratio"),
        *x_axis([r["as_of"] for r in rows], every),
        *legend(["nrr", "grr"]),
        f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(Decimal(1)):.1f}" '
        f'y2="{y(Decimal(1)):.1f}"/>',
        *ratio_line(rows, "nrr", x, y, dot(band, 3)),
        *ratio_line(rows, "grr", x, y, dot(band, 3)),
    ]
    return svg("retention-chart", "NRR and GRR by period", parts)


def _currency(rows: Sequence[Row]) -> str:
    return str(rows[0].get("currency", "")) if rows else ""


CHARTS: tuple[tuple[str, Callable[[Sequence[Row], str], str]], ...] = (
    ("ARR over time", arr_chart),
    ("MRR movements", movements_chart),
    ("NRR and GRR", retention_chart),
)
