"""The live rates believed at a position, read from their rows (`rows.rate_rows`): a
converting query reads a few thousand rows instead of decoding as many rate events, and
makes a `Rate` only of those it asks for (a report: a handful)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection

from ledger.domain.rates import Rate, Rates
from projections.read_model.kinds import TABLES
from projections.read_model.sql import Raw

_BELIEVED = (
    "SELECT subscription_id, start, num, big, den FROM {t} "
    "WHERE recorded_from <= ? AND recorded_to > ?"
)
UNKNOWN_POSITION = 0
"""A rate read from the model does not say its position: no figure uses it."""

Stored = tuple[Any, str, int, str | None, int]
"""A rate row as read: its day as stored, event id, num, big, den."""


class BelievedRates(Rates):
    """The rates of some rows, by currency in day order: each made a `Rate` when asked."""

    def __init__(self, rows: dict[str, list[Stored]], stored: Callable[[date], Any]) -> None:
        super().__init__()
        self.rows, self.stored = rows, stored
        self.keys = {currency: [r[0] for r in found] for currency, found in rows.items()}
        self.made: dict[tuple[str, int], Rate] = {}

    def on(self, currency: str, day: date) -> Rate | None:
        keys = self.keys.get(currency)
        index = bisect_right(keys, self.stored(day)) if keys else 0
        return self._made(currency, index - 1) if index else None

    def _made(self, currency: str, index: int) -> Rate:
        if (found := self.made.get((currency, index))) is None:
            day, event_id, num, big, den = self.rows[currency][index]
            value = Fraction(int(big) if big is not None else int(num), int(den))
            found = Rate(currency, Raw.to_day(day), value, event_id, UNKNOWN_POSITION)
            self.made[(currency, index)] = found
        return found

    @property
    def every(self) -> list[Rate]:
        return [self._made(c, i) for c in sorted(self.rows) for i in range(len(self.rows[c]))]

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(self.rows))

    def __bool__(self) -> bool:
        return bool(self.rows)


def believed(conn: Connection, position: int) -> Rates:
    raw = Raw(conn)
    rows: dict[str, list[Stored]] = defaultdict(list)
    for key, start, num, big, den in raw.rows(_BELIEVED.format(t=TABLES["rate"]), (position,) * 2):
        currency, _, event_id = str(key).partition("|")
        rows[currency].append((start, event_id, num, big, den))
    for found in rows.values():
        found.sort(key=lambda r: r[0])  # ISO text on SQLite: in the order of the days
    return BelievedRates(dict(rows), raw.day)
