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
    listed: Fraction | None = None  # its MRR before the discount in force, if any (SPEC §11)

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Booking:
    """A live `new` or `renewal` (SPEC §7): a price committed for a term."""

    subscription_id: str
    event_id: str
    position: int
    day: date
    price: Decimal | Fraction  # net of the discount in force at the end of `day` (SPEC §11)
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


TRIALING, PAUSED = "trialing", "paused"


@dataclass(frozen=True, slots=True)
class Status:
    """A subscription trialing or paused over the days [start, end) (SPEC §11): not
    billing, not an active contract. `how` it ended: a trial `converted`, `expired` or
    `churned`; a pause `resumed` or `ended` (churned or lapsed); "" while it lasts."""

    subscription_id: str
    status: str  # TRIALING or PAUSED
    start: date
    end: date | None
    how: str = ""
    taken: Segment | None = None  # a pause's: the price in force the day before it

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class End:
    """A subscription that stopped billing for good on `day` (a churn of an active or
    paused one, or a lapse), and why (SPEC §12)."""

    subscription_id: str
    day: date
    reason: str


LAPSED, UNSPECIFIED = "lapsed", "unspecified"


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
    # SPEC §11-12: trials and pauses, the ends of billing and the reasons given by day
    statuses: list[Status] = field(default_factory=list)
    ends: list[End] = field(default_factory=list)
    # the reasons and notes its live events gave, in effective order: (day, reason, note)
    reasons: list[tuple[date, str | None, str | None]] = field(default_factory=list)
    lifecycle: bool = False  # any trial, pause or discount: figured day by day

    @property
    def held_out(self) -> bool:
        """Whether its figures are computed day by day, with the rates, not from the read
        model's rows in the ledger's currency: a foreign customer, or one with a trial, a
        pause or a discount (SPEC §10-11)."""
        return self.foreign or self.lifecycle


@dataclass
class _Subscription:
    subscription_id: str
    amount: Decimal = Decimal(0)
    interval: int = 1
    term_months: int | None = None
    term_end: date | None = None
    lapsed_on: date | None = None
    active_since: date | None = None  # start of the current price segment, None if inactive
    mrr: Fraction = Fraction(0)  # net of the discount: Fraction arithmetic is the fold's cost
    listed: Fraction = Fraction(0)  # before it (SPEC §11)
    currency: str = ""
    priced: date = date.min  # when the price in force was set (SPEC §10 `booked`)
    plan: str | None = None  # the plan in force: a report by plan (SPEC §13)
    # SPEC §11: set only on a subscription with a trial, a pause or a discount
    trial: Status | None = None  # the trial under way
    trial_expired: date | None = None  # the day its trial ended by itself: a `new` converts
    pause: Status | None = None  # the pause under way
    resume_date: date | None = None
    resumed_on: date | None = None  # the day it resumed by itself: a `resume` may follow
    resumed_from: Status | None = None  # the pause it resumed from (a pause again that day)
    discount: _Discount | None = None
    lapsed: _Lapsed | None = None  # what its lapse today ended: a renewal today undoes it
    booked: list[int] = field(default_factory=list)  # today's bookings: priced at day's end

    def price(self, amount: Decimal, interval: int, day: date) -> None:
        self.amount, self.interval, self.listed = amount, interval, _mrr(amount, interval)
        self.mrr = self.listed if self.discount is None else self.discount.net(self.listed)
        self.priced = day

    @property
    def quiet(self) -> bool:
        """Whether nothing of SPEC §11 is under way: only a term can end by itself."""
        return self.trial is None and self.pause is None and self.discount is None


@dataclass(frozen=True, slots=True)
class _Discount:
    """SPEC §11: a share of the list price off, or an amount off each month (the amount
    off an interval of the price in force when given), until `end` (not included)."""

    percent_off: Fraction | None
    monthly_off: Fraction | None
    end: date | None

    def net(self, listed: Fraction) -> Fraction:
        if self.percent_off is not None:
            return listed * (1 - self.percent_off / 100)
        assert self.monthly_off is not None
        return listed - min(self.monthly_off, listed)


@dataclass(frozen=True, slots=True)
class _Lapsed:
    """A lapse on `day` and what it ended (SPEC §4, §11): a renewal that day undoes it."""

    day: date
    pause: Status | None
    resume_date: date | None
    discount: _Discount | None


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
        """A subscription's currency is that of its first recorded `new` or `trial` (SPEC
        §10): seen in recording order, before the fold applies events in effective order."""
        event = item.event
        if event.type in ("new", "trial") and event.subscription_id is not None:
            currency = event.currency or self.reporting
            self.currencies.setdefault(event.subscription_id, (currency, event.event_id))

    def segment(self, sub: _Subscription, start: date, end: date | None) -> Segment:
        listed = sub.listed if sub.discount is not None else None
        return Segment(
            sub.subscription_id, start, end, sub.mrr, sub.currency, sub.priced, sub.plan, listed
        )

    def close(self, sub: _Subscription, day: date) -> None:
        assert sub.active_since is not None
        if day > sub.active_since:
            self.timeline.segments.append(self.segment(sub, sub.active_since, day))
        sub.active_since = None

    def advance(self, sub: _Subscription, day: date) -> None:
        """What happens by itself at the start of the days up to `day`, in date order (on
        one day: a term's end, a trial's, a pause's, a discount's)."""
        if sub.quiet:
            self.lapse(sub, day)
            return
        while (due := _due(sub)) is not None and due[0] <= day:
            when, what = due
            if what == 0:
                self.lapse(sub, when)
            elif what == 1:
                assert sub.trial is not None
                self.end_status(sub, "trial", when, "expired")
                sub.trial_expired = when
            elif what == 2:
                sub.resumed_from = sub.pause
                self.end_status(sub, "pause", when, "resumed")
                sub.active_since, sub.resumed_on, sub.resume_date = when, when, None
            else:
                self.rediscount(sub, when, None)

    def end_status(self, sub: _Subscription, which: str, day: date, how: str) -> None:
        status = getattr(sub, which)
        assert status is not None
        self.timeline.statuses.append(replace(status, end=day, how=how))
        setattr(sub, which, None)

    def lapse(self, sub: _Subscription, day: date) -> None:
        """A fixed term that ended on or before `day` without renewal has lapsed (paused
        or not: SPEC §11), ending its pause and its discount."""
        ends = sub.term_end
        if ends is None or ends > day or (sub.active_since is None and sub.pause is None):
            return
        sub.lapsed = _Lapsed(ends, sub.pause, sub.resume_date, sub.discount)
        if sub.active_since is not None:
            self.close(sub, ends)
        else:
            self.end_status(sub, "pause", ends, "ended")
        self.timeline.ends.append(End(sub.subscription_id, ends, LAPSED))
        sub.term_end, sub.lapsed_on, sub.resume_date = None, ends, None
        if sub.discount is not None:
            sub.discount = None
            sub.price(sub.amount, sub.interval, sub.priced)

    def reprice(self, sub: _Subscription, day: date, amount: Decimal, interval: int) -> None:
        self.close(sub, day)
        sub.price(amount, interval, day)
        sub.active_since = day

    def rediscount(self, sub: _Subscription, day: date, discount: _Discount | None) -> None:
        """The discount in force from `day` (None: none); an MRR change when billing."""
        if sub.active_since is not None:
            self.close(sub, day)
            sub.active_since = day
        sub.discount = discount
        sub.price(sub.amount, sub.interval, sub.priced)

    def book(self, item: Recorded, sub: _Subscription) -> None:
        sub.booked.append(len(self.timeline.bookings))
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

    def settle(self, sub: _Subscription) -> None:
        """A booking's price is net of the discount in force at the end of its day (SPEC
        §11): set once the fold has passed that day."""
        bookings = self.timeline.bookings
        if sub.discount is not None:
            for index in sub.booked:
                booking = bookings[index]
                listed = Fraction(booking.price) / booking.interval
                net = sub.discount.net(listed) * booking.interval
                bookings[index] = replace(booking, price=_decimal(net))
        sub.booked.clear()

    def apply(self, item: Recorded) -> str | None:
        """Applies one event; returns why it is invalid, or None."""
        event = item.event
        day = _day(event)
        if day > LAST_DAY:  # refused since it is taken; an older ledger may still hold one
            return f"{day} is after {LAST_DAY}, the last date the ledger takes"
        if event.reason is not None or event.note is not None:
            self.timeline.reasons.append((day, event.reason, event.note))
        if event.type == "one_time_fee":
            return self.fee(item, day)
        assert event.subscription_id is not None
        sub = self.sub(event.subscription_id)
        if (other := self.other_currency(event, event.subscription_id)) is not None:
            return other
        if sub.booked and self.timeline.bookings[sub.booked[0]].day < day:
            self.settle(sub)
        self.advance(sub, day)
        if event.type in _LIFECYCLE:
            self.timeline.lifecycle = True
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

    def not_billing(self, sub: _Subscription, day: date) -> str | None:
        """Why `sub` cannot take a price change (or a pause, a discount) on `day`."""
        name = f"subscription {sub.subscription_id!r}"
        if sub.trial is not None:
            return f"{name} is trialing on {day}: convert it with a `new` first"
        if sub.pause is not None:
            return f"{name} is paused on {day}: `resume` it first"
        if sub.active_since is None:
            return f"{name} is not active on {day}"
        return None

    def on_new(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        event = item.event
        if sub.active_since is not None:
            return f"subscription {sub.subscription_id!r} is already active on {day}"
        if sub.pause is not None:
            return (
                f"subscription {sub.subscription_id!r} is paused on {day}: `resume` it, "
                "or `churn` it before starting it again"
            )
        if event.term_months and (beyond := _beyond(day, event.term_months)):
            return beyond
        assert event.amount is not None
        if sub.trial is not None:
            self.end_status(sub, "trial", day, "converted")
        elif sub.trial_expired == day:  # on its trial_end date: it converts too
            self.convert_expired(sub, day)
        sub.discount, sub.resume_date, sub.trial_expired = None, None, None
        sub.price(event.amount, event.interval or 1, day)
        sub.term_months, sub.lapsed_on = event.term_months, None
        sub.term_end = add_months(day, event.term_months) if event.term_months else None
        sub.active_since = day
        self.started.add(sub.subscription_id)
        self.book(item, sub)
        return None

    def convert_expired(self, sub: _Subscription, day: date) -> None:
        statuses = self.timeline.statuses
        for index in range(len(statuses) - 1, -1, -1):
            status = statuses[index]
            if status.subscription_id == sub.subscription_id and status.status == TRIALING:
                statuses[index] = replace(status, how="converted")
                break
        sub.trial_expired = None

    def on_trial(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        name = f"subscription {sub.subscription_id!r}"
        for now, said in ((sub.active_since, "active"), (sub.trial, "trialing")):
            if now is not None:
                return f"{name} is already {said} on {day}: a trial starts a subscription"
        if sub.pause is not None:
            return f"{name} is paused on {day}: a trial starts a subscription"
        sub.trial = Status(sub.subscription_id, TRIALING, day, item.event.trial_end)
        sub.term_end, sub.discount, sub.resume_date, sub.trial_expired = None, None, None, None
        return None

    def on_upgrade(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        return self.change_price(item, sub, day, rising=True)

    def on_downgrade(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        return self.change_price(item, sub, day, rising=False)

    def change_price(
        self, item: Recorded, sub: _Subscription, day: date, *, rising: bool
    ) -> str | None:
        event = item.event
        if (why := self.not_billing(sub, day)) is not None:
            return why
        assert event.amount is not None
        interval = event.interval or sub.interval
        new_mrr, old_mrr = self.net(sub, _mrr(event.amount, interval)), sub.mrr
        if rising and not new_mrr > old_mrr:
            return f"an upgrade must raise MRR, but {_show(new_mrr)} is not above {_show(old_mrr)}"
        if not rising and not new_mrr < old_mrr:
            return f"a downgrade must lower MRR, but {_show(new_mrr)} is not below {_show(old_mrr)}"
        if not new_mrr:
            return _NET_ZERO
        self.reprice(sub, day, event.amount, interval)
        return None

    @staticmethod
    def net(sub: _Subscription, listed: Fraction) -> Fraction:
        return listed if sub.discount is None else sub.discount.net(listed)

    def on_churn(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        reason = item.event.reason or UNSPECIFIED
        if sub.active_since is not None:
            self.close(sub, day)
        elif sub.pause is not None:
            self.end_status(sub, "pause", day, "ended")
        elif sub.trial is not None:
            self.end_status(sub, "trial", day, "churned")
            reason = ""
        else:
            return f"subscription {sub.subscription_id!r} is not active on {day}"
        if reason:
            self.timeline.ends.append(End(sub.subscription_id, day, reason))
        sub.term_end, sub.resume_date = None, None
        if sub.discount is not None:
            sub.discount = None
            sub.price(sub.amount, sub.interval, sub.priced)
        return None

    def on_renewal(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        event = item.event
        if sub.trial is not None:
            return self.not_billing(sub, day)
        lapsed = sub.lapsed if sub.lapsed is not None and sub.lapsed.day == day else None
        if sub.active_since is None and sub.pause is None and sub.lapsed_on != day:
            return (
                f"subscription {sub.subscription_id!r} is not active on {day} "
                "and no term of it ended that day"
            )
        amount, interval = event.amount or sub.amount, event.interval or sub.interval
        term_months = event.term_months or sub.term_months
        if term_months and (beyond := _beyond(day, term_months)):
            return beyond
        if lapsed is not None and sub.active_since is None and sub.pause is None:
            self.unlapse(sub, lapsed)
        if event.amount and not self.net(sub, _mrr(amount, interval)):
            return _NET_ZERO
        # A renewal that gives a price sets it (`booked` converts at its date), even the
        # same one; in the reporting currency that date converts nothing: no new segment.
        priced = day if event.amount or event.interval else sub.priced
        if sub.pause is not None:  # SPEC §11: it stays paused, at the price it resumes at
            sub.price(amount, interval, priced)
            if sub.resume_date is not None and sub.resume_date <= day:
                self.end_status(sub, "pause", day, "resumed")
                sub.active_since, sub.resumed_on, sub.resume_date = day, day, None
        elif sub.active_since is None:
            sub.price(amount, interval, priced)
            sub.active_since = day
        elif self.net(sub, _mrr(amount, interval)) != sub.mrr or (
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

    def unlapse(self, sub: _Subscription, lapsed: _Lapsed) -> None:
        """A renewal on the day its term ended: it never stopped, and keeps the pause and
        the discount it had."""
        ends = self.timeline.ends
        for index in range(len(ends) - 1, -1, -1):
            if ends[index].subscription_id == sub.subscription_id and ends[index].day == lapsed.day:
                del ends[index]
                break
        if lapsed.pause is not None:
            statuses = self.timeline.statuses
            for index in range(len(statuses) - 1, -1, -1):
                if statuses[index].subscription_id == sub.subscription_id:
                    del statuses[index]
                    break
        sub.pause, sub.resume_date, sub.lapsed = lapsed.pause, lapsed.resume_date, None
        kept = lapsed.discount
        if kept is not None and (kept.end is None or kept.end > lapsed.day):
            sub.discount = kept  # (one that ended that day too stays ended)
            sub.price(sub.amount, sub.interval, sub.priced)

    def on_pause(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        if sub.pause is not None:
            return f"subscription {sub.subscription_id!r} is already paused on {day}"
        if (why := self.not_billing(sub, day)) is not None:
            return why
        self.close(sub, day)
        taken = next(
            (
                s
                for s in reversed(self.timeline.segments)
                if s.subscription_id == sub.subscription_id and s.end == day
            ),
            None,
        )
        if taken is None and sub.resumed_on == day and sub.resumed_from is not None:
            taken = sub.resumed_from.taken  # paused again the day it resumed: still that MRR
        sub.pause = Status(sub.subscription_id, PAUSED, day, None, taken=taken)
        sub.resume_date = item.event.resume_date
        return None

    def on_resume(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        event = item.event
        amount, interval = event.amount or sub.amount, event.interval or sub.interval
        priced = event.amount is not None or event.interval is not None
        if priced and not self.net(sub, _mrr(amount, interval)):
            return _NET_ZERO
        if sub.pause is not None:
            sub.resumed_from = sub.pause
            self.end_status(sub, "pause", day, "resumed")
            if priced:
                sub.price(amount, interval, day)
            sub.active_since, sub.resume_date, sub.resumed_on = day, None, day
        elif sub.resumed_on == day and sub.active_since is not None:
            if priced:  # on its resume_date, just resumed by itself: the same resume
                self.reprice(sub, day, amount, interval)
        else:
            return (
                f"subscription {sub.subscription_id!r} is not paused on {day}: only a paused "
                "subscription resumes"
            )
        return None

    def on_discount(self, item: Recorded, sub: _Subscription, day: date) -> str | None:
        event = item.event
        if (why := self.not_billing(sub, day)) is not None:
            return why
        months = event.duration_months
        if months and (beyond := _beyond(day, months, ("discount", "duration_months"))):
            return beyond
        percent = Fraction(event.percent_off) if event.percent_off is not None else None
        off = Fraction(event.amount_off) / sub.interval if event.amount_off is not None else None
        ended = percent == 0 or (percent is None and not off)
        end = add_months(day, months) if months else None
        discount = None if ended else _Discount(percent, off, end)
        if discount is not None and not discount.net(sub.listed):
            return (
                f"{_off(event)} would make net MRR 0 (list MRR "
                f"{_show(sub.listed)}): use `churn` or `pause` instead"
            )
        self.rediscount(sub, day, discount)
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
        later events can still be applied: what would still happen by itself (a trial, a
        pause, a discount ending) is played out on a copy."""
        timeline = self.timeline
        if timeline.lifecycle:
            return self._played_out()
        still_open = [
            self.segment(sub, sub.active_since, sub.term_end)
            for sub in self.subscriptions.values()
            if sub.active_since is not None
        ]
        lapsing = [
            End(sub.subscription_id, sub.term_end, LAPSED)
            for sub in self.subscriptions.values()
            if sub.active_since is not None and sub.term_end is not None
        ]
        return self._timeline(
            [*timeline.segments, *still_open],
            [*timeline.bookings],
            [*timeline.statuses],
            [*timeline.ends, *lapsing],
        )

    def _played_out(self) -> tuple[Timeline, list[Invalid]]:
        copy = _Fold(self.timeline.customer_id, self.reporting)
        copy.currencies, copy.started, copy.owned_fees = self.currencies, self.started, []
        kept = self.timeline
        copy.timeline = Timeline(
            kept.customer_id,
            [*kept.segments],
            [*kept.bookings],
            kept.fees,
            statuses=[*kept.statuses],
            ends=[*kept.ends],
            reasons=kept.reasons,
            lifecycle=kept.lifecycle,
        )
        for sub in self.subscriptions.values():
            mine = replace(sub, booked=[*sub.booked])
            copy.subscriptions[sub.subscription_id] = mine
            copy.settle(mine)
            copy.advance(mine, date.max)
        made = copy.timeline
        still_open = [
            copy.segment(sub, sub.active_since, None)
            for sub in copy.subscriptions.values()
            if sub.active_since is not None
        ]
        open_statuses = [
            status
            for sub in copy.subscriptions.values()
            for status in (sub.trial, sub.pause)
            if status is not None
        ]
        return self._timeline(
            [*made.segments, *still_open],
            made.bookings,
            [*made.statuses, *open_statuses],
            made.ends,
        )

    def _timeline(
        self,
        segments: list[Segment],
        bookings: list[Booking],
        statuses: list[Status],
        ends: list[End],
    ) -> tuple[Timeline, list[Invalid]]:
        segments.sort(key=lambda s: (s.start, s.subscription_id))
        fees = [self._in_currency(fee) for fee in self.timeline.fees]
        ours = self.reporting
        foreign = (
            any(s.currency != ours for s in segments)
            or any(b.currency != ours for b in bookings)
            or any(f.currency != ours for f in fees)
        )
        kept = self.timeline
        timeline = Timeline(
            kept.customer_id,
            segments,
            bookings,
            fees,
            foreign,
            statuses=sorted(statuses, key=lambda s: (s.start, s.subscription_id)),
            ends=sorted(ends, key=lambda e: (e.day, e.subscription_id)),
            reasons=[*kept.reasons],
            lifecycle=kept.lifecycle,
        )
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


_LIFECYCLE = frozenset(("trial", "pause", "resume", "discount"))
_NET_ZERO = "it would make net MRR 0 (the discount takes all of the price): use `churn` or `pause`"


def _due(sub: _Subscription) -> tuple[date, int] | None:
    """The next thing to happen to `sub` by itself: (its day, 0 a lapse, 1 a trial's end,
    2 a resume, 3 a discount's end), the earliest first."""
    found: list[tuple[date, int]] = []
    if sub.term_end is not None and (sub.active_since is not None or sub.pause is not None):
        found.append((sub.term_end, 0))
    if sub.trial is not None and sub.trial.end is not None:
        found.append((sub.trial.end, 1))
    if sub.pause is not None and sub.resume_date is not None:
        found.append((sub.resume_date, 2))
    if sub.discount is not None and sub.discount.end is not None:
        found.append((sub.discount.end, 3))
    return min(found) if found else None


def _decimal(value: Fraction) -> Decimal | Fraction:
    """A net price as a `Decimal` when it is one exactly (most are), else as it is."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact if Fraction(exact) == value else value


def _off(event: Event) -> str:
    if event.percent_off is not None:
        return f"percent_off {event.percent_off}"
    return f"amount_off {event.amount_off}"


def _day(event: Event) -> date:
    assert event.effective_date is not None
    return event.effective_date


def _show(value: Fraction) -> str:
    return money(value)


def _beyond(day: date, months: int, named: tuple[str, str] = ("term", "term_months")) -> str | None:
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
        f"its {months}-month {named[0]} would end {ends}, after {LAST_DAY}, the last date "
        f"the ledger takes: give a shorter {named[1]}"
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
