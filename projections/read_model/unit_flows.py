"""A foreign customer's flows in its own currencies, tagged with their unit (SPEC §10):
its movements, its bookings' values and its one-time fees, for `movements` and `series`.

Converted, every one of them is a sum of local amounts each times one rate: a unit's
(`rows.UNIT`, `EUR|2024-01-01`: a currency, and the day the rate is taken under `booked`
or, for a booking or a fee, under `spot` too). So the rows keep the local amounts by
unit, and a query converts their sums (`foreign_parts`).

A movement on day d compares yesterday's business at today's rates with today's: a
subscription that did not change adds as much to both, so only the changed ones count,
each in the unit of its price in force on d (or, gone, of its last). Whether a day is a
new customer, a reactivation or a churn does not depend on rates; an expansion or a
contraction does only when the changed subscriptions moved in opposite directions in
different units: such a day is kept `mixed`, with each unit's signed change, and the
query adds them up at its rates before it classifies them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from fractions import Fraction

from ledger.domain.dates import DAY
from ledger.domain.timeline import Segment, Timeline
from projections.figures.book import Account, Contract, account_of
from projections.figures.contract_value import counted_fees, rate_day
from projections.figures.keys import MovementKind
from projections.read_model.rows import OPEN_END, Derived

CODES: dict[MovementKind, str] = {
    "new": "n",
    "reactivation": "r",
    "expansion": "e",
    "contraction": "c",
    "churn": "h",
}
"""A movement row's code, after its unit: `EUR|2024-01-01|e`."""
MIXED = "m"
KIND_OF: dict[str, MovementKind] = {code: kind for kind, code in CODES.items()}

ANNUALIZED, TCV, FEE_ACV, FEE_TCV, COUNTED = "a", "t", "f", "g", "k"
"""A booking row's codes: its recurring ACV and its TCV without fees, in the unit of its
day; what its fees add to its ACV under `including_fees` and to its TCV, in the unit of
each fee's day; and 1, to count it."""

Moved = tuple[str, str, Fraction]
"""A unit, a code and a local amount."""


def unit_move_rows(timeline: Timeline) -> Iterator[Derived]:
    account = account_of(timeline)
    starts = [s.start for c in account.contracts for s in c.segments]
    if not starts:
        return
    first, found = min(starts), defaultdict[tuple[date, str], Fraction](Fraction)
    for day in sorted(account.change_days()):
        for unit, code, amount in _moved(account, day, first < day):
            found[(day, f"{unit}|{code}")] += amount
    for (day, key), amount in sorted(found.items()):
        if amount:
            yield (key, day, OPEN_END, amount.numerator, amount.denominator)


def _moved(account: Account, day: date, seen: bool) -> Iterator[Moved]:
    """SPEC §5's movement on `day`, by unit (as `movements.converted_movements`)."""
    before = day - DAY
    pairs = [(c.segment_on(before), c.segment_on(day)) for c in account.contracts]
    was = any(old is not None and old.mrr for old, _ in pairs)
    now = any(new is not None and new.mrr for _, new in pairs)
    if not was:
        code = CODES["reactivation" if seen else "new"]
        yield from ((unit(new), code, new.mrr) for _, new in pairs if new is not None and new.mrr)
        return
    if not now:
        churned = CODES["churn"]
        yield from (
            (unit(new or old), churned, old.mrr)
            for old, new in pairs
            if old is not None and old.mrr
        )
        return
    changes: dict[str, Fraction] = defaultdict(Fraction)
    for old, new in pairs:
        if old is not new and (last := new or old) is not None:
            changes[unit(last)] += (new.mrr if new else 0) - (old.mrr if old else 0)
    changed = {u: amount for u, amount in changes.items() if amount}
    if all(amount > 0 for amount in changed.values()):
        yield from ((u, CODES["expansion"], amount) for u, amount in changed.items())
    elif all(amount < 0 for amount in changed.values()):
        yield from ((u, CODES["contraction"], -amount) for u, amount in changed.items())
    else:
        yield from ((u, MIXED, amount) for u, amount in changed.items())


def unit(segment: Segment) -> str:
    return f"{segment.currency}|{segment.priced.isoformat()}"


def unit_booking_rows(timeline: Timeline) -> Iterator[Derived]:
    """Each booking's values (`contract_value.booking_values`), on its day."""
    for contract in account_of(timeline).contracts:
        for booking in contract.bookings:
            annualized = booking.annualized
            months = booking.term_months or booking.interval
            own = f"{contract.currency}|{booking.day.isoformat()}"
            parts: dict[str, Fraction] = {
                f"{own}|{ANNUALIZED}": annualized,
                f"{own}|{TCV}": Fraction(booking.price) * months / booking.interval,
                f"{own}|{COUNTED}": Fraction(1),
            }
            for key, amount in _fee_parts(
                contract, booking.term_months, counted_fees(contract, booking)
            ):
                parts[key] = parts.get(key, Fraction(0)) + amount
            for key, amount in parts.items():
                row = f"{key}|{booking.event_id}"
                yield (row, booking.day, OPEN_END, amount.numerator, amount.denominator)


def _fee_parts(
    contract: Contract, term: int | None, fees: list[tuple[date, Fraction]]
) -> Iterator[tuple[str, Fraction]]:
    for day, amount in fees:
        fee_unit = f"{contract.currency}|{day.isoformat()}"
        yield f"{fee_unit}|{FEE_ACV}", amount * 12 / term if term else amount
        yield f"{fee_unit}|{FEE_TCV}", amount


def unit_fee_rows(timeline: Timeline) -> Iterator[Derived]:
    """Each one-time fee on its own day, in the unit of the day it is converted at."""
    account = account_of(timeline)
    for fee in account.fees:
        amount = Fraction(fee.amount)
        key = f"{fee.currency}|{fee.day.isoformat()}|{fee.event_id}"
        yield (key, fee.day, OPEN_END, amount.numerator, amount.denominator)
    for contract in account.contracts:
        for fee in contract.fees:
            amount = Fraction(fee.amount)
            key = f"{contract.currency}|{rate_day(contract, fee).isoformat()}|{fee.event_id}"
            yield (key, fee.day, OPEN_END, amount.numerator, amount.denominator)
