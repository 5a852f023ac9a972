"""A report's sums of the customers with anything in another currency (SPEC §10).

Their rows are kept in their own currencies, tagged with their unit (`rows.UNIT`): a
currency and the day its price was set (a segment) or its fee is dated (a fee span).
On a day, the rows believed at the position that cover it are summed by tag in SQL, and
each sum is converted with one rate: under `spot` the day's, under `booked` the tag's
day's, under `fixed` the fixed day's; fees at their own day's (`fixed`: the fixed day's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction

from sqlalchemy import Connection

from projections.figures.conversion import Converter
from projections.figures.converted import unit_rate
from projections.figures.report import Measures
from projections.read_model.kinds import KINDS
from projections.read_model.rows import UNIT
from projections.read_model.sql import Raw

_BY_UNIT = """
SELECT substr(subscription_id, 1, {n}), den, SUM(num), COUNT(*), COUNT(big) FROM {t}
 WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? AND "end" > ?
 GROUP BY substr(subscription_id, 1, {n}), den
"""
_BIG = """
SELECT substr(subscription_id, 1, {n}), den, big FROM {t}
 WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? AND "end" > ? AND big IS NOT NULL
"""
CURRENCY = 3
"""The length of a tag's currency: where one rate converts a whole currency (MRR under
`spot` and `fixed`, fees under `fixed`), rows are summed by currency alone."""
_COUNT = """
SELECT COUNT(*) FROM {t} WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? AND "end" > ?
"""
_TABLES = {kind.name: kind.table.name for kind in KINDS}


def measures(
    conn: Connection, days: Sequence[date], position: int, rates: Converter
) -> list[Measures]:
    """The report's sums (`report.measures_of`) of the foreign customers on each day."""
    raw, fixed = Raw(conn), rates.policy.kind == "fixed"
    found = []
    for day in days:
        params = (position, position, raw.day(day), raw.day(day))
        dated = UNIT if rates.policy.kind == "booked" else CURRENCY
        segments, contracts = _by_unit(raw, "unit_segment", params, dated)
        fees, _ = _by_unit(raw, "unit_fee_span", params, CURRENCY if fixed else UNIT)
        customers = raw.scalar(_COUNT.format(t=_TABLES["unit_customer_span"]), params)
        found.append(
            {
                "mrr": sum((v * mrr_rate(u, day, rates) for u, v in segments.items()), _ZERO),
                "active_customers": Fraction(int(customers or 0)),
                "active_contracts": Fraction(contracts),
                "fees": sum((v * _fee_rate(u, rates) for u, v in fees.items()), _ZERO),
            }
        )
    return found


_ZERO = Fraction(0)


def _by_unit(
    raw: Raw, kind: str, params: tuple[object, ...], length: int
) -> tuple[dict[str, Fraction], int]:
    """The rows of `kind` covering the day, summed by the first `length` characters of
    their tag; and how many there are."""
    table, n = _TABLES[kind], length
    totals: dict[str, Fraction] = {}
    count = bigs = 0
    for unit, den, num, rows, big in raw.rows(_BY_UNIT.format(t=table, n=n), params):
        totals[unit] = totals.get(unit, _ZERO) + Fraction(int(num or 0), int(den))
        count, bigs = count + int(rows), bigs + int(big)
    if bigs:  # a numerator too large for SQL sums is kept as text, `num` 0 (rare)
        for unit, den, big in raw.rows(_BIG.format(t=table, n=n), params):
            totals[unit] = totals.get(unit, _ZERO) + Fraction(int(big), int(den))
    return {u: v for u, v in totals.items() if v}, count


def by_currency(
    conn: Connection, day: date, position: int, rates: Converter
) -> dict[str, tuple[Fraction, Fraction]]:
    """The foreign customers' MRR on `day` by currency: local, and converted; a currency
    is there when a subscription in it is active, whatever its MRR."""
    raw = Raw(conn)
    params = (position, position, raw.day(day), raw.day(day))
    found: dict[str, tuple[Fraction, Fraction]] = {}
    table = _TABLES["unit_segment"]
    for tag, den, num, _, big in raw.rows(_BY_UNIT.format(t=table, n=UNIT), params):
        value = Fraction(int(num or 0), int(den))
        if int(big):  # a numerator too large for SQL sums (rare): the unit's rows one by one
            value = _big(raw, table, params, str(tag), int(den))
        local, converted = found.get(str(tag)[:CURRENCY], (_ZERO, _ZERO))
        rate = mrr_rate(str(tag), day, rates) if value else _ZERO
        found[str(tag)[:CURRENCY]] = (local + value, converted + value * rate)
    return found


def _big(raw: Raw, table: str, params: tuple[object, ...], tag: str, den: int) -> Fraction:
    rows = raw.rows(_ROWS.format(t=table), (*params, tag, den))
    return sum((Fraction(int(b) if b is not None else int(n), den) for n, b in rows), _ZERO)


_ROWS = f"""
SELECT num, big FROM {{t}} WHERE recorded_from <= ? AND recorded_to > ? AND start <= ?
 AND "end" > ? AND substr(subscription_id, 1, {UNIT}) = ? AND den = ?
"""


def mrr_rate(tag: str, day: date, rates: Converter) -> Fraction:
    """A segment's tag is its unit under `booked`; under the others its currency alone."""
    priced = date.fromisoformat(tag[4:]) if rates.policy.kind == "booked" else None
    return unit_rate((tag[:3], priced), day, rates)


def _fee_rate(unit: str, rates: Converter) -> Fraction:
    if len(unit) == CURRENCY:  # `fixed`: the fixed day's
        return rates.dated(unit, date.min)
    return rates.dated(unit[:3], date.fromisoformat(unit[4:]))
