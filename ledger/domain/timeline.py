"""One customer's history folded, in effective order, into subscription segments.

This fold is the single implementation of SPEC §3-4: validation of a timeline and the
figures computed from it both come from it, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

from ledger.domain.dates import LAST_DAY, add_months
from ledger.domain.events import Event
from ledger.domain.money import money

if TYPE_CHECKING:
    from ledger.domain.rates import Rate


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as the ledger learned it: at a position, at a UTC time."""

    position: int
    recorded_at: datetime
    event: Event


@dataclass(frozen=True, slots=True)
class Segment:
    """A subscription at one price over the half-open days [start, end); end None is open."""

    subscription_id: str
    start: date
    end: date | None
    mrr: Fraction
    currency: str  # the subscription's: `mrr` is in it (SPEC §10)
    priced: date  # when the event that set this price took effect: `booked`'s rate day
    plan: str | None = None  # the latest applied event's that gave one (SPEC §13 segments)

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Booking:
    """A live `new` or `renewal` (SPEC §7): a price committed for a term."""

    subscription_id: str
    event_id: str
    position: int
    day: date
    price: Decimal
    interval: int
    term_months: int | None
    currency: str

    @property
    def annualized(self) -> Fraction:
        return Fraction(self.price) * 12 / self.interval

    @property
    def span_months(self) -> int:
        return self.term_months or 12


@dataclass(frozen=True, slots=True)
class Fee:
    event_id: str
    position: int
    day: date
    amount: Decimal
    subscription_id: str | None
    currency: str


@dataclass(frozen=True, slots=True)
class Invalid:
    """An event the timeline cannot accept, and why."""

    recorded: Recorded
    message: str


@dataclass
class Timeline:
    """Everything one stream's live events imply, in effective time: a customer's
    subscriptions, or the rates' stream's live rates (`rates.rate_timelines`)."""

    customer_id: str
    segments: list[Segment] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    fees: list[Fee] = field(default_factory=list)
    foreign: bool = False  # whether any of it is in another currency than the ledger's
    rates: list[Rate] = field(default_factory=list)  # the rates' stream's (`RATES`)


@dataclass
class _Subscription:
    subscription_id: str
    amount: Decimal = Decimal(0)
    interval: int = 1
    term_months: int | None = None
    term_end: date | None = None
    lapsed_on: date | None = None
    active_since: date | None = None  # start of the current price segment, None if inactive
    mrr: Fraction = Fraction(0)  # kept with the price: Fraction arithmetic is the fold's cost
    currency: str = ""
    priced: date = date.min  # when the price in force was set (SPEC §10 `booked`)
    plan: str | None = None  # the plan in force: a report by plan (SPEC §13)

    def price(self, amount: Decimal, interval: int, day: date) -> None:
        self.amount, self.interval, self.mrr = amount, interval, _mrr(amount, interval)
        self.priced = day


@lru_cache(maxsize=1 << 16)  # prices repeat across customers; Fraction(Decimal) is slow
def _mrr(amount: Decimal, interval: int) -> Fraction:
    return Fraction(amount) / interval


class _Fold:
    def __init__(self, customer_id: str, currency: str) -> None:
        self.reporting = currency  # the ledger's: that of a subscription that names none
        self.currencies: dict[str, tuple[str, str]] = {}  # set by each one's first `new`
        self.timeline = Timeline(customer_id)
        self.subscriptions: dict[str, _Subscription] = {}
        self.invalid: list[Invalid] = []
        self.started: set[str] = set()
        self.owned_fees: list[Recorded] = []

    def sub(self, subscription_id: str) -> _Subscription:
        if subscription_id not in self.subscriptions:
            currency = self.currencies.get(subscription_id, (self.reporting, ""))[0]
            self.subscriptions[subscription_id] = _Subscription(subscription_id, currency=currency)
        return self.subscriptions[subscription_id]

    def expect(self, item: Recorded) -> None:
        """A subscription's currency is that of its first recorded `new` (SPEC §10): seen
        in recording order, before the fold applies events in effective order."""
        event = item.event
        if event.type == "new" and event.subscription_id is not None:
            currency = event.currency or self.reporting
            self.currencies.setdefault(event.subscription_id, (currency, event.event_id))

    def close(self, sub: _Subscription, day: date) -> None:
        assert sub.active_since is not None
        if day > sub.active_since:
            self.timeline.segments.append(
                Segment(
                    sub.subscription_id,
                    sub.active_since,
                    day,
                    sub.mrr,
                    sub.currency,
                    sub.priced,
                    sub.plan,
                )
            )
        sub.active_since = None

    def lapse(self, sub: _Subscription, day: date) -> None:
        """A fixed term that ended on or before `day` without renewal has lapsed."""
        if sub.active_since is not None and sub.term_end is not None and sub.term_end <= day:
            lapsed_on = sub.term_end
            self.close(sub, lapsed_on)
            sub.term_end, sub.lapsed_on = None, lapsed_on

    def reprice(self, sub: _Subscription, day: date, amount: Decimal, interval: int) -> None:
        self.close(sub, day)
        sub.price(amount, interval, day)
        sub.active_since = day

    def book(self, item: Recorded, sub: _Subscription) -> None:
        self.timeline.bookings.append(
            Booking(
                sub.subscription_id,
                item.event.event_id,
                item.position,
                _day(item.event),
                sub.amount,
                sub.interval,
                sub.term_months,
                sub.currency,
            )
        )

    def apply(self, item: Recorded) -> str | None:
        """Applies one event; returns why it is invalid, or None."""
        event = item.event
        day = _day(event)
        if day > LAST_DAY:  # refused since it is taken; an older ledger may still hold one
            return f"{day} is after {LAST_DAY}, the last date the ledger takes"
        if event.type == "one_time_fee":
            return self.fee(item, day)
        assert event.subscription_id is not None
        sub = self.sub(event.subscription_id)
        if (other := self.other_currency(event, event.subscription_id)) is not None:
            return other
        self.lapse(sub, day)
        handler = getattr(self, f"on_{event.type}")
        result: str | None = handler(item, sub, day)
        if result is None and event.plan is not None and event.plan != sub.plan:
            self.replan(sub, day, event.plan)
        return result

    def replan(self, sub: _Subscription, day: date, plan: str) -> None:
        """A plan given applies from its day: a segment begun earlier ends there (at the
        same price) so that each segment has one plan. Only after the event is applied,
        so that the segment it closed keeps the plan it had."""
        if sub.active_since is not None and sub.active_since < day:
            self.close(sub, day)
            sub.active_since = day
        sub.plan = plan

    def on_new(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        event = item.event
        if sub.active_since is not None:
            return f"subscription {sub.subscription_id!r} is already active on {day}"
        if event.term_months and (beyond := _beyond(day, event.term_months)):
            return beyond
        assert event.amount is not None
        sub.price(event.amount, event.interval or 1, day)
        sub.term_months, sub.lapsed_on = event.term_months, None
        sub.term_end = add_months(day, event.term_months) if event.term_months else None
        sub.active_since = day
        self.started.add(sub.subscription_id)
        self.book(item, sub)
        return None

    def on_upgrade(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        return self.change_price(item, sub, day, rising=True)

    def on_downgrade(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        return self.change_price(item, sub, day, rising=False)

    def change_price(
        self, item: Recorded, sub: _Subscription, day: date, *, rising: bool
    ) -> str | None:
        event = item.event
        if sub.active_since is None:
            return f"subscription {sub.subscription_id!r} is not active on {day}"
        assert event.amount is not None
        interval = event.interval or sub.interval
        new_mrr, old_mrr = _mrr(event.amount, interval), sub.mrr
        if rising and not new_mrr > old_mrr:
            return f"an upgrade must raise MRR, but {_show(new_mrr)} is not above {_show(old_mrr)}"
        if not rising and not new_mrr < old_mrr:
            return f"a downgrade must lower MRR, but {_show(new_mrr)} is not below {_show(old_mrr)}"
        self.reprice(sub, day, event.amount, interval)
        return None

    def on_churn(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        if sub.active_since is None:
            return f"subscription {sub.subscription_id!r} is not active on {day}"
        self.close(sub, day)
        sub.term_end = None
        return None

    def on_renewal(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        event = item.event
        if sub.active_since is None and sub.lapsed_on != day:
            return (
                f"subscription {sub.subscription_id!r} is not active on {day} "
                "and no term of it ended that day"
            )
        amount, interval = event.amount or sub.amount, event.interval or sub.interval
        term_months = event.term_months or sub.term_months
        if term_months and (beyond := _beyond(day, term_months)):
            return beyond
        # A renewal that gives a price sets it (`booked` converts at its date), even the
        # same one; in the reporting currency that date converts nothing: no new segment.
        priced = day if event.amount or event.interval else sub.priced
        if sub.active_since is None:
            sub.price(amount, interval, priced)
            sub.active_since = day
        elif _mrr(amount, interval) != sub.mrr or (
            priced != sub.priced and sub.currency != self.reporting
        ):
            self.reprice(sub, day, amount, interval)
        else:
            sub.price(amount, interval, sub.priced)
        sub.term_months = term_months
        sub.term_end = add_months(day, term_months) if term_months else None
        sub.lapsed_on = None
        self.book(item, sub)
        return None

    def fee(self, item: Recorded, day: date) -> str | None:
        event = item.event
        assert event.amount is not None
        if event.subscription_id is not None:
            self.owned_fees.append(item)  # its currency is its subscription's: `result`
        currency = event.currency or self.reporting
        self.timeline.fees.append(
            Fee(event.event_id, item.position, day, event.amount, event.subscription_id, currency)
        )
        return None

    def other_currency(self, event: Event, subscription_id: str) -> str | None:
        """Why an event naming a currency may not: it is not its subscription's."""
        if event.currency is None or subscription_id not in self.currencies:
            return None
        currency, first = self.currencies[subscription_id]
        if event.currency == currency:
            return None
        return (
            f"currency {event.currency!r} is not subscription {subscription_id!r}'s, "
            f"{currency} (set by its first new, {first!r}): give {currency} or leave it empty"
        )

    def step(self, item: Recorded) -> None:
        self.expect(item)
        problem = self.apply(item)
        if problem is not None:
            self.invalid.append(
                Invalid(item, f"{item.event.type} on {_day(item.event)}: {problem}")
            )

    def result(self) -> tuple[Timeline, list[Invalid]]:
        """The timeline of the events applied so far. The state is left as it is, so that
        later events can still be applied."""
        still_open = [
            Segment(
                sub.subscription_id,
                sub.active_since,
                sub.term_end,
                sub.mrr,
                sub.currency,
                sub.priced,
                sub.plan,
            )
            for sub in self.subscriptions.values()
            if sub.active_since is not None
        ]
        segments = sorted(
            [*self.timeline.segments, *still_open], key=lambda s: (s.start, s.subscription_id)
        )
        fees = [self._in_currency(fee) for fee in self.timeline.fees]
        bookings = [*self.timeline.bookings]
        ours = self.reporting
        foreign = (
            any(s.currency != ours for s in segments)
            or any(b.currency != ours for b in bookings)
            or any(f.currency != ours for f in fees)
        )
        timeline = Timeline(self.timeline.customer_id, segments, bookings, fees, foreign)
        return timeline, [*self.invalid, *self._orphan_fees()]

    def _in_currency(self, fee: Fee) -> Fee:
        """A fee naming a subscription is in that subscription's currency."""
        owner = self.currencies.get(fee.subscription_id or "")
        return fee if owner is None or owner[0] == fee.currency else replace(fee, currency=owner[0])

    def _orphan_fees(self) -> Iterator[Invalid]:
        for item in self.owned_fees:
            event = item.event
            assert event.subscription_id is not None
            if event.subscription_id not in self.started:
                message = f"subscription {event.subscription_id!r} has no live `new`"
            elif (other := self.other_currency(event, event.subscription_id)) is not None:
                message = other
            else:
                continue
            yield Invalid(item, f"one_time_fee on {event.effective_date}: {message}")


def _day(event: Event) -> date:
    assert event.effective_date is not None
    return event.effective_date


def _show(value: Fraction) -> str:
    return money(value)


def _beyond(day: date, months: int) -> str | None:
    """Why a fixed term of `months` from `day` cannot be taken: it would end after
    `LAST_DAY` (or even after year 9999, where `add_months` cannot go)."""
    year = (day.year * 12 + day.month - 1 + months) // 12
    if year > date.max.year:
        ends = f"in the year {year}"
    elif (end := add_months(day, months)) > LAST_DAY:
        ends = f"on {end}"
    else:
        return None
    return (
        f"its {months}-month term would end {ends}, after {LAST_DAY}, the last date the "
        "ledger takes: give a shorter term_months"
    )


def live_events(history: Iterable[Recorded]) -> list[Recorded]:
    """The events that count: neither voids nor voided, in effective order."""
    items = list(history)
    voided = {r.event.target_event_id for r in items if r.event.type == "void"}
    live = [r for r in items if r.event.type != "void" and r.event.event_id not in voided]
    live.sort(key=lambda r: (_day(r.event), r.position))
    return live


def fold(
    customer_id: str, history: Iterable[Recorded], currency: str
) -> tuple[Timeline, list[Invalid]]:
    """Folds a customer's recorded history into its timeline, collecting invalid events.
    `currency` is the ledger's: a subscription that names none is in it."""
    return _refold(customer_id, history, currency)[0].result()


def timelines(
    customer_id: str,
    history: Iterable[Recorded],
    currency: str,
    at: Container[int] | None = None,
) -> Iterator[tuple[int, Timeline]]:
    """The customer's timeline as known after each of its events, by position: exactly
    `fold` of each prefix of the history (only of those ending at a position in `at`,
    when given). An event that comes after every live event in effective order just
    continues the fold; a backdated event or a void folds again, when it is next asked."""
    items = sorted(history, key=lambda r: r.position)
    state, last, stale = _Fold(customer_id, currency), (date.min, 0), False
    for count, item in enumerate(items, start=1):
        if stale:
            pass
        elif item.event.type != "void" and (key := (_day(item.event), item.position)) > last:
            state.step(item)
            last = key
        else:
            stale = True
        if at is None or item.position in at:
            if stale:
                state, last = _refold(customer_id, items[:count], currency)
                stale = False
            yield item.position, state.result()[0]


def _refold(
    customer_id: str, history: Iterable[Recorded], currency: str
) -> tuple[_Fold, tuple[date, int]]:
    """The fold of a history, and the (day, position) of its last live event."""
    state, last = _Fold(customer_id, currency), (date.min, 0)
    live = live_events(history)
    for item in sorted(live, key=lambda r: r.position):
        state.expect(item)
    for item in live:
        state.step(item)
        last = (_day(item.event), item.position)
    return state, last
