"""Integer work on the foreign customers' unit rows (SPEC §10): every local value read is
a whole multiple of 1/L, L the least common multiple of the denominators read, and every
rate one of 1/S, S that of the rates' (a rate has at most 10 fraction digits). So a
converted sum is an integer over L·S, made a `Fraction` once per figure."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import lcm

from projections.figures.conversion import Converter
from projections.figures.converted import unit_rate
from projections.read_model.rows import UNIT

BELIEVED_AT = "recorded_from <= ? AND recorded_to > ?"
"""A row believed at a position (given twice)."""
CURRENCY = 3
"""The length of a currency code, which leads every unit."""

Row = tuple[str, str, date, date, int]
"""(customer, key, start, end, value as a multiple of 1/L)."""


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


class Rates:
    """Each key's rates (a currency's, or under `booked` a unit's) on the `j`th of `days`,
    as lists filled where a row asks (`fill`): a rate before any is recorded is never
    needed. A rate is never 0, so 0 is one not looked up yet."""

    def __init__(self, rates: Scaled, days: Sequence[date]) -> None:
        self.rates, self.days, self.booked = rates, days, rates.kind == "booked"
        self.lists: dict[str, list[int]] = {}

    def of(self, key: str) -> list[int]:
        name = key[:UNIT] if self.booked else key[:CURRENCY]
        if (found := self.lists.get(name)) is None:
            found = self.lists[name] = [0] * len(self.days)
        return found

    def fill(self, key: str, j: int) -> int:
        found = self.of(key)[j] = self.rates.mrr(key[:UNIT], self.days[j])
        return found

    def at(self, key: str, j: int) -> int:
        return self.of(key)[j] or self.fill(key, j)


def period(bounds: Sequence[date], day: date) -> int:
    """The index of the period `(bounds[i], bounds[i + 1]]` holding `day` (-1: none)."""
    index = bisect_left(bounds, day) - 1
    return index if 0 <= index < len(bounds) - 1 else -1
