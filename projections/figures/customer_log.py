"""One customer's history with both clocks.

Every event of the customer is listed in recording order, voided ones marked with the
void that cancelled them and when it was recorded. Beside it, the customer's MRR after
each step of its revenue in effective order: each live event (ties by position), and
each lapse, the end of a fixed term that was not renewed (SPEC §4: the subscription stops
being active on its term end date, exactly as if churned). A lapse has no event: it is
read from the timeline, as a segment that ends on a date where no live churn of its
subscription takes effect and no segment of it starts. So each step of the customer's
revenue can be traced to the event, or the term, that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from ledger.domain.events import INTERVAL_MONTHS
from ledger.domain.money import canonical, money
from ledger.domain.timeline import Invalid, Recorded, Timeline, fold, live_events
from projections.figures.book import Book

INTERVAL_NAMES = {months: name for name, months in INTERVAL_MONTHS.items()}
EVENT_KEYS = (
    "position",
    "recorded_at",
    "event_id",
    "type",
    "effective_date",
    "subscription_id",
    "amount",
    "interval",
    "term_months",
    "trial_end",
    "resume_date",
    "percent_off",
    "amount_off",
    "duration_months",
    "target_event_id",
    "reason",
    "note",
    "historical",
    "voided_by",
    "voided_at",
)
Lapses = dict[date, list[tuple[str, Fraction]]]
"""Terms that lapsed, by day: (subscription, the MRR that stopped)."""


def _day_text(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def interval_name(months: int) -> str:
    """A billing interval as events name it: month, quarter, year, or N months."""
    return INTERVAL_NAMES.get(months, f"{months} months")


def months_name(months: int) -> str:
    return "1 month" if months == 1 else f"{months} months"


@dataclass(frozen=True)
class Step:
    """One line of the MRR steps: a live event, or (`recorded` None) the lapse of a term
    of `subscription_id` on `day`; `mrr` is the customer's MRR after it."""

    day: date
    recorded: Recorded | None
    subscription_id: str | None
    mrr: Fraction

    @property
    def lapse(self) -> bool:
        return self.recorded is None

    def as_json(self) -> dict[str, Any]:
        item = self.recorded
        return {
            "effective_date": self.day.isoformat(),
            "position": item.position if item else None,
            "event_id": item.event.event_id if item else None,
            "type": item.event.type if item else "lapse",
            "subscription_id": self.subscription_id,
            "mrr": money(self.mrr),
        }


@dataclass(frozen=True)
class CustomerLog:
    customer_id: str
    position: int
    currency: str
    history: tuple[Recorded, ...]
    voided_by: dict[str, Recorded]
    mrr_after: tuple[Step, ...]

    def events(self) -> list[dict[str, Any]]:
        return [self._row(item) for item in self.history]

    def _row(self, item: Recorded) -> dict[str, Any]:
        event, void = item.event, self.voided_by.get(item.event.event_id)
        return {
            "position": item.position,
            "recorded_at": item.recorded_at.isoformat(),
            "event_id": event.event_id,
            "type": event.type,
            "effective_date": event.effective_date.isoformat() if event.effective_date else None,
            "subscription_id": event.subscription_id,
            "amount": money(Fraction(event.amount)) if event.amount is not None else None,
            "interval": interval_name(event.interval) if event.interval else None,
            "term_months": event.term_months,
            "trial_end": _day_text(event.trial_end),
            "resume_date": _day_text(event.resume_date),
            "percent_off": canonical(event.percent_off) if event.percent_off is not None else None,
            "amount_off": money(Fraction(event.amount_off))
            if event.amount_off is not None
            else None,
            "duration_months": event.duration_months,
            "target_event_id": event.target_event_id,
            "reason": event.reason,
            "note": event.note,
            "historical": event.historical,  # its own recorded time, from history (SPEC §14)
            "voided_by": void.event.event_id if void else None,
            "voided_at": void.recorded_at.isoformat() if void else None,
        }

    def steps(self) -> list[dict[str, Any]]:
        return [step.as_json() for step in self.mrr_after]

    def as_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "position": self.position,
            "currency": self.currency,
            "events": self.events(),
            "mrr_after": self.steps(),
        }

    def csv_rows(self) -> list[dict[str, Any]]:
        """Both tables as one: a `section` column (`event`, then `mrr`), the events' keys,
        then `mrr`; a cell a row's section does not have is empty."""
        keys = ("section", *EVENT_KEYS, "mrr")
        blank = dict.fromkeys(keys)
        return [
            *(blank | {"section": "event"} | row for row in self.events()),
            *(blank | {"section": "mrr"} | row for row in self.steps()),
        ]


def customer_log(
    customer_id: str, history: Sequence[Recorded], position: int, currency: str
) -> CustomerLog:
    """The log of one customer's recorded history (in position order)."""
    voided_by = {
        r.event.target_event_id: r
        for r in history
        if r.event.type == "void" and r.event.target_event_id
    }
    live = live_events(history)
    steps = [
        Step(_day(item), item, item.event.subscription_id, _mrr_after(live[: n + 1], currency))
        for n, item in enumerate(live)
    ]
    timeline, invalid = fold(customer_id, history, currency)
    for day, ended in sorted(_lapses(timeline, invalid, history).items()):
        # A term ends at the start of its day, before any event of that day: the MRR after
        # it is that of the events before the day, less each lapse of the day in turn.
        before = [item for item in live if _day(item) < day]
        mrr = _mrr_on(before, day, currency) + sum((m for _, m in ended), Fraction(0))
        at = next((n for n, step in enumerate(steps) if step.day >= day), len(steps))
        for n, (sub, lapsed) in enumerate(sorted(ended)):
            mrr -= lapsed
            steps.insert(at + n, Step(day, None, sub, mrr))
    shown = _amounts_in(timeline, currency)
    return CustomerLog(customer_id, position, shown, tuple(history), voided_by, tuple(steps))


def _amounts_in(timeline: Timeline, currency: str) -> str:
    """The currency of the customer's amounts, as recorded (not converted): its
    subscriptions' and fees'; `EUR+USD` when they are in several, whose MRR adds them."""
    found = {x.currency for x in timeline.segments} | {b.currency for b in timeline.bookings}
    found |= {fee.currency for fee in timeline.fees}
    return "+".join(sorted(found)) or currency


def _lapses(timeline: Timeline, invalid: Sequence[Invalid], history: Sequence[Recorded]) -> Lapses:
    """The terms of the customer that lapsed."""
    refused = {problem.recorded.event.event_id for problem in invalid}
    churned = {
        (item.event.subscription_id, _day(item))
        for item in live_events(history)
        if item.event.type == "churn" and item.event.event_id not in refused
    }
    return _ended(timeline, churned)


def _ended(timeline: Timeline, churned: set[tuple[str | None, date]]) -> Lapses:
    starts = {(s.subscription_id, s.start) for s in timeline.segments}
    found: Lapses = {}
    for segment in timeline.segments:
        key = (segment.subscription_id, segment.end)
        if segment.end is None or key in starts or key in churned:
            continue  # open, repriced (or renewed after a lapse that day), or churned
        found.setdefault(segment.end, []).append((segment.subscription_id, segment.mrr))
    return found


def _day(item: Recorded) -> date:
    assert item.event.effective_date is not None
    return item.event.effective_date


def _mrr_after(prefix: Sequence[Recorded], currency: str) -> Fraction:
    """The customer's MRR at the end of the last event's effective date, with only the
    events up to it applied."""
    return _mrr_on(prefix, _day(prefix[-1]), currency)


def _mrr_on(events: Sequence[Recorded], day: date, currency: str) -> Fraction:
    accounts = Book.replay(events, 0, currency).accounts
    return accounts[0].mrr_on(day) if accounts else Fraction(0)
