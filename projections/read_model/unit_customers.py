"""The foreign customers one by one, from their unit segment rows (`rows.unit_segment_rows`),
for what SPEC §13 asks of each customer's MRR: trailing retention, month netting and
cohorts, with no event decoded and no timeline folded.

None of these customers has a trial, a pause or a discount (the model holds no rows of
such a customer: it is replayed, with everyone held out). So a customer's MRR on a day is
the sum of its rows covering the day, each at its unit's rate on that day: what
`Account.converted_on` gives of a replay. Values are integers over one scale, as in
`foreign_parts`, made a `Fraction` once per figure.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from math import lcm

from projections.figures.cohorts import CohortSums
from projections.figures.conversion import Converter
from projections.figures.keys import MOVEMENT_KINDS
from projections.figures.movements import classify, period_of
from projections.figures.netting import (
    Sums,
    changed_month_ends,
    empty,
    first_month_end,
    previous_end,
)
from projections.figures.trailing import Tally, Windows
from projections.read_model.kinds import TABLES
from projections.read_model.rows import OPEN_END, UNIT
from projections.read_model.scaled import BELIEVED_AT, CURRENCY, Rates, Row, Scaled
from projections.read_model.sql import Raw

ZERO = Fraction(0)
_LAST: dict[str, tuple[Converter, int, UnitCustomers]] = {}
"""The last customers read, and for which rates and position (`UnitCustomers.read`),
until the answer that asked them is done (`forget`)."""


def forget() -> None:
    """Lets the last customers read go: the answer that asked them is done."""
    _LAST.clear()


_SEGMENTS = (
    'SELECT customer_id, subscription_id, start, "end", num, big, den FROM {t} '
    f"WHERE {BELIEVED_AT}"
)


@dataclass(frozen=True)
class UnitCustomers:
    """The foreign customers believed at a position: each one's rows (values over
    `scale`), and the rates (over their own scale)."""

    customers: list[list[Row]]
    rates: Scaled
    scale: int

    @classmethod
    def read(cls, raw: Raw, position: int, rates: Converter) -> UnitCustomers:
        """The customers believed at `position`; the same as the last read for the same
        `rates` object at the same position, until the answer is done (`forget`): an
        answer's queries ask them up to three times (`Ledger`), and rows believed at a
        position never change."""
        last = _LAST.get("read")
        if last is not None and last[0] is rates and last[1] == position:
            return last[2]
        found = cls._read(raw, position, rates)
        _LAST["read"] = (rates, position, found)
        return found

    @classmethod
    def _read(cls, raw: Raw, position: int, rates: Converter) -> UnitCustomers:
        # a scan of the table: by the customer index, one random lookup per row (slower)
        table = TABLES["unit_segment"] + (" NOT INDEXED" if raw.sqlite else "")
        found = raw.rows(_SEGMENTS.format(t=table), (position, position))
        scale = lcm(1, *{int(r[6]) for r in found})
        to_day, customers = raw.to_day, defaultdict[str, list[Row]](list)
        for c, k, s, e, num, big, den in found:
            value = (int(big) if big is not None else int(num)) * (scale // int(den))
            customers[c].append((c, k, to_day(s), to_day(e), value))
        return cls(list(customers.values()), Scaled.of(rates), scale)

    @property
    def den(self) -> int:
        return self.scale * self.rates.scale

    def trailing(self, windows: Windows) -> None:
        """Adds each customer's MRR at the windows' ends (`Tally`)."""
        days = windows.days
        tally, rates, count = Tally(windows, self.den), Rates(self.rates, days), len(days)
        for rows in self.customers:
            values, low, high = [0] * count, count, 0
            for _, key, start, end, value in rows:
                first = bisect_left(days, start)
                last = count if end == OPEN_END else bisect_left(days, end)
                if first < last:
                    rated, low, high = rates.of(key), min(low, first), max(high, last)
                    for j in range(first, last):
                        values[j] += value * (rated[j] or rates.fill(key, j))
            tally.add_indexed(values, low, high)
        tally.settle()

    def netted(self, bounds: Sequence[date]) -> Sums:
        """The customers' movements netted by month over the periods between `bounds`
        (`netting.netted_accounts`): subscription by subscription at each month end's
        rates, each earlier MRR at the rate of the subscription's unit then. Summed in
        integers by period and kind, made `Fraction`s once."""
        totals = [dict.fromkeys(MOVEMENT_KINDS, 0) for _ in bounds[1:]]
        for rows in self.customers:
            pieces = [(start, _open(end), ZERO) for _, _, start, end, _ in rows]
            first = first_month_end(pieces)
            for end in changed_month_ends(pieces, bounds):
                if (index := period_of(bounds, end)) is None:
                    continue
                prime, cur = self._moved(rows, previous_end(end), end)
                if found := classify(prime, cur, first is not None and first < end):
                    totals[index][found[0]] += found[1]
        sums, den = empty(bounds), self.den
        for period, moved in zip(sums, totals, strict=True):
            for kind, value in moved.items():
                if value:
                    period[kind].add(Fraction(value, den))
        return sums

    def add_cohorts(self, sums: CohortSums) -> None:
        """Adds each customer to its cohort's sums (`cohorts.CohortSums`). A cohort's MRR
        at a period end is linear in the rates: the sum, over units, of its rows' local
        values covering the day times the unit's rate then. So the rows' values are
        summed by cohort and unit over the period ends they cover (as changes), each
        total converted once per period end; a customer is active where a row of a
        value > 0 covers the day (values and rates are > 0)."""
        ends, count = sums.ends, len(sums.ends)
        local: defaultdict[tuple[date, str], list[int]] = defaultdict(lambda: [0] * (count + 1))
        active: defaultdict[date, list[int]] = defaultdict(lambda: [0] * (count + 1))
        firsts: dict[date, date] = {}
        booked = self.rates.kind == "booked"
        for rows in self.customers:
            first = min(r[2] for r in rows)
            if (own := sums.own(first)) is None:
                continue
            firsts.setdefault(own, first)
            covered = []
            for _, key, start, end, value in rows:
                low = bisect_left(ends, start)
                high = count if end == OPEN_END else bisect_left(ends, end)
                if low < high and value:
                    changes = local[(own, key[:UNIT] if booked else key[:CURRENCY])]
                    changes[low] += value
                    changes[high] -= value
                    covered.append((low, high))
            _add_runs(active[own], covered)
        self._add_converted(sums, local, active, firsts)

    def _add_converted(
        self,
        sums: CohortSums,
        local: dict[tuple[date, str], list[int]],
        active: dict[date, list[int]],
        firsts: dict[date, date],
    ) -> None:
        """Adds each cohort's converted MRR, as changes from one period end to the next,
        and its active customers' changes."""
        ends, den = sums.ends, self.den
        rates = Rates(self.rates, ends)
        mrr: defaultdict[date, list[int]] = defaultdict(lambda: [0] * len(ends))
        for (own, unit), changes in local.items():
            total, cells, rated = 0, mrr[own], rates.of(unit)
            for j in range(len(ends)):
                total += changes[j]
                if total:
                    cells[j] += total * (rated[j] or rates.fill(unit, j))
        for own, first in firsts.items():
            cells, counts, before = mrr[own], active[own], 0
            for j, value in enumerate(cells):
                if value != before or counts[j]:
                    sums.add_change(first, j, Fraction(value - before, den), counts[j])
                before = value

    def _moved(self, rows: list[Row], before: date, day: date) -> tuple[int, int]:
        """The customer's MRR at the end of `before` and of `day`, both at `day`'s rates:
        each subscription's earlier MRR at the rate of its unit on `day` (or of its unit
        before, when it has none on `day`), as `lifecycle` reads a replay."""
        old: dict[str, Row] = {}
        new: dict[str, Row] = {}
        for row in rows:
            start, end = row[2], row[3]
            if start <= before < end:
                old[row[1][UNIT + 1 :]] = row
            if start <= day < end:
                new[row[1][UNIT + 1 :]] = row
        mrr, prime, cur = self.rates.mrr, 0, 0
        for subscription, (_, _, _, _, value) in old.items():
            unit = (new.get(subscription) or old[subscription])[1][:UNIT]
            prime += value * mrr(unit, day)
        for _, key, _, _, value in new.values():
            cur += value * mrr(key[:UNIT], day)
        return prime, cur


def _add_runs(active: list[int], covered: list[tuple[int, int]]) -> None:
    """Adds one customer's active period ends, the union of its rows' (`[low, high)` by
    index), as changes: +1 where a run of them begins, -1 after it."""
    covered.sort()
    begin = end = -1
    for low, high in covered:
        if low > end:
            if end > begin:
                active[begin] += 1
                active[end] -= 1
            begin = low
        end = max(end, high)
    if end > begin:
        active[begin] += 1
        active[end] -= 1


def _open(end: date) -> date | None:
    return None if end == OPEN_END else end
