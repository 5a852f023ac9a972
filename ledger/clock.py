"""The recording clock as users name it: `--known-at` and `--position` (SPEC §1, §9)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from ledger.errors import UsageError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, option: str = "--as-of") -> date:
    try:
        if _DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(f"{option}: {text!r} is not a date in the form YYYY-MM-DD")


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def parse_known_at(text: str) -> datetime:
    """An ISO 8601 timestamp with an offset, or a date meaning the end of that day, UTC."""
    if _DATE.match(text):
        return end_of_day(parse_day(text, "--known-at"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--known-at: {text!r} is not an ISO 8601 timestamp or date") from None
    if moment.tzinfo is None:
        raise UsageError(f"--known-at: {text!r} has no UTC offset (e.g. 2024-07-03T09:00:00+00:00)")
    return moment.astimezone(UTC)
