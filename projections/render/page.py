"""One self-contained HTML report: the charts, the as-of figures and the series table.

Everything is inline (styles, SVG, one small script); a Content-Security-Policy forbids
every fetch, so the file opens offline and cannot leak the figures anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from typing import Any

from projections.figures import keys
from projections.figures.keys import MONEY_KEYS, RATIO_KEYS
from projections.render.chart import CHARTS, headline, some_period_has
from projections.render.svg import Row
from projections.render.text import label, signed

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
    numeric = key in RATIO_KEYS
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
        f'<th class="{"num" if k != "as_of" else ""}">{escape(label(k))}'
        f"{f' ({currency})' if k in MONEY_KEYS else ''}</th>"
        for k in columns
    )
    body = "".join(f"<tr>{''.join(td(k, r.get(k)) for k in columns)}</tr>" for r in rows)
    return f'<div class="scroll"><table class="series"><tr>{head}</tr>{body}</table></div>'


def page(rows: Sequence[Row], start: date, every: str, knowledge: str) -> str:
    """The whole HTML document for the series rows from `start` (SPEC §9 `series` JSON)."""
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
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{escape(meta)}</p>'
        f"<h2>Figures as of {escape(end)}</h2>{figures_table(last)}"
        f'<div class="charts">{charts}</div>'
        f"<h2>Every period</h2>{series_table(rows)}"
        f"<script>{CHECK}</script></body></html>\n"
    )
