"""Renderers: the last step of the data flow. Figures arrive already rounded (JSON form).

JSON and CSV are for machines and print the figures exactly as the SPEC names them.
Tables are for people: the SPEC's words as headers, thousands separators, the currency,
numbers right-aligned, and outflows (contraction, churn, any negative change) marked with
a minus sign, in red on a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from rich import box
from rich.console import Console, JustifyMethod
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ledger.domain.text import inert
from projections.figures.keys import CONTEXT_KEYS, MONEY_KEYS, OUTFLOW_KEYS, RATIO_KEYS

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")
LABELS = {
    "as_of": "as of",
    "mrr": "MRR",
    "arr": "ARR",
    "arpa": "ARPA",
    "acv": "ACV",
    "acv_policy": "ACV policy",
    "acv_arr_ratio": "ACV:ARR ratio",
    "start_mrr": "MRR at start",
    "end_mrr": "MRR at end",
    "net_new": "net new",
    "nrr": "NRR",
    "grr": "GRR",
    "bookings_acv": "bookings ACV",
    "bookings_tcv": "bookings TCV",
    "one_time_fees": "one-time fees",
    "mrr_effect": "MRR effect",
}
"""Keys that are the same on every row of a list: said once, in the caption."""


def label(key: str) -> str:
    """A JSON key in the SPEC's words, as a column header or figure name."""
    return LABELS.get(key, key.replace("_", " "))


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP: CSV injection)."""
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_safe(value: Any) -> str:
    """A CSV cell no spreadsheet runs: text that begins with = + - @, a tab or a carriage
    return gets a leading ', so `=HYPERLINK(...)` reads as text; a plain number such as
    -500.00 or -0.2500 is left exactly as it is. Every CSV arr writes goes through here."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def as_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Lines ending in "\\n", every cell `spreadsheet_safe`. A cell holding a carriage
    return is quoted, as one holding a line feed is: unquoted, a spreadsheet would begin a
    new row there, whose first cell could be a formula. (The writer quotes the characters
    of its line terminator: each record is written ending "\\r\\n", then cut to "\\n".)"""
    if not rows:
        return ""
    record = io.StringIO()
    writer = csv.DictWriter(record, fieldnames=list(rows[0]), lineterminator="\r\n")
    lines = []
    for row in (None, *rows):
        record.seek(0)
        record.truncate()
        if row is None:
            writer.writeheader()
        else:
            writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
        lines.append(record.getvalue().removesuffix("\r\n") + "\n")
    return "".join(lines)


def grouped(amount: str) -> str:
    """A rounded money string with thousands separators and a true minus sign."""
    whole, _, cents = amount.partition(".")
    sign = "−" if whole.startswith("-") else ""
    digits = f"{int(whole.lstrip('-')):,}"
    return f"{sign}{digits}.{cents}" if cents else f"{sign}{digits}"


def outflow(key: str, amount: str) -> bool:
    """An outflow key's negative amount flows in (a `paused` given back when a paused
    subscription ended: its churn counts it instead)."""
    return (key in OUTFLOW_KEYS) != amount.startswith("-")


def signed(key: str, amount: str) -> tuple[str, bool]:
    """How a money figure reads, and whether it is an outflow: a churn of 500.00 reads
    −500.00, as does a net new of -500.00, and a `paused` of -300.00 reads 300.00; a zero
    is never marked."""
    shown = grouped(amount.lstrip("-"))
    is_out = outflow(key, amount) and shown.strip("0.,") != ""
    return f"{'−' if is_out else ''}{shown}", is_out


def money_cell(key: str, amount: str, currency: str = "") -> Text:
    shown, is_out = signed(key, amount)
    return Text(f"{shown} {currency}".strip(), style="red" if is_out else "")


def cell(key: str, value: Any, currency: str = "") -> Text:
    if key == "figure" and isinstance(value, str):
        return Text(label(value))
    if value is None:
        return Text("—", style="dim")
    if key in MONEY_KEYS and isinstance(value, str):
        return money_cell(key, value, currency)
    if isinstance(value, int) and not isinstance(value, bool) and key != "position":
        return Text(f"{value:,}".replace("-", "−"), style="red" if value < 0 else "")
    return Text(inert(str(value)))


def numeric(key: str, rows: Sequence[dict[str, Any]]) -> bool:
    values = [r.get(key) for r in rows if r.get(key) is not None]
    return key in MONEY_KEYS or key in RATIO_KEYS or all(isinstance(v, int) for v in values)


def context(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The context keys whose value is the same on every row."""
    first = rows[0] if rows else {}
    return {
        k: first[k] for k in CONTEXT_KEYS if k in first and all(r.get(k) == first[k] for r in rows)
    }


def _as(row: dict[str, Any], key: str) -> str:
    """A ledger position is an identifier, printed as is, even as a restated figure."""
    return "position" if row.get("figure") == "position" and key != "figure" else key


def table(title: str, rows: Sequence[dict[str, Any]], currency: str = "") -> Table:
    """A people's table of rows: money columns are headed with the currency."""
    shared = context(rows)
    grid = Table(
        title=Text(inert(title)),
        caption=" · ".join(f"{label(k)} {v}" for k, v in shared.items()) or None,
        box=box.SIMPLE_HEAVY,
        title_justify="left",
        caption_justify="left",
    )
    keys = [k for k in (rows[0] if rows else {}) if k not in shared]
    cells = [[cell(_as(row, k), row.get(k)) for k in keys] for row in rows]
    for n, key in enumerate(keys):
        unit = f" ({currency})" if key in MONEY_KEYS and currency else ""
        justify: JustifyMethod = "right" if numeric(key, rows) else "left"
        # A figure is never folded while a header can wrap instead.
        header = label(key) + unit
        words = max(len(word) for word in header.split())
        widest = max((line[n].cell_len for line in cells), default=words)
        grid.add_column(header, justify=justify, overflow="fold", min_width=max(widest, words))
    for line in cells:
        grid.add_row(*line)
    return grid


def figures(title: str, values: dict[str, Any], currency: str = "") -> Table:
    """A people's table of one object: one line per figure, money with its currency."""
    grid = Table(
        title=Text(inert(title)), box=box.SIMPLE_HEAVY, title_justify="left", show_header=False
    )
    grid.add_column("figure")
    grid.add_column("value", justify="right", overflow="fold")
    for key, value in values.items():
        grid.add_row(label(key), cell(key, value, currency if key != "currency" else ""))
    return grid


def show(console: Console, grid: Table) -> None:
    """Prints a table whole: never a figure cut short, folded or a column dropped to fit.

    Piped, at its natural width (a file has no edge); on a terminal too narrow for it,
    the same (the terminal wraps the lines)."""
    width = Measurement.get(console, console.options.update(width=10_000), grid).maximum
    if width <= console.width:
        console.print(grid)
        return
    Console(
        file=console.file,
        width=width,
        force_terminal=console.is_terminal,
        color_system=console.color_system,  # type: ignore[arg-type]
    ).print(grid)


PEOPLE_WIDTH = 80
"""The width a people's table is made to fit, unless asked for every column."""


def fitting(
    title: str, rows: Sequence[dict[str, Any]], keep: Sequence[str], width: int = PEOPLE_WIDTH
) -> list[str]:
    """The columns of `rows` (in their order) that fit in `width`: the last of `keep`, the
    columns by importance, are left out first, down to the first two."""
    columns = list(rows[0]) if rows else []
    chosen = [k for k in keep if k in columns]
    probe = Console(width=10_000)
    while len(chosen) > 2:
        shown = [{k: r[k] for k in columns if k in chosen} for r in rows]
        grid = table(title, shown, str(rows[0].get("currency", "")))
        if Measurement.get(probe, probe.options, grid).maximum <= width:
            break
        chosen.pop()
    return [k for k in columns if k in chosen]


def emit(
    console: Console, fmt: Format, title: str, value: dict[str, Any] | list[dict[str, Any]]
) -> None:
    """Prints one object or a list of rows in the asked format."""
    rows = value if isinstance(value, list) else [value]
    currency = str(rows[0].get("currency", "")) if rows else ""
    if fmt == "json":
        console.print_json(as_json(value)) if console.is_terminal else print(as_json(value))
    elif fmt == "csv":
        print(as_csv(rows), end="")
    elif isinstance(value, list):
        show(console, table(title, value, currency))
    else:
        show(console, figures(title, value, currency))
