"""The ledger as known at one position: every customer's folded timeline, and the rates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from ledger.domain.events import RATES
from ledger.domain.rates import Rates, rates_of
from ledger.domain.timeline import Booking, Fee, Recorded, Segment, Timeline, fold
from projections.figures.conversion import SPOT, Converter, FxPolicy


@dataclass(frozen=True)
class Contract:
    """One subscription's segments, bookings (in effective order) and its own fees."""

    subscription_id: str
    segments: tuple[Segment, ...]
    bookings: tuple[Booking, ...]
    fees: tuple[Fee, ...]
    currency: str

    def mrr_on(self, day: date) -> Fraction:
        """Its MRR on `day`, in its own currency."""
        segment = self.segment_on(day)
        return segment.mrr if segment is not None else Fraction(0)

    def segment_on(self, day: date) -> Segment | None:
        # One subscription's segments never overlap: at most one covers the day.
        for segment in self.segments:
            if segment.covers(day):
                return segment
        return None

    def converted_on(self, day: date, rates: Converter) -> Fraction:
        """Its MRR on `day` in the reporting currency."""
        segment = self.segment_on(day)
        return rates.segment_mrr(segment, day) if segment is not None else Fraction(0)

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
    foreign: bool = False  # anything in another currency than the ledger's (SPEC §10)

    def mrr_on(self, day: date) -> Fraction:
        """Customer MRR in the reporting currency, for an account that is all in it."""
        return sum((m for c in self.contracts if (m := c.mrr_on(day))), Fraction(0))

    def converted_on(self, day: date, rates: Converter) -> Fraction:
        """Customer MRR on `day` in the reporting currency."""
        if not self.foreign:
            return self.mrr_on(day)
        return sum((c.converted_on(day, rates) for c in self.contracts), Fraction(0))

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
        Contract(sid, tuple(segments[sid]), tuple(bookings[sid]), tuple(fees[sid]), currency)
        for sid in sorted(set(segments) | set(bookings))
        for currency in [_currency_of(segments[sid], bookings[sid])]
    )
    return Account(timeline.customer_id, contracts, tuple(fees[None]), timeline.foreign)


def _currency_of(segments: list[Segment], bookings: list[Booking]) -> str:
    return segments[0].currency if segments else bookings[0].currency


@dataclass(frozen=True)
class Book:
    """Every customer's account as known at `position`."""

    position: int
    currency: str
    accounts: tuple[Account, ...]
    rates: Rates = field(default_factory=Rates)

    @classmethod
    def replay(cls, entries: Iterable[Recorded], position: int, currency: str) -> Book:
        histories: dict[str, list[Recorded]] = defaultdict(list)
        for item in entries:
            histories[item.event.customer_id].append(item)
        rates = rates_of(histories.pop(RATES, []))[0]
        accounts = tuple(account_of(fold(c, h, currency)[0]) for c, h in sorted(histories.items()))
        return cls(position, currency, accounts, rates)

    def converter(self, policy: FxPolicy = SPOT) -> Converter:
        """Amounts in any currency into the reporting one, under `policy`."""
        return Converter(self.rates, policy, self.currency, self.position)
