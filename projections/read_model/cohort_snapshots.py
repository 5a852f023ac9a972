"""Cohort snapshots (SPEC §13): each cohort's sums as changes at month ends, as believed
at the positions of the kinds' snapshots, taken with them (`read_model_snapshots`).

A customer's MRR pieces carry its cohort, the month of its first MRR > 0 (`flows`). A
cohort's MRR and active customers at a month end are sums over its pieces covering that
day, so as functions of the month end they change only at the end of the month in which
a piece begins (up) and at the end of the month in which it ends (down: it covered the
month ends before). `arr_rm_cohort_snapshots` holds those changes by cohort and month
end; the changes as believed at any position are the latest snapshot's plus those of
the pieces opened and closed since (`changes`): a few thousand rows, whatever the
number of customers. Snapshots are a function of the rows, as the kinds' are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from fractions import Fraction

from ledger.domain.dates import months_end
from ledger.domain.money import Total
from projections.read_model.kinds import TABLES
from projections.read_model.rows import OPEN_END
from projections.read_model.sql import Raw
from projections.read_model.tables import CLOSED

Changes = defaultdict[tuple[str, date], tuple[Total, list[int]]]
"""(cohort, month end) → the change there of the cohort's MRR and of its active customers."""

_CHANGES = """
SELECT subscription_id, {start}, den, SUM(num), COUNT(*), COUNT(big), 1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? GROUP BY subscription_id, {start}, den
UNION ALL SELECT subscription_id, {end}, den, SUM(num), COUNT(*), COUNT(big), -1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? AND "end" < ? GROUP BY subscription_id, {end}, den
UNION ALL SELECT subscription_id, {start}, den, SUM(num), COUNT(*), COUNT(big), -1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? GROUP BY subscription_id, {start}, den
UNION ALL SELECT subscription_id, {end}, den, SUM(num), COUNT(*), COUNT(big), 1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? AND "end" < ?
 GROUP BY subscription_id, {end}, den
"""
"""The pieces opened (+) and closed (−) in a range of positions, by cohort, month (as
`YYYY-MM`) and den; a piece that never ends makes no change down."""
_BIG_CHANGES = """
SELECT subscription_id, start, "end", den, big, 1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? AND big IS NOT NULL
UNION ALL SELECT subscription_id, start, "end", den, big, -1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? AND big IS NOT NULL
"""
"""Those whose numerator is too large for SQL's sums (`num` 0 above): a rare case."""
_LATEST = "SELECT MAX(at) FROM arr_rm_cohort_snapshots WHERE at <= ?"
_AT = "SELECT cohort, day, count, value FROM arr_rm_cohort_snapshots WHERE at = ?"
_COLUMNS = ("at", "cohort", "day", "count", "value")


def take(raw: Raw, done: int, ats: Sequence[int]) -> None:
    """Writes the cohort snapshots at `ats` (in order, after `done`), the rows written."""
    if not ats:
        return
    since, (_, found) = done, changes(raw, done)
    for at in ats:
        _add_changes(raw, since, at, found)
        rows = [
            (at, cohort, raw.day(day), count[0], str(total.value))
            for (cohort, day), (total, count) in sorted(found.items())
            if count[0] or total.value
        ]
        raw.insert("arr_rm_cohort_snapshots", _COLUMNS, rows)
        since = at


def changes(raw: Raw, position: int) -> tuple[int, Changes]:
    """The changes as believed at `position`: its latest snapshot's and the pieces'
    since; and that snapshot's position (0: none)."""
    at = int(raw.scalar(_LATEST, (position,)) or 0)
    found: Changes = defaultdict(lambda: (Total(), [0]))
    for cohort, day, count, value in raw.rows(_AT, (at,)) if at else []:
        total, active = found[(str(cohort), raw.to_day(day))]
        total.add(Fraction(value))
        active[0] += int(count)
    _add_changes(raw, at, position, found)
    return at, found


def _add_changes(raw: Raw, since: int, at: int, changes: Changes) -> None:
    """Adds the pieces opened in `(since, at]` and takes away those closed in it."""
    if since >= at:
        return
    table, bigs = TABLES["pieces"], 0
    if raw.sqlite and not since:  # the first snapshot reads every row: a plain scan
        table += " NOT INDEXED"  # (by the index, one random lookup per row: 3× slower)
    query = _CHANGES.format(
        t=table, closed=CLOSED, start=_month(raw, "start"), end=_month(raw, '"end"')
    )
    forever = raw.day(OPEN_END)
    params = (since, at, since, at, forever, since, at, since, at, forever)
    for cohort, month, den, num, count, big, sign in raw.rows(query, params):
        total, active = changes[(str(cohort), _month_end(str(month)))]
        total.add_over(sign * int(num), int(den))
        active[0] += sign * int(count)
        bigs += int(big)
    if bigs:
        for cohort, start, end, den, big, sign in raw.rows(
            _BIG_CHANGES.format(t=TABLES["pieces"], closed=CLOSED), (since, at) * 2
        ):
            changes[(str(cohort), months_end(raw.to_day(start)))][0].add_over(
                sign * int(big), int(den)
            )
            if (last := raw.to_day(end)) != OPEN_END:
                changes[(str(cohort), months_end(last))][0].add_over(-sign * int(big), int(den))


def _month(raw: Raw, column: str) -> str:
    """A date column's month as `YYYY-MM`, in the database's SQL (SQLite keeps dates as
    ISO text). Grouped by month, the first snapshot of a million events sums 20,000
    groups instead of 200,000."""
    return f"substr({column}, 1, 7)" if raw.sqlite else f"to_char({column}, 'YYYY-MM')"


def _month_end(month: str) -> date:
    return months_end(date(int(month[:4]), int(month[5:7]), 1))
