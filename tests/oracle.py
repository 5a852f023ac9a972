"""A naive, independent reading of SPEC §1-§9, used to check the ledger's figures.

Written from the SPEC alone: it imports nothing from `ledger` or `projections`. It takes
raw event rows in recording order (plain dicts, as `ledger.app.sample.sample_events` makes
them) and a position cutoff, and simulates every subscription DAY BY DAY, keeping its MRR
at the end of every day as an exact `Fraction`. Every figure is then computed by the
SPEC's literal definition (movements compare every day with the day before). It trusts
its input to be a valid ledger: it does not validate, the ledger does.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

ONE_DAY = timedelta(days=1)
NAMED_INTERVALS = {"month": 1, "quarter": 3, "year": 12}
ZERO = Fraction(0)


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


@dataclass
class Booking:
    """SPEC §7: a live `new` or `renewal`, with the price and term it sets."""

    subscription_id: str
    day: date
    position: int
    price: Fraction
    interval: int
    term_months: int | None
    fees: list[tuple[date, Fraction]] = field(default_factory=list)

    def annualized(self) -> Fraction:
        return self.price * 12 / self.interval

    def own_fees(self) -> Fraction:
        """Fees counted in the booking's own value: evergreen only within its 12-month span."""
        if self.term_months:
            return sum((a for _, a in self.fees), ZERO)
        end = add_months(self.day, 12)
        return sum((a for d, a in self.fees if d < end), ZERO)

    def acv(self, policy: str) -> Fraction:
        if policy == "recurring":
            return self.annualized()
        if self.term_months:
            return self.annualized() + self.own_fees() * 12 / self.term_months
        return self.annualized() + self.own_fees()

    def tcv(self) -> Fraction:
        if self.term_months:
            return self.price * self.term_months / self.interval + self.own_fees()
        return self.price + self.own_fees()


@dataclass
class _State:
    """One subscription's state while the days go by."""

    active: bool = False
    amount: Fraction = ZERO
    interval: int = 1
    term_months: int | None = None
    term_end: date | None = None

    def mrr(self) -> Fraction:
        return self.amount / self.interval if self.active else ZERO


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
        live = self._live(events)
        dated: list[date] = [e["day"] for e in live] or [until]
        self.first, self.last = min(dated) - ONE_DAY, max(max(dated), until)
        self.days = days(self.first, self.last)
        self.customer_of: dict[str, str] = {}
        self.bookings: dict[str, list[Booking]] = defaultdict(list)
        self.sub_mrr: dict[str, list[Fraction]] = {}
        self.touched: dict[str, set[date]] = {}  # days an event or a lapse hit a subscription
        self._simulate(live)
        self.fees = [e for e in live if e["type"] == "one_time_fee"]
        self._assign_fees()
        self.customer_mrr: dict[str, list[Fraction]] = {}
        self.changes: dict[str, list[date]] = {}  # days a customer's MRR differs from the eve's
        self._customers(live)

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

    # The day-by-day simulation (SPEC §3-§4).

    def _simulate(self, live: list[dict[str, Any]]) -> None:
        by_day: dict[str, dict[date, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        for e in live:
            if e["type"] != "one_time_fee":
                by_day[e["subscription_id"]][e["day"]].append(e)
            if e["type"] == "new":
                self.customer_of.setdefault(e["subscription_id"], e["customer_id"])
        for sub, events in by_day.items():
            state, mrr, today, touched = _State(), [], ZERO, set()
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
            self.sub_mrr[sub], self.touched[sub] = mrr, touched

    def _apply(self, state: _State, e: dict[str, Any]) -> None:
        kind, day = e["type"], e["day"]
        amount, interval, term = amount_of(e.get("amount")), e.get("interval"), e.get("term_months")
        if kind == "new":
            state.active, state.amount = True, amount or ZERO
            state.interval, state.term_months = months_of(interval) or 1, months_of(term)
        elif kind in ("upgrade", "downgrade"):
            state.amount = amount or ZERO
            state.interval = months_of(interval) or state.interval
            return
        elif kind == "churn":
            state.active, state.term_end = False, None
            return
        elif kind == "renewal":
            state.active = True
            state.amount = amount or state.amount
            state.interval = months_of(interval) or state.interval
            state.term_months = months_of(term) or state.term_months
        state.term_end = add_months(day, state.term_months) if state.term_months else None
        booking = Booking(
            e["subscription_id"], day, e["position"], state.amount, state.interval,
            state.term_months,
        )  # fmt: skip
        self.bookings[e["subscription_id"]].append(booking)

    def _customers(self, live: list[dict[str, Any]]) -> None:
        """Customer MRR = the sum of its subscriptions' (re-added only on days one changed)."""
        subs_of: dict[str, list[str]] = defaultdict(list)
        for sub in self.sub_mrr:
            subs_of[self.customer_of[sub]].append(sub)
        for customer in sorted({e["customer_id"] for e in live}):
            subs = subs_of[customer]
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
        """The first day at whose end the customer's MRR was > 0."""
        return next((d for d in self.changes[customer] if self.mrr_of(customer, d) > 0), None)

    def _at(self, day: date) -> int:
        if day > self.last:
            raise ValueError(f"{day} is outside the simulated days {self.first}..{self.last}")
        return (day - self.first).days

    def sub_mrr_on(self, sub: str, day: date) -> Fraction:
        return ZERO if day < self.first else self.sub_mrr[sub][self._at(day)]

    def active_on(self, sub: str, day: date) -> bool:
        return sub in self.sub_mrr and self.sub_mrr_on(sub, day) > 0

    def mrr_of(self, customer: str, day: date) -> Fraction:
        return ZERO if day < self.first else self.customer_mrr[customer][self._at(day)]

    # Fees and contract value (SPEC §7).

    def _assign_fees(self) -> None:
        for fee in self.fees:
            sub = fee.get("subscription_id")
            if not sub:
                continue
            owner = self._owning_booking(sub, fee["day"])
            owner.fees.append((max(fee["day"], owner.day), Fraction(fee["amount"])))

    def _owning_booking(self, sub: str, day: date) -> Booking:
        bookings = self.bookings[sub]
        before = [b for b in bookings if b.day <= day]
        after = [b for b in bookings if b.day > day]
        if self.active_on(sub, day) and before:
            return before[-1]
        return after[0] if after else before[-1]

    def current_booking(self, sub: str, day: date) -> Booking:
        return [b for b in self.bookings[sub] if b.day <= day][-1]

    def contract_acv(self, sub: str, day: date, policy: str) -> Fraction:
        recurring = self.sub_mrr_on(sub, day) * 12
        if policy == "recurring":
            return recurring
        booking = self.current_booking(sub, day)
        if booking.term_months:
            fees = sum((a for _, a in booking.fees), ZERO)
            return recurring + fees * 12 / booking.term_months
        k = 0
        while add_months(booking.day, 12 * (k + 1)) <= day:
            k += 1
        start, end = add_months(booking.day, 12 * k), add_months(booking.day, 12 * (k + 1))
        return recurring + sum((a for d, a in booking.fees if start <= d < end), ZERO)

    # The figures of SPEC §9.

    def mrr(self, day: date) -> Fraction:
        return sum((self.mrr_of(c, day) for c in self.customer_mrr), ZERO)

    def report(self, as_of: date, policy: str = "recurring") -> dict[str, Any]:
        mrr = self.mrr(as_of)
        customers = sum(1 for c in self.customer_mrr if self.mrr_of(c, as_of) > 0)
        active = [s for s in self.sub_mrr if self.active_on(s, as_of)]
        acvs = [self.contract_acv(s, as_of, policy) for s in active]
        with_fees = sum((self.contract_acv(s, as_of, "including_fees") for s in active), ZERO)
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
        }

    def _classified(self, start: date, end: date) -> dict[str, Fraction]:
        """SPEC §5, literally: every customer, every day d in (start, end], d-1 against d.

        Every row of the SPEC's table needs prev != cur, so the days on which the customer's
        MRR equals the day before's (most days) are left out to save time.
        """
        sums = dict.fromkeys(("new", "expansion", "contraction", "churn", "reactivation"), ZERO)
        for customer, mrr in self.customer_mrr.items():
            first_positive = self.first_positive_day(customer)
            for day in self.changes[customer]:
                if not start < day <= end:
                    continue
                prev, cur = mrr[self._at(day) - 1], mrr[self._at(day)]
                if prev == 0 and cur > 0:
                    sums["new" if day == first_positive else "reactivation"] += cur
                elif prev > 0 and cur == 0:
                    sums["churn"] += prev
                elif prev > 0 and cur > prev:
                    sums["expansion"] += cur - prev
                elif prev > 0 and cur < prev:
                    sums["contraction"] += prev - cur
        return sums

    def _retention(self, start: date, end: date) -> dict[str, Fraction | None]:
        """SPEC §5 net expansion and §6 NRR, GRR, logo churn rate."""
        kept = [c for c in self.customer_mrr if self.mrr_of(c, start) > 0]
        before = sum((self.mrr_of(c, start) for c in kept), ZERO)
        after = sum((self.mrr_of(c, end) for c in kept), ZERO)
        floor = sum((min(self.mrr_of(c, start), self.mrr_of(c, end)) for c in kept), ZERO)
        both = [c for c in kept if self.mrr_of(c, end) > 0]
        lost = len(kept) - len(both)
        return {
            "net_expansion": sum((self.mrr_of(c, end) - self.mrr_of(c, start) for c in both), ZERO),
            "nrr": divide(after, before),
            "grr": divide(floor, before),
            "logo_churn_rate": divide(Fraction(lost), Fraction(len(kept))),
        }

    def movements(self, start: date, end: date, policy: str = "recurring") -> dict[str, Any]:
        moved, kept = self._classified(start, end), self._retention(start, end)
        booked = [b for bs in self.bookings.values() for b in bs if start < b.day <= end]
        fees = sum((Fraction(f["amount"]) for f in self.fees if start < f["day"] <= end), ZERO)
        net_new = (
            moved["new"]
            + moved["reactivation"]
            + moved["expansion"]
            - moved["contraction"]
            - moved["churn"]
        )
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "position": self.position,
            "currency": self.currency,
            "start_mrr": money(self.mrr(start)),
            "end_mrr": money(self.mrr(end)),
            **{k: money(v) for k, v in moved.items()},
            "net_new": money(net_new),
            "net_expansion": money(kept["net_expansion"]),
            "nrr": ratio(kept["nrr"]),
            "grr": ratio(kept["grr"]),
            "logo_churn_rate": ratio(kept["logo_churn_rate"]),
            "bookings": len(booked),
            "bookings_acv": money(average([b.acv(policy) for b in booked])),
            "bookings_tcv": money(sum((b.tcv() for b in booked), ZERO)),
            "one_time_fees": money(fees),
        }

    def series(self, start: date, end: date, every: str, policy: str) -> list[dict[str, Any]]:
        """SPEC §9 series: one row per period end; movements since the previous row."""
        rows, previous = [], start - ONE_DAY
        for day in period_ends(start, end, every):
            rows.append({**self.report(day, policy), **self.movements(previous, day, policy)})
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
