"""Random valid ledgers aimed at the SPEC's corners, to check the ledger against the oracle.

`ledger.app.sample` makes realistic ledgers; this one makes awkward ones: named and odd
intervals (quarter, 6, 36 months), short and odd terms, month-end starts (clamping),
renewals that change price, interval or term (an evergreen becoming fixed), renewals and
restarts on the very day a term lapses or a churn takes effect, same-day changes netted
across a customer's subscriptions, fees before go-live, between a churn and a restart,
after the last churn, years into an evergreen contract and without a subscription,
mistaken upgrades and subscriptions voided, churns recorded late or scheduled early.
Rows come in recording order and every prefix is a valid ledger.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from fractions import Fraction

from tests.oracle import add_months

INTERVALS = {"month": 1, "quarter": 3, "year": 12, "1": 1, "6": 6, "36": 36}
AMOUNTS = ("7.5", "99.99", "100", "333.3333", "1000", "12000", "45000.5")
FEES = ("250", "1500", "9999.9999", "10000")


@dataclass
class _Rows:
    rows: list[tuple[date, int, dict[str, str]]] = field(default_factory=list)

    def add(self, recorded: date, fields: dict[str, str]) -> dict[str, str]:
        row = {"event_id": f"X{len(self.rows) + 1:06d}", **fields}
        self.rows.append((recorded, len(self.rows), row))
        return row

    def void(self, recorded: date, target: dict[str, str]) -> None:
        fields = {"type": "void", "customer_id": target["customer_id"]}
        self.add(recorded, fields | {"target_event_id": target["event_id"]})


@dataclass
class _Line:
    """One subscription's life as the generator goes along."""

    rng: random.Random
    out: _Rows
    customer: str
    sub: str
    horizon: date
    amount: Decimal = Decimal(0)
    months: int = 1
    term: int | None = None
    term_end: date | None = None
    began: date = date.min
    late: bool = False

    def event(
        self, day: date, kind: str, recorded: date | None = None, /, **extra: str
    ) -> dict[str, str]:
        fields = {"type": kind, "customer_id": self.customer, "subscription_id": self.sub}
        return self.out.add(recorded or day, fields | {"effective_date": day.isoformat(), **extra})

    @property
    def mrr(self) -> Fraction:
        return Fraction(self.amount) / self.months

    def start(self, day: date, first: bool) -> None:
        interval = self.rng.choice(list(INTERVALS))
        self.amount, self.months = Decimal(self.rng.choice(AMOUNTS)), INTERVALS[interval]
        self.term = self.rng.choice((None, None, 1, 12, 12, 13, 24, 36))
        extra = {"amount": str(self.amount), "interval": interval}
        self.event(day, "new", **extra, **({"term_months": str(self.term)} if self.term else {}))
        self.term_end = add_months(day, self.term) if self.term else None
        self.began, self.late = day, False
        if self.rng.random() < 0.05:
            self.renew(day)  # renewed the day it started: both are bookings
        if self.rng.random() < 0.4:  # a setup fee, maybe before go-live (recorded at go-live)
            early = self.rng.choice((0, 3, 20)) if first else self.rng.choice((0, 40))
            self.event(day - timedelta(days=early), "one_time_fee", day, amount="1500")

    def price(self, factor: str, rounding: str) -> tuple[Decimal, str]:
        interval = self.rng.choice((None, None, *INTERVALS))
        months = INTERVALS[interval] if interval else self.months
        target = Fraction(self.mrr * months) * Fraction(factor)
        amount = (Decimal(target.numerator) / Decimal(target.denominator)).quantize(
            Decimal("0.0001"), rounding=rounding
        )
        return amount, interval or ""

    def change(self, day: date, rising: bool) -> bool:
        amount, interval = self.price(
            "1.5" if rising else "0.6", ROUND_UP if rising else ROUND_DOWN
        )
        new_mrr = Fraction(amount) / (INTERVALS[interval] if interval else self.months)
        if amount <= 0 or (new_mrr > self.mrr) != rising or new_mrr == self.mrr:
            return False
        extra = {"amount": str(amount)} | ({"interval": interval} if interval else {})
        self.event(day, "upgrade" if rising else "downgrade", **extra)
        self.amount, self.months = amount, INTERVALS[interval] if interval else self.months
        return True

    def renew(self, day: date) -> None:
        extra: dict[str, str] = {}
        if self.rng.random() < 0.4:
            amount, interval = self.price(self.rng.choice(("1.07", "0.9", "1")), ROUND_UP)
            extra["amount"] = str(amount)
            if interval:
                extra["interval"] = interval
                self.months = INTERVALS[interval]
            self.amount = amount
        elif self.rng.random() < 0.2:
            interval = self.rng.choice(list(INTERVALS))
            extra["interval"] = interval  # the same amount per another interval
            self.months = INTERVALS[interval]
        if self.rng.random() < 0.4:
            self.term = self.rng.choice((1, 6, 12, 24))
            extra["term_months"] = str(self.term)
        self.event(day, "renewal", **extra)
        self.term_end = add_months(day, self.term) if self.term else None

    def live(self, day: date) -> date | None:
        """Changes while active; the day it ended (churn or lapse), or None at the horizon."""
        while True:
            step = day + timedelta(days=self.rng.randint(1, 300))
            if self.term_end is not None and self.term_end <= step:
                if self.term_end >= self.horizon:
                    return None
                day = self.term_end
                if self.rng.random() < 0.3:
                    return day  # lapses
                self.renew(day)
                continue
            if step >= self.horizon:
                return None
            day = step
            if not self.step(day):
                return day

    def step(self, day: date) -> bool:
        """One change on `day`; False when it was a churn."""
        roll = self.rng.random()
        if roll < 0.25:
            if self.change(day, rising=True) and self.rng.random() < 0.2:
                self.change(day, rising=False)  # and down again the same day: netted
        elif roll < 0.4:
            self.change(day, rising=False)
        elif roll < 0.5:
            self.renew(day)
        elif roll < 0.6:
            later = day + timedelta(days=self.rng.choice((0, 400, 800)))
            if later < self.horizon and (self.term_end is None or later < self.term_end):
                self.event(later, "one_time_fee", day, amount=self.rng.choice(FEES))
        elif roll < 0.67:
            mistake = self.event(day, "upgrade", amount=str(self.amount * 3))
            self.out.void(day, mistake)
        else:
            self.churn(day)
            return False
        return True

    def churn(self, day: date) -> None:
        """Churns recorded on the day, 60 days late, or scheduled up to 10 days ahead."""
        roll = self.rng.random()
        late, early = roll < 0.2, 0.2 <= roll < 0.4
        recorded = day + timedelta(days=60) if late else day
        if early:
            recorded = max(day - timedelta(days=10), self.began)
        self.event(day, "churn", recorded)
        self.term_end, self.late = None, late


def _subscription(rng: random.Random, out: _Rows, customer: str, sub: str, day: date) -> None:
    line = _Line(rng, out, customer, sub, add_months(date(2021, 1, 1), 48))
    line.start(day, first=True)
    for _restart in range(2):
        ended = line.live(day)
        if ended is None or rng.random() < 0.4:
            if ended is not None and rng.random() < 0.3:  # a fee after the last churn
                line.event(ended + timedelta(days=5), "one_time_fee", amount="250")
            return
        gap = rng.randint(61, 300)
        if not line.late and rng.random() < 0.6:
            gap = 0  # restarted the very day it ended
        if gap and rng.random() < 0.5:  # a fee between the churn and the restart
            line.event(ended + timedelta(days=gap // 2), "one_time_fee", amount="500")
        day = ended + timedelta(days=gap)
        if day >= line.horizon:
            return
        line.start(day, first=False)


def edge_events(customers: int = 60, seed: int = 1) -> list[dict[str, str]]:
    """Event rows in recording order."""
    rng, out = random.Random(seed), _Rows()
    first_days = (date(2021, 1, 31), date(2021, 8, 31), date(2022, 2, 28), date(2023, 3, 31))
    for number in range(1, customers + 1):
        customer = f"K{number:04d}"
        first = rng.choice(first_days) + timedelta(days=rng.choice((0, 0, rng.randrange(900))))
        if rng.random() < 0.2:
            fee = {"type": "one_time_fee", "customer_id": customer, "amount": "10000"}
            out.add(first, fee | {"effective_date": first.isoformat()})
        for number_of_line in range(1, 1 + rng.choice((1, 2, 3))):
            begin = first + timedelta(days=rng.choice((0, 0, rng.randrange(1, 200))))
            _subscription(rng, out, customer, f"{customer}-S{number_of_line}", begin)
        if rng.random() < 0.1:  # a subscription started by mistake and voided
            wrong = _Line(rng, out, customer, f"{customer}-Z", first)
            mistake = wrong.event(first, "new", amount="100")
            out.void(first + timedelta(days=1), mistake)
    out.rows.sort(key=lambda item: (item[0], item[1]))
    return [row for _, _, row in out.rows]
