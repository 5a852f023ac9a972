"""A held-out customer's days (SPEC §10-12): each subscription's part of `prev'` and `cur`.

On each day d its MRR, its trials or its pauses changed, every subscription's MRR at the
end of d-1 (at d's rates, `prev'`) and at the end of d (`cur`) is read with its status at
both ends: active then paused is `paused`, a pause that resumed is `resumed`, a paused
subscription that ended is `churn` of its own pre-pause MRR and as much negative `paused`.
§5's table classifies the rest, `(prev' - paused, cur - resumed)`, and every churn and
contraction is put down to a reason (§12).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from ledger.domain.dates import DAY
from ledger.domain.money import Total, money
from ledger.domain.timeline import LAPSED, PAUSED, TRIALING, UNSPECIFIED, Status
from projections.figures.book import Account, Book
from projections.figures.conversion import SPOT, Converter, FxPolicy
from projections.figures.movements import Movement, check_period, classify

Span = tuple[date, date]
ZERO = Fraction(0)


@dataclass
class _Moves:
    """One customer's day, by subscription (the module's docstring)."""

    prime: Total = field(default_factory=Total)
    cur: Total = field(default_factory=Total)
    paused: Total = field(default_factory=Total)
    resumed: Total = field(default_factory=Total)
    rest: dict[str, Fraction] = field(default_factory=dict)  # the others' part of `prev'`
    ending: dict[str, Fraction] = field(default_factory=dict)  # paused ones that ended


@dataclass(frozen=True, slots=True)
class Day:
    """A customer's movements on one day, and the reasons of its churn and contraction."""

    movements: list[Movement]
    reasons: list[tuple[str, str, Fraction]]  # (churn or contraction, reason, amount)


def _moves(account: Account, day: date, rates: Converter, before: date | None = None) -> _Moves:
    """The customer's subscriptions from the end of `before` (the day before `day`, or
    the previous month end when movements are netted by month) to the end of `day`."""
    m, before = _Moves(), before or day - DAY
    for contract in account.contracts:
        old, new = contract.segment_on(before), contract.segment_on(day)
        was, now = contract.status_on(before), contract.status_on(day)
        was_paused, now_paused = _paused(was), _paused(now)
        if old is not None:
            part = old.mrr * rates.of_segment(new or old, day)
            m.prime.add(part)
            if now_paused:
                m.paused.add(part)
            else:
                m.rest[contract.subscription_id] = part
        restarted = new is not None and any(before < e.day <= day for e in contract.ends)
        if new is not None:
            part = rates.segment_mrr(new, day)
            m.cur.add(part)
            if was_paused and not restarted:
                m.resumed.add(part)
        if was_paused and not now_paused and (new is None or restarted):
            assert was is not None
            if (taken := was.taken) is not None:  # it ended while paused: its own churn
                m.ending[contract.subscription_id] = taken.mrr * rates.of_segment(new or taken, day)
    return m


def _paused(status: Status | None) -> bool:
    return status is not None and status.status == PAUSED


def days(account: Account, rates: Converter, span: Span) -> Iterator[Day]:
    """The customer's days in `span` on which something moved (SPEC §10-12)."""
    starts = [s.start for c in account.contracts for s in c.segments]
    first = min(starts, default=None)
    for day in sorted(d for d in account.change_days() if span[0] < d <= span[1]):
        found = _day(account, day, rates, first is not None and first < day)
        if found.movements:
            yield found


def netted_day(account: Account, day: date, rates: Converter, seen: bool, before: date) -> Day:
    """The customer's movements from the end of `before` to the end of `day` (netted by
    month: the month ends, SPEC §13)."""
    return _day(account, day, rates, seen, before)


def _day(
    account: Account, day: date, rates: Converter, seen: bool, before: date | None = None
) -> Day:
    m, customer = _moves(account, day, rates, before), account.customer_id
    prime, cur = m.prime.value, m.cur.value
    paused, resumed = m.paused.value, m.resumed.value
    moved, why = [], list[tuple[str, str, Fraction]]()
    found = classify(prime - paused, cur - resumed, seen)
    if found is not None:
        kind, amount = found
        moved.append(Movement(customer, day, kind, prime - paused, cur - resumed, amount))
        if kind == "churn":
            for sid, part in m.rest.items():
                why.append(("churn", _why(account, sid, day), part))
        elif kind == "contraction":
            why.append(("contraction", _contraction_reason(account, m, day), amount))
    for sid, pre_pause in m.ending.items():
        moved.append(Movement(customer, day, "churn", pre_pause, ZERO, pre_pause))
        moved.append(Movement(customer, day, "paused", ZERO, pre_pause, -pre_pause))
        why.append(("churn", _why(account, sid, day), pre_pause))
    if paused:
        moved.append(Movement(customer, day, "paused", paused, ZERO, paused))
    if resumed:
        moved.append(Movement(customer, day, "resumed", ZERO, resumed, resumed))
    return Day(moved, why)


def _why(account: Account, subscription_id: str, day: date) -> str:
    contract = next(c for c in account.contracts if c.subscription_id == subscription_id)
    return contract.ended_why(day) or UNSPECIFIED


def _contraction_reason(account: Account, m: _Moves, day: date) -> str:
    """SPEC §12: `lapsed` when a lapse of a subscription billing the day before caused it,
    else the reason of the customer's last event that day that gave one."""
    for contract in account.contracts:
        if contract.subscription_id in m.rest and contract.ended_why(day) == LAPSED:
            return LAPSED
    return account.reason_on(day) or UNSPECIFIED


def movements(account: Account, rates: Converter, span: Span) -> Iterator[Movement]:
    """The customer's movements in `span`, each in the reporting currency."""
    for found in days(account, rates, span):
        yield from found.movements


def trialing_contracts(account: Account, day: date) -> int:
    return sum(1 for c in account.contracts if c.trialing_on(day))


def paused_on(account: Account, day: date) -> bool:
    """SPEC §11: its MRR is 0 and one of its subscriptions is paused."""
    billing = any(c.segment_on(day) is not None for c in account.contracts)
    return not billing and any(c.paused_on(day) for c in account.contracts)


def discounts(account: Account, day: date, rates: Converter) -> Fraction:
    """List MRR minus net MRR over its active contracts, converted as their MRR is."""
    total = Total()
    for contract in account.contracts:
        segment = contract.segment_on(day)
        if segment is not None and segment.listed is not None:
            total.add((segment.listed - segment.mrr) * rates.of_segment(segment, day))
    return total.value


def trial_days(account: Account) -> tuple[list[date], list[date]]:
    """The days its trials started, and those a `new` converted one (SPEC §11)."""
    started, converted = [], []
    for contract in account.contracts:
        for status in contract.statuses:
            if status.status == TRIALING:
                started.append(status.start)
                if status.how == "converted" and status.end is not None:
                    converted.append(status.end)
    return started, converted


@dataclass(frozen=True)
class ReasonLine:
    """SPEC §12, movements by reason: the churn and contraction one reason caused."""

    start: date
    end: date
    position: int
    fx_policy: FxPolicy
    reason: str
    churn: Fraction
    contraction: Fraction

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "position": self.position,
            "fx_policy": str(self.fx_policy),
            "reason": self.reason,
            "churn": money(self.churn),
            "contraction": money(self.contraction),
        }


def by_reason(book: Book, start: date, end: date, fx: FxPolicy = SPOT) -> list[ReasonLine]:
    """The period's churn and contraction by the reason of the events that caused them,
    one line per reason that moved any, by reason: they add up to the period's totals."""
    check_period(start, end)
    rates = book.converter(fx)
    sums: dict[str, dict[str, Total]] = {}
    for account in book.accounts:
        for found in days(account, rates, (start, end)):
            for kind, reason, amount in found.reasons:
                row = sums.setdefault(reason, {"churn": Total(), "contraction": Total()})
                row[kind].add(amount)
    lines = []
    for reason in sorted(sums):
        churn, contraction = sums[reason]["churn"].value, sums[reason]["contraction"].value
        if churn or contraction:
            lines.append(ReasonLine(start, end, book.position, fx, reason, churn, contraction))
    return lines
