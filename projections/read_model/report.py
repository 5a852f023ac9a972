"""Figures (SPEC §4, §7) from the read model: a snapshot lookup plus the recent changes.

Every measure is a sum over the rows of one kind that cover the day and were believed at
the position (`read_model_kinds`). The latest snapshot at or before the position gives
that sum at its own position in one indexed lookup; the rows opened since are added and
those closed since taken away, read by two index ranges of at most `BLOCK` positions.
Values are exact fractions `num/den`, summed per denominator in integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
from math import lcm
from typing import Any

from sqlalchemy import Connection

from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import ONE, Converter
from projections.figures.movements import Known, check_day
from projections.figures.parts import BookPart
from projections.figures.report import (
    CurrencyLine,
    Measures,
    Report,
    SegmentLine,
    ordered_lines,
    report_of,
)
from projections.read_model import foreign
from projections.read_model.bulk import collector_paused
from projections.read_model.kinds import KINDS, REPORTED, TABLES, RowKind
from projections.read_model.rows import OPEN_END, UNIT
from projections.read_model.snapshots import StepFunction, at_day, latest
from projections.read_model.sql import Raw
from projections.read_model.tables import CLOSED

ZERO = Fraction(0)

_RECENT = """
SELECT CASE WHEN start < ? THEN ? ELSE start END AS low,
       CASE WHEN "end" > ? THEN ? ELSE "end" END AS high, den, SUM(num), COUNT(*), COUNT(big)
  FROM {t} WHERE {when} > ? AND {when} <= ? AND start <= ? AND "end" > ?
 GROUP BY low, high, den
"""
"""The rows opened (`when` is recorded_from) or closed (recorded_to) in a
range of positions that cover some of the days asked, grouped by their span clipped to
those days: a day's figure, or a few days', is a few groups whatever the row count."""
_RECENT_BIG = """
SELECT start, "end", den, big, 1 FROM {t} WHERE recorded_from > ? AND recorded_from <= ?
 AND start <= ? AND "end" > ? AND big IS NOT NULL
UNION ALL SELECT start, "end", den, big, -1 FROM {t} WHERE {closed} AND recorded_to > ?
 AND recorded_to <= ? AND start <= ? AND "end" > ? AND big IS NOT NULL
"""


def measures(
    conn: Connection, days: Sequence[date], position: int, kinds: Sequence[RowKind] = KINDS
) -> list[Measures]:
    """The measures of `kinds` on each of `days` (end of day), as believed at `position`."""
    raw = Raw(conn)
    names = [m for k in kinds for m in (k.count, k.value) if m]
    found: list[Measures] = [dict.fromkeys(names, Fraction(0)) for _ in days]
    for kind in (k for k in kinds if k.measured):
        at = latest(raw, kind, position)
        recent = _recent(raw, kind, at, position, days).on(days)
        for day, figures, (count, value) in zip(days, found, recent, strict=True):
            stored_count, stored_value = at_day(raw, kind, at, day)
            _put(figures, kind, stored_count + count, stored_value + value)
    return found


def _recent(raw: Raw, kind: RowKind, at: int, position: int, days: Sequence[date]) -> StepFunction:
    """What the rows opened and closed in `(at, position]` change on the days between the
    first and the last of `days`: swept once for them all."""
    steps = StepFunction()
    if position <= at or not days:
        return steps
    low, high = raw.day(min(days)), raw.day(max(days))
    clip = (low, low, high, raw.day(OPEN_END))
    table = {"t": kind.table.name, "closed": CLOSED}
    bigs = 0
    for sign, when in ((1, "recorded_from"), (-1, f"{CLOSED} AND recorded_to")):
        query = _RECENT.format(when=when, **table)
        for start, end, den, num, rows, big in raw.rows(query, (*clip, at, position, high, low)):
            _span(steps, raw, start, end, sign * int(rows), sign * int(num), int(den))
            bigs += big
    if bigs:  # their `num` is 0 in the sums above: add their values (a rare case)
        bounds = (at, position, high, low) * 2
        for start, end, den, big, sign in raw.rows(_RECENT_BIG.format(**table), bounds):
            _span(steps, raw, start, end, 0, sign * int(big), int(den))
    return steps


def _span(
    steps: StepFunction, raw: Raw, start: Any, end: Any, count: int, num: int, den: int
) -> None:
    """Rows covering `[start, end)`: a step up on their first day, down after their last."""
    steps.add(raw.to_day(start), count, num, den)
    if (last := raw.to_day(end)) != OPEN_END:
        steps.add(last, -count, -num, den)


def _put(figures: Measures, kind: RowKind, count: int, value: Fraction) -> None:
    if kind.count:
        figures[kind.count] += count
    if kind.value:
        figures[kind.value] += value


def reports(
    conn: Connection,
    days: Sequence[date],
    known: Known,
    policy: AcvPolicy,
    held_out: Converter | BookPart | None = None,
) -> list[Report]:
    """The `report` of each of `days` as believed at `known[0]`, the position; and of the
    customers held out of the ledger's-currency rows: read from their unit rows with
    these rates (`read_model_foreign`), or replayed."""
    for day in days:  # the last day, OPEN_END, would read as after every row's end
        check_day(day, "as_of")
    position, currency, fx = known
    found = measures(conn, days, position, REPORTED)
    if held_out is not None:
        if isinstance(held_out, BookPart):
            theirs = held_out.measures(days)
        else:
            theirs = foreign.measures(conn, days, position, held_out)
        found = [added(a, b) for a, b in zip(found, theirs, strict=True)]
    return [
        report_of(figures, day, position, currency, policy, fx)
        for day, figures in zip(days, found, strict=True)
    ]


def by_currency(
    conn: Connection, day: date, known: Known, rates: Converter | None
) -> list[CurrencyLine]:
    """`report.by_currency` from the rows: the ledger's currency is the others' MRR and
    the foreign customers' subscriptions in it; the rest theirs, by unit."""
    check_day(day, "as_of")
    position, currency, fx = known
    mine = measures(conn, [day], position, REPORTED)[0]
    theirs = foreign.by_currency(conn, day, position, rates) if rates is not None else {}
    if mine["active_contracts"]:
        local, converted = theirs.get(currency, (ZERO, ZERO))
        theirs[currency] = (local + mine["mrr"], converted + mine["mrr"])
    return [
        CurrencyLine(day, position, code, local, rate, converted, fx)
        for code, (local, converted) in sorted(theirs.items())
        for rate in [None if fx.kind == "booked" else _rate(code, day, currency, rates)]
    ]


def _rate(code: str, day: date, currency: str, rates: Converter | None) -> Fraction:
    return ONE if code == currency or rates is None else rates.dated(code, day)


def added(mine: Measures, theirs: Measures) -> Measures:
    """The measures of two sets of customers together (`theirs`: those a report reads)."""
    return {**mine, **{name: mine.get(name, ZERO) + value for name, value in theirs.items()}}


_BY_CUSTOMER = """
SELECT customer_id, {tag}, den, SUM(num), COUNT(*), COUNT(big) FROM {t}
 WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? AND "end" > ?
 GROUP BY customer_id, {tag}, den
"""
"""The segments covering a day, summed per customer (and, for a foreign customer's unit
rows, per unit tag: each sum is converted with one rate)."""
_NO_TAG = "substr(subscription_id, 1, 0)"  # '' (PostgreSQL refuses a constant to group by)
_BIG_BY_CUSTOMER = """
SELECT customer_id, {tag}, den, big FROM {t}
 WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? AND "end" > ? AND big IS NOT NULL
"""


def by_customer(
    conn: Connection, day: date, known: Known, rates: Converter | None
) -> list[SegmentLine]:
    """`report.by_customer` from the segment rows: the others' in the ledger's currency,
    the foreign customers' by unit, converted with `rates` (needed when there are any)."""
    check_day(day, "as_of")
    with collector_paused():
        return _by_customer(Raw(conn), day, known, rates)


def _by_customer(raw: Raw, day: date, known: Known, rates: Converter | None) -> list[SegmentLine]:
    position, _, fx = known
    params = (position, position, raw.day(day), raw.day(day))
    sums = _segment_sums(raw, TABLES["segment"], _NO_TAG, params)
    if rates is not None:  # the foreign customers' sums by unit, each converted
        tag = f"substr(subscription_id, 1, {UNIT})"
        converted: dict[str, Fraction] = {}
        for (customer, unit), (num, den, count) in _segment_sums(
            raw, TABLES["unit_segment"], tag, params
        ).items():
            if num:  # a rate is asked only of an amount that is not 0 (it may be missing)
                if (rate := converted.get(unit)) is None:
                    rate = converted[unit] = foreign.mrr_rate(unit, day, rates)
                num, den = num * rate.numerator, den * rate.denominator
            _add(sums, (customer, ""), num, den, count)
    parts = [(c, num, den, count) for (c, _), (num, den, count) in sums.items()]
    return ordered_lines(parts, "customer_id", day, position, fx)


def _segment_sums(
    raw: Raw, table: str, tag: str, params: tuple[object, ...]
) -> dict[tuple[str, str], list[int]]:
    """(customer, tag) → [numerator, denominator, rows] of the rows covering the day; a
    numerator too large for SQL sums (kept as text, `num` 0: rare) is added from its
    own row."""
    # Summed in plain integers over one denominator per customer (most have one): a
    # Fraction or a `Total` per row cost most of the time of 100,000 customers.
    sums: dict[tuple[str, str], list[int]] = {}
    bigs = 0
    # A scan of the table, summed in a temporary B-tree: SQLite would otherwise read it
    # in customer order by the customer index, one random lookup per row, twice as slow.
    scanned = f"{table} NOT INDEXED" if raw.sqlite else table
    for customer, unit, den, num, rows, big in raw.rows(
        _BY_CUSTOMER.format(t=scanned, tag=tag), params
    ):
        _add(sums, (customer, unit), int(num or 0), int(den), int(rows))
        bigs += int(big)
    if bigs:
        for customer, unit, den, big in raw.rows(_BIG_BY_CUSTOMER.format(t=table, tag=tag), params):
            _add(sums, (customer, unit), int(big), int(den), 0)
    return sums


def _add(
    sums: dict[tuple[str, str], list[int]], key: tuple[str, str], num: int, den: int, rows: int
) -> None:
    """Adds `num / den` and `rows` to the key's [numerator, denominator, rows]."""
    if (was := sums.get(key)) is None:
        sums[key] = [num, den, rows]
    elif was[1] == den:
        was[0] += num
        was[2] += rows
    else:  # over their least common multiple, which stays small: prices' denominators
        common = lcm(was[1], den)
        was[0] = was[0] * (common // was[1]) + num * (common // den)
        was[1], was[2] = common, was[2] + rows
