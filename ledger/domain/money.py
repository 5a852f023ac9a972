"""Money and ratios: exact inside, rounded half-even only at the edge.

Every figure is computed as a `Fraction`: MRR = amount / interval_months is not a finite
decimal in general (100 / 3), and rounding before the edge would break the identities."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

from ledger.domain.text import shown

_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]{1,4})?$")
MAX_AMOUNT = Decimal("999999999999.9999")
"""The largest amount taken: 12 integer digits and 4 fraction digits. Far above any real
price, it keeps every figure computed from amounts a short exact number (a string of
thousands of digits was once taken, and then no query could print a figure)."""


def parse_amount(value: object) -> Decimal:
    """A non-negative decimal with at most 4 fraction digits and at most `MAX_AMOUNT`,
    from a string or integer."""
    if isinstance(value, float):
        raise ValueError(f"{shown(value)} is a floating-point number; give a decimal string")
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a decimal")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{shown(value)} is negative")
        if value > MAX_AMOUNT:
            raise ValueError(too_large(value))
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError(f"{shown(value)} is not a decimal")
    if text.startswith("-"):
        raise ValueError(f"{shown(value)} is negative")
    if not _DECIMAL.match(text):
        raise ValueError(f"{shown(value)} is not a decimal with at most 4 fraction digits")
    amount = Decimal(text)
    if amount > MAX_AMOUNT:
        raise ValueError(too_large(value))
    return amount


def too_large(amount: object) -> str:
    return (
        f"{shown(amount)} is more than {MAX_AMOUNT}, the largest amount: "
        "give at most 12 digits before the decimal point"
    )


def canonical(amount: Decimal) -> str:
    """One spelling per amount, so that "1000" and "1000.00" are the same content."""
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rounded(value: Fraction, digits: int) -> str:
    scaled = round(value * 10**digits)  # Fraction.__round__ is exact and half-even
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(scaled), 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


def money(value: Fraction) -> str:
    """A money figure as printed: 2 fraction digits, half-even."""
    return _rounded(value, 2)


def ratio(value: Fraction) -> str:
    """A ratio as printed: 4 fraction digits, half-even."""
    return _rounded(value, 4)


def optional(render: Callable[[Fraction], str], value: Fraction | None) -> str | None:
    """An undefined figure prints as `null`, never as 0."""
    return None if value is None else render(value)


class Total:
    """An exact sum of fractions kept as integer numerators per denominator: adding one
    is integer work, where `Fraction` addition would reduce by a gcd every time."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: dict[int, int] = {}

    def add(self, value: Fraction, sign: int = 1) -> None:
        self.add_over(sign * value.numerator, value.denominator)

    def add_over(self, num: int, den: int) -> None:
        """Adds `num / den`."""
        self.parts[den] = self.parts.get(den, 0) + num

    @property
    def value(self) -> Fraction:
        if len(self.parts) == 1:  # the common case: one Fraction made, none added
            ((den, num),) = self.parts.items()
            return Fraction(num, den)
        return sum((Fraction(num, den) for den, num in self.parts.items()), Fraction(0))
