"""Periods as finance teams name them: a year, a quarter, a month, an ISO week (SPEC §13).

The one home of a period (`period=`): the forms it takes, the days each names, and the rule that a
query is given either two dates or a period, never both."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from ledger.domain.dates import DAY, FIRST_QUERY_DAY, LAST_QUERY_DAY, months_end, week_end
from ledger.domain.errors import UsageError

T = TypeVar("T")
FORMS = "a year (2024), a quarter (2024-Q4), a month (2024-11) or an ISO week (2024-W05)"
"""What `period` takes, as every refusal of one says it."""
_FORM = re.compile(r"(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2])|-W(\d{2}))?", re.IGNORECASE)
_NAMES = ("start", "end", "period")
"""The Python API's parameters a refusal names; the command line words them as its flags."""


@dataclass(frozen=True)
class Period:
    """A named calendar period: its first and its last day, both counted."""

    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """`2024`, `2024-Q4`, `2024-11` or `2024-W05` (a week of the ISO week-year)."""
        found = _FORM.fullmatch(text)
        if found is None or int(found[1]) == 0:  # there is no year 0000
            raise UsageError(f"period: {text!r} is not a period; give {FORMS}", "period")
        first, last = _days(found, text)
        if first < FIRST_QUERY_DAY or last > LAST_QUERY_DAY:  # its day before must be a date
            raise UsageError(
                f"period: {text!r} reaches outside the supported dates, "
                f"{FIRST_QUERY_DAY} to {LAST_QUERY_DAY}",
                "period",
            )
        return cls(first, last)

    @property
    def span(self) -> tuple[date, date]:
        """The period as movements read one, `(start, end]`: the day before its first day,
        and its last day, so that the first day counts."""
        return self.first - DAY, self.last

    @property
    def days(self) -> tuple[date, date]:
        """The period as a series reads one: its first day and its last, both included."""
        return self.first, self.last


def _days(found: re.Match[str], text: str) -> tuple[date, date]:
    year, quarter, month, week = found.groups()
    if week is not None:
        return _week(int(year), int(week), text)
    if quarter is not None:
        first = date(int(year), 3 * int(quarter) - 2, 1)
        return first, months_end(first, 3)
    first = date(int(year), int(month or 1), 1)
    return first, months_end(first, 1 if month else 12)


def _week(year: int, week: int, text: str) -> tuple[date, date]:
    """Week `week` of ISO week-year `year`: Monday to Sunday."""
    weeks = date(year, 12, 28).isocalendar().week  # 28 December is in the year's last week
    if not 1 <= week <= weeks:
        raise UsageError(
            f"period: {text!r} is not a week: ISO week-year {year} has weeks W01 to W{weeks}; "
            f"give {FORMS}",
            "period",
        )
    first = date.fromisocalendar(year, week, 1)
    return first, week_end(first)  # cut at 9999-12-31, then refused as out of range


def dates_or_period(start: T | None, end: T | None, period: str | None) -> tuple[T, T] | Period:
    """The two dates, or the period parsed: a query is given exactly one of the two."""
    if period is not None:
        if start is not None or end is not None:
            raise UsageError("give start and end, or period, not both", *_NAMES)
        return Period.parse(period)
    if start is None or end is None:
        raise UsageError("give start and end, or period", *_NAMES)
    return start, end


def movements_span(start: date | None, end: date | None, period: str | None) -> tuple[date, date]:
    """Movements' `(start, end]`: the dates as given, or the period's span."""
    given = dates_or_period(start, end, period)
    return given.span if isinstance(given, Period) else given


def series_days(start: date | None, end: date | None, period: str | None) -> tuple[date, date]:
    """A series' first and last day (`start` is counted): the dates, or the period's days."""
    given = dates_or_period(start, end, period)
    return given.days if isinstance(given, Period) else given
