"""Cohorts (SPEC §13): customers grouped by the period in which their MRR was first above
0 at the end of a day, followed at every period end from their own on.

A cohort's cell at a period end holds how many of its customers are active there, their
MRR, and its NRR: that MRR over the cohort's MRR at the end of its first period (`null`
when that is 0: every one of them had left by then).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
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

Member = tuple[date, Callable[[date], Fraction]]
"""A customer: the first day its MRR was > 0 at the day's end, and its MRR on any day."""


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
    grouped: dict[date, list[Callable[[date], Fraction]]] = {}
    for first, mrr_on in members:
        if span[0] <= first <= span[1]:
            own = min(period_end(first, every), span[1])
            grouped.setdefault(own, []).append(mrr_on)
    cells = []
    for own in sorted(grouped):
        start = Fraction(0)
        for day in (e for e in ends if e >= own):
            total, active = Total(), 0
            for mrr_on in grouped[own]:
                if mrr := mrr_on(day):
                    total.add(mrr)
                    active += 1
            mrr = total.value
            start = mrr if day == own else start
            nrr = mrr / start if start else None
            cells.append(CohortCell(label(own, every), day, *known, active, mrr, nrr))
    return cells


def account_members(
    accounts: Iterable[Account], mrr: Callable[[Account, date], Fraction]
) -> Iterator[Member]:
    """Replayed customers: the first day a segment of theirs began (net MRR is > 0)."""
    for account in accounts:
        starts = [s.start for c in account.contracts for s in c.segments]
        if starts:
            yield min(starts), partial(mrr, account)


def piece_member(pieces: list[Piece]) -> Member:
    """A customer of the read model, from its MRR pieces in start order."""
    starts = [p[0] for p in pieces]

    def mrr_on(day: date) -> Fraction:
        index = bisect_right(starts, day) - 1
        if index < 0:
            return Fraction(0)
        _, end, value = pieces[index]
        return value if end is None or day < end else Fraction(0)

    return starts[0], mrr_on
