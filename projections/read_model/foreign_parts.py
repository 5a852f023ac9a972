"""The foreign customers' part of `movements` and `series` (SPEC §10), read from their
unit rows (`rows.unit_segment_rows`, `unit_flows`): no event is decoded, no timeline
folded. It adds up with the other customers' part (`movements.Parts`), and equals
`converted.parts` of a replay (the tests check it).

Conversion here is integer work. Every local value read is a whole multiple of 1/L, L
the least common multiple of the denominators read, and every rate one of 1/S, S that
of the rates' (a rate has at most 10 fraction digits): a converted sum is an integer
over L·S, made a `Fraction` once per figure.

Retention needs each customer's MRR at both ends of a period, but one whose
subscriptions did not change in it moves only by its rate: under `booked` and `fixed`
not at all, under `spot` by its currency's. So only the movers (and under `spot` the
customers in several currencies) are converted one by one, the others by currency.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import lcm
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from projections.figures.cohorts import CohortSums
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import Converter
from projections.figures.converted import unit_rate
from projections.figures.keys import MovementKind
from projections.figures.movements import KINDS, Kept, Level, Parts, PeriodSums
from projections.figures.netting import Sums
from projections.figures.report import Measures
from projections.figures.trailing import Windows
from projections.read_model.kinds import TABLES
from projections.read_model.rows import OPEN_END, UNIT
from projections.read_model.sql import Raw
from projections.read_model.unit_flows import (
    ANNUALIZED,
    COUNTED,
    FEE_ACV,
    FEE_TCV,
    KIND_OF,
    MIXED,
    TCV,
)

if TYPE_CHECKING:
    from projections.read_model.unit_customers import UnitCustomers

BELIEVED = (
    'SELECT customer_id, subscription_id, start, "end", num, big, den FROM {t} '
    "WHERE recorded_from <= ? AND recorded_to > ?"
)
_WITHIN = " AND start > ? AND start <= ?"
CURRENCY = 3
"""The length of a currency code, which leads every unit."""
CODE = UNIT + 1
"""Where a flow row's code is, after its unit and a bar (`EUR|2024-01-01|e`)."""

Row = tuple[str, str, date, date, int]
"""(customer, key, start, end, value as a multiple of 1/L)."""


@dataclass
class UnitPart:
    """The foreign customers believed at `position`, converted with `rates`."""

    conn: Connection
    position: int
    rates: Converter
    _read: _Read | None = None

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
        from projections.read_model.unit_customers import UnitCustomers  # it builds on this

        return UnitCustomers.read(Raw(self.conn), self.position, self.rates)

    def _of(self, bounds: Sequence[date]) -> _Read:
        if self._read is None or self._read.bounds != list(bounds):
            self._read = _Read.of(Raw(self.conn), self.position, list(bounds), self.rates)
        return self._read


@dataclass
class _Read:
    """The rows believed at a position, scaled to integers, and the rates' scale."""

    bounds: list[date]
    rates: Scaled
    scale: int  # L
    segments: list[Row]
    spans: list[Row]
    fee_spans: list[Row]
    moves: list[Row]
    bookings: list[Row]
    fees: list[Row]
    _swept: _Sweep | None = None

    @classmethod
    def of(cls, raw: Raw, position: int, bounds: list[date], rates: Converter) -> _Read:
        believed, within = (position, position), (raw.day(bounds[0]), raw.day(bounds[-1]))
        found = {
            name: raw.rows(BELIEVED.format(t=TABLES[name]) + extra, believed + params)
            for name, extra, params in (
                ("unit_segment", "", ()),
                ("unit_customer_span", "", ()),
                ("unit_fee_span", "", ()),
                ("unit_move", _WITHIN, within),
                ("unit_booking", _WITHIN, within),
                ("unit_fee", _WITHIN, within),
            )
        }
        scale = lcm(1, *{int(r[6]) for rows in found.values() for r in rows})
        to_day = raw.to_day
        read = {
            name: [
                (str(c), str(k), to_day(s), to_day(e), scaled(num, big, den, scale))
                for c, k, s, e, num, big, den in rows
            ]
            for name, rows in found.items()
        }
        return cls(
            bounds,
            Scaled.of(rates),
            scale,
            read["unit_segment"],
            read["unit_customer_span"],
            read["unit_fee_span"],
            read["unit_move"],
            read["unit_booking"],
            read["unit_fee"],
        )

    def fraction(self, value: int) -> Fraction:
        return Fraction(value, self.scale * self.rates.scale)

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
                "fees": self.fraction(swept.fees[i]),
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
        kept = _Retention.of(self).kept()
        return [
            (
                PeriodSums(
                    {k: self.fraction(moved[i][k]) for k in KINDS},
                    booked[i][0],
                    self.fraction(booked[i][1]),
                    self.fraction(booked[i][2]),
                    self.fraction(charged[i]),
                ),
                kept[i],
            )
            for i in range(len(self.bounds) - 1)
        ]

    def _moved(self) -> list[dict[MovementKind, int]]:
        """Each period's movements by kind; a mixed day's once its units are converted."""
        found: list[dict[MovementKind, int]] = [dict.fromkeys(KINDS, 0) for _ in self.bounds[1:]]
        mixed: dict[tuple[str, date], int] = defaultdict(int)
        for customer, key, day, _, value in self.moves:
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
        for _, key, day, _, value in self.bookings:
            index, code = period(self.bounds, day), key[CODE]
            if index < 0:
                continue
            if code == COUNTED:
                counts[index] += 1
                continue
            converted = value * self.rates.dated(key[:UNIT])
            if code == ANNUALIZED or (code == FEE_ACV and with_fees):
                acvs[index] += converted
            elif code in (TCV, FEE_TCV):
                tcvs[index] += converted
        return list(zip(counts, acvs, tcvs, strict=True))

    def _charged(self) -> list[int]:
        found = [0] * (len(self.bounds) - 1)
        for _, key, day, _, value in self.fees:
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
        bounds, rates = read.bounds, read.rates
        booked = rates.kind == "booked"  # each unit has its own rate, whatever the day
        local = _swept(read.segments, bounds, UNIT if booked else CURRENCY)
        fees = _swept(read.fee_spans, bounds, UNIT)
        return cls(
            [_converted(at, day, rates) for at, day in zip(local, bounds, strict=True)],
            _counted(read.spans, bounds),
            _counted(read.segments, bounds),
            [sum(v * rates.dated(u) for u, v in at.items() if v) for at in fees],
            [] if booked else local,
        )


def _converted(local: dict[str, int], day: date, rates: Scaled) -> int:
    return sum(value * rates.mrr(unit, day) for unit, value in local.items() if value)


def _swept(rows: Sequence[Row], bounds: Sequence[date], length: int) -> list[dict[str, int]]:
    """The sum of the values of the rows covering each bound, by the first `length`
    characters of their key (a unit, or a currency)."""
    changes: list[tuple[date, str, int]] = []
    for _, key, start, end, value in rows:
        unit = key[:length]
        changes.append((start, unit, value))
        if end != OPEN_END:
            changes.append((end, unit, -value))
    changes.sort(key=lambda change: change[0])
    totals: dict[str, int] = defaultdict(int)
    found, at = [], 0
    for bound in bounds:
        while at < len(changes) and changes[at][0] <= bound:
            _, unit, value = changes[at]
            totals[unit] += value
            at += 1
        found.append(dict(totals))
    return found


def _counted(rows: Sequence[Row], bounds: Sequence[date]) -> list[int]:
    """How many of the rows cover each bound."""
    starts = sorted(r[2] for r in rows)
    ends = sorted(r[3] for r in rows)
    return [bisect_right(starts, b) - bisect_right(ends, b) for b in bounds]


@dataclass
class _Retention:
    """What the customers active at each period's start changed (`movements.Kept`)."""

    read: _Read
    rows: dict[str, list[Row]] = field(default_factory=dict)

    @classmethod
    def of(cls, read: _Read) -> _Retention:
        rows: dict[str, list[Row]] = defaultdict(list)
        for row in read.segments:
            rows[row[0]].append(row)
        return cls(read, dict(rows))

    def kept(self) -> list[Kept]:
        read = self.read
        bounds, rates = read.bounds, read.rates
        spot = rates.kind == "spot"
        exact: list[list[str]] = [[] for _ in bounds[1:]]
        for customer, rows in self.rows.items():
            if spot and len({r[1][:CURRENCY] for r in rows}) > 1:
                for movers in exact:
                    movers.append(customer)
                continue
            moved = {period(bounds, r[2]) for r in rows} | {
                period(bounds, r[3]) for r in rows if r[3] != OPEN_END
            }
            for index in moved - {-1}:
                exact[index].append(customer)
        return [self._period(i, movers, spot) for i, movers in enumerate(exact)]

    def _period(self, index: int, movers: list[str], spot: bool) -> Kept:
        read = self.read
        low, high = read.bounds[index], read.bounds[index + 1]
        kept = lost = grown = churned = 0
        others = dict(read.swept.local[index]) if spot else {}
        for customer in movers:
            rows = self.rows[customer]
            a = self._mrr(rows, low, others)
            if a <= 0:
                continue
            b = self._mrr(rows, high, None)
            kept += b - a
            if b == 0:
                churned += 1
            else:
                grown += b - a
            if b < a:
                lost += b - a
        for currency, value in others.items():
            if value:  # the non-movers in one currency: only the rate moved them
                change = value * (read.rates.mrr(currency, high) - read.rates.mrr(currency, low))
                kept, grown = kept + change, grown + change
                lost += min(change, 0)
        f = read.fraction
        return Kept(f(kept), f(lost), f(grown), churned)

    def _mrr(self, rows: list[Row], day: date, others: dict[str, int] | None) -> int:
        """A customer's MRR on `day`, converted; its local MRR taken out of `others`."""
        rates, total = self.read.rates, 0
        for _, key, start, end, value in rows:
            if start <= day < end:
                total += value * rates.mrr(key[:UNIT], day)
                if others is not None and others:
                    others[key[:CURRENCY]] -= value
        return total


@dataclass
class Scaled:
    """The rates of a `Converter` as integers over one scale S (`units` of 1/S)."""

    converter: Converter
    scale: int
    _mrr: dict[tuple[str, date], int] = field(default_factory=dict)
    _dated: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, converter: Converter) -> Scaled:
        denominators = {r.rate.denominator for r in converter.rates.every}
        return cls(converter, lcm(1, *denominators))

    @property
    def kind(self) -> str:
        return self.converter.policy.kind

    def mrr(self, unit: str, day: date) -> int:
        """The rate of MRR in `unit` (a tag, or a currency alone) on `day`."""
        priced = date.fromisoformat(unit[4:]) if self.kind == "booked" else None
        key = (unit[:CURRENCY], priced or day)
        if (found := self._mrr.get(key)) is None:
            found = self._mrr[key] = self._of(
                unit_rate((unit[:CURRENCY], priced), day, self.converter)
            )
        return found

    def dated(self, unit: str) -> int:
        """The rate of an amount dated by its unit's day (a booking's value, a fee)."""
        if (found := self._dated.get(unit)) is None:
            rate = self.converter.dated(unit[:CURRENCY], date.fromisoformat(unit[4:]))
            found = self._dated[unit] = self._of(rate)
        return found

    def _of(self, rate: Fraction) -> int:
        return rate.numerator * (self.scale // rate.denominator)


def scaled(num: int, big: str | None, den: int, scale: int) -> int:
    return (int(big) if big is not None else int(num)) * (scale // int(den))


def period(bounds: Sequence[date], day: date) -> int:
    """The index of the period `(bounds[i], bounds[i + 1]]` holding `day` (-1: none)."""
    index = bisect_left(bounds, day) - 1
    return index if 0 <= index < len(bounds) - 1 else -1
