"""Point-in-time figures (SPEC §4, §7): the `report` of one `as_of` date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import lcm
from operator import itemgetter
from typing import Any, ClassVar, NamedTuple

from ledger.domain.money import money, optional, ratio
from projections.figures.book import Book
from projections.figures.contract_value import AcvPolicy, fee_acv
from projections.figures.conversion import SPOT, FxPolicy
from projections.figures.results import Result


def share(part: Fraction, whole: Fraction) -> Fraction | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Report(Result):
    """Exact figures; rounded only by `as_json`."""

    model_name: ClassVar[str] = "ReportModel"

    as_of: date
    position: int
    currency: str
    mrr: Fraction
    active_customers: int
    active_contracts: int
    acv: Fraction | None
    acv_policy: AcvPolicy
    acv_arr_ratio: Fraction | None
    fx_policy: FxPolicy = SPOT
    trialing_contracts: int = 0  # SPEC §11
    paused_customers: int = 0
    discounts: Fraction = Fraction(0)

    @property
    def arr(self) -> Fraction:
        return self.mrr * 12

    @property
    def arpa(self) -> Fraction | None:
        return self.mrr / self.active_customers if self.active_customers else None

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "position": self.position,
            "currency": self.currency,
            "fx_policy": str(self.fx_policy),
            "mrr": money(self.mrr),
            "arr": money(self.arr),
            "active_customers": self.active_customers,
            "active_contracts": self.active_contracts,
            "arpa": optional(money, self.arpa),
            "acv": optional(money, self.acv),
            "acv_policy": self.acv_policy,
            "acv_arr_ratio": optional(ratio, self.acv_arr_ratio),
            "trialing_contracts": self.trialing_contracts,
            "paused_customers": self.paused_customers,
            "discounts": money(self.discounts),
        }


Measures = dict[str, Fraction]
"""The sums a report is made of (`report_of`): `mrr`, `active_customers`,
`active_contracts` and `fees`, the fee parts of the contracts' ACV, and (of the customers
with a trial, a pause or a discount, SPEC §11: 0 for the others, so they may be absent)
`trialing_contracts`, `paused_customers` and `discounts`. Sums over customers: those of
two sets of customers add up."""


def report(book: Book, as_of: date, policy: AcvPolicy = "recurring", fx: FxPolicy = SPOT) -> Report:
    figures = measures_of(book, as_of, fx)
    return report_of(figures, as_of, book.position, book.currency, policy, fx)


def measures_of(book: Book, as_of: date, fx: FxPolicy = SPOT) -> Measures:
    """A contract's ACV is 12 × its MRR plus, under `including_fees`, its fee part: so a
    report needs only the total MRR and the (mostly zero) fee parts."""
    mrr, customers, contracts, fees = Fraction(0), 0, 0, Fraction(0)
    rates = book.converter(fx)
    foreign = [a for a in book.accounts if a.foreign]
    for account in (a for a in book.accounts if not a.foreign):
        customer_mrr = account.mrr_on(as_of)
        mrr += customer_mrr
        customers += customer_mrr > 0
        for contract in account.contracts:
            if contract.active_on(as_of):
                contracts += 1
                fees += fee_acv(contract, as_of)
    counts = {"active_customers": Fraction(customers), "active_contracts": Fraction(contracts)}
    found = {"mrr": mrr, **counts, "fees": fees}
    if foreign:
        from projections.figures import converted  # it builds on this module

        theirs = converted.measures(foreign, [as_of], rates)[0]
        found = {name: found.get(name, Fraction(0)) + value for name, value in theirs.items()}
    return found


def report_of(
    figures: Measures,
    as_of: date,
    position: int,
    currency: str,
    policy: AcvPolicy,
    fx: FxPolicy,
) -> Report:
    mrr, contracts = figures["mrr"], figures["active_contracts"]
    recurring, with_fees = mrr * 12, mrr * 12 + figures["fees"]
    return Report(
        as_of=as_of,
        position=position,
        currency=currency,
        mrr=mrr,
        active_customers=int(figures["active_customers"]),
        active_contracts=int(contracts),
        acv=share(recurring if policy == "recurring" else with_fees, contracts),
        acv_policy=policy,
        acv_arr_ratio=share(with_fees, recurring),
        fx_policy=fx,
        trialing_contracts=int(figures.get("trialing_contracts", 0)),
        paused_customers=int(figures.get("paused_customers", 0)),
        discounts=figures.get("discounts", Fraction(0)),
    )


@dataclass(frozen=True)
class CurrencyLine:
    """One currency's part of a report, with the rate that converted it (SPEC §10)."""

    as_of: date
    position: int
    currency: str
    local_mrr: Fraction
    rate: Fraction | None  # None under `booked`: each price has its own
    mrr: Fraction
    fx_policy: FxPolicy

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "position": self.position,
            "fx_policy": str(self.fx_policy),
            "currency": self.currency,
            "local_mrr": money(self.local_mrr),
            "rate": None if self.rate is None else _rate(self.rate),
            "mrr": money(self.mrr),
        }


def by_currency(book: Book, as_of: date, fx: FxPolicy = SPOT) -> list[CurrencyLine]:
    """One line per currency with subscriptions active on `as_of`, in code order."""
    rates = book.converter(fx)
    local: dict[str, list[Fraction]] = {}
    for account in book.accounts:
        for contract in account.contracts:
            if (segment := contract.segment_on(as_of)) is not None:
                sums = local.setdefault(segment.currency, [Fraction(0), Fraction(0)])
                sums[0] += segment.mrr
                sums[1] += rates.segment_mrr(segment, as_of)
    return [
        CurrencyLine(as_of, book.position, code, sums[0], rate, sums[1], fx)
        for code, sums in sorted(local.items())
        for rate in [None if fx.kind == "booked" else rates.dated(code, as_of)]
    ]


def _rate(rate: Fraction) -> str:
    """A rate as recorded: exact (it has at most 10 fraction digits), "1" for the ledger's."""
    return format((Decimal(rate.numerator) / rate.denominator).normalize(), "f")


UNSPECIFIED = "unspecified"
"""The plan of a subscription that no event gave one (SPEC §13)."""


class SegmentLine(NamedTuple):
    """One customer's or one plan's part of a report (SPEC §13 segments): the lines of a
    report add up to its MRR and its active contracts exactly, before rounding. A tuple:
    a report by customer makes 100,000 of them, at a third of a dataclass's cost."""

    as_of: date
    position: int
    key: str  # `customer_id` or `plan`, as `group` names it
    group: str
    mrr: Fraction
    active_contracts: int
    fx_policy: FxPolicy

    @property
    def arr(self) -> Fraction:
        return self.mrr * 12

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "position": self.position,
            "fx_policy": str(self.fx_policy),
            self.group: self.key,
            "mrr": money(self.mrr),
            "arr": money(self.arr),
            "active_contracts": self.active_contracts,
        }


Sums = dict[str, tuple[Fraction, int]]
"""Converted MRR and active contracts by customer or by plan."""


def segment_lines(
    sums: Sums, group: str, as_of: date, position: int, fx: FxPolicy
) -> list[SegmentLine]:
    """The lines of `sums`, biggest ARR first, then by key (the same order for plans)."""
    parts = [(k, m.numerator, m.denominator, n) for k, (m, n) in sums.items()]
    return ordered_lines(parts, group, as_of, position, fx)


Part = tuple[str, int, int, int]
"""A line's key, its MRR as numerator and denominator, and its active contracts."""


def ordered_lines(
    parts: list[Part], group: str, as_of: date, position: int, fx: FxPolicy
) -> list[SegmentLine]:
    """The lines of `parts`, biggest ARR first, then by key."""
    # Sorted by exact integers (MRR over the lines' common denominator), before any
    # Fraction is made: comparing Fractions cost most of the time of 100,000 lines. By
    # key, then (a stable sort) by MRR: two sorts on one field each cost half as much as
    # one on pairs, and the first is nearly free when the parts come in key order.
    common = lcm(1, *{den for _, _, den, _ in parts})
    parts.sort(key=itemgetter(0))
    parts.sort(key=lambda part: -part[1] * (common // part[2]))
    return [
        SegmentLine(as_of, position, key, group, Fraction(num, den), count, fx)
        for key, num, den, count in parts
    ]


def by_customer(book: Book, as_of: date, fx: FxPolicy = SPOT) -> list[SegmentLine]:
    """One line per customer with an active contract on `as_of` (the replay: the
    reference of the read model's `by_customer`)."""
    return segment_lines(
        _sums(book, as_of, fx, "customer_id"), "customer_id", as_of, *_at(book, fx)
    )


def by_plan(book: Book, as_of: date, fx: FxPolicy = SPOT) -> list[SegmentLine]:
    """One line per plan in force of a subscription active on `as_of`."""
    return segment_lines(_sums(book, as_of, fx, "plan"), "plan", as_of, *_at(book, fx))


def _at(book: Book, fx: FxPolicy) -> tuple[int, FxPolicy]:
    return book.position, fx


def _sums(book: Book, as_of: date, fx: FxPolicy, group: str) -> Sums:
    rates = book.converter(fx)
    found: Sums = {}
    for account in book.accounts:
        for contract in account.contracts:
            if (segment := contract.segment_on(as_of)) is None:
                continue
            key = account.customer_id if group == "customer_id" else segment.plan or UNSPECIFIED
            mrr, count = found.get(key, (Fraction(0), 0))
            found[key] = (mrr + rates.segment_mrr(segment, as_of), count + 1)
    return found
