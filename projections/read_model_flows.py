"""What `movements` and `series` read of the read model: the flows inside a period.

Movements, retention and bookings over a period are not sums of one figure over days, so
they keep rows of their own, each kind derived from the customer's fold like the others
(`read_model_kinds`) but summed into no snapshot:

* a **customer MRR piece**: the days `[start, end)` on which the customer's MRR holds one
  value > 0. Its `subscription_id` column holds the movement that opened it (SPEC §5:
  `new`, `reactivation`, `expansion` or `contraction`); a piece followed by no piece on
  its end day ended in `churn`. A period's movements are the piece boundaries inside it,
  with the MRR on either side: all that retention needs too (SPEC §6).
* a **booking**: its ACV under each policy and its TCV (SPEC §7), one kind each, keyed
  by the booking's event id, on the day `[day, day + 1)`;
* a **one-time fee**, keyed by its event id, on its day.

Read back (`read_model_periods`), they are the `Flows` that
`projections.movements.periods` computes from: the function a replay uses, so the read
model and a replay cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from fractions import Fraction

from ledger.timeline import Timeline
from projections.book import account_of
from projections.movements import Booked, Flows, Movement
from projections.read_model_rows import OPEN_END, Row

ONE_DAY = timedelta(days=1)


class _Last:
    """The flows of the timeline derived last: each flow kind asks for the same ones."""

    timeline: Timeline | None = None
    flows = Flows()


def _flows(timeline: Timeline) -> Flows:
    if _Last.timeline is not timeline:
        _Last.timeline, _Last.flows = timeline, Flows.of([account_of(timeline)])
    return _Last.flows


def _row(key: str, start: date, end: date, value: Fraction) -> Row:
    return (key, start, end, value.numerator, value.denominator)


def piece_rows(timeline: Timeline) -> Iterator[Row]:
    opened: Movement | None = None
    for movement in _flows(timeline).moved:
        if opened is not None:
            yield _row(opened.kind, opened.day, movement.day, opened.cur)
        opened = movement if movement.cur > 0 else None
    if opened is not None:
        yield _row(opened.kind, opened.day, OPEN_END, opened.cur)


def _booking_rows(value: Callable[[Booked], Fraction]) -> Callable[[Timeline], Iterator[Row]]:
    def rows(timeline: Timeline) -> Iterator[Row]:
        for booked in _flows(timeline).booked:
            yield _row(booked.event_id, booked.day, booked.day + ONE_DAY, value(booked))

    return rows


recurring_acv_rows = _booking_rows(lambda b: b.recurring_acv)
including_fees_acv_rows = _booking_rows(lambda b: b.including_fees_acv)
tcv_rows = _booking_rows(lambda b: b.tcv)


def fee_rows(timeline: Timeline) -> Iterator[Row]:
    for charged in _flows(timeline).charged:
        yield _row(charged.event_id, charged.day, charged.day + ONE_DAY, charged.amount)
