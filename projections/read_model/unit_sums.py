"""The foreign customers' flows and spans summed by the database (SPEC §10): by the
unit (and code) leading their key and by day, as believed at a position. Converted,
each is a sum of local amounts times their unit's rate, so a query needs these sums,
a few thousand, and not the rows, hundreds of thousands at a million events.

Exact whatever the values: where SQLite's sum overflows, a 64-bit value is summed as
its two halves (`num / 2**32`, truncated, and what is left), whose sums cannot; a value
beyond 64 bits (`big`) is read as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from math import lcm
from typing import Any

from sqlalchemy.exc import DBAPIError

from projections.read_model.kinds import TABLES
from projections.read_model.rows import OPEN_END
from projections.read_model.scaled import BELIEVED_AT
from projections.read_model.sql import Raw

_HALF = 2**32
_SUMS = """
SELECT {who}, substr(subscription_id, 1, {length}), {day}, den, {sums}, COUNT(*), {typed}
  FROM {t} WHERE {believed} AND big IS NULL{where} GROUP BY 1, 2, 3, 4
"""
_UNTYPED = "SUM(typeof(num) <> 'integer' OR typeof(den) <> 'integer')"
"""SQLite keeps a text put in an integer column, and sums it as 0: such a row is no
row the ledger wrote (PostgreSQL's columns refuse it)."""
_PLAIN = "0, SUM(num)"
"""PostgreSQL's sum of bigints is a numeric: exact. SQLite's fails on an overflow."""
_HALVES = "SUM(num / 4294967296), SUM(num - num / 4294967296 * 4294967296)"
_BIG = """
SELECT {who}, substr(subscription_id, 1, {length}), {day}, den, big
  FROM {t} WHERE {believed} AND big IS NOT NULL{where}
"""

Sum = tuple[str, str, date, int, int]
"""(customer, key, day, total as a multiple of 1/L, how many rows), both negated for the
rows' ends: the customer only where a query asks the sums by customer, else ''."""


@dataclass(frozen=True)
class Sums:
    """Sums of one table's rows, and the scale L of their values."""

    rows: list[Sum]
    scale: int


@dataclass(frozen=True)
class Ask:
    """What to sum of a table: by the first `length` characters of the key, by its rows'
    `start` (or, `ends`, by their ends, negated), by customer where `by_customer` (SQL,
    true on the rows to sum by customer), within `within` (start > low, start <= high)."""

    kind: str
    length: int
    ends: bool = False
    by_customer: str | None = None
    within: tuple[date, date] | None = None


def read(raw: Raw, position: int, asks: Sequence[Ask]) -> list[Sums]:
    """The sums of each ask, over one scale for all of them."""
    found = [_rows(raw, position, ask) for ask in asks]
    scale = lcm(1, *{int(r[3]) for rows in found for r in rows})
    to_day = raw.to_day
    return [
        Sums([_sum(row, scale, -1 if ask.ends else 1, to_day) for row in rows], scale)
        for ask, rows in zip(asks, found, strict=True)
    ]


def _sum(row: Any, scale: int, sign: int, to_day: Callable[[Any], date]) -> Sum:
    who, key, day, den, high, low, count, _ = row
    value = (_HALF * int(high) + int(low)) * (scale // int(den))
    return (str(who), str(key), to_day(day), sign * value, sign * int(count))


def _rows(raw: Raw, position: int, ask: Ask) -> list[Any]:
    where, params = "", [position, position]
    if ask.ends:
        where += ' AND "end" < ?'
        params.append(raw.day(OPEN_END))
    if ask.within is not None:
        where += " AND start > ? AND start <= ?"
        params += [raw.day(ask.within[0]), raw.day(ask.within[1])]
    who = f"CASE WHEN {ask.by_customer} THEN customer_id ELSE '' END" if ask.by_customer else "''"
    names = {
        "who": who,
        "length": ask.length,
        "day": '"end"' if ask.ends else "start",
        "t": TABLES[ask.kind],
        "believed": BELIEVED_AT,
        "where": where,
        "typed": _UNTYPED if raw.sqlite else "0",
    }
    try:
        found = raw.rows(_SUMS.format(sums=_PLAIN, **names), params)
    except DBAPIError as exc:
        if "overflow" not in str(exc):
            raise
        found = raw.rows(_SUMS.format(sums=_HALVES, **names), params)
    if any(row[-1] for row in found):
        raise ValueError(f"{TABLES[ask.kind]} holds a value that is not an integer")
    big = raw.rows(_BIG.format(**names), params)
    halves = [(w, k, d, n, int(b) // _HALF, int(b) % _HALF, 1, 0) for w, k, d, n, b in big]
    return found + halves
