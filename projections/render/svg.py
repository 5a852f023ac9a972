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

WIDTH, HEIGHT = 880, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 40, 36, 44
COLORS = {
    "arr": "#1565c0",
    "new": "#2e7d32",
    "expansion": "#66bb6a",
    "reactivation": "#26a69a",
    "contraction": "#ef6c00",
    "churn": "#c62828",
    "net_new": "#263238",
    "nrr": "#6a1b9a",
    "grr": "#00838f",
}
Row = dict[str, Any]


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


def ticks(low: Decimal, high: Decimal) -> list[Decimal]:
    """Round ticks covering [low, high]; the domain is widened to the outer ticks."""
    step = step_for(high - low)
    first = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    marks = [first]
    while marks[-1] < high:
        marks.append(marks[-1] + step)
    return marks if len(marks) > 1 else [*marks, first + step]


def compact(amount: Decimal) -> str:
    """An axis label: 1,250,000 → 1.25M; the tooltip keeps the full figure."""
    size = abs(amount)
    for unit, letter in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "k")):
        if size >= unit:
            return f"{(amount / unit).normalize():f}{letter}".replace("-", "−")
    return f"{amount.normalize():f}".replace("-", "−")


def period_label(day: str, every: str) -> str:
    return {"month": day[:7], "year": day[:4]}.get(every, day)


def dot(band: float, largest: float) -> float:
    """A dot's radius: smaller as periods crowd, so that a daily series stays a line."""
    return round(min(largest, max(band / 3, 1.0)), 1)


def dots(
    points: Sequence[tuple[float, float]], tips: Sequence[str], color: str, radius: float
) -> list[str]:
    """A dot per point, each with its tooltip."""
    return [
        f'<circle class="mark" cx="{px:.1f}" cy="{py:.1f}" r="{radius}" fill="{color}">'
        f"{title}</circle>"
        for (px, py), title in zip(points, tips, strict=True)
    ]


def frame(points: int) -> tuple[Scale, float]:
    """The x scale of the period centres and the width of one period band."""
    count = max(points, 1)
    band = (WIDTH - LEFT - RIGHT) / count
    return Scale(Decimal(0), Decimal(count), LEFT + band / 2, WIDTH - RIGHT + band / 2), band


def y_axis(marks: list[Decimal], y: Scale, unit: str) -> list[str]:
    parts = [
        f'<text class="unit" x="{LEFT - 8}" y="{TOP - 14}" text-anchor="end">{escape(unit)}</text>'
    ]
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
    stride = max(1, -(-len(days) // 10))
    return [
        f'<text class="tick" x="{x(Decimal(i)):.1f}" y="{HEIGHT - BOTTOM + 18}" '
        f'text-anchor="middle">{escape(period_label(day, every))}</text>'
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % stride == 0
    ]


def legend(keys: Sequence[str]) -> list[str]:
    parts, at = [], LEFT
    for key in keys:
        parts.append(
            f'<rect x="{at}" y="8" width="12" height="12" fill="{COLORS[key]}"/>'
            f'<text class="legend" x="{at + 16}" y="18">{escape(label(key))}</text>'
        )
        at += 24 + 8 * len(label(key))
    return parts


def svg(name: str, title: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" id="{name}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def tip(day: str, lines: Sequence[str]) -> str:
    return f"<title>{escape(day)}: {escape('; '.join(lines))}</title>"


def money_tip(key: str, amount: Decimal | None, currency: str) -> str:
    shown = "—" if amount is None else f"{grouped(f'{amount:.2f}')} {currency}"
    return f"{label(key)} {shown}"
