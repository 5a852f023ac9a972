"""Movements, retention and bookings over a period `(start, end]` (SPEC §5, §6, §7)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any, ClassVar, Literal

from ledger.errors import UsageError
from ledger.money import money, optional, ratio
from projections.book import Account, Book
from projections.contract_value import AcvPolicy, booking_acv, booking_tcv
from projections.report import mean, share
from projections.results import Figures, MovementsModel, Result

Kind = Literal["new", "expansion", "contraction", "churn", "reactivation"]
KINDS: tuple[Kind, ...] = ("new", "expansion", "contraction", "churn", "reactivation")
ZERO = Fraction(0)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Movement:
    """One customer's netted MRR change on one day (SPEC §5 table)."""

    customer_id: str
    day: date
    kind: Kind
    amount: Fraction


def check_period(start: date, end: date) -> None:
    if start > end:
        raise UsageError(f"--from {start} is after --to {end}")


def classify(prev: Fraction, cur: Fraction, seen_before: bool) -> tuple[Kind, Fraction] | None:
    """SPEC §5: the movement from `prev` (end of d-1) to `cur` (end of d), if any."""
    if prev == 0:
        return None if cur == 0 else ("reactivation" if seen_before else "new", cur)
    if cur == 0:
        return "churn", prev
    if cur == prev:
        return None
    return ("expansion", cur - prev) if cur > prev else ("contraction", prev - cur)


def net_new(sums: dict[Kind, Fraction]) -> Fraction:
    return (
        sums["new"] + sums["reactivation"] + sums["expansion"] - sums["contraction"] - sums["churn"]
    )


@dataclass(frozen=True)
class Steps:
    """One customer's MRR as a step function: `mrrs[i]` from the end of `days[i]` on.

    Customer MRR changes only on segment boundaries, so movements compare those days
    alone, never every calendar day, and each is classified once for any number of periods.
    """

    customer_id: str
    days: tuple[date, ...]
    mrrs: tuple[Fraction, ...]

    @classmethod
    def of(cls, account: Account) -> Steps:
        days = sorted(account.change_days())
        return cls(account.customer_id, tuple(days), tuple(account.mrr_on(d) for d in days))

    def mrr_on(self, day: date) -> Fraction:
        index = bisect_right(self.days, day)
        return self.mrrs[index - 1] if index else ZERO

    def movements(self) -> Iterator[Movement]:
        """Its movement on every day its MRR changed; `new` only before any MRR was seen."""
        prev, seen = ZERO, False
        for day, cur in zip(self.days, self.mrrs, strict=True):
            found = classify(prev, cur, seen)
            if found is not None:
                yield Movement(self.customer_id, day, *found)
            prev, seen = cur, seen or cur > 0


def period_of(bounds: Sequence[date], day: date) -> int | None:
    """The index i of the period `(bounds[i], bounds[i + 1]]` holding `day`, if any."""
    index = bisect_left(bounds, day) - 1
    return index if 0 <= index < len(bounds) - 1 else None


def _flows(
    span: tuple[date, date],
    position: int,
    currency: str,
    mrrs: tuple[Fraction, Fraction],
    sums: dict[Kind, Fraction],
) -> dict[str, Any]:
    """The keys every movements row begins with: the period, both MRRs, the flows."""
    return {
        "from": span[0].isoformat(),
        "to": span[1].isoformat(),
        "position": position,
        "currency": currency,
        "start_mrr": money(mrrs[0]),
        "end_mrr": money(mrrs[1]),
        **{kind: money(amount) for kind, amount in sums.items()},
        "net_new": money(net_new(sums)),
    }


@dataclass(frozen=True)
class CustomerMovements:
    """One customer's MRR at both ends of a period and its movements in between."""

    customer_id: str
    start: date
    end: date
    position: int
    currency: str
    start_mrr: Fraction
    end_mrr: Fraction
    sums: dict[Kind, Fraction]

    @property
    def net_new(self) -> Fraction:
        return net_new(self.sums)

    def as_json(self) -> dict[str, Any]:
        span, mrrs = (self.start, self.end), (self.start_mrr, self.end_mrr)
        flows = _flows(span, self.position, self.currency, mrrs, self.sums)
        return {"customer_id": self.customer_id, **flows}


def by_customer(book: Book, start: date, end: date) -> list[CustomerMovements]:
    """Every customer active at either end of the period or moving within it."""
    check_period(start, end)
    rows = []
    for steps in map(Steps.of, book.accounts):
        sums = flows(steps.movements(), [start, end])[0]
        ends = steps.mrr_on(start), steps.mrr_on(end)
        if any(ends) or any(sums.values()):
            known = book.position, book.currency
            rows.append(CustomerMovements(steps.customer_id, start, end, *known, *ends, sums))
    return rows


def flows(found: Iterator[Movement], bounds: Sequence[date]) -> list[dict[Kind, Fraction]]:
    """The movements summed by kind over each period `(bounds[i], bounds[i + 1]]`."""
    sums = [dict.fromkeys(KINDS, ZERO) for _ in bounds[1:]]
    for movement in found:
        index = period_of(bounds, movement.day)
        if index is not None:
            sums[index][movement.kind] += movement.amount
    return sums


@dataclass(frozen=True)
class Retention:
    """SPEC §6 over the customers active at the period's start (and §5 net expansion)."""

    net_expansion: Fraction
    nrr: Fraction | None
    grr: Fraction | None
    logo_churn_rate: Fraction | None


def retention(ends: list[tuple[Fraction, Fraction]]) -> Retention:
    """From each customer's (MRR at start, MRR at end)."""
    kept = [(a, b) for a, b in ends if a > 0]
    base = sum((a for a, _ in kept), ZERO)
    lost = sum(1 for _, b in kept if b == 0)
    return Retention(
        net_expansion=sum((b - a for a, b in kept if b > 0), ZERO),
        nrr=share(sum((b for _, b in kept), ZERO), base),
        grr=share(sum((min(a, b) for a, b in kept), ZERO), base),
        logo_churn_rate=Fraction(lost, len(kept)) if kept else None,
    )


@dataclass
class Bookings:
    """SPEC §7: the terms booked in a period and the one-time fees effective in it."""

    acvs: list[Fraction] = field(default_factory=list)
    tcv: Fraction = ZERO
    one_time_fees: Fraction = ZERO


def bookings(book: Book, bounds: Sequence[date], policy: AcvPolicy) -> list[Bookings]:
    """Bookings and fees of each period `(bounds[i], bounds[i + 1]]`."""
    periods = [Bookings() for _ in bounds[1:]]
    for account in book.accounts:
        fees = [*account.fees, *(f for c in account.contracts for f in c.fees)]
        for fee in fees:
            if (index := period_of(bounds, fee.day)) is not None:
                periods[index].one_time_fees += Fraction(fee.amount)
        for contract in account.contracts:
            for booking in contract.bookings:
                if (index := period_of(bounds, booking.day)) is not None:
                    periods[index].acvs.append(booking_acv(contract, booking, policy))
                    periods[index].tcv += booking_tcv(contract, booking)
    return periods


@dataclass(frozen=True)
class Movements(Result):
    """Exact figures over `(start, end]` as known at `position`; rounded only by `as_json`."""

    model_type: ClassVar[type[Figures]] = MovementsModel

    start: date
    end: date
    position: int
    currency: str
    acv_policy: AcvPolicy
    start_mrr: Fraction
    end_mrr: Fraction
    new: Fraction
    expansion: Fraction
    contraction: Fraction
    churn: Fraction
    reactivation: Fraction
    net_expansion: Fraction
    nrr: Fraction | None
    grr: Fraction | None
    logo_churn_rate: Fraction | None
    bookings: int
    bookings_acv: Fraction | None
    bookings_tcv: Fraction
    one_time_fees: Fraction

    @property
    def net_new(self) -> Fraction:
        return net_new({kind: getattr(self, kind) for kind in KINDS})

    def as_json(self) -> dict[str, Any]:
        """Exactly the SPEC §9 `movements` keys, in SPEC order."""
        sums = {kind: getattr(self, kind) for kind in KINDS}
        span, mrrs = (self.start, self.end), (self.start_mrr, self.end_mrr)
        return {
            **_flows(span, self.position, self.currency, mrrs, sums),
            "net_expansion": money(self.net_expansion),
            "nrr": optional(ratio, self.nrr),
            "grr": optional(ratio, self.grr),
            "logo_churn_rate": optional(ratio, self.logo_churn_rate),
            "bookings": self.bookings,
            "bookings_acv": optional(money, self.bookings_acv),
            "bookings_tcv": money(self.bookings_tcv),
            "one_time_fees": money(self.one_time_fees),
        }


def movements(book: Book, start: date, end: date, policy: AcvPolicy = "recurring") -> Movements:
    """Movements, retention and bookings over `(start, end]` (SPEC §5-7)."""
    return movements_over(book, [start, end], policy)[0]


def movements_over(
    book: Book, bounds: Sequence[date], policy: AcvPolicy = "recurring"
) -> list[Movements]:
    """Movements over each period `(bounds[i], bounds[i + 1]]`, from one pass over the book:
    every customer's steps are found once, however many periods are asked."""
    for start, end in pairwise(bounds):
        check_period(start, end)
    customers = [Steps.of(account) for account in book.accounts]
    moved = flows((m for c in customers for m in c.movements()), bounds)
    levels = [[c.mrr_on(day) for day in bounds] for c in customers if c.days]
    booked = bookings(book, bounds, policy)
    return [
        _period(
            book, bounds[i : i + 2], policy, moved[i], [(m[i], m[i + 1]) for m in levels], booked[i]
        )
        for i in range(len(bounds) - 1)
    ]


def _period(
    book: Book,
    ends: Sequence[date],
    policy: AcvPolicy,
    sums: dict[Kind, Fraction],
    levels: list[tuple[Fraction, Fraction]],
    booked: Bookings,
) -> Movements:
    kept = retention(levels)
    return Movements(
        start=ends[0],
        end=ends[1],
        position=book.position,
        currency=book.currency,
        acv_policy=policy,
        start_mrr=sum((a for a, _ in levels if a), ZERO),
        end_mrr=sum((b for _, b in levels if b), ZERO),
        new=sums["new"],
        expansion=sums["expansion"],
        contraction=sums["contraction"],
        churn=sums["churn"],
        reactivation=sums["reactivation"],
        net_expansion=kept.net_expansion,
        nrr=kept.nrr,
        grr=kept.grr,
        logo_churn_rate=kept.logo_churn_rate,
        bookings=len(booked.acvs),
        bookings_acv=mean(booked.acvs),
        bookings_tcv=booked.tcv,
        one_time_fees=booked.one_time_fees,
    )
