"""Retention over the 12 months to each `series` row (SPEC §13), from one pass over the
customers: each one's MRR at both ends of every window, read once for all the windows.

§6 over `(start, end]` needs, of each customer active at `start`, its MRR there and at
`end` (and, of one with a pause, whether it is paused at `end`: then it is not lost).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from fractions import Fraction
from math import lcm

from ledger.domain.money import Total
from projections.figures.book import Account
from projections.figures.conversion import Converter
from projections.figures.movements import Level, Retention


class Windows:
    """What §6 sums over the customers, for each window `(starts[i], ends[i]]` (both in
    increasing order, as a series' rows are)."""

    def __init__(self, starts: Sequence[date], ends: Sequence[date]) -> None:
        self.starts, self.ends = list(starts), list(ends)
        self.days = sorted({*starts, *ends})
        count = len(starts)
        self.start = [Total() for _ in range(count)]
        self.kept = [Total() for _ in range(count)]
        self.lost = [Total() for _ in range(count)]
        self.active, self.churned = [0] * count, [0] * count

    def add(self, values: dict[date, Fraction], paused: Iterable[date] = ()) -> None:
        """One customer: its MRR on the windows' days (absent: 0), and the days it is
        paused on."""
        den = lcm(1, *(v.denominator for v in values.values()))
        tally = Tally(self, den)
        tally.add({day: v.numerator * (den // v.denominator) for day, v in values.items()}, paused)
        tally.settle()

    def add_sums(
        self, i: int, start: Fraction, active: int, kept: Fraction, lost: Fraction, churned: int
    ) -> None:
        """What some customers add to window `i`, summed already."""
        self.start[i].add(start)
        self.active[i] += active
        self.kept[i].add(kept)
        self.lost[i].add(lost)
        self.churned[i] += churned

    def add_accounts(self, accounts: Iterable[Account], rates: Converter) -> None:
        """Replayed customers, converted with `rates`, their pauses counted (SPEC §11)."""
        from projections.figures import lifecycle

        for account in accounts:
            values = _converted(account, self.days, rates)
            paused = [d for d in self.ends if account.lifecycle and lifecycle.paused_on(account, d)]
            self.add(values, paused)

    def retentions(self) -> list[Retention]:
        out = []
        for i in range(len(self.starts)):
            level = Level(self.start[i].value, self.active[i])
            kept = self.kept[i].value
            out.append(Retention.of(level, kept, self.lost[i].value, kept, self.churned[i]))
        return out


class Tally:
    """Customers' MRR on the windows' days as integers over one `den`, summed window by
    window in integers and added to the windows once (`settle`): this runs for every
    customer held out of the model's rows."""

    def __init__(self, windows: Windows, den: int) -> None:
        count = len(windows.starts)
        self.windows, self.den = windows, den
        self.index = {day: j for j, day in enumerate(windows.days)}
        opening: dict[int, list[tuple[int, int]]] = {}  # two days can be a year after one
        for i, (start, end) in enumerate(zip(windows.starts, windows.ends, strict=True)):
            opening.setdefault(self.index[start], []).append((i, self.index[end]))
        self.opened = sorted(opening.items())  # by the start's index: (window, end's index)
        self.start, self.kept, self.lost = [0] * count, [0] * count, [0] * count
        self.active, self.churned = [0] * count, [0] * count

    def add(self, values: dict[date, int], paused: Iterable[date] = ()) -> None:
        """One customer: its MRR on the windows' days (absent: 0), the days it is paused."""
        found = [0] * len(self.index)
        for day, value in values.items():
            found[self.index[day]] = value
        self.add_indexed(found, 0, len(found), {self.index[day] for day in paused})

    def add_indexed(
        self, values: list[int], low: int, high: int, resting: Collection[int] = ()
    ) -> None:
        """One customer: its MRR on each of the windows' days, by index, 0 outside `[low,
        high)`; `resting`, the indices of the days it is paused on (not a churn)."""
        opened = self.opened
        for at in range(bisect_left(opened, (low,)), len(opened)):
            j, windows = opened[at]
            if j >= high:
                break
            if not (before := values[j]):
                continue
            for i, q in windows:
                after = values[q]
                self.active[i] += 1
                self.start[i] += before
                self.kept[i] += after - before
                if after < before:
                    self.lost[i] += after - before
                if not after and q not in resting:
                    self.churned[i] += 1

    def settle(self) -> None:
        den = self.den
        for i in range(len(self.start)):
            if self.active[i]:
                self.windows.add_sums(
                    i,
                    Fraction(self.start[i], den),
                    self.active[i],
                    Fraction(self.kept[i], den),
                    Fraction(self.lost[i], den),
                    self.churned[i],
                )


def _converted(account: Account, days: Sequence[date], rates: Converter) -> dict[date, Fraction]:
    """The customer's MRR on each of `days` (in order) that it is not 0, converted: each
    segment on the days it covers (`Account.converted_on`, segment by segment)."""
    found: dict[date, Fraction] = {}
    for contract in account.contracts:
        for segment in contract.segments:
            low = bisect_left(days, segment.start)
            high = len(days) if segment.end is None else bisect_left(days, segment.end)
            for day in days[low:high]:
                value = rates.segment_mrr(segment, day)
                was = found.get(day)
                found[day] = value if was is None else was + value
    return {day: value for day, value in found.items() if value}
