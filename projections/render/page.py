"""One self-contained HTML report: the charts, the as-of figures and the series table.

Everything is inline (styles, SVG, one small script); a Content-Security-Policy forbids
every fetch, so the file opens offline and cannot leak the figures anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from html import escape
from typing import Any

from projections.figures import keys
from projections.figures.keys import MONEY_KEYS, RATIO_KEYS
from projections.render.chart import CHARTS, headline, some_period_has
from projections.render.svg import TRAILING, Row, name
from projections.render.text import grouped, label, signed

REPORT_KEYS = tuple(k for k in keys.REPORT_KEYS if k not in ("as_of", "position", "currency"))
TABLE_KEYS = (
    "as_of",
    "mrr",
    "arr",
    "active_customers",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "net_new",
    "nrr",
    "grr",
    "logo_churn_rate",
    "nrr_12m",
    "grr_12m",
    "bookings_tcv",
)
PAUSE_KEYS = ("paused", "resumed")
"""SPEC §11's movements: columns of the series table (after reactivation) only when some
period has one; most ledgers have no pause."""


def table_keys(rows: Sequence[Row]) -> tuple[str, ...]:
    """The series table's columns for these rows."""
    shown = tuple(k for k in PAUSE_KEYS if some_period_has(rows, k))
    at = TABLE_KEYS.index("reactivation") + 1
    return (*TABLE_KEYS[:at], *shown, *TABLE_KEYS[at:])


POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;
margin:24px auto;max-width:1400px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 6px}
.meta{color:#5b6776;margin:0 0 16px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;white-space:nowrap;border-bottom:1px solid #e3e7ec}
th{text-align:left;font-weight:600}
td.num,th.num{text-align:right}td.out{color:#c62828}
.scroll{overflow-x:auto}.series{font-size:12px;width:100%}
.series th,.series td{padding:4px 6px}.series th{white-space:normal;vertical-align:bottom}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));
gap:8px 32px}
.chart-card{min-width:0}.chart-card h2{margin-top:20px}
.caption{color:#5b6776;font-size:12px;margin:2px 0 0}
svg.chart{width:100%;height:auto;display:block}
.grid{stroke:#e3e7ec}.zero{stroke:#8a96a3;stroke-dasharray:4 3}
.link{stroke:#8a96a3;stroke-dasharray:2 2}
.tick,.unit,.legend,.none{font-size:11px;fill:#5b6776}.legend{fill:#1c2430}
.heat{font-size:12px}.heat th,.heat td{padding:3px 6px}.heat td.cell{min-width:52px}
.heat-key span{display:inline-block;padding:2px 8px;margin-right:2px;font-size:12px}
"""
# The page reports what it drew, so a headless browser (and the tests) can tell a
# rendered chart from an empty one: <html data-rendered="arr-chart:25 ...">.
CHECK = """
const drawn = [...document.querySelectorAll('svg.chart')].map(svg => {
  const marks = [...svg.querySelectorAll('.mark')].filter(m => {
    const box = m.getBBox(); return box.width > 0 || box.height > 0;
  });
  return svg.id + ':' + marks.length;
});
document.documentElement.dataset.rendered = drawn.join(' ');
"""


def td(key: str, value: Any, currency: str = "") -> str:
    if value is None:
        return '<td class="num">—</td>'
    if key in MONEY_KEYS:
        shown, out = signed(key, str(value))
        unit = f" {currency}" if currency else ""
        return f'<td class="num{" out" if out else ""}">{shown}{unit}</td>'
    if isinstance(value, int) and key != "position":
        return f'<td class="num">{value:,}</td>'
    numeric = key in RATIO_KEYS or key in TRAILING
    return f"<td{' class=num' if numeric else ''}>{escape(str(value))}</td>"


def figures_table(row: Row) -> str:
    currency = str(row.get("currency", ""))
    lines = [
        f"<tr><th>{escape(label(k))}</th>{td(k, row.get(k), currency)}</tr>" for k in REPORT_KEYS
    ]
    return f'<table class="figures">{"".join(lines)}</table>'


def series_table(rows: Sequence[Row]) -> str:
    currency = str(rows[0].get("currency", "")) if rows else ""
    columns = table_keys(rows)
    head = "".join(
        f'<th class="{"num" if k != "as_of" else ""}">{escape(name(k))}'
        f"{f' ({currency})' if k in MONEY_KEYS else ''}</th>"
        for k in columns
    )
    body = "".join(f"<tr>{''.join(td(k, r.get(k)) for k in columns)}</tr>" for r in rows)
    return f'<div class="scroll"><table class="series"><tr>{head}</tr>{body}</table></div>'


LOSS, EVEN, GROWTH = (0xF1, 0xA3, 0x40), (0xF7, 0xF7, 0xF7), (0x67, 0xA9, 0xCF)
"""The heat map's colours: orange at an NRR of 0, near-white at 1, blue at 2 and above
(a scale colour-blind readers tell apart). Every shade between keeps the page's text
(#1c2430) at a contrast above 4.5:1 (WCAG AA), and the figure is printed in the cell."""
KEY = ("0", "0.5", "1", "1.5", "2")


def shade(nrr: Decimal) -> str:
    """A heat-map cell's background for its NRR."""
    if nrr < 1:
        far, toward = 1 - Fraction(max(nrr, Decimal(0))), LOSS
    else:
        far, toward = min(Fraction(nrr) - 1, Fraction(1)), GROWTH
    mixed = (round(e + (t - e) * far) for e, t in zip(EVEN, toward, strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def percent(nrr: Decimal) -> str:
    """A ratio as printed to 4 places, as a percentage to 2: 1.0500 → 105.00%, exactly."""
    return f"{grouped(f'{nrr.scaleb(2):f}')}%"


def cohort_groups(cells: Sequence[Row]) -> list[list[Row]]:
    """The cells of each cohort, cohort by cohort in the order given."""
    groups: dict[str, list[Row]] = {}
    for found in cells:
        groups.setdefault(str(found["cohort"]), []).append(found)
    return list(groups.values())


def heat_cell(found: Row, currency: str) -> str:
    """One cohort at one period end: its NRR as a percentage on its shade, the rest in its
    tooltip."""
    raw = found.get("nrr")
    nrr = None if raw is None else Decimal(str(raw))
    said = [
        f"NRR {'—' if nrr is None else raw}",
        f"active customers {int(found['customers']):,}",
        f"MRR {grouped(str(found['mrr']))} {currency}".strip(),
    ]
    title = escape(f"{found['cohort']} cohort at {found['as_of']}: {'; '.join(said)}")
    if nrr is None:
        return f'<td class="num cell" title="{title}">—</td>'
    return (
        f'<td class="num cell" style="background:{shade(nrr)}" title="{title}" '
        f'data-nrr="{escape(str(raw))}">{percent(nrr)}</td>'
    )


def cohort_row(group: Sequence[Row], width: int, currency: str) -> str:
    first = group[0]
    cells = "".join(heat_cell(found, currency) for found in group)
    cells += "<td></td>" * (width - len(group))
    return (
        f'<tr><th scope="row">{escape(str(first["cohort"]))}</th>'
        f'<td class="num">{int(first["customers"]):,}</td>'
        f'<td class="num">{grouped(str(first["mrr"]))}</td>{cells}</tr>'
    )


def heat_key() -> str:
    """The scale under the heat map, each shade with the percentage it stands for."""
    spans = "".join(
        f'<span style="background:{shade(Decimal(n))}">{"≥ " if n == KEY[-1] else ""}'
        f"{percent(Decimal(n))}</span>"
        for n in KEY
    )
    return f'<p class="heat-key caption">Scale: {spans}</p>'


def cohorts_caption(every: str, chart_every: str) -> str:
    said = (
        f"Customers grouped by the {every} in which their MRR first rose above 0, and each "
        f"cohort's MRR at the end of every {every} from its first on, as a percentage of its "
        f"MRR at the end of its first {every} (its NRR: above 100% the cohort grew, below it "
        f"shrank; — where the starting MRR is 0). Customers: those active at the end of the "
        f"first {every}; starting MRR: theirs then."
    )
    if every != chart_every:
        said += f" Cohorts go by month, quarter or year: this chart's every {chart_every} is "
        said += f"shown by {every}."
    return said


def cohorts_section(cells: Sequence[Row], every: str, chart_every: str) -> str:
    """The cohorts heat map: a row per cohort, a column per period since its start."""
    heading = f'<h2 id="cohorts">Cohorts by {escape(every)}</h2>'
    if not cells:
        none = "No customer's MRR first rose above 0 in this range: there is no cohort."
        return f'<section class="cohorts">{heading}<p class="caption">{none}</p></section>'
    groups, currency = cohort_groups(cells), str(cells[0].get("currency", ""))
    width = max(len(group) for group in groups)
    unit = f" ({escape(currency)})" if currency else ""
    head = (
        '<tr><th scope="col">cohort</th><th scope="col" class="num">customers</th>'
        f'<th scope="col" class="num">starting MRR{unit}</th>'
        + "".join(f'<th scope="col" class="num">{escape(every)} {n}</th>' for n in range(width))
        + "</tr>"
    )
    body = "".join(cohort_row(group, width, currency) for group in groups)
    caption = escape(cohorts_caption(every, chart_every))
    return (
        f'<section class="cohorts">{heading}<p class="caption">{caption}</p>'
        f'<div class="scroll"><table class="heat" aria-labelledby="cohorts">{head}{body}'
        "</table></div>"
        f"{heat_key()}</section>"
    )


def page(
    rows: Sequence[Row],
    start: date,
    every: str,
    knowledge: str,
    cohorts: Sequence[Row] | None = None,
    cohort_every: str = "month",
) -> str:
    """The whole HTML document for the series rows from `start` (SPEC §9 `series` JSON),
    and, given the cells of SPEC §13's cohorts (JSON form) by `cohort_every`, their heat map."""
    if not rows:
        raise ValueError("a chart needs at least one series row")
    last = rows[-1]
    end = last["as_of"]
    title, meta = headline(rows, start, every, knowledge)
    charts = "".join(
        f'<section class="chart-card"><h2>{escape(chart.heading)}</h2>{chart.draw(rows, every)}'
        f'<p class="caption">{escape(chart.says(rows))}</p></section>'
        for chart in CHARTS
    )
    heat = "" if cohorts is None else cohorts_section(cohorts, cohort_every, every)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{escape(meta)}</p>'
        f"<h2>Figures as of {escape(end)}</h2>{figures_table(last)}"
        f'<div class="charts">{charts}</div>{heat}'
        f"<h2>Every period</h2>{series_table(rows)}"
        f"<script>{CHECK}</script></body></html>\n"
    )
