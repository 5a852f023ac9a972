"""A naive, independent reading of SPEC §1-§10, used to check the ledger's figures.

Written from the SPEC alone: it imports nothing from `ledger` or `projections`. It takes
raw event rows in recording order (plain dicts, as `ledger.app.sample.sample_events` makes
them) and a position cutoff, and simulates every subscription DAY BY DAY, keeping its MRR
(in its own currency) at the end of every day as an exact `Fraction`, and the day the price
in force was set. Every figure is then computed by the SPEC's literal definition: a
subscription's MRR on a day is converted at its rate for that day under the query's FX
policy (§10), and movements compare every customer's day with the day before, with `prev`,
`prev'` and `cur` exactly as §10 defines them. It trusts its input to be a valid ledger: it
does not validate, the ledger does.
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


@dataclass
class _State:
    """One subscription's state while the days go by."""

    active: bool = False
    amount: Fraction = ZERO
    interval: int = 1
    term_months: int | None = None
    term_end: date | None = None
    priced: date | None = None  # the effective date of the event that set the price

    def mrr(self) -> Fraction:
        return self.amount / self.interval if self.active else ZERO


@dataclass
class _Daily:
    """Under one FX policy: every day's movements summed over customers, as running totals,
    and, for each day, a rate its movements needed and did not find."""

    totals: dict[str, list[Fraction]]
    missing: list[MissingRate | None]
    missing_so_far: list[int]


class Oracle:
    """Every figure of a ledger that received the first `cutoff` rows, day by day."""

    def __init__(
        self,
        rows: list[dict[str, Any]],
        cutoff: int | None = None,
        until: date = date(2030, 12, 31),
        currency: str = "USD",
    ) -> None:
        self.currency = currency
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
        self.sub_mrr: dict[str, list[Fraction]] = {}  # in the subscription's currency
        self.sub_priced: dict[str, list[date | None]] = {}
        self.touched: dict[str, set[date]] = {}  # days an event or a lapse hit a subscription
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
        """SPEC §10: a subscription's currency is that of its first recorded `new`; a `new`
        naming none is in the reporting currency."""
        currency_of: dict[str, str] = {}
        for e in sorted(live, key=lambda e: e["position"]):
            if e["type"] == "new":
                currency_of.setdefault(e["subscription_id"], e.get("currency") or self.currency)
        return currency_of

    # The day-by-day simulation (SPEC §3-§4).

    def _simulate(self, live: list[dict[str, Any]]) -> None:
        by_day: dict[str, dict[date, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for e in live:
            if e["type"] != "one_time_fee":
                by_day[e["subscription_id"]][e["day"]].append(e)
            if e["type"] == "new":
                self.customer_of.setdefault(e["subscription_id"], e["customer_id"])
        for sub, events in by_day.items():
            state, mrr, priced, touched = _State(), [], [], set()
            today: Fraction = ZERO
            for day in self.days:
                if state.active and state.term_end is not None and state.term_end <= day:
                    state.active, state.term_end = False, None  # lapsed: as if churned today
                    today = state.mrr()
                    touched.add(day)
                for e in events.get(day, []):
                    self._apply(state, e)
                    today = state.mrr()
                    touched.add(day)
                mrr.append(today)
                priced.append(state.priced if state.active else None)
            self.sub_mrr[sub], self.sub_priced[sub], self.touched[sub] = mrr, priced, touched

    def _apply(self, state: _State, e: dict[str, Any]) -> None:
        kind, day = e["type"], e["day"]
        amount, interval, term = amount_of(e.get("amount")), e.get("interval"), e.get("term_months")
        if kind == "new":
            state.active, state.amount = True, amount or ZERO
            state.interval, state.term_months = months_of(interval) or 1, months_of(term)
            state.priced = day
        elif kind in ("upgrade", "downgrade"):
            state.amount = amount or ZERO
            state.interval = months_of(interval) or state.interval
            state.priced = day
            return
        elif kind == "churn":
            state.active, state.term_end = False, None
            return
        elif kind == "renewal":
            state.active = True
            state.amount = amount or state.amount
            state.interval = months_of(interval) or state.interval
            state.term_months = months_of(term) or state.term_months
            if amount or months_of(interval):  # SPEC §10: a renewal that gives a price sets it
                state.priced = day
        state.term_end = add_months(day, state.term_months) if state.term_months else None
        booking = Booking(
            e["subscription_id"], day, e["position"], state.amount, state.interval,
            state.term_months, self.currency_of[e["subscription_id"]],
        )  # fmt: skip
        self.bookings[e["subscription_id"]].append(booking)

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
        return {
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

    def daily(self, fx: str) -> _Daily:
        """SPEC §5 with §10, literally: every customer, every day d, the end of d-1 against
        the end of d, each subscription's MRR at its rate for that day under `fx`:
        `prev = Σ L_prev × r_prev`, `prev' = Σ L_prev × r_cur`, `cur = Σ L_cur × r_cur`;
        `(prev', cur)` classified by §5's table, and `fx = prev' − prev`.

        Every movement needs prev != cur, so a customer's day is left out when nothing can
        have moved: no event or lapse hit any of its subscriptions that day and its rates
        did not change (a rate changes from day to day only under `spot`, and only for a
        subscription not in the reporting currency)."""
        if fx in self._daily:
            return self._daily[fx]
        count = len(self.days)
        per_day = {k: [ZERO] * count for k in KINDS}
        missing: list[MissingRate | None] = [None] * count
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
                    prev, prime, cur = self._day(subs, n, fx)
                except MissingRate as error:
                    missing[n] = missing[n] or error
                    continue
                if prime == 0 and cur > 0:
                    kind = "new" if self.days[n] == first_positive else "reactivation"
                    per_day[kind][n] += cur
                elif prime > 0 and cur == 0:
                    per_day["churn"][n] += prime
                elif prime > 0 and cur > prime:
                    per_day["expansion"][n] += cur - prime
                elif prime > 0 and cur < prime:
                    per_day["contraction"][n] += prime - cur
                per_day["fx"][n] += prime - prev
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
        self._daily[fx] = _Daily(totals, missing, so_far)
        return self._daily[fx]

    def _day(self, subs: list[str], n: int, fx: str) -> tuple[Fraction, Fraction, Fraction]:
        """`(prev, prev', cur)` of SPEC §10 for one customer's subscriptions on day `n`."""
        prev = prime = cur = ZERO
        for s in subs:
            before, after = self.sub_mrr[s][n - 1], self.sub_mrr[s][n]
            if before:
                prev += before * self.sub_rate(s, n - 1, fx)
                prime += before * self.sub_rate(s, n, fx)
            if after:
                cur += after * self.sub_rate(s, n, fx)
        return prev, prime, cur

    def _classified(self, start: date, end: date, fx: str = "spot") -> dict[str, Fraction]:
        """The sums over d in `(start, end]` of every customer's day (`daily`)."""
        if end <= start:
            return dict.fromkeys(KINDS, ZERO)
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
        """SPEC §5 net expansion and §6 NRR, GRR, logo churn rate, on converted MRR."""
        at_start, at_end = self.customers_on(start, fx), self.customers_on(end, fx)
        kept = [c for c, mrr in at_start.items() if mrr > 0]
        before = sum((at_start[c] for c in kept), ZERO)
        after = sum((at_end[c] for c in kept), ZERO)
        floor = sum((min(at_start[c], at_end[c]) for c in kept), ZERO)
        both = [c for c in kept if at_end[c] > 0]
        lost = len(kept) - len(both)
        return {
            "net_expansion": sum((at_end[c] - at_start[c] for c in both), ZERO),
            "nrr": divide(after, before),
            "grr": divide(floor, before),
            "logo_churn_rate": divide(Fraction(lost), Fraction(len(kept))),
        }

    def movements(
        self, start: date, end: date, policy: str = "recurring", fx: str = "spot"
    ) -> dict[str, Any]:
        start_mrr, end_mrr = self.mrr(start, fx), self.mrr(end, fx)
        moved, kept = self._classified(start, end, fx), self._retention(start, end, fx)
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
        return {
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

    def bridge(self, start: date, end: date, fx: str = "spot") -> Fraction:
        """SPEC §10's bridge, exactly: new + reactivation + expansion − contraction − churn
        + fx, to compare with MRR(end) − MRR(start)."""
        moved = self._classified(start, end, fx)
        inflow = moved["new"] + moved["reactivation"] + moved["expansion"] + moved["fx"]
        return inflow - moved["contraction"] - moved["churn"]

    def series(
        self, start: date, end: date, every: str, policy: str, fx: str = "spot"
    ) -> list[dict[str, Any]]:
        """SPEC §9 series: one row per period end; movements since the previous row."""
        rows, previous = [], start - ONE_DAY
        for day in period_ends(start, end, every):
            rows.append(
                {**self.report(day, policy, fx), **self.movements(previous, day, policy, fx)}
            )
            previous = day
        return rows


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
