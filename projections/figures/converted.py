"""The figures of the customers with anything in another currency (SPEC §10), fast.

Their MRR on a day is a sum over *units* of local MRR times one rate: under `spot` and
`fixed` a unit is a currency, under `booked` a currency and the day a price was set. So
the local MRR of every unit is swept once over all the days asked, and each unit's total
is converted once a day, not each subscription's.

Retention needs each customer's MRR at both ends of a period, but a customer whose
subscriptions did not change in the period (a non-mover) changes only by its rate: under
`booked` and `fixed` not at all, under `spot` by its currency's rate. Only the movers,
and under `spot` the customers in several currencies, are converted one by one; the
others are summed by currency.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from ledger.domain.money import Total
from ledger.domain.timeline import Booking, Segment
from projections.figures import lifecycle
from projections.figures.book import Account, Contract
from projections.figures.contract_value import AcvPolicy, fee_acv, fees_of
from projections.figures.conversion import Converter
from projections.figures.movements import (
    Flows,
    Kept,
    Level,
    Part,
    Parts,
    kept_by,
    periods,
)
from projections.figures.report import Measures

Unit = tuple[str, date | None]
"""A currency and, under `booked`, the day its price was set: one rate converts it."""
ZERO = Fraction(0)


def unit_of(segment: Segment, rates: Converter) -> Unit:
    return (segment.currency, segment.priced if rates.policy.kind == "booked" else None)


def unit_rate(unit: Unit, day: date, rates: Converter, segment: Segment | None = None) -> Fraction:
    currency, priced = unit
    if priced is not None and segment is not None:
        return rates.of_segment(segment, day)
    if priced is not None:
        why = " (the date its price was set)"
        return rates.rate(currency, priced, why)
    return rates.dated(currency, day)


@dataclass
class Sweep:
    """Every unit's local MRR, and the counts, at each of some days (in any order)."""

    local: list[dict[Unit, Fraction]]
    contracts: list[int]
    customers: list[int]
    examples: dict[Unit, Segment]  # a segment of each unit: it names it in a missing rate


def sweep(accounts: Sequence[Account], days: Sequence[date], rates: Converter) -> Sweep:
    changes: list[tuple[date, Unit | None, Fraction, int]] = []
    examples: dict[Unit, Segment] = {}
    for account in accounts:
        spans: list[tuple[date, date | None]] = []
        for contract in account.contracts:
            for segment in contract.segments:
                unit = unit_of(segment, rates)
                examples.setdefault(unit, segment)
                changes.append((segment.start, unit, segment.mrr, 1))
                if segment.end is not None:
                    changes.append((segment.end, unit, -segment.mrr, -1))
                spans.append((segment.start, segment.end))
        for start, end in _merged(spans):
            changes.append((start, None, ZERO, 1))
            if end is not None:
                changes.append((end, None, ZERO, -1))
    changes.sort(key=lambda c: c[0])
    order = sorted(range(len(days)), key=lambda i: days[i])
    totals: dict[Unit, Total] = defaultdict(Total)
    contracts = customers = 0
    found = Sweep([{} for _ in days], [0] * len(days), [0] * len(days), examples)
    at = 0
    for index in order:
        while at < len(changes) and changes[at][0] <= days[index]:
            _, key, mrr, step = changes[at]
            if key is None:
                customers += step
            else:
                totals[key].add(mrr)
                contracts += step
            at += 1
        found.local[index] = {u: v for u, t in totals.items() if (v := t.value)}
        found.contracts[index], found.customers[index] = contracts, customers
    return found


def _merged(spans: list[tuple[date, date | None]]) -> Iterable[tuple[date, date | None]]:
    """The runs of days covered by any of the spans (an end None is open)."""
    current: list[date | None] | None = None
    for start, end in sorted(spans, key=lambda s: s[0]):
        if current is not None and (current[1] is None or start <= current[1]):
            if current[1] is not None and (end is None or end > current[1]):
                current[1] = end
            continue
        if current is not None:
            assert current[0] is not None
            yield current[0], current[1]
        current = [start, end]
    if current is not None:
        assert current[0] is not None
        yield current[0], current[1]


def converted(local: dict[Unit, Fraction], day: date, rates: Converter, found: Sweep) -> Fraction:
    """Local MRR by unit, converted on `day`."""
    total = Total()
    for unit, value in local.items():
        total.add(value * unit_rate(unit, day, rates, found.examples.get(unit)))
    return total.value


def measures(accounts: Sequence[Account], days: Sequence[date], rates: Converter) -> list[Measures]:
    """The report's sums of these customers on each day (`report.measures_of`)."""
    found = sweep(accounts, days, rates)
    priced = [(c, _owned(c)) for a in accounts for c in a.contracts if c.fees]
    living = [a for a in accounts if a.lifecycle]
    out = []
    for index, day in enumerate(days):
        fees = Total()
        for contract, owned in priced:
            if contract.active_on(day):
                fees.add(fee_acv(contract, day, rates, owned))
        out.append(
            {
                "mrr": converted(found.local[index], day, rates, found),
                "active_customers": Fraction(found.customers[index]),
                "active_contracts": Fraction(found.contracts[index]),
                "fees": fees.value,
                **_lifecycle(living, day, rates),
            }
        )
    return out


def _lifecycle(accounts: Sequence[Account], day: date, rates: Converter) -> Measures:
    """SPEC §11's sums on `day`: trialing contracts, paused customers, discounts."""
    return {
        "trialing_contracts": Fraction(sum(lifecycle.trialing_contracts(a, day) for a in accounts)),
        "paused_customers": Fraction(sum(lifecycle.paused_on(a, day) for a in accounts)),
        "discounts": sum((lifecycle.discounts(a, day, rates) for a in accounts), ZERO),
    }


def _owned(contract: Contract) -> Callable[[Booking], list[tuple[date, Fraction]]]:
    """Each booking's fees, found once for all the days asked."""
    found: dict[int, list[tuple[date, Fraction]]] = {}

    def owned(booking: Booking) -> list[tuple[date, Fraction]]:
        if booking.position not in found:
            found[booking.position] = fees_of(contract, booking)
        return found[booking.position]

    return owned


def parts(
    accounts: Sequence[Account], bounds: Sequence[date], policy: AcvPolicy, rates: Converter
) -> Parts:
    """These customers' part of the figures over each period between `bounds`."""
    flows = Flows.of(accounts, rates, (bounds[0], bounds[-1]))
    found = sweep(accounts, bounds, rates)
    levels = [
        Level(converted(found.local[i], day, rates, found), found.customers[i])
        for i, day in enumerate(bounds)
    ]
    summed = periods(bounds, flows, policy)
    kept = _kept(accounts, bounds, rates, found)
    return Parts(levels, [(s, k) for (s, _), k in zip(summed, kept, strict=True)])


def _kept(
    accounts: Sequence[Account], bounds: Sequence[date], rates: Converter, found: Sweep
) -> list[Kept]:
    """What the customers active at each period's start changed (`Kept`): the movers
    (and under `spot` the customers in several currencies) one by one, the others by
    currency, whose rate alone moved them."""
    exact: list[list[Account]] = [[] for _ in bounds[1:]]
    spot = rates.policy.kind == "spot"
    for account in accounts:
        periods_moved = {_period(bounds, d) for d in account.change_days()}
        mixed = spot and len({c.currency for c in account.contracts}) > 1
        for index in range(len(bounds) - 1):
            if mixed or index in periods_moved:
                exact[index].append(account)
    kept: list[Kept] = []
    for index, accounts_moved in enumerate(exact):
        start, end = bounds[index], bounds[index + 1]
        pairs = [(a.converted_on(start, rates), a.converted_on(end, rates)) for a in accounts_moved]
        part = kept_by(pairs)
        # SPEC §11: a customer paused at the end is not lost (its MRR there is 0)
        paused = sum(
            1
            for a, (before, _) in zip(accounts_moved, pairs, strict=True)
            if before and a.lifecycle and lifecycle.paused_on(a, end)
        )
        part = replace(part, churned=part.churned - paused)
        if spot:
            part = part + _by_rate(found.local[index], accounts_moved, (start, end), rates)
        kept.append(part)
    return kept


def _by_rate(
    local: dict[Unit, Fraction],
    movers: Sequence[Account],
    ends: tuple[date, date],
    rates: Converter,
) -> Kept:
    """The non-movers in one currency each: their local MRR at the start, by currency
    (all of it less the movers'), moved only by the rate from start to end."""
    start, end = ends
    others = dict(local)
    for account in movers:
        for contract in account.contracts:
            if (segment := contract.segment_on(start)) is not None:
                mine: Unit = (segment.currency, None)
                others[mine] = others.get(mine, ZERO) - segment.mrr
    kept, lost = Total(), Total()
    for unit, value in others.items():
        if not value:
            continue
        change = value * (unit_rate(unit, end, rates) - unit_rate(unit, start, rates))
        kept.add(change)
        if change < 0:
            lost.add(change)
    return Kept(kept.value, lost.value, kept.value, 0)


def _period(bounds: Sequence[date], day: date) -> int:
    """The index of the period `(bounds[i], bounds[i + 1]]` holding `day` (-1: none)."""
    index = bisect_left(bounds, day) - 1
    return index if 0 <= index < len(bounds) - 1 else -1


__all__ = ["Part", "measures", "parts"]
