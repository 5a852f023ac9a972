"""Cohorts (SPEC §13): customers grouped by the period in which their MRR was first above
0 at the end of a day, followed at every period end from their own on.

A cohort's cell at a period end holds how many of its customers are active there, their
MRR, and its NRR: that MRR over the cohort's MRR at the end of its first period (`null`
when that is 0: every one of them had left by then).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import partial
from typing import Any, ClassVar

from ledger.domain.money import Total, money, optional, ratio
from projections.figures.book import Account
from projections.figures.conversion import FxPolicy
from projections.figures.netting import Piece
from projections.figures.results import Result
from projections.figures.series import Every, period_end, period_ends

Member = tuple[date, Callable[[Sequence[date]], list[Fraction]]]
"""A customer: the first day its MRR was > 0 at the day's end, and its MRR on each of
some days (in order)."""


@dataclass(frozen=True)
class CohortCell(Result):
    """One cohort at one period end."""

    model_name: ClassVar[str] = "CohortModel"

    cohort: str
    as_of: date
    position: int
    currency: str
    fx_policy: FxPolicy
    customers: int
    mrr: Fraction
    nrr: Fraction | None

    def as_json(self) -> dict[str, Any]:
        return {
            "cohort": self.cohort,
            "as_of": self.as_of.isoformat(),
            "position": self.position,
            "currency": self.currency,
            "fx_policy": str(self.fx_policy),
            "customers": self.customers,
            "mrr": money(self.mrr),
            "nrr": optional(ratio, self.nrr),
        }


def label(day: date, every: Every) -> str:
    """A period's name as people write it: 2024-01, 2024-Q1, 2024."""
    if every == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if every == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def cohorts(
    members: Iterable[Member],
    span: tuple[date, date],
    every: Every,
    known: tuple[int, str, FxPolicy],
) -> list[CohortCell]:
    """The cells of every cohort whose first period lies in `[span[0], span[1]]`, by cohort
    then period end; a cohort of no customer has no row."""
    sums = CohortSums(span, every)
    for first, values in members:
        sums.add(first, values)
    return sums.cells(known)


class CohortSums:
    """Each cohort's MRR and active customers at its period ends, summed over its
    customers: those given by their MRR on the period ends (`add`), and those given by
    their MRR pieces (`add_pieces`), each piece added to the run of period ends it covers
    at once, whatever their number (this runs for every customer of the read model)."""

    def __init__(self, span: tuple[date, date], every: Every) -> None:
        self.span, self.every = span, every
        self.ends = period_ends(span[0], span[1], every)
        self._index = {day: i for i, day in enumerate(self.ends)}
        self._sums: dict[date, list[tuple[Total, list[int]]]] = {}
        self._runs: dict[date, tuple[list[Total], list[int]]] = {}

    def add(self, first: date, values: Callable[[Sequence[date]], list[Fraction]]) -> None:
        """A customer: the first day its MRR was > 0, and its MRR on some days."""
        if (own := self.own(first)) is None:
            return
        ends = self.ends[self._index[own] :]
        for (total, active), mrr in zip(self._cells(own), values(ends), strict=True):
            if mrr:
                total.add(mrr)
                active[0] += 1

    def add_pieces(self, pieces: list[Piece]) -> None:
        """A customer, from its MRR pieces in start order."""
        if (own := self.own(pieces[0][0])) is None:
            return
        totals, active = self._run(own)
        count = len(self.ends)
        for start, end, value in pieces:
            i = bisect_left(self.ends, start)
            j = count if end is None else bisect_left(self.ends, end)
            if i < j:
                totals[i].add(value)
                totals[j].add(value, -1)
                active[i] += 1
                active[j] -= 1

    def add_change(self, first: date, at: int, value: Fraction, count: int) -> None:
        """Customers whose MRR was first > 0 in the month of `first` (in the span) add
        `value` to their MRR, and `count` to the active, at the period ends from index
        `at` on: the changes of their pieces summed by the read model
        (`read_model_cohorts`)."""
        own = self.own(first)
        assert own is not None, "a change of a cohort outside the span"
        totals, active = self._run(own)
        totals[at].add(value)
        active[at] += count

    def cells(self, known: tuple[int, str, FxPolicy]) -> list[CohortCell]:
        self._settle()
        found = []
        for own in sorted(self._sums):
            start = self._sums[own][0][0].value
            ends = self.ends[self._index[own] :]
            for day, (total, active) in zip(ends, self._sums[own], strict=True):
                mrr = total.value
                nrr = mrr / start if start else None
                found.append(CohortCell(label(own, self.every), day, *known, active[0], mrr, nrr))
        return found

    def own(self, first: date) -> date | None:
        """The end of the cohort's first period, if it lies in the span."""
        if not self.span[0] <= first <= self.span[1]:
            return None
        return min(period_end(first, self.every), self.span[1])

    def _cells(self, own: date) -> list[tuple[Total, list[int]]]:
        if (found := self._sums.get(own)) is None:
            found = self._sums[own] = [(Total(), [0]) for _ in self.ends[self._index[own] :]]
        return found

    def _run(self, own: date) -> tuple[list[Total], list[int]]:
        """The cohort's changes by period end (one slot past the last: what ends after)."""
        if (found := self._runs.get(own)) is None:
            self._cells(own)
            count = len(self.ends) + 1
            found = self._runs[own] = ([Total() for _ in range(count)], [0] * count)
        return found

    def _settle(self) -> None:
        """Adds the runs of `add_pieces` into the cells, once."""
        for own, (totals, active) in self._runs.items():
            running, count = Total(), 0  # no piece of the cohort begins before its own end
            for offset, (total, cell) in enumerate(self._cells(own)):
                i = self._index[own] + offset
                count += active[i]
                for den, num in totals[i].parts.items():
                    running.add_over(num, den)
                for den, num in running.parts.items():
                    total.add_over(num, den)
                cell[0] += count
        self._runs = {}


def account_members(
    accounts: Iterable[Account], mrr: Callable[[Account, date], Fraction]
) -> Iterator[Member]:
    """Replayed customers: the first day a segment of theirs began (net MRR is > 0)."""
    for account in accounts:
        starts = [s.start for c in account.contracts for s in c.segments]
        if starts:
            yield min(starts), partial(_values, mrr, account)


def _values(
    mrr: Callable[[Account, date], Fraction], account: Account, days: Sequence[date]
) -> list[Fraction]:
    return [mrr(account, day) for day in days]
