"""Movements netted by month (SPEC §13), as ProfitWell, saas-metrics and the dbt
mrr-playbook count them: each customer's MRR at the end of month m-1 against the end of
month m, classified by §5's table (with §10's rates and §11's pauses), "an earlier day"
reading "an earlier month end". A customer that churned on 10 March and came back on 20
March at the same price moved nothing in March.

Only the movement kinds change: the MRR at the period's ends, retention, bookings and
fees are the day-netted figures' (they do not depend on how movements are netted), and
`fx` is still what the movements leave of `end - start`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import Literal

from ledger.domain.dates import DAY, months_end
from ledger.domain.errors import UsageError
from ledger.domain.money import Total
from projections.figures.book import Account
from projections.figures.conversion import Converter
from projections.figures.keys import MOVEMENT_KINDS, MovementKind
from projections.figures.movements import Movements, period_of

Netting = Literal["day", "month"]
NETTINGS: tuple[Netting, ...] = ("day", "month")
Sums = list[dict[MovementKind, Total]]
Piece = tuple[date, date | None, Fraction]
"""A customer's MRR over the days [start, end): a value > 0 (end None: open)."""


def check_month_ends(bounds: Sequence[date], names: tuple[str, str] = ("start", "end")) -> None:
    """Month netting compares month ends: every bound must be one."""
    for index, day in enumerate(bounds):
        if day != months_end(day):
            name = names[0] if index == 0 else names[1]
            hint = previous_end(day) if index == 0 else months_end(day)
            raise UsageError(
                f"{name}: {day} is not a month end: give {hint}, or netting day to net by day",
                name,
                "netting",
            )


def previous_end(day: date) -> date:
    """The month end before the month ending on `day`."""
    return day.replace(day=1) - DAY


def empty(bounds: Sequence[date]) -> Sums:
    return [{kind: Total() for kind in MOVEMENT_KINDS} for _ in bounds[1:]]


def add_pieces(sums: Sums, bounds: Sequence[date], pieces: list[Piece]) -> None:
    """One customer's month-netted movements, from its MRR pieces (in start order)."""
    starts = [p[0] for p in pieces]
    first = first_month_end(pieces)
    for end in changed_month_ends(pieces, bounds):
        before, after = _value(pieces, starts, previous_end(end)), _value(pieces, starts, end)
        if before == after or (index := period_of(bounds, end)) is None:
            continue
        if not before:
            kind: MovementKind = "reactivation" if first is not None and first < end else "new"
        elif not after:
            kind = "churn"
        else:
            kind = "expansion" if after > before else "contraction"
        add_movement(sums[index], kind, before, after)


def _value(pieces: list[Piece], starts: list[date], day: date) -> Fraction:
    index = bisect_right(starts, day) - 1
    if index < 0:
        return Fraction(0)
    _, end, value = pieces[index]
    return value if end is None or day < end else Fraction(0)


def first_month_end(pieces: Iterable[Piece]) -> date | None:
    """The first month end at whose end the MRR was > 0: a piece covers the first month
    end on or after its start, or none."""
    found = [
        months_end(start) for start, end, _ in pieces if end is None or months_end(start) < end
    ]
    return min(found, default=None)


def changed_month_ends(pieces: Iterable[Piece], bounds: Sequence[date]) -> list[date]:
    """The month ends in the periods at which the MRR may differ from the month before:
    those of the months in which a piece began or ended."""
    low, high = bounds[0], bounds[-1]
    found = set()
    for start, end, _ in pieces:
        for day in (start, end):
            if day is not None and low < (month := months_end(day)) <= high:
                found.add(month)
    return sorted(found)


def netted_accounts(accounts: Iterable[Account], bounds: Sequence[date], rates: Converter) -> Sums:
    """The month-netted movements of customers replayed: those all in the ledger's
    currency from their MRR pieces; the others subscription by subscription, at the
    month end's rates, with their pauses (`lifecycle`)."""
    from projections.figures import lifecycle  # it builds on the movements

    sums = empty(bounds)
    for account in accounts:
        if not account.foreign:
            add_pieces(sums, bounds, list(_pieces_of(account)))
            continue
        first = first_month_end(
            (s.start, s.end, s.mrr) for c in account.contracts for s in c.segments
        )
        spans = [(d, d, Fraction(0)) for d in account.change_days()]
        for end in changed_month_ends(spans, bounds):
            seen = first is not None and first < end
            day = lifecycle.netted_day(account, end, rates, seen, previous_end(end))
            index = period_of(bounds, end)
            for movement in day.movements:
                if index is not None:
                    add_movement(sums[index], movement.kind, movement.prev, movement.cur)
    return sums


def add_movement(
    sums: dict[MovementKind, Total], kind: MovementKind, prev: Fraction, cur: Fraction
) -> None:
    if kind in ("new", "reactivation"):
        sums[kind].add(cur)
    elif kind == "churn":
        sums[kind].add(prev)
    else:
        sign = 1 if kind in ("expansion", "resumed") else -1
        sums[kind].add(cur, sign)
        sums[kind].add(prev, -sign)


def _pieces_of(account: Account) -> Iterator[Piece]:
    """A customer's MRR as pieces: from each segment boundary to the next."""
    from projections.figures.movements import MrrSteps

    steps = MrrSteps.of(account)
    for index, (day, mrr) in enumerate(zip(steps.days, steps.mrrs, strict=True)):
        if mrr.numerator > 0:
            end = steps.days[index + 1] if index + 1 < len(steps.days) else None
            yield (day, end, mrr)


def added(a: Sums, b: Sums) -> Sums:
    for mine, theirs in zip(a, b, strict=True):
        for kind, total in theirs.items():
            for den, num in total.parts.items():
                mine[kind].parts[den] = mine[kind].parts.get(den, 0) + num
    return a


def restated(found: Sequence[Movements], sums: Sums) -> list[Movements]:
    """The day-netted figures with their movements netted by month instead."""
    out = []
    for figures, summed in zip(found, sums, strict=True):
        values = {kind: total.value for kind, total in summed.items()}
        out.append(
            replace(
                figures,
                new=values["new"],
                expansion=values["expansion"],
                contraction=values["contraction"],
                churn=values["churn"],
                reactivation=values["reactivation"],
                paused=values["paused"],
                resumed=values["resumed"],
            )
        )
    return out
