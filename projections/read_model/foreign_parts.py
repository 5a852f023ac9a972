"""The foreign customers' part of `movements` and `series` (SPEC §10), from their unit
rows: their segments row by row (`UnitCustomers`), their flows and spans as the
database's sums by unit and day (`unit_sums`). No event is decoded, no timeline folded.
It adds up with the other customers' part (`movements.Parts`), and equals
`converted.parts` of a replay (the tests check it).

Conversion here is integer work (`scaled`): a converted sum is an integer over the
values' scale times the rates', made a `Fraction` once per figure.

Retention needs each customer's MRR at both ends of a period, but one whose local MRR
is the same at both moves only by its rate: under `booked` and `fixed` not at all, under
`spot` by its currency's. So only the others (and under `spot` the customers in several
currencies) are converted one by one, the rest by currency.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from itertools import accumulate

from sqlalchemy import Connection

from projections.figures.cohorts import CohortSums
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import Converter
from projections.figures.keys import MovementKind
from projections.figures.movements import KINDS, Kept, Level, Parts, PeriodSums
from projections.figures.netting import Sums
from projections.figures.report import Measures
from projections.figures.trailing import Windows
from projections.read_model import unit_sums
from projections.read_model.rows import OPEN_END, UNIT
from projections.read_model.scaled import CURRENCY, Rates, Scaled, period
from projections.read_model.sql import Raw
from projections.read_model.unit_customers import UnitCustomers
from projections.read_model.unit_flows import (
    ANNUALIZED,
    COUNTED,
    FEE_ACV,
    FEE_TCV,
    KIND_OF,
    MIXED,
    TCV,
)
from projections.read_model.unit_sums import Ask, Sum

CODE = UNIT + 1
"""Where a flow row's code is, after its unit and a bar (`EUR|2024-01-01|e`)."""
_CODED = CODE + 1
"""The length of a flow's unit and code, which lead its key."""


@dataclass
class UnitPart:
    """The foreign customers believed at `position`, converted with `rates`."""

    conn: Connection
    position: int
    rates: Converter
    _read: _Read | None = None
    _customers_read: UnitCustomers | None = None

    def measures(self, bounds: Sequence[date]) -> list[Measures]:
        return self._of(bounds).measures()

    def parts(self, bounds: Sequence[date], policy: AcvPolicy) -> Parts:
        found = self._of(bounds)
        return Parts(found.levels(), found.periods(policy))

    def trailing(self, windows: Windows) -> None:
        self._customers().trailing(windows)

    def netted(self, bounds: Sequence[date]) -> Sums:
        return self._customers().netted(bounds)

    def add_cohorts(self, sums: CohortSums) -> None:
        self._customers().add_cohorts(sums)

    def _customers(self) -> UnitCustomers:
        if self._customers_read is None:
            self._customers_read = UnitCustomers.read(Raw(self.conn), self.position, self.rates)
        return self._customers_read

    def _of(self, bounds: Sequence[date]) -> _Read:
        if self._read is None or self._read.bounds != list(bounds):
            self._read = _Read.of(Raw(self.conn), self.position, list(bounds), self._customers())
        return self._read


@dataclass
class _Read:
    """The segments believed at a position (`UnitCustomers`, over their scale), and the
    sums of the other rows by unit and day (over theirs, `flows`)."""

    bounds: list[date]
    customers: UnitCustomers
    flows: int  # the scale of the sums
    spans: list[Sum]
    fee_spans: list[Sum]
    moves: list[Sum]
    bookings: list[Sum]
    fees: list[Sum]
    _steps: _Steps | None = None
    _swept: _Sweep | None = None

    @classmethod
    def of(cls, raw: Raw, position: int, bounds: list[date], customers: UnitCustomers) -> _Read:
        within = (bounds[0], bounds[-1])
        mixed = f"substr(subscription_id, {CODE + 1}, 1) = '{MIXED}'"
        asks = (
            Ask("unit_customer_span", 0),
            Ask("unit_customer_span", 0, ends=True),
            Ask("unit_fee_span", UNIT),
            Ask("unit_fee_span", UNIT, ends=True),
            Ask("unit_move", _CODED, by_customer=mixed, within=within),
            Ask("unit_booking", _CODED, within=within),
            Ask("unit_fee", UNIT, within=within),
        )
        found = unit_sums.read(raw, position, asks)
        spans, ended, fee_spans, fees_ended, moves, bookings, fees = (f.rows for f in found)
        return cls(
            bounds,
            customers,
            found[0].scale,
            spans + ended,
            fee_spans + fees_ended,
            moves,
            bookings,
            fees,
        )

    @property
    def rates(self) -> Scaled:
        return self.customers.rates

    def fraction(self, value: int) -> Fraction:
        """A converted sum of segments' values."""
        return Fraction(value, self.customers.den)

    def flow(self, value: int) -> Fraction:
        """A converted sum of the other rows' values."""
        return Fraction(value, self.flows * self.rates.scale)

    @property
    def steps(self) -> _Steps:
        if self._steps is None:
            self._steps = _Steps.of(self)
        return self._steps

    @property
    def swept(self) -> _Sweep:
        if self._swept is None:
            self._swept = _Sweep.of(self)
        return self._swept

    def measures(self) -> list[Measures]:
        swept = self.swept
        return [
            {
                "mrr": self.fraction(swept.mrr[i]),
                "active_customers": Fraction(swept.customers[i]),
                "active_contracts": Fraction(swept.contracts[i]),
                "fees": self.flow(swept.fees[i]),
            }
            for i in range(len(self.bounds))
        ]

    def levels(self) -> list[Level]:
        swept = self.swept
        return [
            Level(self.fraction(swept.mrr[i]), swept.customers[i]) for i in range(len(self.bounds))
        ]

    def periods(self, policy: AcvPolicy) -> list[tuple[PeriodSums, Kept]]:
        moved = self._moved()
        booked = self._booked(policy)
        charged = self._charged()
        kept = _Retention(self).kept()
        return [
            (
                PeriodSums(
                    {k: self.flow(moved[i][k]) for k in KINDS},
                    booked[i][0],
                    self.flow(booked[i][1]),
                    self.flow(booked[i][2]),
                    self.flow(charged[i]),
                ),
                kept[i],
            )
            for i in range(len(self.bounds) - 1)
        ]

    def _moved(self) -> list[dict[MovementKind, int]]:
        """Each period's movements by kind; a mixed day's once its units are converted."""
        found: list[dict[MovementKind, int]] = [dict.fromkeys(KINDS, 0) for _ in self.bounds[1:]]
        mixed: dict[tuple[str, date], int] = defaultdict(int)
        for customer, key, day, value, _ in self.moves:
            index = period(self.bounds, day)
            if index < 0:
                continue
            converted = value * self.rates.mrr(key[:UNIT], day)
            if key[CODE] == MIXED:
                mixed[(customer, day)] += converted
            else:
                found[index][KIND_OF[key[CODE]]] += converted
        for (_, day), total in mixed.items():
            sums = found[period(self.bounds, day)]
            if total > 0:
                sums["expansion"] += total
            elif total < 0:
                sums["contraction"] -= total
        return found

    def _booked(self, policy: AcvPolicy) -> list[tuple[int, int, int]]:
        """Each period's bookings: how many, their ACV under `policy`, their TCV."""
        counts, acvs, tcvs = ([0] * (len(self.bounds) - 1) for _ in range(3))
        with_fees = policy == "including_fees"
        for _, key, day, value, count in self.bookings:
            index, code = period(self.bounds, day), key[CODE]
            if index < 0:
                continue
            if code == COUNTED:
                counts[index] += count
                continue
            converted = value * self.rates.dated(key[:UNIT])
            if code == ANNUALIZED or (code == FEE_ACV and with_fees):
                acvs[index] += converted
            elif code in (TCV, FEE_TCV):
                tcvs[index] += converted
        return list(zip(counts, acvs, tcvs, strict=True))

    def _charged(self) -> list[int]:
        found = [0] * (len(self.bounds) - 1)
        for _, key, day, value, _ in self.fees:
            if (index := period(self.bounds, day)) >= 0:
                found[index] += value * self.rates.dated(key[:UNIT])
        return found


@dataclass
class _Sweep:
    """At each bound: MRR converted, customers, contracts and fee ACV converted; and,
    under `spot`, the local MRR of each currency (`_Retention`)."""

    mrr: list[int]
    customers: list[int]
    contracts: list[int]
    fees: list[int]
    local: list[dict[str, int]]

    @classmethod
    def of(cls, read: _Read) -> _Sweep:
        bounds, rates, steps = read.bounds, read.rates, read.steps
        fees = _running([(day, key, value) for _, key, day, value, _ in read.fee_spans], bounds)
        customers = _running([(day, "", count) for _, _, day, _, count in read.spans], bounds)
        return cls(
            [_converted(at, day, rates) for at, day in zip(steps.local, bounds, strict=True)],
            [at.get("", 0) for at in customers],
            steps.contracts,
            [sum(v * rates.dated(u) for u, v in at.items() if v) for at in fees],
            [] if rates.kind == "booked" else steps.local,
        )


def _converted(local: dict[str, int], day: date, rates: Scaled) -> int:
    return sum(value * rates.mrr(unit, day) for unit, value in local.items() if value)


Step = tuple[int, str, int]
"""At the bound of this index, a key's local MRR changes by so much."""


@dataclass
class _Steps:
    """Each customer's local MRR as its changes at the bounds, by the key its rate goes
    by (a currency; under `booked` each unit has its own rate, whatever the day), in
    order; and, over all of them, the local MRR by key and the contracts at each bound.
    A row covers the bounds `[first, last)`: from the first on or after its start to the
    first on or after its end."""

    customers: list[list[Step]]
    local: list[dict[str, int]]
    contracts: list[int]

    @classmethod
    def of(cls, read: _Read) -> _Steps:
        bounds, count = read.bounds, len(read.bounds)
        length = UNIT if read.rates.kind == "booked" else CURRENCY
        changes: list[dict[str, int]] = [{} for _ in range(count + 1)]
        contracts, customers = [0] * (count + 1), []
        for rows in read.customers.customers:
            steps: list[Step] = []
            for _, key, start, end, value in rows:
                first = bisect_left(bounds, start)
                last = count if end == OPEN_END else bisect_left(bounds, end)
                if first >= last:
                    continue
                contracts[first] += 1
                contracts[last] -= 1
                if value:
                    unit = key[:length]
                    steps.append((first, unit, value))
                    steps.append((last, unit, -value))
                    changes[first][unit] = changes[first].get(unit, 0) + value
                    changes[last][unit] = changes[last].get(unit, 0) - value
            steps.sort(key=lambda step: step[0])
            customers.append(steps)
        return cls(customers, _accumulated(changes[:count]), list(accumulate(contracts[:count])))


def _accumulated(changes: list[dict[str, int]]) -> list[dict[str, int]]:
    """Each key's running total of the changes, bound by bound."""
    totals: dict[str, int] = {}
    found = []
    for changed in changes:
        for key, value in changed.items():
            totals[key] = totals.get(key, 0) + value
        found.append(dict(totals))
    return found


def _running(changes: list[tuple[date, str, int]], bounds: Sequence[date]) -> list[dict[str, int]]:
    """Each key's total of the changes (on a day, a key's value changes by so much) made
    on or before each bound."""
    by_bound: list[dict[str, int]] = [{} for _ in range(len(bounds) + 1)]
    for day, key, value in changes:
        found = by_bound[bisect_left(bounds, day)]
        found[key] = found.get(key, 0) + value
    return _accumulated(by_bound[: len(bounds)])


@dataclass
class _Retention:
    """What the customers active at each period's start changed (`movements.Kept`).

    A customer whose local MRR is the same at a period's two bounds moves only by its
    rates: under `booked` and `fixed` not at all, under `spot`, in one currency, by its
    currency's, which is linear. So only the others are converted one by one: for each
    customer, the bounds at which its local MRR changes (`_Steps`).
    """

    read: _Read
    totals: list[list[int]] = field(init=False)  # by period: kept, lost, grown, churned
    others: list[dict[str, int]] = field(init=False)  # by period, under `spot`
    rated: Rates = field(init=False)

    def kept(self) -> list[Kept]:
        read = self.read
        bounds, spot = read.bounds, read.rates.kind == "spot"
        count = len(bounds) - 1
        self.totals = [[0, 0, 0, 0] for _ in range(count)]
        self.others = [dict(read.swept.local[i]) for i in range(count)] if spot else []
        self.rated = Rates(read.rates, bounds)
        for steps in read.steps.customers:
            several = spot and len({key for _, key, _ in steps}) > 1
            self._customer(steps, several)
        return [self._period(i) for i in range(count)]

    def _customer(self, steps: list[Step], every: bool) -> None:
        """One customer: the periods whose bounds see its local MRR differ; or, `every`
        one for a customer in several currencies under `spot`, whose rates alone can
        move it in opposite directions."""
        count = len(self.read.bounds)
        indices = range(count) if every else sorted({index for index, _, _ in steps})
        local: dict[str, int] = {}
        at = 0
        for index in indices:
            before = dict(local)
            while at < len(steps) and steps[at][0] == index:
                _, key, value = steps[at]
                local[key] = local.get(key, 0) + value
                at += 1
            if 0 < index < count:
                self._add(index - 1, before, local)

    def _add(self, i: int, before: dict[str, int], after: dict[str, int]) -> None:
        """The customer over period `i`: its local MRR at its two bounds."""
        if self.others:  # under `spot`: taken out of the currency's non-movers
            others = self.others[i]
            for key, value in before.items():
                others[key] -= value
        a = self._converted(before, i)
        if a <= 0:
            return
        b = self._converted(after, i + 1)
        totals = self.totals[i]
        totals[0] += b - a
        if b == 0:
            totals[3] += 1
        else:
            totals[2] += b - a
        if b < a:
            totals[1] += b - a

    def _converted(self, local: dict[str, int], j: int) -> int:
        return sum(value * self.rated.at(key, j) for key, value in local.items() if value)

    def _period(self, i: int) -> Kept:
        read = self.read
        low, high = read.bounds[i], read.bounds[i + 1]
        kept, lost, grown, churned = self.totals[i]
        for currency, value in (self.others[i] if self.others else {}).items():
            if value:  # the non-movers in one currency: only the rate moved them
                change = value * (read.rates.mrr(currency, high) - read.rates.mrr(currency, low))
                kept, grown = kept + change, grown + change
                lost += min(change, 0)
        f = read.fraction
        return Kept(f(kept), f(lost), f(grown), churned)
