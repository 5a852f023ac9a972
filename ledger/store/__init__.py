"""The event store: the `eventsourcing` library, one stream (aggregate) per customer.

The library names each stored event by its class's module and qualified name (its
topic): the aggregate lives in this package's own module so that the topic of every
event ever stored, `ledger.store:Customer.EventRecorded`, never changes with the code's
layout. The rest: `location` (where a ledger lives), `codec` (the one home of the stored
bytes), `recorders` (the library's recorders with the ledger's index), `chain` and
`audit` (seals and their check), `layout` (versions and `arr upgrade`), `event_store`
(reads and the write transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from ledger.domain.events import Event

STREAMS = UUID("8f5d2d1e-3c0a-4c55-9a51-2f4a7b0f3e11")


@lru_cache(maxsize=1 << 16)  # a customer's events come in many batches of an import
def stream_id(customer_id: str) -> UUID:
    """Each customer's stream has a stable id derived from the customer id."""
    return uuid5(STREAMS, customer_id)


class Customer(Aggregate):
    """A customer's stream of ledger events. Its state is the timeline fold, not here."""

    class Opened(Aggregate.Created):
        entry: dict[str, str]

    class EventRecorded(Aggregate.Event):
        entry: dict[str, str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Customer)
            aggregate.entries.append(self.entry)

    def __init__(self, entry: dict[str, str]) -> None:
        self.entries = [entry]


def domain_event(event: Event, version: int, timestamp: datetime | None = None) -> Any:
    """The library event that records `event` as `version` of its customer's stream."""
    return library_event(
        stream_id(event.customer_id), version, timestamp or datetime.now(UTC), event.entry()
    )


def library_event(stream: UUID, version: int, timestamp: datetime, entry: dict[str, str]) -> Any:
    kind = Customer.Opened if version == 1 else Customer.EventRecorded
    extra = {"originator_topic": get_topic(Customer)} if version == 1 else {}
    return kind(  # type: ignore[call-arg]  # the library makes events dataclasses
        originator_id=stream, originator_version=version, timestamp=timestamp, entry=entry, **extra
    )
