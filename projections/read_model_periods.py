"""Movements, retention and bookings over periods from the read model's flow rows
(`read_model_flows`): the movements are the boundaries of the customers' MRR pieces
inside the periods, and the bookings and fees those dated inside them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection

from projections.contract_value import AcvPolicy
from projections.movements import (
    Booked,
    Charged,
    Flows,
    Kind,
    Level,
    Movement,
    Movements,
    periods,
)
from projections.read_model_kinds import TABLES
from projections.read_model_report import Measures, measures, report_of
from projections.read_model_rows import OPEN_END
from projections.read_model_sql import Raw
from projections.series import SeriesRow

ZERO = Fraction(0)
_BOUNDARIES = """
SELECT customer_id, subscription_id, start, "end", num, big, den FROM {t}
 WHERE recorded_to > ? AND recorded_from <= ? AND start <= ? AND "end" > ?
   AND (start > ? OR "end" <= ?)
"""
_ON_DAYS = """
SELECT subscription_id, start, num, big, den FROM {t}
 WHERE recorded_to > ? AND recorded_from <= ? AND start > ? AND start <= ?
"""
Piece = tuple[date, date, str, Fraction]


def _value(num: int, big: str | None, den: int) -> Fraction:
    """A stored value; a numerator too large for SQL sums is kept in `big` as text."""
    return _fraction(num, den) if big is None else Fraction(int(big), den)


@lru_cache(maxsize=1 << 16)  # prices repeat: making a Fraction is the cost of reading
def _fraction(num: int, den: int) -> Fraction:
    return Fraction(num, den)


def flows_between(raw: Raw, tables: dict[str, str], low: date, high: date, at: int) -> Flows:
    """The flows on the days `(low, high]` as believed at position `at`; `tables` names
    each kind's table (`read_model_kinds.TABLES`)."""
    found = Flows()
    span = (at, at, raw.day(high), raw.day(low), raw.day(low), raw.day(high))
    pieces: defaultdict[str, list[Piece]] = defaultdict(list)
    for customer, opened_by, start, end, num, big, den in raw.rows(
        _BOUNDARIES.format(t=tables["pieces"]), span
    ):
        piece = (raw.to_day(start), raw.to_day(end), opened_by, _value(num, big, den))
        pieces[customer].append(piece)
    for customer, runs in pieces.items():
        found.moved.extend(_movements(customer, sorted(runs), low, high))
    days = (at, at, raw.day(low), raw.day(high))
    values = [_on_days(raw, tables[k], days) for k in ("recurring_acv", "including_fees_acv")]
    for event_id, (day, tcv) in _on_days(raw, tables["tcv"], days).items():
        acvs = (values[0][event_id][1], values[1][event_id][1])
        found.booked.append(Booked(event_id, day, *acvs, tcv))
    fees = _on_days(raw, tables["fees"], days).items()
    found.charged.extend(Charged(event_id, day, amount) for event_id, (day, amount) in fees)
    return found


def _on_days(raw: Raw, table: str, days: tuple[Any, ...]) -> dict[str, tuple[date, Fraction]]:
    rows = raw.rows(_ON_DAYS.format(t=table), days)
    return {key: (raw.to_day(day), _value(n, big, d)) for key, day, n, big, d in rows}


def _movements(customer: str, runs: list[Piece], low: date, high: date) -> Iterator[Movement]:
    """The movements at the boundaries of one customer's pieces inside `(low, high]`."""
    for number, (start, end, opened_by, value) in enumerate(runs):
        before = runs[number - 1] if number and runs[number - 1][1] == start else None
        if low < start <= high:
            prev = before[3] if before else ZERO
            yield Movement(customer, start, cast(Kind, opened_by), prev, value)
        followed = number + 1 < len(runs) and runs[number + 1][0] == end
        if low < end <= high and end != OPEN_END and not followed:
            yield Movement(customer, end, "churn", value, ZERO)


def movements_over(
    conn: Connection, bounds: Sequence[date], known: tuple[int, str], policy: AcvPolicy
) -> list[Movements]:
    """Movements, retention and bookings over each period `(bounds[i], bounds[i + 1]]` as
    believed at position `known[0]`: the flows inside, from the levels at the bounds."""
    return _periods(conn, bounds, measures(conn, bounds, known[0]), known, policy)


def series(
    conn: Connection, start: date, days: Sequence[date], known: tuple[int, str], policy: AcvPolicy
) -> list[SeriesRow]:
    """A `report` on each of `days` and the movements since the previous one (the first
    since `start`), from one reading of the measures at every bound."""
    bounds = [start, *days]
    found = measures(conn, bounds, known[0])
    moved = _periods(conn, bounds, found, known, policy)
    reports = [report_of(m, day, *known, policy) for day, m in zip(days, found[1:], strict=True)]
    return [SeriesRow(r, m) for r, m in zip(reports, moved, strict=True)]


def _periods(
    conn: Connection,
    bounds: Sequence[date],
    found: Sequence[Measures],
    known: tuple[int, str],
    policy: AcvPolicy,
) -> list[Movements]:
    levels = [Level(m["mrr"], int(m["active_customers"])) for m in found]
    flows = flows_between(Raw(conn), TABLES, bounds[0], bounds[-1], known[0])
    return periods(bounds, levels, flows, policy, known)
