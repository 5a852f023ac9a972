"""Conversion into the reporting currency (SPEC §10): the policy, and the rate it picks.

A policy says which day's rate converts a subscription's MRR on day d: `spot` the rate on
d, `booked` the rate on the day its price was set, `fixed:D0` the rate on D0 for every
day. One-time fees and a booking's values are converted at the rate on their own date
(`fixed`: D0). The reporting currency's rate is always 1; a rate that is needed and does
not exist, as known at the query's position, is an error, never a silent 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Literal

from ledger.domain.errors import MissingRate, UsageError
from ledger.domain.rates import Rates
from ledger.domain.timeline import Segment

FxKind = Literal["spot", "booked", "fixed"]
ONE = Fraction(1)


@dataclass(frozen=True)
class FxPolicy:
    """`spot`, `booked` or `fixed:YYYY-MM-DD`, as given and as printed (`fx_policy`)."""

    kind: FxKind = "spot"
    day: date | None = None  # `fixed`'s D0

    @classmethod
    def parse(cls, text: str | FxPolicy) -> FxPolicy:
        if isinstance(text, FxPolicy):
            return text
        said = text.strip()
        if said in ("spot", "booked"):
            return cls(said)  # type: ignore[arg-type]
        kind, _, day = said.partition(":")
        if kind == "fixed":
            try:
                return cls("fixed", date.fromisoformat(day))
            except ValueError:
                pass
        raise UsageError(
            f"fx: {text!r} is not spot, booked or fixed:YYYY-MM-DD (fixed:2024-01-01)", "fx"
        )

    def __str__(self) -> str:
        return f"fixed:{self.day}" if self.kind == "fixed" else self.kind


SPOT = FxPolicy()


@dataclass
class Converter:
    """The rates as known at `position`, applied under `policy` to amounts in any currency."""

    rates: Rates
    policy: FxPolicy
    reporting: str
    position: int
    _cache: dict[tuple[str, date], Fraction] = field(default_factory=dict)

    def rate(self, currency: str, day: date, why: str = "") -> Fraction:
        """The rate of `currency` on `day`: 1 for the reporting currency."""
        if currency == self.reporting:
            return ONE
        key = (currency, day)
        if (found := self._cache.get(key)) is None:
            rate = self.rates.on(currency, day)
            if rate is None:
                raise MissingRate(currency, day, self.position, why)
            found = self._cache[key] = rate.rate
        return found

    def of_segment(self, segment: Segment, day: date) -> Fraction:
        """The rate that converts a segment's MRR on `day`."""
        if segment.currency == self.reporting:
            return ONE
        if self.policy.kind == "booked":
            why = f" (the date its price was set, for the MRR of {segment.subscription_id!r})"
            return self.rate(segment.currency, segment.priced, why)
        return self.dated(segment.currency, day)

    def dated(self, currency: str, day: date) -> Fraction:
        """The rate for an amount dated `day` (a fee, a booking; `spot`: MRR on `day`)."""
        if self.policy.kind == "fixed":
            assert self.policy.day is not None
            return self.rate(currency, self.policy.day)
        return self.rate(currency, day)

    def segment_mrr(self, segment: Segment, day: date) -> Fraction:
        return segment.mrr * self.of_segment(segment, day)
