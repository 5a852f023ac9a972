"""Restatements: how the figures for one date changed between two states of knowledge.

The ledger is replayed position by position from the first state (K1) to the second
(K2). Each event recorded in between is charged with the change of MRR as of the date
that it caused: its customer's MRR after it minus before it. Only that customer's
history changes at that step, so the charges telescope and add up exactly to the change
of MRR between K1 and K2. A rate (SPEC §10) changes every customer in its currency: it
is charged with what it changed of them all. A customer whose MRR cannot be converted
yet (its currency has no rate at that step) counts as 0 there: its MRR is charged to the
rate that makes it convertible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any, ClassVar

from ledger.domain.errors import MissingRate
from ledger.domain.events import RATES
from ledger.domain.money import money, ratio
from ledger.domain.rates import rates_of
from ledger.domain.timeline import Recorded
from projections.figures.book import Account, Book
from projections.figures.contract_value import AcvPolicy, booking_values, contract_acv
from projections.figures.conversion import SPOT, Converter, FxPolicy
from projections.figures.keys import RATIO_KEYS
from projections.figures.movements import Movements, movements
from projections.figures.report import Report, report
from projections.figures.results import RestatementResult

ZERO = Fraction(0)
CAUSE_KEYS = (
    "event_id",
    "type",
    "customer_id",
    "effective_date",
    "recorded_at",
    "position",
    "mrr_effect",
    "reason",
    "note",
)
"""The keys of a causing event, in `events` and in the CSV."""


@dataclass(frozen=True)
class Cause:
    """An event recorded between the two states, and its own effect on MRR as of the date."""

    recorded: Recorded
    effective_date: date | None
    mrr_effect: Fraction

    def as_json(self) -> dict[str, Any]:
        event = self.recorded.event
        return {
            "event_id": event.event_id,
            "type": event.type,
            "customer_id": event.customer_id if event.customer_id != RATES else None,
            "effective_date": self.effective_date.isoformat() if self.effective_date else None,
            "recorded_at": self.recorded.recorded_at.isoformat(),
            "position": self.recorded.position,
            "mrr_effect": money(self.mrr_effect),
            "reason": event.reason,
            "note": event.note,
        }


@dataclass(frozen=True)
class Restatement(RestatementResult):
    """The figures as of `as_of` known at K1 and at K2, and the events that changed them."""

    model_name: ClassVar[str] = "RestatementModel"

    as_of: date
    known_at: datetime
    known_at_2: datetime
    before: Report
    after: Report
    causes: tuple[Cause, ...]
    period_before: Movements | None = None
    period_after: Movements | None = None

    @property
    def mrr_change(self) -> Fraction:
        return self.after.mrr - self.before.mrr

    def figures(self) -> dict[str, dict[str, Any]]:
        out = _compare(self.before, self.after)
        if self.period_before is not None and self.period_after is not None:
            period = _compare(self.period_before, self.period_after)
            out |= {k: v for k, v in period.items() if k not in out}
        return out

    def as_json(self) -> dict[str, Any]:
        """`position` is the position it was computed at: K2's."""
        return {
            "as_of": self.as_of.isoformat(),
            "known_at": self.known_at.isoformat(),
            "known_at_2": self.known_at_2.isoformat(),
            "position": self.after.position,
            "figures": self.figures(),
            "events": [cause.as_json() for cause in self.causes],
        }

    def csv_rows(self) -> list[dict[str, Any]]:
        """Both tables as one: a `section` column (`figure`, then `cause`), the figures'
        columns, then the causing events'; a cell a row's section does not have is empty."""
        figures = [{"figure": key, **values} for key, values in self.figures().items()]
        causes = [cause.as_json() for cause in self.causes]
        keys = ("section", "figure", "before", "after", "change", *CAUSE_KEYS)
        blank = dict.fromkeys(keys)
        return [
            *(blank | {"section": "figure"} | row for row in figures),
            *(blank | {"section": "cause"} | row for row in causes),
        ]


def _compare(before: Report | Movements, after: Report | Movements) -> dict[str, dict[str, Any]]:
    shown_before, shown_after = before.as_json(), after.as_json()
    return {
        key: {
            "before": shown_before[key],
            "after": shown_after[key],
            "change": _change(key, getattr(before, key, None), getattr(after, key, None)),
        }
        for key in shown_before
    }


def _change(key: str, before: object, after: object) -> int | str | None:
    """The exact difference, rounded like the figure; None for what is not a quantity."""
    if isinstance(before, int) and isinstance(after, int) and not isinstance(before, bool):
        return after - before
    if isinstance(before, Fraction) and isinstance(after, Fraction):
        return ratio(after - before) if key in RATIO_KEYS else money(after - before)
    return None


def _account(history: Sequence[Recorded], currency: str) -> Account | None:
    accounts = Book.replay(history, 0, currency).accounts
    return accounts[0] if accounts else None


def _footprint(
    account: Account | None, as_of: date, start: date | None, rates: Converter
) -> tuple[Any, ...]:
    """What of one customer the restated figures depend on: an event that leaves it
    unchanged did not cause any of the difference."""
    account = account or Account("", (), ())
    active = [c for c in account.contracts if c.active_on(as_of)]
    point = (
        _mrr(account, as_of, rates),
        len(active),
        _converted(lambda: sum((contract_acv(c, as_of, "recurring", rates) for c in active), ZERO)),
        _converted(
            lambda: sum((contract_acv(c, as_of, "including_fees", rates) for c in active), ZERO)
        ),
    )
    if start is None:
        return point
    days = sorted({start} | {d for d in account.change_days() if start < d <= as_of})
    daily = tuple((d, _mrr(account, d, rates)) for d in days)
    booked = tuple(
        (b, _converted(lambda c=c, b=b: booking_values(c, b, rates)))
        for c in account.contracts
        for b in c.bookings
        if start < b.day <= as_of
    )
    fees = tuple(f for c in account.contracts for f in c.fees) + account.fees
    return (point, daily, booked, fees)


def _converted(value: Any) -> Any:
    """A converted value, or None while a rate it needs is not recorded yet."""
    try:
        return value()
    except MissingRate:
        return None


def _effective_date(item: Recorded, targets: dict[str, Recorded]) -> date | None:
    """A void takes effect at its target's effective date."""
    target = targets.get(item.event.target_event_id or "")
    return target.event.effective_date if target is not None else item.event.effective_date


def causes(
    known: Sequence[Recorded],
    later: Sequence[Recorded],
    currency: str,
    as_of: date,
    start: date | None = None,
    fx: FxPolicy = SPOT,
) -> tuple[Cause, ...]:
    """Each event of `later` that changed what the figures depend on, with its MRR effect."""
    histories: dict[str, list[Recorded]] = defaultdict(list)
    targets: dict[str, Recorded] = {}
    for item in known:
        histories[item.event.customer_id].append(item)
        targets[item.event.event_id] = item
    found, accounts = [], dict[str, Account | None]()

    def account(customer: str) -> Account | None:
        if customer not in accounts:
            accounts[customer] = _account(histories[customer], currency)
        return accounts[customer]

    def converter() -> Converter:
        return Converter(rates_of(histories[RATES])[0], fx, currency, 0)

    rates = converter()
    for item in later:
        customer = item.event.customer_id
        if customer == RATES:
            foreign = [a for c in list(histories) if c != RATES and (a := account(c)) and a.foreign]
            histories[RATES].append(item)
            was_rates, rates = rates, converter()
            before, after = (
                [_footprint(a, as_of, start, r) for a in foreign] for r in (was_rates, rates)
            )
            effect = sum((_mrr(a, as_of, rates) - _mrr(a, as_of, was_rates) for a in foreign), ZERO)
            changed = before != after
        else:
            was = account(customer)
            histories[customer].append(item)
            accounts[customer] = now = _account(histories[customer], currency)
            before_print, after_print = (_footprint(a, as_of, start, rates) for a in (was, now))
            changed = before_print != after_print
            effect = _mrr(now, as_of, rates) - _mrr(was, as_of, rates)
        targets[item.event.event_id] = item
        if changed:
            found.append(Cause(item, _effective_date(item, targets), effect))
    return tuple(found)


def _mrr(account: Account | None, day: date, rates: Converter) -> Fraction:
    """Its converted MRR, or 0 while a rate it needs is not recorded yet."""
    if account is None:
        return ZERO
    try:
        return account.converted_on(day, rates)
    except MissingRate:
        return ZERO


def restatement(
    known: Sequence[Recorded],
    later: Sequence[Recorded],
    positions: tuple[int, int],
    moments: tuple[datetime, datetime],
    currency: str,
    as_of: date,
    start: date | None = None,
    policy: AcvPolicy = "recurring",
    fx: FxPolicy = SPOT,
) -> Restatement:
    """The restatement of the figures as of `as_of` (and over `(start, as_of]`) from the
    ledger up to `known` to the ledger up to `later`."""
    book_1 = Book.replay(known, positions[0], currency)
    book_2 = Book.replay([*known, *later], positions[1], currency)
    period = (
        (movements(book_1, start, as_of, policy, fx), movements(book_2, start, as_of, policy, fx))
        if start is not None
        else (None, None)
    )
    return Restatement(
        as_of=as_of,
        known_at=moments[0],
        known_at_2=moments[1],
        before=report(book_1, as_of, policy, fx),
        after=report(book_2, as_of, policy, fx),
        causes=causes(known, later, currency, as_of, start, fx),
        period_before=period[0],
        period_after=period[1],
    )
