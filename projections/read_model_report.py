"""Figures (SPEC §4, §7) from the read model: a snapshot lookup plus the recent changes.

Every measure is a sum over the rows of one kind that cover the day and were believed at
the position (`read_model_kinds`). The latest snapshot at or before the position gives
that sum at its own position in one indexed lookup; the rows opened since are added and
those closed since taken away, read by two index ranges of at most `BLOCK` positions.
Values are exact fractions `num/den`, summed per denominator in integers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from fractions import Fraction

from sqlalchemy import Connection

from projections.contract_value import AcvPolicy
from projections.read_model_kinds import KINDS, MEASURES, Kind
from projections.read_model_snapshots import at_day
from projections.read_model_sql import Raw
from projections.read_model_tables import CLOSED
from projections.report import Report, share

Measures = dict[str, Fraction]

_RECENT = """
SELECT den, SUM(num), COUNT(*), COUNT(big), 1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? AND start <= ? AND "end" > ?
 GROUP BY den
UNION ALL SELECT den, SUM(num), COUNT(*), COUNT(big), -1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? AND start <= ? AND "end" > ?
 GROUP BY den
"""
_RECENT_BIG = """
SELECT den, big, 1 FROM {t} WHERE recorded_from > ? AND recorded_from <= ?
 AND start <= ? AND "end" > ? AND big IS NOT NULL
UNION ALL SELECT den, big, -1 FROM {t} WHERE {closed} AND recorded_to > ? AND recorded_to <= ?
 AND start <= ? AND "end" > ? AND big IS NOT NULL
"""


def measures(conn: Connection, days: Sequence[date], position: int) -> list[Measures]:
    """Every measure on each of `days` (end of day), as believed at `position`."""
    raw = Raw(conn)
    found: list[Measures] = [dict.fromkeys(MEASURES, Fraction(0)) for _ in days]
    for kind in (k for k in KINDS if k.measured):
        for day, figures in zip(days, found, strict=True):
            at, count, value = at_day(raw, kind, position, day)
            recent_count, recent_value = _recent(raw, kind, at, position, day)
            _put(figures, kind, count + recent_count, value + recent_value)
    return found


def _recent(raw: Raw, kind: Kind, at: int, position: int, day: date) -> tuple[int, Fraction]:
    """What the rows opened and closed in `(at, position]` change on `day`."""
    if position <= at:
        return 0, Fraction(0)
    bounds = (at, position, raw.day(day), raw.day(day)) * 2
    count, bigs, sums = 0, 0, defaultdict[int, int](int)
    table = {"t": kind.table.name, "closed": CLOSED}
    for den, num, rows, big, sign in raw.rows(_RECENT.format(**table), bounds):
        count += sign * int(rows)
        bigs += big
        sums[int(den)] += sign * int(num)
    if bigs:  # their `num` is 0 in the sums above: add their values (a rare case)
        for den, big, sign in raw.rows(_RECENT_BIG.format(**table), bounds):
            sums[int(den)] += sign * int(big)
    return count, sum((Fraction(n, d) for d, n in sums.items()), Fraction(0))


def _put(figures: Measures, kind: Kind, count: int, value: Fraction) -> None:
    if kind.count:
        figures[kind.count] += count
    if kind.value:
        figures[kind.value] += value


def reports(
    conn: Connection, days: Sequence[date], position: int, currency: str, policy: AcvPolicy
) -> list[Report]:
    """The `report` of each of `days` as believed at `position`."""
    found = measures(conn, days, position)
    return [
        report_of(figures, day, position, currency, policy)
        for day, figures in zip(days, found, strict=True)
    ]


def report_of(
    figures: Measures, as_of: date, position: int, currency: str, policy: AcvPolicy
) -> Report:
    mrr, contracts = figures["mrr"], figures["active_contracts"]
    recurring, with_fees = mrr * 12, mrr * 12 + figures["fees"]
    return Report(
        as_of=as_of,
        position=position,
        currency=currency,
        mrr=mrr,
        active_customers=int(figures["active_customers"]),
        active_contracts=int(contracts),
        acv=share(recurring if policy == "recurring" else with_fees, contracts),
        acv_policy=policy,
        acv_arr_ratio=share(with_fees, recurring),
    )
