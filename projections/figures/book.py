"""The ledger as known at one position: every customer's folded timeline."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from ledger.domain.timeline import Booking, Fee, Recorded, Segment, Timeline, fold


@dataclass(frozen=True)
class Contract:
    """One subscription's segments, bookings (in effective order) and its own fees."""

    subscription_id: str
    segments: tuple[Segment, ...]
    bookings: tuple[Booking, ...]
    fees: tuple[Fee, ...]

    def mrr_on(self, day: date) -> Fraction:
        # One subscription's segments never overlap: at most one covers the day.
        for segment in self.segments:
            if segment.covers(day):
                return segment.mrr
        return Fraction(0)

    def active_on(self, day: date) -> bool:
        return any(s.covers(day) for s in self.segments)

    def booking_on(self, day: date) -> Booking | None:
        """The current booking: the latest effective on or before `day` (ties by position)."""
        current = [b for b in self.bookings if b.day <= day]
        return current[-1] if current else None


@dataclass(frozen=True)
class Account:
    """One customer: its contracts and its fees that name no subscription."""

    customer_id: str
    contracts: tuple[Contract, ...]
    fees: tuple[Fee, ...]

    def mrr_on(self, day: date) -> Fraction:
        return sum((m for c in self.contracts if (m := c.mrr_on(day))), Fraction(0))

    def change_days(self) -> set[date]:
        """The days on which this customer's MRR can change (segment boundaries)."""
        days = set()
        for contract in self.contracts:
            for segment in contract.segments:
                days.add(segment.start)
                if segment.end is not None:
                    days.add(segment.end)
        return days


def account_of(timeline: Timeline) -> Account:
    """One customer's timeline, by contract."""
    segments, bookings, fees = defaultdict(list), defaultdict(list), defaultdict(list)
    for segment in timeline.segments:
        segments[segment.subscription_id].append(segment)
    for booking in sorted(timeline.bookings, key=lambda b: (b.day, b.position)):
        bookings[booking.subscription_id].append(booking)
    for fee in timeline.fees:
        fees[fee.subscription_id].append(fee)
    contracts = tuple(
        Contract(sid, tuple(segments[sid]), tuple(bookings[sid]), tuple(fees[sid]))
        for sid in sorted(set(segments) | set(bookings))
    )
    return Account(timeline.customer_id, contracts, tuple(fees[None]))


@dataclass(frozen=True)
class Book:
    """Every customer's account as known at `position`."""

    position: int
    currency: str
    accounts: tuple[Account, ...]

    @classmethod
    def replay(cls, entries: Iterable[Recorded], position: int, currency: str) -> Book:
        histories: dict[str, list[Recorded]] = defaultdict(list)
        for item in entries:
            histories[item.event.customer_id].append(item)
        accounts = tuple(account_of(fold(c, h)[0]) for c, h in sorted(histories.items()))
        return cls(position, currency, accounts)
