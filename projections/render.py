"""Renderers: the last step of the data flow. Figures arrive already rounded (JSON form)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.table import Table

Format = Literal["table", "json", "csv"]
FORMATS: tuple[Format, ...] = ("table", "json", "csv")
_MONEY_KEYS = {
    "mrr",
    "arr",
    "arpa",
    "acv",
    "start_mrr",
    "end_mrr",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "net_new",
    "net_expansion",
    "bookings_acv",
    "bookings_tcv",
    "one_time_fees",
    "mrr_effect",
    "before",
    "after",
    "change",
}


def as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def as_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return out.getvalue()


def _cell(key: str, value: Any, currency: str) -> str:
    if value is None:
        return "—"
    if key in _MONEY_KEYS and isinstance(value, str):
        whole, _, cents = value.partition(".")
        sign = "-" if whole.startswith("-") else ""
        return f"{sign}{int(whole.lstrip('-')):,}.{cents} {currency}".strip()
    return str(value)


def table(title: str, rows: Sequence[dict[str, Any]], currency: str = "") -> Table:
    """A people's table: one column per key, numbers right-aligned with separators."""
    grid = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    keys = list(rows[0]) if rows else []
    for key in keys:
        numeric = key in _MONEY_KEYS or all(isinstance(r.get(key), int) for r in rows)
        grid.add_column(key.replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        grid.add_row(*(_cell(k, row.get(k), currency) for k in keys))
    return grid


def figures(title: str, values: dict[str, Any], currency: str = "") -> Table:
    """A people's table of one object: one line per figure."""
    grid = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", show_header=False)
    grid.add_column("figure")
    grid.add_column("value", justify="right")
    for key, value in values.items():
        grid.add_row(key.replace("_", " "), _cell(key, value, currency))
    return grid


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
        console.print(table(title, value, currency))
    else:
        console.print(figures(title, value, currency))
