"""A naive, independent reading of SPEC §1-§12, used to check the ledger's figures.

Written from the SPEC alone: it imports nothing from `ledger` or `projections`. It takes
raw event rows in recording order (plain dicts, as `ledger.app.sample.sample_events` makes
them) and a position cutoff, and simulates every subscription DAY BY DAY, keeping its MRR
(in its own currency) at the end of every day as an exact `Fraction`, and the day the price
in force was set. Every figure is then computed by the SPEC's literal definition: a
subscription's MRR on a day is converted at its rate for that day under the query's FX
policy (§10), and movements compare every customer's day with the day before, with `prev`,
`prev'` and `cur` exactly as §10 defines them.

§11 and §12 are read the same way: every subscription has a status at the end of every day
(trialing, active, paused, ended), its MRR is its list price net of the discount in force, a
customer's day splits off `paused` and `resumed` before §5's table classifies the rest, and
every churn and contraction is put down to a `reason`. Trial expiry, `resume_date`, a
discount's `duration_months` and a term's end happen at the start of their day, before that
day's events. `Oracle(..., lifecycle_keys=True)` adds §11's keys to `report`, `movements` and
`series` (off by default: the ledger's output is compared key for key).

It trusts its input to be a valid ledger: it does not validate, the ledger does. Where the SPEC
is silent, the choice made is written as a `# Decision:` comment next to the code.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

ONE_DAY = timedelta(days=1)
NAMED_INTERVALS = {"month": 1, "quarter": 3, "year": 12}
ZERO = Fraction(0)
ONE = Fraction(1)
KINDS = ("new", "expansion", "contraction", "churn", "reactivation", "fx")
"""What a customer's day can move (SPEC §5, and §10's `fx`)."""
LIFECYCLE_KINDS = ("paused", "resumed")
"""And §11's two movements of their own."""
ALL_KINDS = KINDS + LIFECYCLE_KINDS
LAPSED, UNSPECIFIED = "lapsed", "unspecified"
"""SPEC §12's reserved reasons: a lapse at term end, and an event that gave none."""


class MissingRate(Exception):
    """SPEC §10: a figure needs a rate that does not exist (never a silent 0)."""

    def __init__(self, currency: str, day: date) -> None:
        super().__init__(f"no {currency} rate on or before {day}")
        self.currency, self.day = currency, day


def add_months(day: date, months: int) -> date:
    """SPEC §4: month arithmetic clamping to the month's last day."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def half_even(value: Fraction, digits: int) -> str:
    """SPEC §2: rounded half-even to `digits` fraction digits, as a string."""
    scaled = value * 10**digits
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    sign = "-" if floor < 0 else ""
    whole, cents = divmod(abs(floor), 10**digits)
    return f"{sign}{whole}.{cents:0{digits}d}"


def money(value: Fraction | None) -> str | None:
    return None if value is None else half_even(value, 2)


def ratio(value: Fraction | None) -> str | None:
    return None if value is None else half_even(value, 4)


def rate_text(value: Fraction) -> str:
    """A rate as recorded: exact (SPEC §10: at most 10 fraction digits), no trailing zeros
    ("1" for the reporting currency's)."""
    return half_even(value, 10).rstrip("0").rstrip(".")


def average(values: list[Fraction]) -> Fraction | None:
    return sum(values, ZERO) / len(values) if values else None


def divide(part: Fraction, whole: Fraction) -> Fraction | None:
    return part / whole if whole else None


def months_of(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    return NAMED_INTERVALS.get(str(text)) or int(text)


def amount_of(text: Any) -> Fraction | None:
    return None if text is None or text == "" else Fraction(str(text))


def date_of(text: Any) -> date | None:
    return None if text is None or text == "" else date.fromisoformat(str(text))


def twelve_months_before(day: date) -> date:
    """SPEC §13: a month end minus 12 months is that month's end a year earlier
    (2025-02-28 -> 2024-02-29). Decision: any other day is the same day a year earlier,
    clamped to the month's last day (2024-02-29 -> 2023-02-28)."""
    last = calendar.monthrange(day.year, day.month)[1]
    if day.day == last:
        return date(day.year - 1, day.month, calendar.monthrange(day.year - 1, day.month)[1])
    return add_months(day, -12)


def days(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def fx_policy(fx: str) -> tuple[str, date | None]:
    """`spot`, `booked` or `fixed:YYYY-MM-DD` (SPEC §10): the kind and the fixed day."""
    if fx in ("spot", "booked"):
        return fx, None
    kind, _, day = fx.partition(":")
    if kind != "fixed":
        raise ValueError(f"unknown fx policy {fx!r}")
    return "fixed", date.fromisoformat(day)


RateOn = Callable[[date], Fraction]
"""The rate of one currency on a day, under one policy (for fees and bookings)."""


def _unconverted(_day: date) -> Fraction:
    return ONE


def _add(split: dict[tuple[str, str], Fraction], key: tuple[str, str], amount: Fraction) -> None:
    split[key] = split.get(key, ZERO) + amount


@dataclass
class Booking:
    """SPEC §7: a live `new` or `renewal`, with the price and term it sets."""

    subscription_id: str
    day: date
    position: int
    price: Fraction
    interval: int
    term_months: int | None
    currency: str = ""
    fees: list[tuple[date, Fraction]] = field(default_factory=list)  # (dated, local amount)
    list_price: Fraction | None = None  # before the discount; `price` is net of it (§11)

    def annualized(self) -> Fraction:
        return self.price * 12 / self.interval

    def own_fees(self, rate_on: RateOn = _unconverted) -> Fraction:
        """Fees counted in the booking's own value: evergreen only within its 12-month span;
        each converted at the rate on its own date (SPEC §10)."""
        end = None if self.term_months else add_months(self.day, 12)
        return sum((a * rate_on(d) for d, a in self.fees if end is None or d < end), ZERO)

    def acv(self, policy: str, rate_on: RateOn = _unconverted) -> Fraction:
        annualized = self.annualized() * rate_on(self.day)
        if policy == "recurring":
            return annualized
        if self.term_months:
            return annualized + self.own_fees(rate_on) * 12 / self.term_months
        return annualized + self.own_fees(rate_on)

    def tcv(self, rate_on: RateOn = _unconverted) -> Fraction:
        if self.term_months:
            recurring = self.price * self.term_months / self.interval
        else:
            recurring = self.price
        return recurring * rate_on(self.day) + self.own_fees(rate_on)


@dataclass
class Fee:
    """A live one_time_fee: its currency, and the day it is converted at (SPEC §10)."""

    day: date
    amount: Fraction
    currency: str
    subscription_id: str | None
    converted_on: date  # its date, or its booking's when it is dated before it


TRIALING, ACTIVE, PAUSED, ENDED = "trialing", "active", "paused", "ended"
"""A subscription's status at the end of a day (SPEC §4, §11); "" before it ever started."""


@dataclass
class _Discount:
    """SPEC §11: the discount in force: a percentage of the price, or a monthly amount off
    (`amount_off / interval_months` of the price in force when it was given), until `end`."""

    percent_off: Fraction | None = None
    monthly_off: Fraction | None = None
    end: date | None = None  # effective date + duration_months: not in force from that day

    def net(self, price: Fraction, interval: int) -> Fraction:
        """A price per `interval` months, net of this discount (never below 0)."""
        if self.percent_off is not None:
            return price * (1 - self.percent_off / 100)
        if self.monthly_off is not None:
            return price - min(self.monthly_off * interval, price)
        return price


@dataclass
class _State:
    """One subscription's state while the days go by."""

    status: str = ""
    amount: Fraction = ZERO  # the list price per interval in force (kept while paused)
    interval: int = 1
    term_months: int | None = None
    term_end: date | None = None
    priced: date | None = None  # the effective date of the event that set the price
    trial_end: date | None = None
    resume_date: date | None = None
    discount: _Discount | None = None
    paused_mrr: Fraction = ZERO  # the (net, local) MRR its pause took away
    # What today's automatic ends undid, for a `new` or `renewal` later that same day:
    trial_expired_today: bool = False
    lapsed_today: tuple[str, _Discount | None, date | None] | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def list_mrr(self) -> Fraction:
        return self.amount / self.interval if self.active else ZERO

    def mrr(self) -> Fraction:
        """SPEC §11: the price net of the discount in force, over `interval_months`."""
        if not self.active:
            return ZERO
        if self.discount is None:
            return self.amount / self.interval
        return self.discount.net(self.amount, self.interval) / self.interval


@dataclass
class _Daily:
    """Under one FX policy: every day's movements summed over customers, as running totals,
    and, for each day, a rate its movements needed and did not find."""

    totals: dict[str, list[Fraction]]
    missing: list[MissingRate | None]
    missing_so_far: list[int]
    reasons: dict[int, dict[tuple[str, str], Fraction]] = field(default_factory=dict)
    """SPEC §12: for each day number, ("churn" or "contraction", reason) -> amount."""


@dataclass
class _Moves:
    """One customer's day (SPEC §10, §11): `prev`, `prev'`, `cur`, the `paused` and `resumed`
    parts, and per subscription its part of `prev' − paused` ("the rest") and, for a paused
    subscription that ended, its pre-pause MRR (at d's rates)."""

    prev: Fraction = ZERO
    prime: Fraction = ZERO
    cur: Fraction = ZERO
    paused: Fraction = ZERO
    resumed: Fraction = ZERO
    rest: dict[str, Fraction] = field(default_factory=dict)
    ending: dict[str, Fraction] = field(default_factory=dict)


class Oracle:
    """Every figure of a ledger that received the first `cutoff` rows, day by day."""

    def __init__(
        self,
        rows: list[dict[str, Any]],
        cutoff: int | None = None,
        until: date = date(2030, 12, 31),
        currency: str = "USD",
        lifecycle_keys: bool = True,
    ) -> None:
        self.currency = currency
        self.lifecycle_keys = lifecycle_keys
        events = self._recorded(rows, cutoff)
        self.position = len(events)
        every = self._live(events)
        live = [e for e in every if e["type"] != "fx_rate"]
        self.rates = self._rates([e for e in every if e["type"] == "fx_rate"])
        dated: list[date] = [e["day"] for e in live] or [until]
        self.first, self.last = min(dated) - ONE_DAY, max(max(dated), until)
        self.days = days(self.first, self.last)
        self.customer_of: dict[str, str] = {}
        self.currency_of = self._currencies(live)
        self.bookings: dict[str, list[Booking]] = defaultdict(list)
        self.sub_mrr: dict[str, list[Fraction]] = {}  # in the subscription's currency, net
        self.sub_list: dict[str, list[Fraction]] = {}  # the same before discounts (§11)
        self.sub_status: dict[str, list[str]] = {}  # TRIALING, ACTIVE, PAUSED, ENDED or ""
        self.sub_paused: dict[str, list[Fraction]] = {}  # while paused: the MRR it took away
        self.sub_priced: dict[str, list[date | None]] = {}
        self.touched: dict[str, set[date]] = {}  # days an event or a lapse hit a subscription
        self.ended: dict[str, dict[date, str]] = defaultdict(dict)  # why it ended that day
        self.restarted: dict[str, set[date]] = defaultdict(set)  # days a `new` applied to it
        self.trials: list[date] = []  # effective dates of the `trial` events
        self.conversions: list[date] = []  # effective dates of the converting `new` events
        self.live = live
        self.reasons_of: dict[str, dict[date, list[str]]] = defaultdict(lambda: defaultdict(list))
        for e in live:  # in effective order, ties by position: the last is the latest
            if e.get("reason") and e.get("customer_id"):
                self.reasons_of[e["customer_id"]][e["day"]].append(e["reason"])
        self._simulate(live)
        self.fees: list[Fee] = []
        self._assign_fees([e for e in live if e["type"] == "one_time_fee"])
        self.subs_of: dict[str, list[str]] = defaultdict(list)
        self.customer_mrr: dict[str, list[Fraction]] = {}  # local sums: one-currency MRR
        self.changes: dict[str, list[date]] = {}  # days a customer's local sum differs
        self._customers(live)
        self._rate_cache: dict[tuple[str, date], Fraction | MissingRate] = {}
        self._daily: dict[str, _Daily] = {}
        self._customers_on: dict[tuple[date, str], dict[str, Fraction] | MissingRate] = {}

    # Reading the rows.

    @staticmethod
    def _recorded(rows: list[dict[str, Any]], cutoff: int | None) -> list[dict[str, Any]]:
        """Rows that took a position (a repeated event_id is an idempotent retry)."""
        seen: set[str] = set()
        recorded: list[dict[str, Any]] = []
        for row in rows:
            if row["event_id"] in seen:
                continue
            seen.add(row["event_id"])
            recorded.append(dict(row, position=len(recorded) + 1))
        return recorded if cutoff is None else recorded[:cutoff]

    @staticmethod
    def _live(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """SPEC §3 void: the target is treated as never having happened."""
        voided = {e["target_event_id"] for e in events if e["type"] == "void"}
        live = [e for e in events if e["type"] != "void" and e["event_id"] not in voided]
        for e in live:
            e["day"] = date.fromisoformat(e["effective_date"])
        return sorted(live, key=lambda e: (e["day"], e["position"]))

    @staticmethod
    def _rates(rates: list[dict[str, Any]]) -> dict[str, list[tuple[date, Fraction]]]:
        """SPEC §10: every live rate of each currency, in effective order."""
        table: dict[str, list[tuple[date, Fraction]]] = defaultdict(list)
        for e in rates:
            table[e["currency"]].append((e["day"], Fraction(str(e["rate"]))))
        return {c: sorted(rs) for c, rs in table.items()}

    def _currencies(self, live: list[dict[str, Any]]) -> dict[str, str]:
        """SPEC §10: a subscription's currency is that of its first recorded `new` (or
        `trial`); a `new` naming none is in the reporting currency."""
        currency_of: dict[str, str] = {}
        for e in sorted(live, key=lambda e: e["position"]):
            if e["type"] in ("new", "trial"):
                currency_of.setdefault(e["subscription_id"], e.get("currency") or self.currency)
        return currency_of

    # The day-by-day simulation (SPEC §3-§4).

    def _simulate(self, live: list[dict[str, Any]]) -> None:
        by_day: dict[str, dict[date, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for e in live:
            if e["type"] != "one_time_fee":
                by_day[e["subscription_id"]][e["day"]].append(e)
            if e["type"] in ("new", "trial"):  # §3: the customer that first started it
                self.customer_of.setdefault(e["subscription_id"], e["customer_id"])
        for sub, events in by_day.items():
            state, touched = _State(), set()
            mrr: list[Fraction] = []
            listed: list[Fraction] = []
            status: list[str] = []
            paused: list[Fraction] = []
            priced: list[date | None] = []
            for day in self.days:
                moved = self._automatic(sub, state, day)
                made = len(self.bookings[sub])
                for e in events.get(day, []):
                    self._apply(state, e)
                    moved = True
                if moved or not mrr:
                    touched.add(day)
                    if status and status[-1] == ACTIVE and state.status == PAUSED:
                        # Decision: "its pre-pause MRR" (§11, for a paused subscription that
                        # ends) is what `paused` took away, its MRR at the end of the day
                        # before the pause, whatever a renewal changed while it was paused.
                        state.paused_mrr = mrr[-1]
                    for booking in self.bookings[sub][made:]:
                        # SPEC §11: a booking's price is net of the discount in force at the
                        # end of its booking date (none when the subscription ended that day).
                        if state.discount is not None:
                            booking.price = state.discount.net(booking.price, booking.interval)
                    today = (state.mrr(), state.list_mrr(), state.status, state.paused_mrr)
                mrr.append(today[0])
                listed.append(today[1])
                status.append(today[2])
                paused.append(today[3] if today[2] == PAUSED else ZERO)
                priced.append(state.priced if state.active else None)
            touched.discard(self.days[0])
            self.sub_mrr[sub], self.sub_list[sub], self.sub_status[sub] = mrr, listed, status
            self.sub_paused[sub], self.sub_priced[sub], self.touched[sub] = paused, priced, touched

    def _automatic(self, sub: str, state: _State, day: date) -> bool:
        """What happens at the start of `day` without an event: a term's end, a trial's end,
        a `resume_date`, a discount's end. True when one did."""
        state.trial_expired_today, state.lapsed_today = False, None
        moved = False
        ends = state.term_end
        if state.status in (ACTIVE, PAUSED) and ends is not None and ends <= day:
            # SPEC §4: it lapses, as if churned today; §11: a paused one too (its term keeps
            # running). Kept aside in case a renewal dated today takes it on.
            # Decision: a paused subscription whose term ends on its resume_date lapses (the
            # term end comes first): it never resumes.
            state.lapsed_today = (state.status, state.discount, state.resume_date)
            state.status, state.term_end = ENDED, None
            state.discount, state.resume_date = None, None  # §11: ends with it
            self.ended[sub][day] = LAPSED
            moved = True
        if state.status == TRIALING and state.trial_end is not None and state.trial_end <= day:
            state.status, state.trial_expired_today = ENDED, True  # §11: no movement
            moved = True
        if state.status == PAUSED and state.resume_date is not None and state.resume_date <= day:
            # §11: resumes at the start of that day, at the price in force before the pause.
            state.status, state.resume_date = ACTIVE, None
            moved = True
        until = state.discount.end if state.discount is not None else None
        # Decision: "it ends at effective date + duration_months" reads half-open, like a
        # term (§4): that day is already at the full price.
        if until is not None and until <= day:
            state.discount = None
            moved = True
        return moved

    def _apply(self, state: _State, e: dict[str, Any]) -> None:
        kind, day, sub = e["type"], e["day"], e["subscription_id"]
        amount, interval, term = amount_of(e.get("amount")), e.get("interval"), e.get("term_months")
        if kind == "trial":
            state.status, state.trial_end = TRIALING, date_of(e.get("trial_end"))
            state.term_end, state.discount, state.resume_date = None, None, None
            self.trials.append(day)
            return
        if kind == "new":
            if state.status == TRIALING or state.trial_expired_today:
                # §11: a `new` on a trial or on its trial_end date converts it. Decision: a
                # `new` on a later day is a restart of an ended subscription, no conversion.
                self.conversions.append(day)
            state.status, state.amount = ACTIVE, amount or ZERO
            state.interval, state.term_months = months_of(interval) or 1, months_of(term)
            state.priced, state.trial_end, state.trial_expired_today = day, None, False
            state.discount, state.resume_date = None, None  # a restart starts afresh
            state.paused_mrr = ZERO  # (no pause of an earlier life carries over)
            self.restarted[sub].add(day)
        elif kind in ("upgrade", "downgrade"):
            state.amount = amount or ZERO  # §11: the discount in force is kept
            state.interval = months_of(interval) or state.interval
            state.priced = day
            return
        elif kind == "churn":
            if state.status in (ACTIVE, PAUSED):
                self.ended[sub][day] = e.get("reason") or UNSPECIFIED
            state.status, state.term_end, state.trial_end = ENDED, None, None
            state.discount, state.resume_date = None, None  # §11: a discount ends with it
            return
        elif kind == "pause":
            state.status, state.resume_date = PAUSED, date_of(e.get("resume_date"))
            return
        elif kind == "resume":
            # Decision: a `resume` dated on the pause's own resume_date (the subscription has
            # just resumed by itself) is that same resume, at the price it gives, if any.
            state.status, state.resume_date = ACTIVE, None
            if amount or months_of(interval):
                state.amount = amount or state.amount
                state.interval = months_of(interval) or state.interval
                state.priced = day  # §10: a resume that gives a price sets it
            return
        elif kind == "discount":
            state.discount = self._discount(state, e)
            return
        elif kind == "renewal":
            if state.status == ENDED and state.lapsed_today is not None:
                # Its term ended today and it is renewed today: it never stopped.
                # Decision: it keeps the discount (and the pause) it had before the lapse.
                state.status, state.discount, state.resume_date = state.lapsed_today
                state.lapsed_today = None
                ended = state.discount.end if state.discount is not None else None
                if ended is not None and ended <= day:
                    state.discount = None  # Decision: one that ended that day too stays ended
                self.ended[sub].pop(day, None)
                if state.status == PAUSED and state.resume_date and state.resume_date <= day:
                    state.status, state.resume_date = ACTIVE, None
            elif state.status != PAUSED:  # §11: a renewal while paused keeps it paused
                state.status = ACTIVE
            # Decision: a renewal at a new price while paused sets the price it resumes at.
            state.amount = amount or state.amount
            state.interval = months_of(interval) or state.interval
            state.term_months = months_of(term) or state.term_months
            if amount or months_of(interval):  # SPEC §10: a renewal that gives a price sets it
                state.priced = day
        state.term_end = add_months(day, state.term_months) if state.term_months else None
        booking = Booking(
            e["subscription_id"], day, e["position"], state.amount, state.interval,
            state.term_months, self.currency_of[e["subscription_id"]], list_price=state.amount,
        )  # fmt: skip
        self.bookings[e["subscription_id"]].append(booking)

    @staticmethod
    def _discount(state: _State, e: dict[str, Any]) -> _Discount | None:
        """SPEC §11: replaces the one in force; `percent_off` 0 ends it; `amount_off` is per
        interval of the price in force now and stays that monthly amount."""
        percent, off = amount_of(e.get("percent_off")), amount_of(e.get("amount_off"))
        if percent is not None and percent == 0:
            return None
        months = months_of(e.get("duration_months"))
        end = add_months(e["day"], months) if months else None
        monthly = off / state.interval if off is not None else None
        # Decision: `amount_off` 0 (no percent) ends the discount too, like `percent_off` 0.
        if percent is None and not monthly:
            return None
        return _Discount(percent, monthly, end)

    def _customers(self, live: list[dict[str, Any]]) -> None:
        """A customer's local MRR sum (re-added only on days one of its subscriptions changed):
        in a one-currency ledger, its MRR; in any ledger, > 0 exactly when its MRR is."""
        for sub in self.sub_mrr:
            self.subs_of[self.customer_of[sub]].append(sub)
        for customer in sorted({e["customer_id"] for e in live}):
            subs = self.subs_of[customer]
            touched = set().union(*(self.touched[s] for s in subs))
            total, changes, today = [], [], ZERO
            for n, day in enumerate(self.days):
                if day in touched:
                    yesterday, today = today, sum((self.sub_mrr[s][n] for s in subs), ZERO)
                    if today != yesterday:
                        changes.append(day)
                total.append(today)
            self.customer_mrr[customer], self.changes[customer] = total, changes

    def first_positive_day(self, customer: str) -> date | None:
        """The first day at whose end the customer's MRR was > 0 (whatever the rates)."""
        return next((d for d in self.changes[customer] if self.local_mrr_of(customer, d) > 0), None)

    def _at(self, day: date) -> int:
        if day > self.last:
            raise ValueError(f"{day} is outside the simulated days {self.first}..{self.last}")
        return (day - self.first).days

    def sub_mrr_on(self, sub: str, day: date) -> Fraction:
        """In the subscription's own currency."""
        return ZERO if day < self.first else self.sub_mrr[sub][self._at(day)]

    def active_on(self, sub: str, day: date) -> bool:
        return sub in self.sub_mrr and self.sub_mrr_on(sub, day) > 0

    def local_mrr_of(self, customer: str, day: date) -> Fraction:
        return ZERO if day < self.first else self.customer_mrr[customer][self._at(day)]

    # Rates (SPEC §10).

    def rate(self, currency: str, day: date) -> Fraction:
        """C's live rate with the latest effective date on or before `day`; 1 for the
        reporting currency. Raises `MissingRate` when there is none."""
        if currency == self.currency:
            return ONE
        key = (currency, day)
        if key not in self._rate_cache:
            known = self.rates.get(currency, [])
            index = bisect_right(known, (day, Fraction(10**30)))
            self._rate_cache[key] = known[index - 1][1] if index else MissingRate(currency, day)
        found = self._rate_cache[key]
        if isinstance(found, MissingRate):
            raise MissingRate(found.currency, found.day)
        return found

    def sub_rate(self, sub: str, n: int, fx: str) -> Fraction:
        """The rate at which `sub`'s MRR of day number `n` is converted under `fx`. Asked
        only where that MRR, or the day before's, is not 0."""
        currency = self.currency_of[sub]
        if currency == self.currency:
            return ONE
        kind, fixed = fx_policy(fx)
        if kind == "spot":
            return self.rate(currency, self.days[n])
        if kind == "fixed":
            assert fixed is not None
            return self.rate(currency, fixed)
        # booked: the rate on the day the price in force was set; none in force: d-1's.
        while n >= 0:
            priced = self.sub_priced[sub][n]
            if priced is not None:
                return self.rate(currency, priced)
            n -= 1
        raise ValueError(f"{sub} has no price in force on or before its day {n}")

    def rate_on(self, currency: str, fx: str) -> RateOn:
        """How fees and bookings of `currency` convert: at their own day, or at D0."""
        kind, fixed = fx_policy(fx)
        if kind == "fixed":
            assert fixed is not None
            return lambda _day: self.rate(currency, fixed)
        return lambda day: self.rate(currency, day)

    def converted(self, sub: str, n: int, fx: str) -> Fraction:
        """The subscription's MRR at the end of day number `n`, in the reporting currency."""
        local = self.sub_mrr[sub][n] if n >= 0 else ZERO
        return local * self.sub_rate(sub, n, fx) if local else ZERO

    def mrr_of(self, customer: str, day: date, fx: str = "spot") -> Fraction:
        """Customer MRR at the end of `day`, converted under `fx`."""
        if day < self.first:
            return ZERO
        n = self._at(day)
        return sum((self.converted(s, n, fx) for s in self.subs_of[customer]), ZERO)

    # Fees and contract value (SPEC §7).

    def _assign_fees(self, fees: list[dict[str, Any]]) -> None:
        for fee in fees:
            sub, amount = fee.get("subscription_id"), Fraction(str(fee["amount"]))
            if not sub:
                currency = fee.get("currency") or self.currency
                self.fees.append(Fee(fee["day"], amount, currency, None, fee["day"]))
                continue
            owner = self._owning_booking(sub, fee["day"])
            dated = max(fee["day"], owner.day)  # a fee dated before its booking: its date
            owner.fees.append((dated, amount))
            self.fees.append(Fee(fee["day"], amount, self.currency_of[sub], sub, dated))

    def _owning_booking(self, sub: str, day: date) -> Booking:
        bookings = self.bookings[sub]
        before = [b for b in bookings if b.day <= day]
        after = [b for b in bookings if b.day > day]
        if self.active_on(sub, day) and before:
            return before[-1]
        return after[0] if after else before[-1]

    def current_booking(self, sub: str, day: date) -> Booking:
        return [b for b in self.bookings[sub] if b.day <= day][-1]

    def contract_acv(self, sub: str, day: date, policy: str, fx: str = "spot") -> Fraction:
        """Its converted MRR × 12, plus under `including_fees` its fee part, each fee
        converted at its own date (at D0 under `fixed`)."""
        recurring = self.converted(sub, self._at(day), fx) * 12
        if policy == "recurring":
            return recurring
        booking = self.current_booking(sub, day)
        rate_on = self.rate_on(booking.currency, fx)
        if booking.term_months:
            fees = sum((a * rate_on(d) for d, a in booking.fees), ZERO)
            return recurring + fees * 12 / booking.term_months
        k = 0
        while add_months(booking.day, 12 * (k + 1)) <= day:
            k += 1
        start, end = add_months(booking.day, 12 * k), add_months(booking.day, 12 * (k + 1))
        in_year = (a * rate_on(d) for d, a in booking.fees if start <= d < end)
        return recurring + sum(in_year, ZERO)

    # The figures of SPEC §9.

    def customers_on(self, day: date, fx: str) -> dict[str, Fraction]:
        """Every customer's converted MRR at the end of `day` (kept: periods share days)."""
        key = (day, fx)
        if key not in self._customers_on:
            try:
                self._customers_on[key] = {c: self.mrr_of(c, day, fx) for c in self.customer_mrr}
            except MissingRate as missing:
                self._customers_on[key] = missing
        found = self._customers_on[key]
        if isinstance(found, MissingRate):
            raise MissingRate(found.currency, found.day)
        return found

    def mrr(self, day: date, fx: str = "spot") -> Fraction:
        return sum(self.customers_on(day, fx).values(), ZERO)

    def report(self, as_of: date, policy: str = "recurring", fx: str = "spot") -> dict[str, Any]:
        mrr = self.mrr(as_of, fx)
        customers = sum(1 for c in self.customer_mrr if self.local_mrr_of(c, as_of) > 0)
        active = [s for s in self.sub_mrr if self.active_on(s, as_of)]
        acvs = [self.contract_acv(s, as_of, policy, fx) for s in active]
        with_fees = sum((self.contract_acv(s, as_of, "including_fees", fx) for s in active), ZERO)
        figures = {
            "as_of": as_of.isoformat(),
            "position": self.position,
            "currency": self.currency,
            "mrr": money(mrr),
            "arr": money(12 * mrr),
            "active_customers": customers,
            "active_contracts": len(active),
            "arpa": money(divide(mrr, Fraction(customers))),
            "acv": money(average(acvs)),
            "acv_policy": policy,
            "acv_arr_ratio": ratio(divide(with_fees, 12 * mrr)),
            "fx_policy": fx,
        }
        if self.lifecycle_keys:
            figures |= {
                "trialing_contracts": self.trialing_contracts(as_of),
                "paused_customers": self.paused_customers(as_of),
                "discounts": money(self.discounts(as_of, fx)),
            }
        return figures

    def by_currency(self, as_of: date, fx: str = "spot") -> list[dict[str, Any]]:
        """SPEC §10 `report --by currency`: one row per currency with subscriptions active
        on the day, by currency code; `rate` is the rate used (`None` under `booked`)."""
        n = self._at(as_of)
        active = [s for s in self.sub_mrr if self.active_on(s, as_of)]
        rows = []
        for currency in sorted({self.currency_of[s] for s in active}):
            subs = [s for s in active if self.currency_of[s] == currency]
            kind, fixed = fx_policy(fx)
            used: Fraction | None = None
            if kind == "spot":
                used = self.rate(currency, as_of)
            elif kind == "fixed":
                assert fixed is not None
                used = self.rate(currency, fixed)
            rows.append(
                {
                    "as_of": as_of.isoformat(),
                    "position": self.position,
                    "fx_policy": fx,
                    "currency": currency,
                    "local_mrr": money(sum((self.sub_mrr[s][n] for s in subs), ZERO)),
                    "rate": None if used is None else rate_text(used),
                    "mrr": money(sum((self.converted(s, n, fx) for s in subs), ZERO)),
                }
            )
        return rows

    def plan_on(self, sub: str, day: date) -> str:
        """SPEC §13: the `plan` of the latest live event of `sub` effective on or before
        `day` (effective order, ties by position) that gave one; none: `unspecified`."""
        plan = None
        for e in self.live:  # in effective order: the last one seen is the latest
            if e.get("subscription_id") == sub and e["day"] <= day and e.get("plan"):
                plan = e["plan"]
        return plan or UNSPECIFIED

    def by_customer(self, as_of: date, fx: str = "spot") -> list[dict[str, Any]]:
        """SPEC §13 `report --by customer`: one row per customer with an active contract."""
        return self._segments(as_of, fx, "customer_id", lambda s: self.customer_of[s])

    def by_plan(self, as_of: date, fx: str = "spot") -> list[dict[str, Any]]:
        """SPEC §13 `report --by plan`: one row per plan in force of an active contract."""
        return self._segments(as_of, fx, "plan", lambda s: self.plan_on(s, as_of))

    def segments_exact(
        self, as_of: date, fx: str, key_of: Callable[[str], str]
    ) -> dict[str, tuple[Fraction, int]]:
        n = self._at(as_of)
        found: dict[str, tuple[Fraction, int]] = {}
        for sub in sorted(s for s in self.sub_mrr if self.active_on(s, as_of)):
            mrr, count = found.get(key_of(sub), (ZERO, 0))
            found[key_of(sub)] = (mrr + self.converted(sub, n, fx), count + 1)
        return found

    def _segments(
        self, as_of: date, fx: str, group: str, key_of: Callable[[str], str]
    ) -> list[dict[str, Any]]:
        found = self.segments_exact(as_of, fx, key_of)
        order = sorted(found, key=lambda k: (-found[k][0], k))
        return [
            {
                "as_of": as_of.isoformat(),
                "position": self.position,
                "fx_policy": fx,
                group: key,
                "mrr": money(found[key][0]),
                "arr": money(12 * found[key][0]),
                "active_contracts": found[key][1],
            }
            for key in order
        ]

    def daily(self, fx: str) -> _Daily:
        """SPEC §5 with §10 and §11, literally: every customer, every day d, the end of d-1
        against the end of d, each subscription's MRR at its rate for that day under `fx`:
        `prev = Σ L_prev × r_prev`, `prev' = Σ L_prev × r_cur`, `cur = Σ L_cur × r_cur`;
        `paused` (the `prev'` part of those that became paused on d) and `resumed` (the `cur`
        part of those that resumed on d) split off, `(prev' − paused, cur − resumed)`
        classified by §5's table, and `fx = prev' − prev`. A paused subscription that ends
        on d counts its pre-pause MRR at d's rates as `churn` and as a negative `paused`.
        Each churn and contraction is put down to a reason (§12).

        Every movement needs something to differ, so a customer's day is left out when
        nothing can have moved: no event, lapse or other automatic change hit any of its
        subscriptions that day and its rates did not change (a rate changes from day to day
        only under `spot`, and only for a subscription not in the reporting currency)."""
        if fx in self._daily:
            return self._daily[fx]
        count = len(self.days)
        per_day = {k: [ZERO] * count for k in ALL_KINDS}
        missing: list[MissingRate | None] = [None] * count
        reasons: dict[int, dict[tuple[str, str], Fraction]] = {}
        daily_rates = fx_policy(fx)[0] == "spot"
        for customer in self.customer_mrr:
            subs = self.subs_of[customer]
            first_positive = self.first_positive_day(customer)
            looked = {self._at(d) for s in subs for d in self.touched[s]}
            for s in subs:
                if daily_rates and self.currency_of[s] != self.currency:
                    mrr = self.sub_mrr[s]
                    looked.update(n for n in range(1, count) if mrr[n - 1] or mrr[n])
            for n in sorted(looked):
                if n == 0:
                    continue
                try:
                    m = self._moves(subs, n, fx)
                except MissingRate as error:
                    missing[n] = missing[n] or error
                    continue
                day = self.days[n]
                split = reasons.setdefault(n, {})
                prime, cur = m.prime - m.paused, m.cur - m.resumed  # §11: the rest
                if prime == 0 and cur > 0:
                    kind = "new" if day == first_positive else "reactivation"
                    per_day[kind][n] += cur
                elif prime > 0 and cur == 0:
                    per_day["churn"][n] += prime
                    for s, part in m.rest.items():  # §12: by the subscriptions that ended
                        _add(split, ("churn", self.ended[s].get(day, UNSPECIFIED)), part)
                elif prime > 0 and cur > prime:
                    per_day["expansion"][n] += cur - prime
                elif prime > 0 and cur < prime:
                    per_day["contraction"][n] += prime - cur
                    _add(split, ("contraction", self._contraction_reason(customer, m, day)),
                         prime - cur)  # fmt: skip
                # Decision: a paused subscription that ends is `churn` of its own even when
                # the customer keeps other subscriptions (SPEC §11: "counts as churn"); it is
                # not put through §5's table with the rest (where it would be contraction).
                for s, pre_pause in m.ending.items():
                    per_day["churn"][n] += pre_pause
                    per_day["paused"][n] -= pre_pause
                    _add(split, ("churn", self.ended[s].get(day, UNSPECIFIED)), pre_pause)
                per_day["paused"][n] += m.paused
                per_day["resumed"][n] += m.resumed
                per_day["fx"][n] += m.prime - m.prev
                if not split:
                    del reasons[n]
        totals = {}
        for kind, values in per_day.items():
            running, total = [], ZERO
            for value in values:
                total += value
                running.append(total)
            totals[kind] = running
        so_far, seen = [], 0
        for lacking in missing:
            seen += lacking is not None
            so_far.append(seen)
        self._daily[fx] = _Daily(totals, missing, so_far, reasons)
        return self._daily[fx]

    def _moves(self, subs: list[str], n: int, fx: str) -> _Moves:
        """One customer's day number `n` (SPEC §10, §11), subscription by subscription.

        Decision: as §5 nets a customer's day, a subscription's part is read from its status
        at the end of d-1 and of d: active then paused is `paused`, paused then active is
        `resumed` (unless a `new` restarted it that day: then it ended, and started again),
        paused then anything else is a paused subscription that ended. A pause and a resume
        on the same day, or a pause and a churn, move what the two ends say."""
        m, day = _Moves(), self.days[n]
        for s in subs:
            before, after = self.sub_mrr[s][n - 1], self.sub_mrr[s][n]
            was, now = self.sub_status[s][n - 1], self.sub_status[s][n]
            restarted = day in self.restarted[s]
            if before:
                m.prev += before * self.sub_rate(s, n - 1, fx)
                part = before * self.sub_rate(s, n, fx)
                m.prime += part
                if now == PAUSED:
                    m.paused += part
                else:
                    m.rest[s] = part
            if after:
                part = after * self.sub_rate(s, n, fx)
                m.cur += part
                if was == PAUSED and not restarted:
                    m.resumed += part
            if was == PAUSED and now != PAUSED and (now != ACTIVE or restarted):
                m.ending[s] = self.sub_paused[s][n - 1] * self.sub_rate(s, n, fx)
        return m

    def _contraction_reason(self, customer: str, m: _Moves, day: date) -> str:
        """SPEC §12: `lapsed` when a lapse caused it, else the reason of the customer's last
        event that day that gave one, else `unspecified`.

        Decision: "a lapse caused it" is a lapse that day of one of its subscriptions that was
        active the day before (a paused one's end is churn of its own). Decision: "the
        customer's last event" is any live event naming the customer that day (a fee too), the
        latest by position."""
        if any(self.ended[s].get(day) == LAPSED for s in m.rest):
            return LAPSED
        given = self.reasons_of.get(customer, {}).get(day)
        return given[-1] if given else UNSPECIFIED

    def _day(self, subs: list[str], n: int, fx: str) -> tuple[Fraction, Fraction, Fraction]:
        """`(prev, prev', cur)` of SPEC §10 for one customer's subscriptions on day `n`."""
        m = self._moves(subs, n, fx)
        return m.prev, m.prime, m.cur

    def _classified(self, start: date, end: date, fx: str = "spot") -> dict[str, Fraction]:
        """The sums over d in `(start, end]` of every customer's day (`daily`)."""
        if end <= start:
            return dict.fromkeys(ALL_KINDS, ZERO)
        found = self.daily(fx)
        first = self._at(start) if start >= self.first else -1
        last = self._at(end) if end >= self.first else -1
        before = found.missing_so_far[first] if first >= 0 else 0
        if last >= 0 and found.missing_so_far[last] > before:
            error = next(e for e in found.missing[first + 1 : last + 1] if e is not None)
            raise MissingRate(error.currency, error.day)
        return {
            kind: (totals[last] if last >= 0 else ZERO) - (totals[first] if first >= 0 else ZERO)
            for kind, totals in found.totals.items()
        }

    def _retention(self, start: date, end: date, fx: str = "spot") -> dict[str, Fraction | None]:
        """SPEC §5 net expansion and §6 NRR, GRR, logo churn rate, on converted MRR; §11: a
        customer paused at `end` is not lost, its MRR there is 0."""
        at_start, at_end = self.customers_on(start, fx), self.customers_on(end, fx)
        kept = [c for c, mrr in at_start.items() if mrr > 0]
        before = sum((at_start[c] for c in kept), ZERO)
        after = sum((at_end[c] for c in kept), ZERO)
        floor = sum((min(at_start[c], at_end[c]) for c in kept), ZERO)
        both = [c for c in kept if at_end[c] > 0]
        lost = [c for c in kept if at_end[c] == 0 and not self.is_paused(c, end)]
        return {
            "net_expansion": sum((at_end[c] - at_start[c] for c in both), ZERO),
            "nrr": divide(after, before),
            "grr": divide(floor, before),
            "logo_churn_rate": divide(Fraction(len(lost)), Fraction(len(kept))),
        }

    def movements(
        self,
        start: date,
        end: date,
        policy: str = "recurring",
        fx: str = "spot",
        netting: str = "day",
    ) -> dict[str, Any]:
        start_mrr, end_mrr = self.mrr(start, fx), self.mrr(end, fx)
        moved = (
            self._classified(start, end, fx) if netting == "day" else self._monthly(start, end, fx)
        )
        kept = self._retention(start, end, fx)
        booked = [b for bs in self.bookings.values() for b in bs if start < b.day <= end]
        acvs = [b.acv(policy, self.rate_on(b.currency, fx)) for b in booked]
        tcv = sum((b.tcv(self.rate_on(b.currency, fx)) for b in booked), ZERO)
        fees = sum(
            (
                f.amount * self.rate_on(f.currency, fx)(f.converted_on)
                for f in self.fees
                if start < f.day <= end
            ),
            ZERO,
        )
        figures = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "position": self.position,
            "currency": self.currency,
            "start_mrr": money(start_mrr),
            "end_mrr": money(end_mrr),
            **{k: money(moved[k]) for k in KINDS if k != "fx"},
            "net_new": money(end_mrr - start_mrr),
            "net_expansion": money(kept["net_expansion"]),
            "nrr": ratio(kept["nrr"]),
            "grr": ratio(kept["grr"]),
            "logo_churn_rate": ratio(kept["logo_churn_rate"]),
            "bookings": len(booked),
            "bookings_acv": money(average(acvs)),
            "bookings_tcv": money(tcv),
            "one_time_fees": money(fees),
            "fx_policy": fx,
            "fx": money(moved["fx"]),
        }
        if self.lifecycle_keys:
            figures |= {
                "paused": money(moved["paused"]),
                "resumed": money(moved["resumed"]),
                "trials_started": sum(1 for d in self.trials if start < d <= end),
                "trials_converted": sum(1 for d in self.conversions if start < d <= end),
            }
        return figures

    def bridge(self, start: date, end: date, fx: str = "spot") -> Fraction:
        """SPEC §10's bridge, exactly: new + reactivation + expansion + resumed − contraction
        − churn − paused + fx, to compare with MRR(end) − MRR(start)."""
        moved = self._classified(start, end, fx)
        inflow = moved["new"] + moved["reactivation"] + moved["expansion"] + moved["fx"]
        outflow = moved["contraction"] + moved["churn"]
        return inflow + moved["resumed"] - outflow - moved["paused"]

    def by_reason_exact(
        self, start: date, end: date, fx: str = "spot"
    ) -> dict[str, dict[str, Fraction]]:
        """SPEC §12 `movements --by reason`, exact: reason -> {"churn", "contraction"}."""
        self._classified(start, end, fx)  # a missing rate is an error here too
        rows: dict[str, dict[str, Fraction]] = {}
        for n, split in self.daily(fx).reasons.items():
            if start < self.days[n] <= end:
                for (kind, reason), amount in split.items():
                    row = rows.setdefault(reason, {"churn": ZERO, "contraction": ZERO})
                    row[kind] += amount
        return rows

    def by_reason(self, start: date, end: date, fx: str = "spot") -> list[dict[str, Any]]:
        """SPEC §12 `movements --by reason` over `(start, end]`: one row per reason that
        churned or contracted MRR in the period.

        Decision: rows sorted by reason, only reasons with a non-zero amount; each row is
        `reason`, `churn`, `contraction` (money strings)."""
        exact = {
            reason: sums
            for reason, sums in self.by_reason_exact(start, end, fx).items()
            if sums["churn"] or sums["contraction"]
        }
        return [
            {"reason": r, "churn": money(exact[r]["churn"]),
             "contraction": money(exact[r]["contraction"])}
            for r in sorted(exact)
        ]  # fmt: skip

    # SPEC §11 and §12: who is trialing and paused, discounts, and why events happened.

    def status_on(self, sub: str, day: date) -> str:
        """TRIALING, ACTIVE, PAUSED, ENDED at the end of `day`, or "" before it started."""
        if day < self.first or sub not in self.sub_status:
            return ""
        return self.sub_status[sub][self._at(day)]

    def is_paused(self, customer: str, day: date) -> bool:
        """SPEC §11: its MRR is 0 and one of its subscriptions is paused."""
        paused = any(self.status_on(s, day) == PAUSED for s in self.subs_of[customer])
        return paused and self.local_mrr_of(customer, day) == 0

    def trialing_contracts(self, day: date) -> int:
        return sum(1 for s in self.sub_status if self.status_on(s, day) == TRIALING)

    def paused_customers(self, day: date) -> int:
        return sum(1 for c in self.customer_mrr if self.is_paused(c, day))

    def discounts(self, day: date, fx: str = "spot") -> Fraction:
        """SPEC §11: list MRR minus net MRR over active contracts, converted as their MRR.

        Decision: in the reporting currency, at the rate each subscription's MRR uses."""
        if day < self.first:
            return ZERO
        n = self._at(day)
        return sum(
            (
                (self.sub_list[s][n] - self.sub_mrr[s][n]) * self.sub_rate(s, n, fx)
                for s in self.sub_mrr
                if self.active_on(s, day) and self.sub_list[s][n] != self.sub_mrr[s][n]
            ),
            ZERO,
        )

    def events_of(self, customer: str) -> list[dict[str, Any]]:
        """SPEC §12: the customer's live events in effective order with `reason` and `note`
        (what `movements --by customer` and `audit log` show next to the figures)."""
        return [
            {k: e.get(k) for k in ("event_id", "type", "effective_date", "reason", "note")}
            for e in self.live
            if e.get("customer_id") == customer
        ]

    def series(
        self,
        start: date,
        end: date,
        every: str,
        policy: str,
        fx: str = "spot",
        netting: str = "day",
    ) -> list[dict[str, Any]]:
        """SPEC §9 series: one row per period end; movements since the previous row."""
        rows, previous = [], start - ONE_DAY
        for day in period_ends(start, end, every):
            moved = self.movements(previous, day, policy, fx, netting)
            year = self._retention(twelve_months_before(day), day, fx)  # SPEC §13
            trailing = {
                "nrr_12m": ratio(year["nrr"]),
                "grr_12m": ratio(year["grr"]),
                "logo_churn_rate_12m": ratio(year["logo_churn_rate"]),
            }
            rows.append({**self.report(day, policy, fx), **moved, **trailing})
            previous = day
        return rows

    # SPEC §13: movements netted by month.

    def _monthly(self, start: date, end: date, fx: str) -> dict[str, Fraction]:
        """§5's table (with §10's and §11's rules) applied per customer to its MRR at the end
        of each month m-1 against the end of month m, for the months ending in (start, end];
        `fx` is what that leaves of MRR(end) - MRR(start)."""
        ends = [d for d in days(start + ONE_DAY, end) if (d + ONE_DAY).day == 1]
        totals = dict.fromkeys(ALL_KINDS, ZERO)
        for customer in self.customer_mrr:
            subs = self.subs_of[customer]
            first = self._first_positive_month_end(customer)
            previous = start
            for month_end in ends:
                m = self._moves_between(subs, previous, month_end, fx)
                prime, cur = m.prime - m.paused, m.cur - m.resumed
                if prime == 0 and cur > 0:
                    seen = first is not None and first < month_end
                    totals["reactivation" if seen else "new"] += cur
                elif prime > 0 and cur == 0:
                    totals["churn"] += prime
                elif prime > 0 and cur > prime:
                    totals["expansion"] += cur - prime
                elif prime > 0 and cur < prime:
                    totals["contraction"] += prime - cur
                for pre_pause in m.ending.values():
                    totals["churn"] += pre_pause
                    totals["paused"] -= pre_pause
                totals["paused"] += m.paused
                totals["resumed"] += m.resumed
                previous = month_end
        inflow = totals["new"] + totals["reactivation"] + totals["expansion"] + totals["resumed"]
        net = inflow - totals["contraction"] - totals["churn"] - totals["paused"]
        totals["fx"] = self.mrr(end, fx) - self.mrr(start, fx) - net
        return totals

    def _first_positive_month_end(self, customer: str) -> date | None:
        """The first month end at whose end the customer's MRR was > 0."""
        return next(
            (d for d in self.days if (d + ONE_DAY).day == 1 and self.local_mrr_of(customer, d) > 0),
            None,
        )

    def _moves_between(self, subs: list[str], low: date, high: date, fx: str) -> _Moves:
        """As `_moves`, from the end of `low` (a month end) to the end of `high` (the next).

        Decision: a subscription with no price in force at `high` keeps, under `booked`, the
        rate it had at `low` (§10: "the rate it had"); restarted means a `new` applied to it
        in (low, high]."""
        m = _Moves()
        a = self._at(low) if low >= self.first else None
        b = self._at(high)
        for s in subs:
            before = self.sub_mrr[s][a] if a is not None else ZERO
            after = self.sub_mrr[s][b]
            was = self.sub_status[s][a] if a is not None else ""
            now = self.sub_status[s][b]
            restarted = any(low < d <= high for d in self.restarted[s])
            if before or after or was == PAUSED:
                rate = self.sub_rate(s, b if after or a is None else a, fx)
                if fx_policy(fx)[0] != "booked":
                    rate = self.sub_rate(s, b, fx)
            if before:
                part = before * rate
                m.prime += part
                if now == PAUSED:
                    m.paused += part
            if after:
                part = after * self.sub_rate(s, b, fx)
                m.cur += part
                if was == PAUSED and not restarted:
                    m.resumed += part
            if was == PAUSED and now != PAUSED and (now != ACTIVE or restarted):
                assert a is not None
                m.ending[s] = self.sub_paused[s][a] * rate
        return m


def is_period_end(day: date, every: str) -> bool:
    last_of_month = (day + ONE_DAY).day == 1
    return {
        "day": True,
        "week": day.weekday() == 6,
        "month": last_of_month,
        "quarter": last_of_month and day.month % 3 == 0,
        "year": day.month == 12 and day.day == 31,
    }[every]


def period_ends(start: date, end: date, every: str) -> list[date]:
    """Every period end on or after `start` and before `end`, then `end` itself."""
    return [d for d in days(start, end) if d < end and is_period_end(d, every)] + [end]


def cohort_label(day: date, every: str) -> str:
    """SPEC §13 cohorts. Decision: named as people write the period: 2024-01, 2024-Q1, 2024."""
    if every == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if every == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def cohorts(
    oracle: Oracle, start: date, end: date, every: str, fx: str = "spot"
) -> list[dict[str, Any]]:
    """SPEC §13 `arr cohorts --from --to --every`: customers grouped by the period in which
    their MRR was first > 0 at the end of a day; for each cohort and each period end from its
    own on: `customers` (active), `mrr`, and `nrr` over its MRR at the end of its first period.

    Decision: the cohorts are those whose first day lies in [start, end] (both counted, like a
    series); a cohort's own period end is its period's last day, or `end` for the last one;
    rows by cohort, then period end."""
    ends = period_ends(start, end, every)
    members: dict[date, list[str]] = defaultdict(list)
    for customer in sorted(oracle.customer_mrr):
        first = oracle.first_positive_day(customer)
        if first is not None and start <= first <= end:
            members[next(e for e in ends if e >= first)].append(customer)
    rows = []
    for own in sorted(members):
        base = ZERO
        for day in (e for e in ends if e >= own):
            mrrs = [oracle.mrr_of(c, day, fx) for c in members[own]]
            mrr = sum(mrrs, ZERO)
            base = mrr if day == own else base
            rows.append(
                {
                    "cohort": cohort_label(own, every),
                    "as_of": day.isoformat(),
                    "position": oracle.position,
                    "currency": oracle.currency,
                    "fx_policy": fx,
                    "customers": sum(1 for m in mrrs if m > 0),
                    "mrr": money(mrr),
                    "nrr": ratio(divide(mrr, base)),
                }
            )
    return rows
