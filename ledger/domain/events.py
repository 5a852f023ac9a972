"""The ledger's events as the timeline and the store know them: one frozen `Event`.

Validation of what a user writes is at the edge (`ledger.intake.fields`); an `Event` is
already valid, and `from_entry` trusts what the store holds (it was validated when it was
recorded)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from ledger.domain.money import canonical

EVENT_TYPES = (
    "new",
    "upgrade",
    "downgrade",
    "churn",
    "renewal",
    "one_time_fee",
    "void",
    "fx_rate",
    "trial",
    "pause",
    "resume",
    "discount",
)
RATES = ""
"""The stream of every `fx_rate` (and every void of one): no customer id is empty, so it
is nobody's. One stream, not one per currency: rates are checked together (one live rate
per currency and day), every converting query reads them all, and they are few (a daily
rate of ten currencies over ten years is 36,500 events)."""
INTERVAL_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event, as the timeline and the store know it."""

    event_id: str
    type: str
    customer_id: str
    subscription_id: str | None = None
    effective_date: date | None = None
    amount: Decimal | None = None
    interval: int | None = None
    term_months: int | None = None
    plan: str | None = None
    quantity: int | None = None
    description: str | None = None
    target_event_id: str | None = None
    currency: str | None = None  # as given: absent means the subscription's (SPEC §10)
    rate: Decimal | None = None
    source: str | None = None
    trial_end: date | None = None  # SPEC §11: a `trial` is over from that day on
    resume_date: date | None = None  # a `pause` resumes at the start of that day
    percent_off: Decimal | None = None  # a `discount`: one of the two
    amount_off: Decimal | None = None  # (per billing interval of the price in force)
    duration_months: int | None = None
    reason: str | None = None  # SPEC §12: why it happened, a short code
    note: str | None = None  # and in words
    historical: str | None = None  # SPEC §14: the UTC time an earlier system recorded it

    def entry(self) -> dict[str, str]:
        """The canonical stored form: strings only, absent fields left out."""
        out: dict[str, str] = {}
        # Not `asdict`: its deep copy was a third of an import's time; fields are flat.
        for key in self.__slots__:
            value = getattr(self, key)
            if value is None or (key == "customer_id" and value == RATES):
                continue
            out[key] = canonical(value) if isinstance(value, Decimal) else str(value)
        return out

    @classmethod
    def from_entry(cls, entry: dict[str, str]) -> Event:
        """Trusted decoding of a stored entry (it was validated when recorded)."""
        get = entry.get
        day, amount = get("effective_date"), get("amount")
        interval, term, quantity = get("interval"), get("term_months"), get("quantity")
        return cls(
            event_id=entry["event_id"],
            type=entry["type"],
            customer_id=sys.intern(get("customer_id", RATES)),
            subscription_id=shared(get("subscription_id")),
            effective_date=day_of(day) if day else None,
            amount=decimal_of(amount) if amount else None,
            interval=int(interval) if interval else None,
            term_months=int(term) if term else None,
            plan=shared(get("plan")),
            quantity=int(quantity) if quantity else None,
            description=shared(get("description")),
            target_event_id=get("target_event_id"),
            currency=shared(get("currency")),
            rate=Decimal(rate) if (rate := get("rate")) else None,
            source=get("source"),
            trial_end=day_of(text) if (text := get("trial_end")) else None,
            resume_date=day_of(text) if (text := get("resume_date")) else None,
            percent_off=decimal_of(text) if (text := get("percent_off")) else None,
            amount_off=decimal_of(text) if (text := get("amount_off")) else None,
            duration_months=int(text) if (text := get("duration_months")) else None,
            reason=shared(get("reason")),
            note=get("note"),
            historical=get("historical"),
        )


# Values many events repeat are shared, not copied per event: an import holds a chunk of
# events and folds histories by the thousand; sharing halves what they take.
day_of = lru_cache(maxsize=1 << 14)(date.fromisoformat)
decimal_of = lru_cache(maxsize=1 << 14)(Decimal)


def shared(text: str | None) -> str | None:
    return None if text is None else sys.intern(text)
