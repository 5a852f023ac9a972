"""One customer's history with both clocks.

Every event of the customer is listed in recording order, voided ones marked with the
void that cancelled them and when it was recorded. Beside it, the customer's MRR after
each live event, applying them in effective order (ties by position), so each step of
the customer's revenue can be traced to the event that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ledger.domain.money import money
from ledger.domain.timeline import Recorded, live_events
from projections.figures.book import Book


@dataclass(frozen=True)
class CustomerLog:
    customer_id: str
    position: int
    currency: str
    history: tuple[Recorded, ...]
    voided_by: dict[str, Recorded]
    mrr_after: tuple[tuple[Recorded, Fraction], ...]

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
            "amount": str(event.amount) if event.amount is not None else None,
            "target_event_id": event.target_event_id,
            "voided_by": void.event.event_id if void else None,
            "voided_at": void.recorded_at.isoformat() if void else None,
        }

    def steps(self) -> list[dict[str, Any]]:
        return [
            {
                "effective_date": item.event.effective_date.isoformat()
                if item.event.effective_date
                else None,
                "position": item.position,
                "event_id": item.event.event_id,
                "type": item.event.type,
                "mrr": money(mrr),
            }
            for item, mrr in self.mrr_after
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "position": self.position,
            "currency": self.currency,
            "events": self.events(),
            "mrr_after": self.steps(),
        }


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
    steps = tuple((item, _mrr_after(live[: n + 1], currency)) for n, item in enumerate(live))
    return CustomerLog(customer_id, position, currency, tuple(history), voided_by, steps)


def _mrr_after(prefix: Sequence[Recorded], currency: str) -> Fraction:
    """The customer's MRR at the end of the last event's effective date, with only the
    events up to it applied."""
    day = prefix[-1].event.effective_date
    assert day is not None
    accounts = Book.replay(prefix, 0, currency).accounts
    return accounts[0].mrr_on(day) if accounts else Fraction(0)
