"""The recording clock as users name it: `--known-at` and `--position` (SPEC §1, §9)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from ledger.domain.errors import UsageError
from projections.figures.movements import check_day

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, option: str = "--as-of") -> date:
    """An effective date a query can answer: from 0001-01-02 to 9999-12-30."""
    day = _calendar_day(text, option)
    check_day(day, option)
    return day


def _calendar_day(text: str, option: str) -> date:
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(f"{option}: {text!r} is not a date in the form YYYY-MM-DD")


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def parse_known_at(text: str, option: str = "--known-at") -> datetime:
    """An ISO 8601 timestamp with an offset, or a date meaning the end of that day, UTC."""
    if _DATE.match(text):
        return end_of_day(_calendar_day(text, option))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not an ISO 8601 timestamp or date") from None
    if moment.tzinfo is None:
        raise UsageError(f"{option}: {text!r} has no UTC offset (e.g. 2024-07-03T09:00:00+00:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is a moment before year 1 in UTC
        first, last = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        raise UsageError(
            f"{option}: {text!r} is outside the calendar in UTC, "
            f"{first.isoformat()} to {last.isoformat()}"
        ) from None
