"""Contract value (SPEC §7): which booking a fee belongs to, ACV and TCV.

Given a `Converter`, amounts are in the reporting currency: a booking's recurring value at
the rate on its date, each fee at the rate on its own (SPEC §10); without one, they are in
the contract's own currency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Literal

from ledger.domain.dates import add_months
from ledger.domain.timeline import Booking, Fee
from projections.figures.book import Contract
from projections.figures.conversion import Converter

AcvPolicy = Literal["recurring", "including_fees"]
ACV_POLICIES: tuple[AcvPolicy, ...] = ("recurring", "including_fees")
ZERO = Fraction(0)


def rate_day(contract: Contract, fee: Fee) -> date:
    """The day a subscription's fee is converted at (SPEC §10): its own, or its booking's
    when it is dated before it."""
    booking = contract.owner_of(fee)
    return max(fee.day, booking.day) if booking else fee.day


def fees_of(contract: Contract, booking: Booking) -> list[tuple[date, Fraction]]:
    """A booking's fees, each dated no earlier than the booking itself."""
    return [
        (max(fee.day, booking.day), Fraction(fee.amount))
        for fee, owner in zip(contract.fees, contract.fee_owners, strict=True)
        if owner == booking
    ]


def converted(
    contract: Contract, fees: list[tuple[date, Fraction]], rates: Converter | None
) -> Fraction:
    """The sum of fees, each converted at the rate on its date (asked only of the fees
    that count: a rate is needed only for an amount that is used)."""
    if rates is None or contract.currency == rates.reporting:
        return sum((a for _, a in fees), Fraction(0))
    return sum((a * rates.dated(contract.currency, d) for d, a in fees), Fraction(0))


def anchor_year(anchor: date, day: date) -> tuple[date, date]:
    """The 12-month period [anchor + 12k, anchor + 12(k+1)) that contains `day`."""
    k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // 12
    while add_months(anchor, 12 * k) > day:
        k -= 1
    while add_months(anchor, 12 * (k + 1)) <= day:
        k += 1
    return add_months(anchor, 12 * k), add_months(anchor, 12 * (k + 1))


def fee_acv(
    contract: Contract,
    day: date,
    rates: Converter | None = None,
    owned: Callable[[Booking], list[tuple[date, Fraction]]] | None = None,
) -> Fraction:
    """What a contract's fees add to its ACV on `day` under `including_fees` (SPEC §7).
    `owned` gives a booking's fees (`fees_of`), when they are known already."""
    booking = contract.booking_on(day)
    if booking is None:
        return Fraction(0)
    fees = owned(booking) if owned is not None else fees_of(contract, booking)
    if not fees:
        return Fraction(0)
    if booking.term_months:
        return converted(contract, fees, rates) * 12 / booking.term_months
    start, end = anchor_year(booking.day, day)
    return converted(contract, [(d, a) for d, a in fees if start <= d < end], rates)


def contract_acv(
    contract: Contract, day: date, policy: AcvPolicy, rates: Converter | None = None
) -> Fraction:
    """ACV of an active contract on `day`."""
    mrr = contract.converted_on(day, rates) if rates else contract.mrr_on(day)
    recurring = mrr * 12
    return recurring if policy == "recurring" else recurring + fee_acv(contract, day, rates)


def booking_fees(contract: Contract, booking: Booking, rates: Converter | None = None) -> Fraction:
    """The fees counted in a booking's own value, converted."""
    return converted(contract, counted_fees(contract, booking), rates)


def counted_fees(contract: Contract, booking: Booking) -> list[tuple[date, Fraction]]:
    """The fees counted in a booking's own value (evergreen: only those within its span),
    each with the day its rate is taken."""
    fees = fees_of(contract, booking)
    if not booking.term_months:
        end = add_months(booking.day, booking.span_months)
        fees = [(d, a) for d, a in fees if d < end]
    return fees


def booking_values(
    contract: Contract, booking: Booking, rates: Converter | None = None
) -> tuple[Fraction, Fraction, Fraction]:
    """A booking's ACV under each policy, recurring then including fees, and its TCV."""
    fees = booking_fees(contract, booking, rates) if contract.fees else Fraction(0)
    if rates is None or contract.currency == rates.reporting:
        return fee_free_values(booking.price, booking.interval, booking.term_months, fees)
    rate = rates.dated(contract.currency, booking.day)
    annualized, _, tcv = fee_free_values(booking.price, booking.interval, booking.term_months, ZERO)
    term = booking.term_months
    with_fees = annualized * rate + (fees * 12 / term if term else fees)
    return annualized * rate, with_fees, tcv * rate + fees


@lru_cache(maxsize=1 << 12)  # prices and terms repeat from customer to customer
def fee_free_values(
    price: Decimal, interval: int, term_months: int | None, fees: Fraction
) -> tuple[Fraction, Fraction, Fraction]:
    annualized = Fraction(price) * 12 / interval
    with_fees = annualized + (fees * 12 / term_months if term_months else fees)
    tcv = Fraction(price) * (term_months or interval) / interval + fees
    return annualized, with_fees, tcv
