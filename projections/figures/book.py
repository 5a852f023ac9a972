"""The ledger as known at one position: every customer's folded timeline, and the rates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import cached_property

from ledger.domain.events import RATES
from ledger.domain.rates import Rates, rates_of
from ledger.domain.timeline import (
    PAUSED,
    TRIALING,
    Booking,
    End,
    Fee,
    Recorded,
    Segment,
    Status,
    Timeline,
    fold,
)
from projections.figures.conversion import SPOT, Converter, FxPolicy


@dataclass(frozen=True)
class Contract:
    """One subscription's segments, bookings (in effective order) and its own fees."""

    subscription_id: str
    segments: tuple[Segment, ...]
    bookings: tuple[Booking, ...]
    fees: tuple[Fee, ...]
    currency: str
    statuses: tuple[Status, ...] = ()  # its trials and pauses (SPEC §11)
    ends: tuple[End, ...] = ()  # the days it stopped billing for good, and why (SPEC §12)

    def status_on(self, day: date) -> Status | None:
        """Its trial or pause on `day`, if it is trialing or paused."""
        for status in self.statuses:
            if status.covers(day):
                return status
        return None

    def trialing_on(self, day: date) -> bool:
        return any(s.status == TRIALING and s.covers(day) for s in self.statuses)

    def paused_on(self, day: date) -> bool:
        return any(s.status == PAUSED and s.covers(day) for s in self.statuses)

    def ended_why(self, day: date) -> str | None:
        """Why it stopped billing on `day` (SPEC §12), if it did: the last of its ends that
        day (a lapse, a restart and a churn on one day: the churn's reason)."""
        found = [e.reason for e in self.ends if e.day == day]
        return found[-1] if found else None

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

    def owner_of(self, fee: Fee) -> Booking | None:
        """The one booking of this subscription a fee belongs to (SPEC §7)."""
        before = [b for b in self.bookings if b.day <= fee.day]
        if self.active_on(fee.day) and before:
            return before[-1]
        after = [b for b in self.bookings if b.day > fee.day]
        return after[0] if after else (before[-1] if before else None)

    @cached_property
    def fee_owners(self) -> tuple[Booking | None, ...]:
        """Each fee's owner, in `fees` order: found once, as every booking asks for its fees."""
        return tuple(self.owner_of(fee) for fee in self.fees)


@dataclass(frozen=True)
class Account:
    """One customer: its contracts and its fees that name no subscription."""

    customer_id: str
    contracts: tuple[Contract, ...]
    fees: tuple[Fee, ...]
    foreign: bool = False  # figured day by day: another currency (SPEC §10), or §11
    lifecycle: bool = False  # a trial, a pause or a discount (SPEC §11)
    # the reasons and notes its live events gave, in effective order: (day, reason, note)
    reasons: tuple[tuple[date, str | None, str | None], ...] = ()

    def reason_on(self, day: date) -> str | None:
        """The reason of its last event on `day` that gave one (SPEC §12)."""
        given = [reason for when, reason, _ in self.reasons if when == day and reason]
        return given[-1] if given else None

    def why(self, start: date, end: date) -> str:
        """What its events in `(start, end]` said of why, in effective order: `reason`,
        or `reason: note`, joined by "; " (SPEC §12)."""
        said = [
            ": ".join(part for part in (reason, note) if part)
            for day, reason, note in self.reasons
            if start < day <= end
        ]
        return "; ".join(said)

    def mrr_on(self, day: date) -> Fraction:
        """Customer MRR in the reporting currency, for an account that is all in it."""
        return sum((m for c in self.contracts if (m := c.mrr_on(day))), Fraction(0))

    def converted_on(self, day: date, rates: Converter) -> Fraction:
        """Customer MRR on `day` in the reporting currency."""
        if not self.foreign:
            return self.mrr_on(day)
        return sum((c.converted_on(day, rates) for c in self.contracts), Fraction(0))

    def change_days(self) -> set[date]:
        """The days on which this customer's MRR can change (segment boundaries), or its
        trials and pauses begin and end."""
        days = set()
        for contract in self.contracts:
            spans: list[Segment | Status] = [*contract.segments, *contract.statuses]
            for span in spans:
                days.add(span.start)
                if span.end is not None:
                    days.add(span.end)
        return days


def account_of(timeline: Timeline) -> Account:
    """One customer's timeline, by contract."""
    segments, bookings, fees = defaultdict(list), defaultdict(list), defaultdict(list)
    statuses: dict[str, list[Status]] = defaultdict(list)
    ends: dict[str, list[End]] = defaultdict(list)
    for status in timeline.statuses:
        statuses[status.subscription_id].append(status)
    for end in timeline.ends:
        ends[end.subscription_id].append(end)
    for segment in timeline.segments:
        segments[segment.subscription_id].append(segment)
    for booking in sorted(timeline.bookings, key=lambda b: (b.day, b.position)):
        bookings[booking.subscription_id].append(booking)
    for fee in timeline.fees:
        fees[fee.subscription_id].append(fee)
    contracts = tuple(
        Contract(
            sid,
            tuple(segments[sid]),
            tuple(bookings[sid]),
            tuple(fees[sid]),
            currency,
            tuple(statuses[sid]),
            tuple(ends[sid]),
        )
        for sid in sorted(set(segments) | set(bookings) | set(statuses))
        for currency in [_currency_of(segments[sid], bookings[sid])]
    )
    return Account(
        timeline.customer_id,
        contracts,
        tuple(fees[None]),
        timeline.held_out,
        timeline.lifecycle,
        tuple(timeline.reasons),
    )


def _currency_of(segments: list[Segment], bookings: list[Booking]) -> str:
    """A contract's currency; a trial never converted has no amount to be in one."""
    if segments:
        return segments[0].currency
    return bookings[0].currency if bookings else ""


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
