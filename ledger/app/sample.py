"""A realistic sample ledger, valid by construction: for `arr demo`, tests and benchmarks.

Customers start over the years on monthly, annual or multi-year contracts; they upgrade,
downgrade, renew (sometimes at a new price), let terms lapse, churn and come back, and
pay setup fees. A few churns are recorded late (backdated) and a few fees are entered
twice by mistake and then voided, as in real ledgers. With `foreign`, that share of the
customers bills in EUR or GBP, and a rate of each is recorded every day. As history
(`sample_history`), every row is recorded at the close of the month it was entered in.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from ledger.domain.dates import add_months

PLANS = (("starter", 49, 1), ("team", 299, 1), ("business", 12_000, 12), ("enterprise", 60_000, 12))
RATES = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2650")}
"""The foreign currencies of the sample, at their first rate (US dollars for one unit)."""


@dataclass
class _Writer:
    rows: list[tuple[date, int, dict[str, str]]] = field(default_factory=list)

    def add(self, day: date, fields: dict[str, str], delay: int = 0) -> dict[str, str]:
        row = {
            "event_id": f"E{len(self.rows) + 1:07d}",
            **fields,
            "effective_date": day.isoformat(),
        }
        self.rows.append((day + timedelta(days=delay), len(self.rows), row))
        return row


def _price(rng: random.Random, base: int) -> Decimal:
    return Decimal(base) * Decimal(rng.choice((1, 1, 2, 3, 5, 8)))


def _subscription(
    rng: random.Random,
    out: _Writer,
    customer: str,
    sub: str,
    span: tuple[date, date],
    currency: str | None = None,
) -> None:
    start, horizon = span
    plan, base, interval = rng.choice(PLANS)
    amount = _price(rng, base)
    term = rng.choice((None, 12, 12, 24, 36)) if interval == 12 else rng.choice((None, None, 12))
    common = {"customer_id": customer, "subscription_id": sub}
    day, restarts = start, 0
    while day < horizon:
        fields = {
            **common,
            "type": "new",
            "amount": str(amount),
            "interval": str(interval),
            "plan": plan,
            **({"currency": currency} if currency else {}),
        }
        out.add(day, fields | ({"term_months": str(term)} if term else {}))
        if rng.random() < 0.35:
            fee = {
                "customer_id": customer,
                "subscription_id": sub,
                "type": "one_time_fee",
                "amount": str(Decimal(rng.choice((500, 2_500, 10_000)))),
                "description": "setup",
            }
            early = rng.choice((0, 0, 14))  # a setup fee may precede go-live
            out.add(day - timedelta(days=early), fee, delay=early)
        term_end = add_months(day, term) if term else None
        day, amount = _life(rng, out, common, day, horizon, amount, interval, term, term_end)
        if day >= horizon or rng.random() > 0.3 or restarts > 1:
            return
        day, restarts = day + timedelta(days=rng.randint(90, 300)), restarts + 1


def _life(
    rng: random.Random,
    out: _Writer,
    common: dict[str, str],
    day: date,
    horizon: date,
    amount: Decimal,
    interval: int,
    term: int | None,
    term_end: date | None,
) -> tuple[date, Decimal]:
    """Changes to an active subscription until it ends (or the horizon); the end date."""
    while True:
        step = day + timedelta(days=rng.randint(30, 420))
        if term_end is not None and term_end <= step:
            if term_end >= horizon:
                return horizon, amount
            if rng.random() < 0.3:
                return term_end, amount  # lapses: not renewed
            renewal = {**common, "type": "renewal"}
            if rng.random() < 0.4:
                amount = (amount * Decimal("1.07")).quantize(Decimal("0.01"))
                renewal["amount"] = str(amount)
            day, term_end = term_end, add_months(term_end, term or 12)
            out.add(day, renewal)
            continue
        if step >= horizon:
            return horizon, amount
        day, roll = step, rng.random()
        if roll < 0.3:
            amount = (amount * Decimal(rng.choice(("1.2", "1.5", "2")))).quantize(Decimal("0.01"))
            out.add(day, {**common, "type": "upgrade", "amount": str(amount)})
        elif roll < 0.42 and amount > 2:
            amount = (amount * Decimal("0.6")).quantize(Decimal("0.01"))
            out.add(day, {**common, "type": "downgrade", "amount": str(amount)})
        elif roll < 0.55:
            late = rng.random() < 0.15
            out.add(day, {**common, "type": "churn"}, delay=rng.randint(20, 60) if late else 0)
            return day, amount
        elif roll < 0.62:
            fee = {**common, "type": "one_time_fee", "amount": "1500", "description": "training"}
            row = out.add(day, fee)
            if rng.random() < 0.3:  # entered twice by mistake, corrected a week later
                out.add(day, fee)
                out.rows.append(
                    (
                        day + timedelta(days=7),
                        len(out.rows),
                        {
                            "event_id": f"E{len(out.rows) + 1:07d}",
                            "type": "void",
                            "customer_id": common["customer_id"],
                            "target_event_id": row["event_id"],
                        },
                    )
                )


def sample_events(
    customers: int = 300,
    years: int = 4,
    seed: int = 7,
    start: date = date(2021, 1, 1),
    foreign: float = 0.0,
) -> list[dict[str, str]]:
    """Event rows in recording order: effective order, except late-recorded churns and
    voids. A share `foreign` of the customers bills in EUR or GBP (drawn apart, so that
    the events are otherwise those of the same seed), with a rate of each every day."""
    return [row for _, row in _entered(customers, years, seed, start, foreign)]


def _entered(
    customers: int, years: int, seed: int, start: date, foreign: float
) -> list[tuple[date, dict[str, str]]]:
    """`sample_events`' rows in recording order, each with the day it was entered."""
    rng, out = random.Random(seed), _Writer()
    billing = random.Random(seed + 1)
    horizon = add_months(start, 12 * years)
    span = (horizon - start).days
    for number in range(1, customers + 1):
        customer = f"C{number:06d}"
        first = start + timedelta(days=rng.randrange(span - 30))
        currency = billing.choice(sorted(RATES)) if billing.random() < foreign else None
        for line in range(1, 1 + rng.choice((1, 1, 1, 2, 3))):
            begin = first + timedelta(days=rng.randrange(0, 200) if line > 1 else 0)
            if begin < horizon:
                within = (begin, horizon)
                _subscription(rng, out, customer, f"{customer}-S{line}", within, currency)
    if foreign:
        out.rows.extend(_daily_rates(random.Random(seed + 2), start - timedelta(days=30), horizon))
    out.rows.sort(key=lambda item: (item[0], item[1]))
    return [(day, row) for day, _, row in out.rows]


def _daily_rates(
    rng: random.Random, first: date, horizon: date
) -> list[tuple[date, int, dict[str, str]]]:
    """A rate of each foreign currency every day from `first` to `horizon`, recorded
    that day before anything else (so every event finds its rate), moving a little."""
    found, rates, day = [], dict(RATES), first
    step = Decimal("0.0000000001")
    while day <= horizon:
        for currency, rate in rates.items():
            row = {"event_id": f"FX-{currency}-{day.isoformat()}", "type": "fx_rate"}
            row |= {"currency": currency, "effective_date": day.isoformat()}
            found.append((day, -1, row | {"rate": str(rate), "source": "sample"}))
            drift = Decimal(rng.randint(-40_000_000, 40_000_000)) * step
            rates[currency] = (rate * (1 + drift)).quantize(step)
        day += timedelta(days=1)
    return found


CLOSE_DAY = 3
"""The books of a month close on the 3rd of the next month, at 09:00 UTC."""
CLOSE_TIME = time(9, tzinfo=UTC)


def month_close(day: date) -> datetime:
    """When the books of `day`'s month were closed: 2024-11-30 -> 2024-12-03 09:00 UTC."""
    following = add_months(day.replace(day=1), 1)
    return datetime.combine(following.replace(day=CLOSE_DAY), CLOSE_TIME)


def sample_history(
    customers: int = 300,
    years: int = 4,
    seed: int = 7,
    start: date = date(2021, 1, 1),
    foreign: float = 0.0,
    more: Iterable[dict[str, str]] = (),
) -> list[dict[str, str]]:
    """`sample_events`' rows, and `more` rows, as history (SPEC §14): each with the
    `recorded_at` of the close of the month it was entered in (`month_close`), in the
    order of those times. A row is entered on its effective date, except the sample's
    late churns and voids (later) and setup fees billed before go-live (on go-live): those
    may land in a later close than their effective month's, and restate it. `more` rows
    (which give `effective_date`) come after the sample's at each close."""
    entered = _entered(customers, years, seed, start, foreign)
    entered += [(date.fromisoformat(row["effective_date"]), row) for row in more]
    stamped = [(month_close(day), row) for day, row in entered]
    stamped.sort(key=lambda item: item[0])  # stable: each close keeps its rows' order
    return [row | {"recorded_at": moment.isoformat()} for moment, row in stamped]


LIFECYCLE_CUSTOMERS = ("northwind", "globex", "initech", "umbrella")
"""The customers `lifecycle_events` adds to the sample (SPEC §11-§12), in US dollars."""


def lifecycle_events() -> list[dict[str, str]]:
    """Four customers of 2024 that `arr demo` adds to the sample, each event with its
    `reason` (SPEC §12), some with a `note`: a trial that converts (northwind), one that
    expires (globex), a pause that resumes on its `resume_date` (initech) and a 20%
    discount for 3 months (umbrella). Not part of `sample_events`, whose rows the
    benchmarks and tests rely on."""

    def row(event_id: str, kind: str, customer: str, day: str, **fields: str) -> dict[str, str]:
        return {
            "event_id": event_id,
            "type": kind,
            "customer_id": customer,
            "subscription_id": f"{customer}-S1",
            "effective_date": day,
            **fields,
        }

    return [
        row("umbrella-new", "new", "umbrella", "2024-02-01", amount="1000", plan="business",
            reason="outbound"),
        row("initech-new", "new", "initech", "2024-03-01", amount="500", plan="team",
            reason="referral"),
        row("northwind-trial", "trial", "northwind", "2024-05-20", trial_end="2024-06-19",
            reason="webinar", note="signed up at the May product webinar"),
        row("northwind-new", "new", "northwind", "2024-06-10", amount="299", plan="team",
            reason="trial_converted"),
        row("initech-pause", "pause", "initech", "2024-07-01", resume_date="2024-09-01",
            reason="seasonal", note="closed for the summer; bills again from September"),
        row("globex-trial", "trial", "globex", "2024-08-20", trial_end="2024-09-19",
            reason="webinar", note="30 days; ended without buying"),
        row("umbrella-discount", "discount", "umbrella", "2024-10-01", percent_off="20",
            duration_months="3", reason="retention_offer",
            note="20% off for three months while they weigh a competitor"),
    ]  # fmt: skip
