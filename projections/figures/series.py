"""The backfill of historical metrics: one report row per period end (SPEC §9 `series`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal

from ledger.domain.dates import DAY, months_end, week_end, year_before
from ledger.domain.money import optional, ratio
from projections.figures.book import Book
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import SPOT, FxPolicy
from projections.figures.movements import (
    Movements,
    Retention,
    check_day,
    check_period,
    movements_over,
)
from projections.figures.report import Report, report
from projections.figures.results import Result
from projections.figures.trailing import Windows

Every = Literal["day", "week", "month", "quarter", "year"]
EVERY: tuple[Every, ...] = ("day", "week", "month", "quarter", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def period_end(day: date, every: Every) -> date:
    """The last day of the period containing `day`: weeks end on Sunday. A period that
    runs past the calendar's last day, 9999-12-31, is cut there."""
    if every == "day":
        return day
    if every == "week":
        return week_end(day)
    return months_end(day, _MONTHS[every])


def period_ends(start: date, end: date, every: Every) -> list[date]:
    """Every period end from the first on or after `start`, with `end` always the last."""
    check_period(start, end)
    check_day(start, "start")
    ends, day = [], period_end(start, every)
    while day < end:
        ends.append(day)
        day = period_end(day + DAY, every)
    return [*ends, end]


@dataclass(frozen=True)
class SeriesRow(Result):
    """The report on one period end, the movements since the previous row and (SPEC §13)
    the retention over the 12 months to the period end."""

    model_name: ClassVar[str] = "SeriesRowModel"

    report: Report
    movements: Movements
    trailing: Retention | None = None

    def as_json(self) -> dict[str, Any]:
        year = self.trailing
        return {
            **self.report.as_json(),
            **self.movements.as_json(),
            "nrr_12m": optional(ratio, year.nrr) if year else None,
            "grr_12m": optional(ratio, year.grr) if year else None,
            "logo_churn_rate_12m": optional(ratio, year.logo_churn_rate) if year else None,
        }


def series(
    book: Book,
    start: date,
    end: date,
    every: Every,
    policy: AcvPolicy = "recurring",
    fx: FxPolicy = SPOT,
) -> list[SeriesRow]:
    """Every row from one `Book`: the ledger is replayed once, not once per period, and
    each customer's movements are found once for all the periods."""
    days = period_ends(start, end, every)
    moved = movements_over(book, [start - DAY, *days], policy, fx)
    windows = Windows([year_before(day) for day in days], days)
    windows.add_accounts(book.accounts, book.converter(fx))
    return [
        SeriesRow(report(book, day, policy, fx), movements, year)
        for day, movements, year in zip(days, moved, windows.retentions(), strict=True)
    ]


def bounds(start: date, end: date, every: Every) -> list[date]:
    """`(start, end]` split at the period ends within it: movements by week, month, …"""
    return [start, *period_ends(start + DAY, end, every)] if start < end else [start, end]
