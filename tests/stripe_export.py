"""A Stripe-shaped invoice line items export of a few hundred customers, made up by a
seeded generator that keeps, by construction, what it billed.

The columns are those of Stripe's API line item object, flattened with dots, as Stripe's
exports spell them (`period.start`, `price.recurring.interval`), with `invoice` and
`customer` from the line's invoice; amounts in the currency's smallest unit (yen for JPY),
currencies in lower case, periods as Unix timestamps at the subscription's time of day.

Customers bill in USD, EUR, GBP or JPY, on monthly, quarterly, annual, two- and three-year
prices, anchored on any day (29th-31st too). Some start with a 14-day trial (a 0 line of
part of a month), some pay a setup fee (an `invoiceitem`, on a subscription's invoice or
alone), some have a second item (seats), some a coupon for a few periods (20%, 50% or 100%
off, in `discount_amounts`). Along the way: mid-period upgrades and downgrades (a negative
and a positive proration line, the next period at the new price), seat changes and switches
to an annual price at a period's end, cancellations at a period's end or at once (a negative
proration credit for the unused time), restarts after a gap (a new subscription). Refunds
are charges' and credit notes', not lines of this export: they are not in it.

`Billed` is each billing period as charged (all items, after discounts): the MRR the export
implies on a day is the billed period covering it over its months (a change made in the
middle of a period is billed, and counts, from the next period). Rates are monthly, on
the 1st.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

CURRENCIES = {"USD": 0.55, "EUR": 0.2, "GBP": 0.15, "JPY": 0.1}
EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}
MONTHLY = {
    "USD": [2900, 4900, 9900, 19900, 49900],
    "EUR": [2500, 4500, 8900, 17900, 45000],
    "GBP": [2200, 3900, 7900, 15900, 39900],
    "JPY": [3000, 5000, 12000, 30000, 60000],
}
"""Each currency's monthly price tiers, in its smallest unit (multiples of 100)."""
SEAT = {"USD": 1000, "EUR": 900, "GBP": 800, "JPY": 1000}
PLANS = [(1, 0.5), (3, 0.1), (12, 0.27), (24, 0.07), (36, 0.06)]
"""(months per period, share): monthly, quarterly, annual, two- and three-year prices."""
COLUMNS = [
    *("id", "object", "invoice", "customer", "subscription", "subscription_item", "type"),
    *("amount", "discount_amounts", "currency", "period.start", "period.end", "proration"),
    *("price.id", "price.recurring.interval", "price.recurring.interval_count", "quantity"),
    *("description", "livemode"),
]


@dataclass(frozen=True)
class Billed:
    """One billing period of a subscription, `[start, end)`, as charged."""

    subscription: str
    currency: str
    start: date
    end: date
    charged: int
    months: int


@dataclass
class Export:
    lines: list[tuple[date, dict[str, str]]] = field(default_factory=list)
    """Each line with the day its invoice was made, in that order."""
    billed: list[Billed] = field(default_factory=list)
    rates: dict[str, dict[date, Decimal]] = field(default_factory=dict)

    def until(self, day: date) -> list[dict[str, str]]:
        """The lines of the invoices made on or before `day`, as an export taken then."""
        return [line for made, line in self.lines if made <= day]


def add_months(day: date, months: int, anchor: int) -> date:
    """`day` + `months`, on the `anchor` day of the month, clamped to its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in range(anchor, 27, -1):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    return date(year, month + 1, min(anchor, 28))


def _stamp(day: date, at: time) -> str:
    return str(int(datetime.combine(day, at, UTC).timestamp()))


def _interval(months: int) -> tuple[str, str]:
    return ("month", str(months)) if months < 12 else ("year", str(months // 12))


@dataclass
class _Sub:
    id: str
    customer: str
    currency: str
    months: int
    tier: int
    seats: int
    anchor: int
    at: time
    coupon: tuple[int, int, int] | None  # (first period, periods, percent off)


class _Generator:
    def __init__(self, seed: int, customers: int, first: date, last: date) -> None:
        self.rng = random.Random(seed)
        self.first, self.last = first, last
        self.export = Export()
        self.count = {"il": 0, "in": 0, "sub": 0}
        self.customers = customers

    def ident(self, kind: str) -> str:
        self.count[kind] += 1
        return f"{kind}_{self.count[kind]:06d}"

    def run(self) -> Export:
        for n in range(1, self.customers + 1):
            self.customer(f"cus_{n:05d}")
        self.export.lines.sort(key=lambda made_line: made_line[0])
        self.rates()
        return self.export

    def rates(self) -> None:
        start = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2650"), "JPY": Decimal("0.006700")}
        step = {"EUR": Decimal("0.0025"), "GBP": Decimal("0.0030"), "JPY": Decimal("0.000025")}
        for currency, rate in start.items():
            days: dict[date, Decimal] = {}
            day = date(self.first.year - 1, 12, 1)
            while day <= self.last + timedelta(days=31):
                days[day] = rate
                rate += step[currency] * self.rng.randint(-3, 3)
                day = add_months(day, 1, 1)
            self.export.rates[currency] = days

    def customer(self, customer: str) -> None:
        rng = self.rng
        currency = rng.choices(list(CURRENCIES), weights=list(CURRENCIES.values()))[0]
        span = (self.last - self.first).days - 60
        start: date | None = self.first + timedelta(days=rng.randrange(span))
        if start is not None and rng.random() < 0.1:  # anchored at a month's end
            start = add_months(start, 0, 31)
        while start is not None and start <= self.last:
            start = self.subscription(customer, currency, start)

    def subscription(self, customer: str, currency: str, start: date) -> date | None:
        """Bills one subscription from `start`; the day the customer comes back, if ever."""
        rng = self.rng
        months = rng.choices([m for m, _ in PLANS], weights=[w for _, w in PLANS])[0]
        at = time(rng.randrange(24), rng.randrange(60), rng.randrange(60))
        coupon = None
        if rng.random() < 0.2:
            coupon = (rng.randrange(3), rng.randint(1, 3), rng.choice([20, 50, 100]))
        seats = rng.randint(1, 9) if rng.random() < 0.3 else 0
        sub = _Sub(
            self.ident("sub"), customer, currency, months, rng.randrange(4), seats, 0, at, coupon
        )
        if rng.random() < 0.25:  # a 14-day trial: a 0 line, then paid from its end
            trial_end = start + timedelta(days=14)
            self.line(sub, start, start, trial_end, "subscription", 0, "Trial period")
            start = trial_end
        sub.anchor = start.day
        if rng.random() < 0.2:
            alone = rng.random() < 0.5
            self.line(sub, start, start, start, "invoiceitem", 50_000, "Setup", alone=alone)
        return self.periods(sub, start)

    def periods(self, sub: _Sub, start: date) -> date | None:
        rng, period = self.rng, 0
        while start <= self.last:
            end = add_months(start, sub.months, sub.anchor)
            charged = self.bill(sub, start, end, period)
            self.export.billed.append(Billed(sub.id, sub.currency, start, end, charged, sub.months))
            roll = rng.random()
            if roll < 0.06:  # a change in the middle of the period, prorated
                self.prorate(sub, start, end, rng.choice([-1, 1]))
            elif roll < 0.1:
                sub.seats = max(0, sub.seats + rng.choice([-2, 1, 3])) if sub.seats else 0
            elif roll < 0.12 and sub.months < 12:
                sub.months, sub.anchor = 12, end.day
            elif roll < 0.17:
                if rng.random() < 0.4:  # at once: the unused time credited
                    self.credit(sub, start, end)
                back = add_months(end, rng.randint(1, 5), end.day) if rng.random() < 0.4 else None
                return back
            start, period = end, period + 1
        return None

    def price(self, sub: _Sub) -> int:
        """The base item's price per period, in the smallest unit."""
        monthly = MONTHLY[sub.currency][sub.tier]
        factor = {1: 1, 3: 3, 12: 10, 24: 18, 36: 25}[sub.months]  # longer: cheaper
        return monthly * factor

    def seat_price(self, sub: _Sub) -> int:
        return SEAT[sub.currency] * sub.months

    def bill(self, sub: _Sub, start: date, end: date, period: int) -> int:
        """The lines of one period; what they charge."""
        base = self.price(sub)
        off = 0
        if sub.coupon and sub.coupon[0] <= period < sub.coupon[0] + sub.coupon[1]:
            off = base * sub.coupon[2] // 100
        self.line(sub, start, start, end, "subscription", base, "Base", discount=off)
        charged = base - off
        if sub.seats:
            seats = self.seat_price(sub) * sub.seats
            self.line(sub, start, start, end, "subscription", seats, "Seats", item="seats")
            charged += seats
        return charged

    def prorate(self, sub: _Sub, start: date, end: date, way: int) -> None:
        """A change of tier on a day inside the period: the unused time of the old price
        credited, the remaining time of the new one charged; the next period at the new."""
        days = (end - start).days
        if days < 3 or not 0 <= sub.tier + way < len(MONTHLY["USD"]):
            return
        on = start + timedelta(days=self.rng.randint(1, days - 1))
        share = Decimal((end - on).days) / Decimal(days)
        old = self.price(sub)
        sub.tier += way
        new = self.price(sub)
        unused = -int((old * share).to_integral_value())
        remaining = int((new * share).to_integral_value())
        self.line(sub, on, on, end, "invoiceitem", unused, "Unused time", proration=True)
        self.line(sub, on, on, end, "invoiceitem", remaining, "Remaining time", proration=True)

    def credit(self, sub: _Sub, start: date, end: date) -> None:
        days = (end - start).days
        if days < 3:
            return
        on = start + timedelta(days=self.rng.randint(1, days - 1))
        unused = -int((self.price(sub) * Decimal((end - on).days) / days).to_integral_value())
        self.line(sub, on, on, end, "invoiceitem", unused, "Unused time", proration=True)

    def line(
        self,
        sub: _Sub,
        made: date,
        start: date,
        end: date,
        kind: str,
        amount: int,
        description: str,
        *,
        discount: int = 0,
        item: str = "base",
        proration: bool = False,
        alone: bool = False,
    ) -> None:
        interval, count = _interval(sub.months)
        discounts = [{"amount": discount, "discount": f"di_{sub.id}"}] if discount else []
        row = {
            "id": self.ident("il"),
            "object": "line_item",
            "invoice": f"in_{sub.id}_{made.isoformat()}",
            "customer": sub.customer,
            "subscription": "" if alone else sub.id,
            "subscription_item": f"si_{sub.id}_{item}" if kind == "subscription" else "",
            "type": kind,
            "amount": str(amount),
            "discount_amounts": json.dumps(discounts),
            "currency": sub.currency.lower(),
            "period.start": _stamp(start, sub.at),
            "period.end": _stamp(end, sub.at),
            "proration": "true" if proration else "false",
            "price.id": f"price_{sub.currency.lower()}_{sub.months}m_{sub.tier}_{item}",
            "price.recurring.interval": interval if kind == "subscription" else "",
            "price.recurring.interval_count": count if kind == "subscription" else "",
            "quantity": str(sub.seats) if item == "seats" else "1",
            "description": description,
            "livemode": "false",
        }
        self.export.lines.append((made, row))


def stripe_export(
    seed: int, customers: int = 300, first: date = date(2023, 1, 1), last: date = date(2025, 6, 30)
) -> Export:
    """The export of `customers` customers' invoices from `first` to `last`."""
    return _Generator(seed, customers, first, last).run()
