"""Charts as inline SVG, drawn from series rows in their JSON form (already rounded).

No library and no script: a chart is plain SVG markup, so the page that holds it opens
offline and renders the same in any browser. Each mark carries a `<title>` (the browser's
own tooltip) with the exact printed figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from html import escape

from projections.figures.keys import MONEY_KEYS
from projections.render.svg import (
    BOTTOM,
    COLORS,
    HEIGHT,
    TOP,
    TRAILING,
    Row,
    Scale,
    bar,
    brief,
    compact,
    dot,
    dots,
    frame,
    legend,
    money,
    money_tip,
    name,
    note,
    polyline,
    rule,
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
ZERO = Decimal(0)


def some_period_has(rows: Sequence[Row], key: str) -> bool:
    """Whether some period has a non-zero `key`."""
    return any(value(r, key) for r in rows)


def flows(rows: Sequence[Row]) -> list[tuple[str, int]]:
    """The movements the chart draws, each with the way it moves MRR (1 up, −1 down): §5's
    always, §11's `resumed` and `paused` when some period has one."""
    found = [(k, 1) for k in INFLOWS]
    found += [("resumed", 1)] if some_period_has(rows, "resumed") else []
    found += [(k, -1) for k in OUTFLOWS]
    found += [("paused", -1)] if some_period_has(rows, "paused") else []
    return found


def domain(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    return min([ZERO, *values]), max([ZERO, *values])


def headline(rows: Sequence[Row], start: date, every: str, knowledge: str) -> tuple[str, str]:
    """The title and the line under it, the same on the page and the PNG: the period, how
    often, the currency, what the ledger knew ("as known at …", when asked) and its position."""
    last = rows[-1]
    title = f"ARR report, {start} to {last['as_of']}"
    said = [f"Every {every}", str(last.get("currency", "")), knowledge]
    said.append(f"ledger position {last.get('position')}")
    return title, " · ".join(part for part in said if part)


def figure_tip(key: str, amount: Decimal, currency: str) -> str:
    """A tooltip's figure: money with its currency, a count grouped, a ratio as printed."""
    if key in MONEY_KEYS:
        return money_tip(key, amount, currency)
    if amount == amount.to_integral_value():
        return f"{label(key)} {int(amount):,}"
    return f"{label(key)} {amount:f}"


def line_chart(
    rows: Sequence[Row],
    every: str,
    key: str,
    name: str,
    title: str,
    *,
    area: bool = False,
) -> str:
    """`key` at each period end: a line (an area under it with `area`), a dot per period.
    An undefined figure (null, such as the ARPA of no customers) breaks the line."""
    days, currency = [r["as_of"] for r in rows], _currency(rows)
    figures = [value(r, key) for r in rows]
    known = [v for v in figures if v is not None]
    whole = key not in MONEY_KEYS
    marks = ticks(*domain(known), whole=whole)
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    points = [None if v is None else (x(Decimal(i)), y(v)) for i, v in enumerate(figures)]
    color = COLORS[key]
    unit = f"{label(key)} ({currency})" if key in MONEY_KEYS else label(key)
    parts = [*y_axis(marks, y, unit), *x_axis(days, every)]
    lines = runs(points)
    if area and len(lines) == 1 and len(lines[0]) == len(rows):
        drawn = lines[0]
        base = y(max(marks[0], ZERO))
        outline = " ".join(f"{px:.1f},{py:.1f}" for px, py in drawn)
        shape = f"{drawn[0][0]:.1f},{base:.1f} {outline} {drawn[-1][0]:.1f},{base:.1f}"
        parts.append(
            f'<polygon class="mark area" points="{shape}" fill="{color}" fill-opacity="0.12"/>'
        )
    parts += [polyline(run, color, 2.5) for run in lines if len(run) > 1]
    shown = [
        (p, tip(day, [figure_tip(key, v, currency)]))
        for p, day, v in zip(points, days, figures, strict=True)
        if p is not None and v is not None
    ]
    parts += dots([p for p, _ in shown], [t for _, t in shown], color, dot(band, 3.5))
    return svg(name, title, parts)


def mrr_chart(rows: Sequence[Row], every: str) -> str:
    """MRR at each period end, the first figure of a subscription business."""
    return line_chart(rows, every, "mrr", "mrr-chart", "MRR over time", area=True)


def arr_chart(rows: Sequence[Row], every: str) -> str:
    """ARR at each period end: an area under a line, a dot per period."""
    return line_chart(rows, every, "arr", "arr-chart", "ARR over time", area=True)


def customers_chart(rows: Sequence[Row], every: str) -> str:
    """Active customers (MRR > 0) at each period end."""
    return line_chart(rows, every, "active_customers", "customers-chart", "Active customers")


def arpa_chart(rows: Sequence[Row], every: str) -> str:
    """ARPA (MRR per active customer) at each period end; a gap where nobody is active."""
    return line_chart(rows, every, "arpa", "arpa-chart", "ARPA over time")


def effects(row: Row, drawn: Sequence[tuple[str, int]]) -> list[tuple[str, Decimal]]:
    """One period's non-zero movements, each signed by what it did to MRR."""
    found = [(key, sign * (value(row, key) or ZERO)) for key, sign in drawn]
    return [(key, effect) for key, effect in found if effect != 0]


def stack(
    row: Row, drawn: Sequence[tuple[str, int]], y: Scale, left: float, width: float
) -> list[str]:
    """One period's bars, those that raised MRR stacked up from zero, those that lowered it
    down (a negative `paused`, a paused subscription that ended, goes up: its MRR is in
    `churn`)."""
    parts, currency = [], str(row.get("currency", ""))
    up = down = ZERO
    for key, effect in effects(row, drawn):
        level = up if effect > 0 else down
        top, bottom = y(level + effect), y(level)
        title = tip(row["as_of"], [money_tip(key, effect, currency)])
        parts.append(bar(left, top, bottom, width, COLORS[key], title))
        if effect > 0:
            up += effect
        else:
            down += effect
    return parts


def movements_chart(rows: Sequence[Row], every: str) -> str:
    """MRR movements per period: inflows up, outflows down, and the net new line."""
    currency, drawn = _currency(rows), flows(rows)
    moves = [effects(r, drawn) for r in rows]
    ups = [sum((e for _, e in found if e > 0), ZERO) for found in moves]
    downs = [sum((e for _, e in found if e < 0), ZERO) for found in moves]
    nets = [value(r, "net_new") or ZERO for r in rows]
    marks = ticks(*domain([*ups, *downs, *nets]))
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    width = max(band * 0.7, 1.0)
    bars = [
        part
        for i, row in enumerate(rows)
        for part in stack(row, drawn, y, x(Decimal(i)) - width / 2, width)
    ]
    points = [(x(Decimal(i)), y(n)) for i, n in enumerate(nets)]
    parts = [
        *y_axis(marks, y, f"MRR ({currency})"),
        *x_axis([r["as_of"] for r in rows], every),
        *legend([*(key for key, _ in drawn), "net_new"]),
        rule(y(ZERO)),
        *bars,
        polyline(points, COLORS["net_new"], 2),
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


def printed(row: Row, key: str) -> Decimal:
    """A money figure as printed (0.00 stays 0.00); a missing one is 0."""
    found = value(row, key)
    return ZERO if found is None else found


BRIDGE_FLOWS = (
    *((k, 1) for k in INFLOWS),
    ("resumed", 1),
    *((k, -1) for k in OUTFLOWS),
    ("paused", -1),
    ("fx", 1),
)
"""The bridge's steps between its ends; `resumed`, `paused` and `fx` only when not 0."""


def bridge_steps(row: Row) -> list[tuple[str, Decimal]]:
    """One period's bridge in printed figures: MRR at its start, each movement signed (up
    for new, expansion, reactivation, resumed; down for contraction, churn, paused; fx as
    it is), and MRR at its end. SPEC §10-§11's `resumed`, `paused` and `fx` are steps only
    in a period that has them.

    Each figure is rounded on its own, so the printed movements may miss the printed end by
    a cent; a `rounding` step then says so, and the steps always add up to the end exactly."""
    start, end = printed(row, "start_mrr"), printed(row, "end_mrr")
    moved = [
        (k, printed(row, k) if sign > 0 else ZERO - printed(row, k))  # 0.00, never -0.00
        for k, sign in BRIDGE_FLOWS
        if k in INFLOWS or k in OUTFLOWS or printed(row, k) != 0
    ]
    rounding = end - start - sum((amount for _, amount in moved), ZERO)
    extra = [("rounding", rounding)] if rounding else []
    return [("start_mrr", start), *moved, *extra, ("end_mrr", end)]


def bridge_levels(
    steps: Sequence[tuple[str, Decimal]], base: Decimal = ZERO
) -> list[tuple[Decimal, Decimal]]:
    """Where each bar of a bridge starts and ends: the first and last from the axis's
    `base`, every step between from the level the steps before it reached."""
    spans, level = [], ZERO
    for n, (_, amount) in enumerate(steps):
        if n in (0, len(steps) - 1):
            spans.append((base, amount))
            level = amount
        else:
            spans.append((level, level + amount))
            level += amount
    return spans


def bridge_ticks(steps: Sequence[tuple[str, Decimal]]) -> list[Decimal]:
    """A bridge's y ticks. They start at 0, unless the MRR dwarfs what moved it (the
    levels span less than a third of the lowest): then they start below the lowest level,
    by 1.5 × that span, so that the movements can be seen; the chart says so."""
    levels = [high for _, high in bridge_levels(steps)]
    low, high = min([ZERO, *levels]), max([ZERO, *levels])
    lowest = min(levels)
    floor = lowest - (high - lowest) * Decimal("1.5")
    if high > lowest > 0 and floor > lowest / 2:
        return ticks(floor, high)
    return ticks(low, high)


BRIDGE_NAMES = {"start_mrr": "start MRR", "end_mrr": "end MRR"}


def bridge_label(n: int, steps: Sequence[tuple[str, Decimal]]) -> str:
    """The figure above a bridge's bar, short (the tooltip is exact): +47.7k, −8.21k."""
    amount = steps[n][1]
    edge = n in (0, len(steps) - 1)
    return brief(amount) if edge or amount <= 0 else f"+{brief(amount)}"


def bridge_chart(rows: Sequence[Row], every: str) -> str:
    """The last period's bridge (a waterfall): start MRR, +new, +expansion, +reactivation,
    (+resumed), −contraction, −churn, (−paused), (fx), end MRR. Every bar is a printed
    figure; they add up exactly."""
    row, currency = rows[-1], _currency(rows)
    steps = bridge_steps(row)
    marks = bridge_ticks(steps)
    spans = bridge_levels(steps, marks[0])
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(steps))
    width = band * 0.62
    period = f"{row['from']} to {row['to']}"
    cut = f"; the axis starts at {compact(marks[0])}, not 0" if marks[0] > 0 else ""
    parts = [
        *y_axis(marks, y, f"MRR ({currency})"),
        note(f"({row['from']}, {row['to']}]{cut}"),
        rule(y(max(marks[0], ZERO))),
    ]
    for n, ((key, amount), (low, high)) in enumerate(zip(steps, spans, strict=True)):
        centre = x(Decimal(n))
        edge = n in (0, len(steps) - 1)
        when = row["from"] if n == 0 else row["to"] if edge else period
        said = [money_tip(key, amount, currency, plus=not edge)]
        said += ["each figure is rounded on its own"] if key == "rounding" else []
        title = tip(when, said)
        data = f' data-key="{key}" data-amount="{amount:f}"'
        parts.append(bar(centre - width / 2, y(high), y(low), width, COLORS[key], title, data))
        parts.append(
            f'<text class="tick" x="{centre:.1f}" y="{y(max(low, high)) - 5:.1f}" '
            f'text-anchor="middle">{escape(bridge_label(n, steps))}</text>'
            f'<text class="tick" x="{centre:.1f}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle">{escape(BRIDGE_NAMES.get(key, label(key)))}</text>'
        )
        if n < len(steps) - 1:
            at, ends = y(high), (centre + width / 2, centre + band - width / 2)
            parts.append(
                f'<line class="link" x1="{ends[0]:.1f}" x2="{ends[1]:.1f}" '
                f'y1="{at:.1f}" y2="{at:.1f}"/>'
            )
    return svg("bridge-chart", f"MRR bridge, {period}", parts)


def quick_ratio(row: Row) -> Decimal | None:
    """(new + expansion + reactivation) / (contraction + churn) of the printed movements,
    rounded half to even to 4 places like every ratio; None when nothing flowed out."""
    ins = sum((value(row, k) or ZERO for k in INFLOWS), ZERO)
    outs = sum((value(row, k) or ZERO for k in OUTFLOWS), ZERO)
    if outs == 0:
        return None
    places = round(Fraction(ins) / Fraction(outs) * 10_000)
    return Decimal(f"{places}e-4")


def quick_ratio_chart(rows: Sequence[Row], every: str) -> str:
    """The quick ratio of each period, a dot per period on a line, around the 1.0 line
    (inflows = outflows); an undefined ratio (no contraction or churn) breaks the line and
    is marked "—" on the axis, never drawn as a zero."""
    currency = _currency(rows)
    ratios = [quick_ratio(r) for r in rows]
    marks = ticks(*domain([Decimal(1), *(q for q in ratios if q is not None)]))
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    points = [None if q is None else (x(Decimal(i)), y(q)) for i, q in enumerate(ratios)]
    color = COLORS["quick_ratio"]
    parts = [
        *y_axis(marks, y, "ratio"),
        *x_axis([r["as_of"] for r in rows], every),
        rule(y(Decimal(1))),
        *(polyline(run, color, 2) for run in runs(points) if len(run) > 1),
    ]
    shown, tips = [], []
    for i, (row, ratio, point) in enumerate(zip(rows, ratios, points, strict=True)):
        ins = sum((value(row, k) or ZERO for k in INFLOWS), ZERO)
        outs = sum((value(row, k) or ZERO for k in OUTFLOWS), ZERO)
        flows = f"inflows {money(ins, currency)} ÷ outflows {money(outs, currency)}"
        if point is not None:
            shown.append(point)
            tips.append(tip(row["as_of"], [f"quick ratio {ratio} ({flows})"]))
        elif band >= 10:
            title = tip(row["as_of"], [f"quick ratio — (no contraction or churn; {flows})"])
            parts.append(
                f'<text class="none" x="{x(Decimal(i)):.1f}" y="{y(marks[0]) - 4:.1f}" '
                f'text-anchor="middle">—{title}</text>'
            )
    parts += dots(shown, tips, color, dot(band, 3))
    return svg("quick-ratio-chart", "Quick ratio by period", parts)


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
    """`key`'s line and dots: solid, or dashed with hollow dots for a trailing figure. An
    undefined ratio (null) is no dot and breaks the line, never a zero."""
    ratios = [value(r, key) for r in rows]
    points = [None if v is None else (x(Decimal(i)), y(v)) for i, v in enumerate(ratios)]
    color, trailing = COLORS[key], key in TRAILING
    parts = [polyline(run, color, 2, dashed=trailing) for run in runs(points) if len(run) > 1]
    shown = [
        (p, tip(r["as_of"], [f"{name(key)} {v}"]))
        for p, r, v in zip(points, rows, ratios, strict=True)
        if p is not None
    ]
    tips = [t for _, t in shown]
    return [*parts, *dots([p for p, _ in shown], tips, color, radius, hollow=trailing)]


RETENTION = ("nrr", "grr")
TRAILING_RETENTION = ("nrr_12m", "grr_12m")


def retention_keys(rows: Sequence[Row]) -> tuple[str, ...]:
    """The ratios the retention chart draws: NRR and GRR of each period, and over the 12
    months to each period end when some period end has them."""
    trailing = tuple(k for k in TRAILING_RETENTION if any(value(r, k) is not None for r in rows))
    return (*RETENTION, *trailing)


def retention_chart(rows: Sequence[Row], every: str) -> str:
    """NRR and GRR of each period, and over the 12 months to each period end (dashed),
    around the 1.0 line (null where no customer was active at the start: no dot)."""
    drawn = retention_keys(rows)
    ratios = [v for r in rows for k in drawn if (v := value(r, k)) is not None]
    low, high = min([Decimal(1), *ratios]), max([Decimal(1), *ratios])
    marks = ticks(low, high)
    y = Scale(marks[0], marks[-1], HEIGHT - BOTTOM, TOP)
    x, band = frame(len(rows))
    parts = [
        *y_axis(marks, y, "ratio"),
        *x_axis([r["as_of"] for r in rows], every),
        *legend(drawn),
        rule(y(Decimal(1))),
        *(part for key in drawn for part in ratio_line(rows, key, x, y, dot(band, 3))),
    ]
    over = " and over 12 months" if len(drawn) > len(RETENTION) else ""
    return svg("retention-chart", f"NRR and GRR by period{over}", parts)


def trailing_caption(rows: Sequence[Row]) -> str:
    """The retention caption's word on the 12-month lines: how to read them, or why there
    are none."""
    if len(retention_keys(rows)) > len(RETENTION):
        return (
            "Dashed, with hollow dots: NRR 12m and GRR 12m, the retention of the customers "
            "active 12 months before each period end; none where nobody was."
        )
    return (
        "No period end here has a customer active 12 months before it, so there is no "
        "12-month NRR or GRR line."
    )


def _currency(rows: Sequence[Row]) -> str:
    return str(rows[0].get("currency", "")) if rows else ""


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its heading, the caption that says how to read it, and how
    it is drawn from the rows."""

    heading: str
    caption: str
    draw: Callable[[Sequence[Row], str], str]
    more: Callable[[Sequence[Row]], str] = lambda _rows: ""
    """What the caption adds for these rows: how to read marks only some ledgers have."""

    def says(self, rows: Sequence[Row]) -> str:
        """The caption for these rows."""
        return " ".join(part for part in (self.caption, self.more(rows)) if part)


def pauses_caption(rows: Sequence[Row]) -> str:
    """The movements caption's word on SPEC §11's bars, when the chart has them."""
    if not some_period_has(rows, "paused") and not some_period_has(rows, "resumed"):
        return ""
    return (
        "Paused down and resumed up: MRR of subscriptions that stopped billing without "
        "ending, and that billed again (a paused subscription that ends moves to churn)."
    )


QUICK_RATIO = (
    "Quick ratio = (new + expansion + reactivation) ÷ (contraction + churn) of each "
    "period, from the printed movements, to 4 places. Above 1, the MRR gained outgrew the "
    "MRR lost. A period without contraction or churn has no quick ratio (a ratio over 0): "
    "it is marked —, never drawn as 0."
)
CHARTS: tuple[Chart, ...] = (
    Chart("MRR over time", "Monthly recurring revenue at each period end.", mrr_chart),
    Chart("ARR over time", "Annual recurring revenue (12 × MRR) at each period end.", arr_chart),
    Chart(
        "MRR movements",
        "New, expansion and reactivation up; contraction and churn down; the net new line.",
        movements_chart,
        pauses_caption,
    ),
    Chart(
        "MRR bridge, last period",
        "From the MRR at the start of the last period to the MRR at its end. Every bar is a "
        "printed figure; they add up to the end exactly (a rounding bar appears when the "
        "figures, each rounded on its own, miss it by a cent).",
        bridge_chart,
    ),
    Chart("Active customers", "Customers with MRR > 0 at each period end.", customers_chart),
    Chart(
        "ARPA",
        "Average revenue per account: MRR ÷ active customers (a gap where there are none).",
        arpa_chart,
    ),
    Chart(
        "NRR and GRR",
        "Net and gross revenue retention of the customers active at each period's start.",
        retention_chart,
        trailing_caption,
    ),
    Chart("Quick ratio", QUICK_RATIO, quick_ratio_chart),
)
