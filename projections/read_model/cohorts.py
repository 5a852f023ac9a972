"""Cohorts (SPEC §13) of the model's customers, summed by the database: each MRR piece
starts adding to the cohort of its customer at the month it begins and stops at the
month it ends, so the pieces are grouped by (cohort month, month, denominator) and only
those few sums reach Python, whatever the number of customers.

It holds for spans from a month's first day to a month end: then every period end is a
month end, a piece covers a month end exactly when its first month is at or before it
and its end's month after it, and a cohort is decided by its customer's first month.
Other spans, and a numerator too large for SQL's sums, take the piece-by-piece path."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date

from sqlalchemy import Connection

from ledger.domain.dates import months_end
from projections.figures.cohorts import CohortSums
from projections.read_model import netting
from projections.read_model.kinds import TABLES
from projections.read_model.sql import Raw

_CHANGES = """
WITH firsts AS (
  SELECT customer_id, MIN(start) AS first FROM {t}
   WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? GROUP BY customer_id
), believed AS (
  SELECT {first} AS cohort, {start} AS opens, {end} AS closes, p.den, p.num, p.big
    FROM {t} p JOIN firsts f ON f.customer_id = p.customer_id
   WHERE p.recorded_from <= ? AND p.recorded_to > ? AND p.start <= ?
)
SELECT cohort, opens, den, SUM(num), COUNT(*), SUM(CASE WHEN big IS NULL THEN 0 ELSE 1 END)
  FROM believed GROUP BY cohort, opens, den
UNION ALL
SELECT cohort, closes, den, -SUM(num), -COUNT(*), 0 FROM believed GROUP BY cohort, closes, den
"""


def aligned(sums: CohortSums) -> bool:
    """Whether the span runs from a month's first day to a month end."""
    start, end = sums.span
    return start.day == 1 and end == months_end(end)


def add_model(conn: Connection, sums: CohortSums, position: int) -> None:
    """Adds the customers the model holds, as believed at `position`, to `sums`."""
    raw = Raw(conn)
    if aligned(sums) and _add_changes(raw, sums, position):
        return
    for pieces in netting.customer_pieces(conn, position, sums.span[1]):
        sums.add_pieces(pieces)


def _add_changes(raw: Raw, sums: CohortSums, position: int) -> bool:
    """Adds the grouped changes; False (and nothing added) if a numerator was too large
    for the database to sum."""
    upto = raw.day(sums.span[1])
    query = _CHANGES.format(
        t=TABLES["pieces"],
        first=_month(raw, "f.first"),
        start=_month(raw, "p.start"),
        end=_month(raw, 'p."end"'),
    )
    found = raw.rows(query, (position, position, upto, position, position, upto))
    if any(int(big or 0) for *_, big in found):
        return False
    months = [_index(day) for day in sums.ends]
    low, high = _index(sums.span[0]), _index(sums.span[1])
    for cohort, month, den, num, count, _ in found:
        if low <= int(cohort) <= high:
            first = date(int(cohort) // 12, int(cohort) % 12 + 1, 1)
            at = bisect_left(months, int(month))
            sums.add_change(first, at, int(num), int(den), int(count))
    return True


def _index(day: date) -> int:
    """A month as a number: its year × 12 + its month − 1."""
    return day.year * 12 + day.month - 1


def _month(raw: Raw, column: str) -> str:
    """`_index` of a date column, in the database's SQL (SQLite keeps dates as ISO text)."""
    if raw.sqlite:
        year, month = f"substr({column}, 1, 4)", f"substr({column}, 6, 2)"
    else:
        year, month = f"EXTRACT(YEAR FROM {column})", f"EXTRACT(MONTH FROM {column})"
    return f"(CAST({year} AS INTEGER) * 12 + CAST({month} AS INTEGER) - 1)"
