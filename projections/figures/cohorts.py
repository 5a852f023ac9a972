"""Cohorts (SPEC §13): customers grouped by the period in which their MRR was first above
0 at the end of a day, followed at every period end from their own on.

A cohort's cell at a period end holds how many of its customers are active there, their
MRR, and its NRR: that MRR over the cohort's MRR at the end of its first period (`null`
when that is 0: every one of them had left by then).
"""

from __future__ import annotations

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
from projections.figures.results import CohortModel, Figures, Result
from projections.figures.series import Every, period_end, period_ends

Member = tuple[date, Callable[[Sequence[date]], list[Fraction]]]
"""A customer: the first day its MRR was > 0 at the day's end, and its MRR on each of
some days (in order)."""


@dataclass(frozen=True)
class CohortCell(Result):
    """One cohort at one period end."""

    model_type: ClassVar[type[Figures]] = CohortModel

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
    ends = period_ends(span[0], span[1], every)
    sums: dict[date, list[tuple[Total, list[int]]]] = {}
    for first, values in members:
        if not span[0] <= first <= span[1]:
            continue
        own = min(period_end(first, every), span[1])
        index = ends.index(own)
        cells = sums.setdefault(own, [(Total(), [0]) for _ in ends[index:]])
        for (total, active), mrr in zip(cells, values(ends[index:]), strict=True):
            if mrr:
                total.add(mrr)
                active[0] += 1
    found = []
    for own in sorted(sums):
        start = sums[own][0][0].value
        for day, (total, active) in zip(ends[ends.index(own) :], sums[own], strict=True):
            mrr = total.value
            nrr = mrr / start if start else None
            found.append(CohortCell(label(own, every), day, *known, active[0], mrr, nrr))
    return found


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


def piece_member(pieces: list[Piece]) -> Member:
    """A customer of the read model, from its MRR pieces in start order."""
    return pieces[0][0], partial(_swept, pieces)


def _swept(pieces: list[Piece], days: Sequence[date]) -> list[Fraction]:
    """The MRR on each of `days` (in order), in one sweep of the pieces."""
    out, index, zero = [], 0, Fraction(0)
    for day in days:
        while index < len(pieces) and (end := pieces[index][1]) is not None and end <= day:
            index += 1
        inside = index < len(pieces) and pieces[index][0] <= day
        out.append(pieces[index][2] if inside else zero)
    return out
