"""SVG building blocks for the charts: scales, round ticks, axes, legends, dots, tooltips.

Pixels are floats; the figures they place are the printed (rounded) decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from projections.render.text import grouped, label

WIDTH, HEIGHT = 680, 300
"""The viewBox: drawn 1:1 in a column of the page's two-column grid at its widest, and
scaled with the window's width otherwise (the SVG's CSS width is 100%)."""
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 36, 44
COLORS = {
    "mrr": "#0d47a1",
    "start_mrr": "#0d47a1",
    "end_mrr": "#0d47a1",
    "arr": "#1565c0",
    "active_customers": "#5e35b1",
    "arpa": "#00695c",
    "quick_ratio": "#455a64",
    "rounding": "#9e9e9e",
    "new": "#2e7d32",
    "expansion": "#66bb6a",
    "reactivation": "#26a69a",
    "resumed": "#1e88e5",
    "contraction": "#ef6c00",
    "churn": "#c62828",
    "paused": "#8d6e63",
    "fx": "#f9a825",
    "net_new": "#263238",
    "nrr": "#6a1b9a",
    "grr": "#00838f",
    "nrr_12m": "#6a1b9a",
    "grr_12m": "#00838f",
}
TRAILING = {"nrr_12m", "grr_12m"}
"""Figures over the 12 months to each period end: the colour of the per-period figure,
drawn dashed with hollow dots."""
NAMES = {"nrr_12m": "NRR 12m", "grr_12m": "GRR 12m"}
"""What the charts call figures that the tables' labels spell out less briefly."""
DASH = "5 3"
Row = dict[str, Any]


def name(key: str) -> str:
    """A figure's name in a chart's legend and tooltips."""
    return NAMES.get(key) or label(key)


@dataclass(frozen=True)
class Scale:
    """Maps a value domain onto a pixel range. Pixels are floats; the figures are not."""

    low: Decimal
    high: Decimal
    start: float
    end: float

    def __call__(self, value: Decimal) -> float:
        span = self.high - self.low or Decimal(1)
        return self.start + float((value - self.low) / span) * (self.end - self.start)


def value(row: Row, key: str) -> Decimal | None:
    raw = row.get(key)
    return None if raw is None else Decimal(str(raw))


def step_for(span: Decimal, count: int = 5) -> Decimal:
    """A round tick step (1, 2 or 5 × a power of ten) giving about `count` ticks."""
    rough = span / count if span > 0 else Decimal(1)
    power = Decimal(10) ** (rough.adjusted())
    return next(power * m for m in (1, 2, 5, 10) if power * m >= rough)


def ticks(low: Decimal, high: Decimal, *, whole: bool = False) -> list[Decimal]:
    """Round ticks covering [low, high]; the domain is widened to the outer ticks. `whole`:
    a count's ticks, never a fraction apart."""
    step = step_for(high - low)
    step = max(step, Decimal(1)) if whole else step
    first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    marks = [first]
    while marks[-1] < high:
        marks.append(marks[-1] + step)
    return marks if len(marks) > 1 else [*marks, first + step]


UNITS = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k"))


def compact(amount: Decimal) -> str:
    """An axis label: 1,250,000 → 1.25M; the tooltip keeps the full figure."""
    size = abs(amount)
    for unit, letter in UNITS:
        if size >= unit:
            return f"{(amount / unit).normalize():f}{letter}".replace("-", "−")
    return f"{amount.normalize():f}".replace("-", "−")


def brief(amount: Decimal, digits: int = 3) -> str:
    """A bar's label to `digits` significant digits: 1,826,160.14 → 1.83M, 47,724.41 →
    47.7k, 0.01 → 0.01. Only a label: the tooltip keeps the full figure."""
    if amount == 0:
        return "0"
    size, letter, scaled = abs(amount), "", amount
    for unit, name in UNITS:
        if size >= unit:
            letter, scaled = name, amount / unit
            break
    quantum = Decimal(1).scaleb(min(scaled.adjusted() - digits + 1, 0))
    return f"{scaled.quantize(quantum).normalize():f}{letter}".replace("-", "−")


def period_label(day: str, every: str) -> str:
    return {"month": day[:7], "year": day[:4]}.get(every, day)


def dot(band: float, largest: float) -> float:
    """A dot's radius: smaller as periods crowd, so that a daily series stays a line."""
    return round(min(largest, max(band / 3, 1.0)), 1)


def dots(
    points: Sequence[tuple[float, float]],
    tips: Sequence[str],
    color: str,
    radius: float,
    *,
    hollow: bool = False,
) -> list[str]:
    """A dot per point, each with its tooltip; `hollow`: a ring of `color` around white."""
    paint = f'fill="#ffffff" stroke="{color}" stroke-width="1.5"' if hollow else f'fill="{color}"'
    return [
        f'<circle class="mark" cx="{px:.1f}" cy="{py:.1f}" r="{radius}" {paint}>{title}</circle>'
        for (px, py), title in zip(points, tips, strict=True)
    ]


def frame(points: int) -> tuple[Scale, float]:
    """The x scale of the period centres and the width of one period band."""
    count = max(points, 1)
    band = (WIDTH - LEFT - RIGHT) / count
    return Scale(Decimal(0), Decimal(count), LEFT + band / 2, WIDTH - RIGHT + band / 2), band


def y_axis(marks: list[Decimal], y: Scale, unit: str) -> list[str]:
    parts = [f'<text class="unit" x="4" y="{TOP - 14}">{escape(unit)}</text>']
    for mark in marks:
        at = y(mark)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
        )
        parts.append(
            f'<text class="tick" x="{LEFT - 8}" y="{at + 4:.1f}" text-anchor="end">'
            f"{compact(mark) if unit != 'ratio' else f'{mark:f}'}</text>"
        )
    return parts


def x_axis(days: Sequence[str], every: str) -> list[str]:
    x, _ = frame(len(days))
    stride = max(1, -(-len(days) // 8))
    return [
        f'<text class="tick" x="{x(Decimal(i)):.1f}" y="{HEIGHT - BOTTOM + 18}" '
        f'text-anchor="middle">{escape(period_label(day, every))}</text>'
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % stride == 0
    ]


def legend(keys: Sequence[str]) -> list[str]:
    """Colour keys in a row above the plot, ending at its right edge (the unit is left).
    A row that would reach left of the plot, over the unit, is set closer together. A
    trailing figure's key is a dashed line, as the figure is drawn."""
    texts = [6.5 * len(name(key)) for key in keys]
    room = WIDTH - RIGHT + 12 - LEFT - sum(texts)
    gap = min(28, room // max(len(keys), 1))
    widths = [gap + t for t in texts]
    parts, at = [], WIDTH - RIGHT - sum(widths) + 12
    for key, width in zip(keys, widths, strict=True):
        parts.append(
            f"{swatch(key, at)}"
            f'<text class="legend" x="{at + 16:.1f}" y="18">{escape(name(key))}</text>'
        )
        at += width
    return parts


def swatch(key: str, at: float) -> str:
    """A legend's key: a square of the figure's colour, or a dashed line for a trailing one."""
    if key in TRAILING:
        return (
            f'<line x1="{at:.1f}" x2="{at + 12:.1f}" y1="14" y2="14" stroke="{COLORS[key]}" '
            f'stroke-width="2" stroke-dasharray="3 2"/>'
        )
    return f'<rect x="{at:.1f}" y="8" width="12" height="12" fill="{COLORS[key]}"/>'


def svg(chart: str, title: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" id="{chart}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def tip(day: str, lines: Sequence[str]) -> str:
    return f"<title>{escape(day)}: {escape('; '.join(lines))}</title>"


def money(amount: Decimal, currency: str, *, plus: bool = False) -> str:
    """A printed amount as people read it: 1,250.00 USD, −500.00 USD (+150.00 with `plus`)."""
    shown = f"{grouped(f'{amount:.2f}')} {currency}".strip()
    return f"+{shown}" if plus and amount > 0 else shown


def money_tip(key: str, amount: Decimal | None, currency: str, *, plus: bool = False) -> str:
    shown = "—" if amount is None else money(amount, currency, plus=plus)
    return f"{label(key)} {shown}"


def polyline(
    points: Sequence[tuple[float, float]], color: str, width: float, *, dashed: bool = False
) -> str:
    dash = f' stroke-dasharray="{DASH}"' if dashed else ""
    return (
        f'<polyline class="mark" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}" '
        f'fill="none" stroke="{color}" stroke-width="{width}"{dash}/>'
    )


def rule(at: float) -> str:
    """A dashed reference line across the plot: zero, or a ratio of 1."""
    return f'<line class="zero" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'


def note(text: str) -> str:
    """A line of text above the plot, where a legend goes."""
    return (
        f'<text class="legend" x="{WIDTH - RIGHT}" y="18" text-anchor="end">{escape(text)}</text>'
    )


def bar(
    left: float, top: float, bottom: float, width: float, color: str, title: str, data: str = ""
) -> str:
    """A bar between two pixel heights, with its tooltip."""
    return (
        f'<rect class="mark"{data} x="{left:.1f}" y="{min(top, bottom):.1f}" '
        f'width="{width:.1f}" height="{abs(bottom - top):.1f}" fill="{color}">{title}</rect>'
    )
