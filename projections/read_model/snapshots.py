"""Snapshots: each kind's sums over days, as believed at every `BLOCK`-th position.

A kind's measure on day D as believed at position P is the sum over the rows covering D
that were believed at P. As a function of D it is a step function; a snapshot stores it
at position `at` as rows `(kind, at, day, count, value)`, each holding from its day to
the next row's (a row at `date.min` holds zero before the first change). The snapshot at
`at` is the one before it plus the rows opened and minus the rows closed in between, so
snapshots are a function of the rows: a rebuild and incremental maintenance give the
same ones. A figure then costs one indexed lookup plus the rows changed since the
snapshot (`read_model_report`), instead of a sum over every covering row.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from fractions import Fraction
from math import gcd, lcm

from projections.read_model import cohort_snapshots
from projections.read_model.kinds import KINDS, RowKind
from projections.read_model.rows import OPEN_END
from projections.read_model.sql import Raw
from projections.read_model.tables import CLOSED

BLOCK = 16384
"""Positions between snapshots: a report reads the changes of at most this many
positions, or of the one commit that holds them."""


class StepFunction:
    """A step function over days by its changes: day → change of count and of value.
    Values are integers over one common denominator `den` (the least common multiple of
    the rows' denominators), so that the running sums stay exact without `Fraction`."""

    def __init__(self) -> None:
        self.count: defaultdict[date, int] = defaultdict(int)
        self.value: defaultdict[date, int] = defaultdict(int)
        self.den = 1

    def add(self, day: date, count: int, num: int, den: int) -> None:
        if self.den % den:
            common = lcm(self.den, den)
            for key in self.value:
                self.value[key] *= common // self.den
            self.den = common
        self.count[day] += count
        self.value[day] += num * (self.den // den)

    def running(self) -> Iterator[tuple[date, int, int]]:
        """(day, count, value over `den`) from each day on which a total changes."""
        count = value = 0
        for day in sorted(self.count.keys() | self.value.keys()):
            change, amount = self.count[day], self.value[day]
            if not change and not amount:
                del self.count[day], self.value[day]  # opened and closed again: no step
                continue
            count, value = count + change, value + amount
            yield day, count, value

    def totals(self) -> Iterator[tuple[date, int, str]]:
        """(day, count, exact value) from each day on which a total changes."""
        for day, count, value in self.running():
            yield day, count, _fraction(value, self.den)

    def on(self, days: Sequence[date]) -> list[tuple[int, Fraction]]:
        """(count, exact value) on each of `days`."""
        steps = list(self.running())
        starts = [day for day, _, _ in steps]
        found = []
        for day in days:
            index = bisect_right(starts, day)
            _, count, value = steps[index - 1] if index else (day, 0, 0)
            found.append((count, Fraction(value, self.den)))
        return found


def _fraction(num: int, den: int) -> str:
    """`str(Fraction(num, den))`, without the cost of making one."""
    common = gcd(num, den)
    num, den = num // common, den // common
    return str(num) if den == 1 else f"{num}/{den}"


_CHANGES = """
SELECT start, den, SUM(num), COUNT(*), COUNT(big), 1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? GROUP BY start, den
UNION ALL SELECT "end", den, SUM(num), COUNT(*), COUNT(big), -1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? GROUP BY "end", den
UNION ALL SELECT start, den, SUM(num), COUNT(*), COUNT(big), -1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? GROUP BY start, den
UNION ALL SELECT "end", den, SUM(num), COUNT(*), COUNT(big), 1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? GROUP BY "end", den
"""
_BIG_CHANGES = """
SELECT start, "end", den, big, 1 FROM {t}
 WHERE recorded_from > ? AND recorded_from <= ? AND big IS NOT NULL
UNION ALL SELECT start, "end", den, big, -1 FROM {t}
 WHERE {closed} AND recorded_to > ? AND recorded_to <= ? AND big IS NOT NULL
"""
_LATEST = "SELECT MAX(at) FROM arr_rm_snapshots WHERE kind = ? AND at <= ?"
_STEPS = "SELECT day, count, value FROM arr_rm_snapshots WHERE kind = ? AND at = ? ORDER BY day"
_AT = """
SELECT count, value FROM arr_rm_snapshots WHERE kind = ? AND at = ? AND day <= ?
 ORDER BY day DESC LIMIT 1
"""


def take(raw: Raw, done: int, stop: int, ends: Sequence[int]) -> None:
    """Writes the snapshots in `(done, stop]`, the rows up to `stop` written already: at
    the end of the commit that holds each multiple of `BLOCK` (`ends`, the commit ends in
    that range). Rows change only where a commit ends (`read_model_derive`), so a
    snapshot inside a large import would hold none of it. The cohorts' snapshots are
    taken at the same positions (`read_model_cohort_snapshots`)."""
    first = (done // BLOCK + 1) * BLOCK
    ats = sorted({ends[bisect_left(ends, m)] for m in range(first, stop + 1, BLOCK)})
    if not ats:
        return
    for kind in (k for k in KINDS if k.measured):
        since, steps = _restored(raw, kind, done)
        for at in ats:
            _add_changes(raw, kind, since, at, steps)
            _store(raw, kind, at, steps)
            since = at
    cohort_snapshots.take(raw, done, ats)


def latest(raw: Raw, kind: RowKind, position: int) -> int:
    """The position of the latest snapshot at or before `position`; 0 when there is none."""
    return int(raw.scalar(_LATEST, (kind.name, position)) or 0)


def at_day(raw: Raw, kind: RowKind, at: int, day: date) -> tuple[int, Fraction]:
    """(count, value) on `day` of the snapshot taken at `at`; zeros when there is none."""
    found = raw.rows(_AT, (kind.name, at, raw.day(day)))
    if not found:
        return 0, Fraction(0)
    count, value = found[0]
    return int(count), Fraction(value)


def _restored(raw: Raw, kind: RowKind, position: int) -> tuple[int, StepFunction]:
    """The latest snapshot at or before `position`, by its changes."""
    at, steps = latest(raw, kind, position), StepFunction()
    if not at:
        return 0, steps
    count, value = 0, Fraction(0)
    for day, total, text in raw.rows(_STEPS, (kind.name, at)):
        change = Fraction(text) - value
        steps.add(raw.to_day(day), int(total) - count, change.numerator, change.denominator)
        count, value = int(total), value + change
    return int(at), steps


def _add_changes(raw: Raw, kind: RowKind, since: int, at: int, steps: StepFunction) -> None:
    """Adds the rows opened in `(since, at]` and takes away those closed in it."""
    bigs = 0
    for text, den, num, count, big, sign in raw.rows(
        _CHANGES.format(t=kind.table.name, closed=CLOSED), (since, at) * 4
    ):
        day = raw.to_day(text)
        bigs += big
        if day != OPEN_END:  # a row that never ends makes no step down
            steps.add(day, sign * int(count), sign * int(num), int(den))
    if bigs:  # their `num` is 0 in the sums above: add their values (a rare case)
        query = _BIG_CHANGES.format(t=kind.table.name, closed=CLOSED)
        for start, end, den, big, sign in raw.rows(query, (since, at) * 2):
            steps.add(raw.to_day(start), 0, sign * int(big), int(den))
            if raw.to_day(end) != OPEN_END:
                steps.add(raw.to_day(end), 0, -sign * int(big), int(den))


def _store(raw: Raw, kind: RowKind, at: int, steps: StepFunction) -> None:
    rows = [(kind.name, at, raw.day(date.min), 0, "0")]
    rows.extend((kind.name, at, raw.day(day), n, v) for day, n, v in steps.totals())
    raw.insert("arr_rm_snapshots", ("kind", "at", "day", "count", "value"), rows)
