"""The figures of some of the customers, in parts that add up with the others'.

The read model holds the customers all in the ledger's currency; those with anything in
another currency are replayed (their figures need rates). Every figure is made of sums
over customers (`Measures`, `Parts`), so the two add up to the ledger's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from projections.figures import converted
from projections.figures.book import Book
from projections.figures.cohorts import CohortSums, account_members
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import FxPolicy
from projections.figures.movements import Parts
from projections.figures.netting import Sums, netted_accounts
from projections.figures.report import Measures
from projections.figures.trailing import Windows


@dataclass(frozen=True)
class BookPart:
    """The customers of `book`, converted under `fx`."""

    book: Book
    fx: FxPolicy

    def measures(self, days: Sequence[date]) -> list[Measures]:
        rates = self.book.converter(self.fx)
        return converted.measures(self.book.accounts, days, rates)

    def parts(self, bounds: Sequence[date], policy: AcvPolicy) -> Parts:
        rates = self.book.converter(self.fx)
        return converted.parts(self.book.accounts, bounds, policy, rates)

    def trailing(self, windows: Windows) -> None:
        windows.add_accounts(self.book.accounts, self.book.converter(self.fx))

    def netted(self, bounds: Sequence[date]) -> Sums:
        return netted_accounts(self.book.accounts, bounds, self.book.converter(self.fx))

    def add_cohorts(self, sums: CohortSums) -> None:
        """Adds each customer to its cohort's sums (`cohorts`)."""
        rates = self.book.converter(self.fx)
        for first, values in account_members(
            self.book.accounts, lambda a, d: a.converted_on(d, rates)
        ):
            sums.add(first, values)
