"""Movements, retention and bookings over periods from the read model (`read_model_flows`).

What a period sums over its days (movements by kind, bookings, fees) is the difference
of running totals at its two bounds, read with every other measure at every bound.
Its retention is the month's, read on its last day, when the period is a calendar
month; otherwise it comes from the customers' MRR pieces that end or begin inside it.
The customers with anything in another currency are added from their unit rows,
converted with the rates (`read_model_foreign_parts`), or replayed (`BookPart`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise

from sqlalchemy import Connection

from ledger.domain.dates import DAY, months_end
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import Converter
from projections.figures.movements import (
    KINDS,
    Kept,
    Known,
    Level,
    Movements,
    Parts,
    PeriodSums,
    assembled,
    check_period,
    kept_by,
)
from projections.figures.parts import BookPart
from projections.figures.report import Measures, report_of
from projections.figures.series import SeriesRow
from projections.read_model.foreign_parts import UnitPart
from projections.read_model.kinds import TABLES
from projections.read_model.report import added, measures
from projections.read_model.sql import Raw

ZERO = Fraction(0)
Foreign = BookPart | Converter | None
"""The foreign customers: replayed, or read from their unit rows with these rates."""

_LEAVING = """
SELECT customer_id, num, big, den FROM {t} WHERE recorded_to > ? AND recorded_from <= ?
 AND "end" > ? AND "end" <= ? AND start <= ?
"""
_ARRIVING = """
SELECT customer_id, num, big, den FROM {t} WHERE recorded_to > ? AND recorded_from <= ?
 AND start > ? AND start <= ? AND "end" > ?
"""


def movements_over(
    conn: Connection,
    bounds: Sequence[date],
    known: Known,
    policy: AcvPolicy,
    foreign: Foreign = None,
) -> list[Movements]:
    """Movements, retention and bookings over each period `(bounds[i], bounds[i + 1]]` as
    believed at position `known[0]` (and, given `foreign`, of the customers it holds)."""
    for low, high in pairwise(bounds):
        check_period(low, high)
    found = measures(conn, bounds, known[0])
    parts = _parts(conn, bounds, found, known[0], policy)
    if (theirs := held_out(conn, known[0], foreign)) is not None:
        parts = parts + theirs.parts(bounds, policy)
    return assembled(bounds, parts.levels, parts.periods, policy, known)


def series(
    conn: Connection,
    start: date,
    days: Sequence[date],
    known: Known,
    policy: AcvPolicy,
    foreign: Foreign = None,
) -> list[SeriesRow]:
    """A `report` on each of `days` and the movements since the previous one (the first
    since `start`), from one reading of the measures at every bound."""
    bounds = [start, *days]
    for low, high in pairwise(bounds):
        check_period(low, high)
    found = measures(conn, bounds, known[0])
    parts = _parts(conn, bounds, found, known[0], policy)
    if (theirs := held_out(conn, known[0], foreign)) is not None:
        others = theirs.measures(bounds)
        found = [added(a, b) for a, b in zip(found, others, strict=True)]
        parts = parts + theirs.parts(bounds, policy)
    moved = assembled(bounds, parts.levels, parts.periods, policy, known)
    position, currency, fx = known
    reports = [
        report_of(m, day, position, currency, policy, fx)
        for day, m in zip(days, found[1:], strict=True)
    ]
    return [SeriesRow(r, m) for r, m in zip(reports, moved, strict=True)]


def held_out(conn: Connection, position: int, foreign: Foreign) -> BookPart | UnitPart | None:
    if isinstance(foreign, Converter):
        return UnitPart(conn, position, foreign)
    return foreign


def _parts(
    conn: Connection, bounds: Sequence[date], found: Sequence[Measures], at: int, policy: AcvPolicy
) -> Parts:
    raw = Raw(conn)
    levels = [Level(m["mrr"], int(m["active_customers"])) for m in found]
    periods = [
        (_sums(found[i], found[i + 1], policy), _kept(raw, ends, found[i + 1], at))
        for i, ends in enumerate(pairwise(bounds))
    ]
    return Parts(levels, periods)


def _sums(before: Measures, after: Measures, policy: AcvPolicy) -> PeriodSums:
    def summed(name: str) -> Fraction:  # §11's kinds: none of the model's customers has any
        return after.get(name, ZERO) - before.get(name, ZERO)

    return PeriodSums(
        moved={kind: summed(kind) for kind in KINDS},
        bookings=int(summed("bookings")),
        acv=summed(f"bookings_{policy}_acv"),
        tcv=summed("bookings_tcv"),
        one_time_fees=summed("one_time_fees"),
    )


def _kept(raw: Raw, ends: tuple[date, date], after: Measures, at: int) -> Kept:
    low, high = ends
    if low == months_end(low) and high == months_end(low + DAY):
        kept, churned_mrr = after["kept"], after["churned_mrr"]
        return Kept(kept, after["lost"], kept + churned_mrr, int(after["churned"]))
    return kept_by(_moved(raw, low, high, at))


def _moved(raw: Raw, low: date, high: date, at: int) -> list[tuple[Fraction, Fraction]]:
    """The MRR at `low` and at `high` of each customer active at `low` whose MRR changed
    in `(low, high]`: its piece covering `low` ends inside, and the one covering `high`,
    if any, begins inside."""
    table, days = TABLES["pieces"], (raw.day(low), raw.day(high))
    ending = raw.rows(_LEAVING.format(t=table), (at, at, *days, days[0]))
    beginning = raw.rows(_ARRIVING.format(t=table), (at, at, *days, days[1]))
    after = {customer: _value(num, big, den) for customer, num, big, den in beginning}
    zero = Fraction(0)
    return [(_value(num, big, den), after.get(c, zero)) for c, num, big, den in ending]


def _value(num: int, big: str | None, den: int) -> Fraction:
    """A stored value; a numerator too large for SQL sums is kept in `big` as text."""
    return _fraction(num, den) if big is None else Fraction(int(big), den)


@lru_cache(maxsize=1 << 16)  # prices repeat: making a Fraction is the cost of reading
def _fraction(num: int, den: int) -> Fraction:
    return Fraction(num, den)
