"""Exchange rates (SPEC §10): the live `fx_rate` events, folded into one table per currency.

Rates are events like any other, so a figure that uses them is the same forever for the
same `(as_of, known_at)`: the table is folded from the rates recorded up to the query's
position, voids applied. The rate of C on day d is C's live rate with the latest
effective date on or before d; the reporting currency's is always 1.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from ledger.domain.events import RATES
from ledger.domain.timeline import Invalid, Recorded, Timeline, live_events


@dataclass(frozen=True, slots=True)
class Rate:
    """One live rate: units of the reporting currency for one unit of `currency`."""

    currency: str
    day: date
    rate: Fraction
    event_id: str
    position: int


@dataclass
class Rates:
    """Every live rate, by currency in effective order: the rate on a day is a bisection."""

    days: dict[str, list[date]] = field(default_factory=dict)
    rates: dict[str, list[Rate]] = field(default_factory=dict)

    def add(self, rate: Rate) -> None:
        self.days.setdefault(rate.currency, []).append(rate.day)
        self.rates.setdefault(rate.currency, []).append(rate)

    def on(self, currency: str, day: date) -> Rate | None:
        """`currency`'s rate in force on `day`, if one was recorded on or before it."""
        days = self.days.get(currency)
        index = bisect_right(days, day) if days else 0
        return self.rates[currency][index - 1] if index else None

    @classmethod
    def of(cls, rates: Iterable[Rate]) -> Rates:
        """The table of some live rates (one per currency and day)."""
        table = cls()
        for rate in sorted(rates, key=lambda r: (r.currency, r.day)):
            table.add(rate)
        return table

    @property
    def every(self) -> list[Rate]:
        return [rate for currency in sorted(self.rates) for rate in self.rates[currency]]

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted(self.rates))

    def __bool__(self) -> bool:
        return bool(self.rates)


def rates_of(history: Iterable[Recorded]) -> tuple[Rates, list[Invalid]]:
    """The rates stream folded: its live rates, and the rates that may not be there (a
    second live rate for a currency and day)."""
    table, invalid = Rates(), []
    taken: dict[tuple[str, date], Rate] = {}
    for item in sorted(live_events(history), key=lambda r: r.position):
        event = item.event
        assert event.currency is not None and event.rate is not None
        assert event.effective_date is not None
        key = (event.currency, event.effective_date)
        if (first := taken.get(key)) is not None:
            message = (
                f"fx_rate on {event.effective_date}: {event.currency} already has a live rate "
                f"for that day ({first.event_id!r}, position {first.position}); to correct a "
                "rate, void it and record another"
            )
            invalid.append(Invalid(item, message))
            continue
        taken[key] = Rate(*key, _fraction(event.rate), event.event_id, item.position)
    for key in sorted(taken):
        table.add(taken[key])
    return table, invalid


def rate_timelines(
    history: Iterable[Recorded], at: Container[int]
) -> Iterator[tuple[int, Timeline]]:
    """The rates' stream as known after each of its events at a position in `at`: its
    live rates, as a `Timeline` (what the read model derives its rate rows from)."""
    items = sorted(history, key=lambda r: r.position)
    for count, item in enumerate(items, start=1):
        if item.position in at:
            yield item.position, Timeline(RATES, rates=rates_of(items[:count])[0].every)


@lru_cache(maxsize=1 << 14)
def _fraction(rate: Decimal) -> Fraction:
    return Fraction(rate)
