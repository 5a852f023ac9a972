"""Days and months: half-open intervals, month arithmetic, the calendar's usable ends.

The one home of month arithmetic (term ends, 12-month anchors, period and month ends)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

DAY = timedelta(days=1)
LAST_DAY = date(9998, 12, 31)
"""The last effective date, and the last end of a fixed term, the ledger takes: the day
after it and its month's end are still dates, so every query near it answers."""
FIRST_QUERY_DAY, LAST_QUERY_DAY = date.min + DAY, date.max - DAY
"""The days a query may ask about: each has a day before and a day after it."""


@lru_cache(maxsize=1 << 16)  # pure, and called for every term end and anchor year
@lru_cache(maxsize=1 << 16)  # folds, terms and fee years ask the same few thousand days
def add_months(day: date, months: int) -> date:
    """Month arithmetic clamping to the month's last day: 2024-01-31 + 1 = 2024-02-29.

    A result past year 9999, which `date` cannot hold, is `date.max`, 9999-12-31: later
    than every date the ledger takes (`LAST_DAY`) and every day a query asks (at most
    9999-12-30), so a year or a term running past it still covers all of them. (The fold
    never asks: it refuses a term that would end after `LAST_DAY`.)"""
    year = (day.year * 12 + day.month - 1 + months) // 12
    if not date.min.year <= year <= date.max.year:
        return date.max if months > 0 else date.min
    result: date = day + relativedelta(months=months)
    return result


@lru_cache(maxsize=1 << 16)  # month netting and cohorts ask it of every piece's ends
def months_end(day: date, months: int = 1) -> date:
    """The last day of the period of `months` calendar months (1, 3 or 12, aligned on
    January) that contains `day`; a period running past 9999-12-31 is cut there."""
    last_month = (day.month - 1) // months * months + months  # 1-12
    if day.year == date.max.year and last_month == 12:
        return date.max
    following = date(day.year + last_month // 12, last_month % 12 + 1, 1)
    return following - DAY


def year_before(day: date) -> date:
    """`day` 12 months earlier (SPEC §13 trailing retention): a month end's is that month's
    end a year before (2025-02-28 gives 2024-02-29), any other day's is clamped to its
    month (2024-02-29 gives 2023-02-28)."""
    if day.year == date.min.year:
        return date.min
    if day == months_end(day):
        return months_end(date(day.year - 1, day.month, 1))
    return add_months(day, -12)


def week_end(day: date) -> date:
    """The Sunday ending the week of `day` (cut at 9999-12-31)."""
    return day + min(timedelta(days=6 - day.weekday()), date.max - day)
