"""What the read model believes of one customer: its figures as rows over effective time.

Every row is `(subscription, [start, end), exact value num/den)` and every `report` figure
is a sum, over the rows that cover the day, of their value or of 1 (their count):

* a **segment**: a subscription's MRR while its price holds (the fold's `Segment`);
* a **customer span**: a maximal run of days on which the customer has a segment, i.e.
  customer MRR > 0 (SPEC §4: an active customer), value 1;
* a **fee span**: what the fees of a subscription's current booking add to its
  `including_fees` ACV (SPEC §7), on the days that booking is current AND the
  subscription is active: clipped here, so that no query needs to look for the segment.

The rows come from the customer's folded `Timeline` (the ONE fold), so a replay and the
read model can never disagree about what happened; the tests check the figures too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Literal

from ledger.domain.timeline import Segment, Timeline
from projections.figures.book import Contract
from projections.figures.contract_value import anchor_year

OPEN_END = date.max
"""The end of a span with no end: kept as a date so that spans are compared by index."""

NO_SUBSCRIPTION = ""
"""The `subscription_id` of a row that belongs to the customer as a whole."""

Derived = tuple[str, date, date, int, int]
"""(subscription_id, start, end, num, den): `num/den` on the days `[start, end)`."""

Span = tuple[date, date]

Source = Literal["segments", "books", "rates"]
"""What of a customer's timeline a kind's rows depend on: its segments alone, or its
bookings and fees (and, when it has fees, its segments: they decide which booking owns a
fee, and on which days a fee counts); or the rates' stream's live rates."""


def changed(before: Timeline | None, now: Timeline) -> set[Source]:
    """The sources whose rows may differ from one prefix of a history to the next: a
    price change leaves the bookings' rows as they were, a fee the movements'."""
    if before is None or before.held_out != now.held_out or before.lifecycle != now.lifecycle:
        return {"segments", "books", "rates"}
    found: set[Source] = {"rates"} if before.rates != now.rates else set()
    if before.segments != now.segments:
        found.add("segments")
    fees = before.fees != now.fees or (bool(now.fees) and "segments" in found)
    if fees or before.bookings != now.bookings:
        found.add("books")
    return found


def foreign_rows(timeline: Timeline) -> Iterator[Derived]:
    """A customer held out of the ledger's-currency rows: with anything in another
    currency (`num` 1: its unit rows are converted) or with a trial, a pause or a discount
    (`num` LIFECYCLE: it has no other row, its figures are replayed, `Ledger`)."""
    yield (NO_SUBSCRIPTION, date.min, OPEN_END, LIFECYCLE if timeline.lifecycle else 1, 1)


LIFECYCLE = 2
"""The `num` of the held-out row of a customer with a trial, a pause or a discount."""


UNIT = 14
"""The length of a unit's tag, `EUR|2024-01-01`, that leads the `subscription_id` of a
foreign customer's unit rows: a currency and the day its price (or its fee's rate) is
dated. A report sums these rows by tag and converts each sum with one rate."""


def unit_segment_rows(timeline: Timeline) -> Iterator[Derived]:
    """A foreign customer's segments, in their own currency, tagged with their unit."""
    for segment in timeline.segments:
        mrr, tag = segment.mrr, f"{segment.currency}|{segment.priced.isoformat()}"
        key = f"{tag}|{segment.subscription_id}"
        yield (key, segment.start, _end(segment), mrr.numerator, mrr.denominator)


def unit_fee_span_rows(timeline: Timeline) -> Iterator[Derived]:
    """A foreign customer's fee spans (as `fee_span_rows`), per currency and the day each
    fee is converted at: its own, or its booking's when it is dated before it."""
    for contract in _contracts(timeline):
        active = _merged((s.start, _end(s)) for s in contract.segments)
        totals: dict[tuple[str, Span], Fraction] = defaultdict(Fraction)
        for start, end, amount, day in _dated_spans(contract):
            for span in _clip(start, end, active):
                totals[(f"{contract.currency}|{day.isoformat()}", span)] += amount
        for (tag, (start, end)), amount in sorted(totals.items()):
            key = f"{tag}|{contract.subscription_id}"
            yield (key, start, end, amount.numerator, amount.denominator)


def rate_rows(timeline: Timeline) -> Iterator[Derived]:
    """The rates' stream's live rates, as `currency|event_id` effective from their day on
    (the rate on a day is that of the latest row starting on or before it). Not their
    positions: an import derives its rows before its positions are final (`inline`)."""
    for rate in timeline.rates:
        value, key = rate.rate, f"{rate.currency}|{rate.event_id}"
        yield (key, rate.day, OPEN_END, value.numerator, value.denominator)


def segment_rows(timeline: Timeline) -> Iterator[Derived]:
    for segment in timeline.segments:
        mrr = segment.mrr
        yield (
            segment.subscription_id,
            segment.start,
            _end(segment),
            mrr.numerator,
            mrr.denominator,
        )


def customer_span_rows(timeline: Timeline) -> Iterator[Derived]:
    for start, end in _merged((s.start, _end(s)) for s in timeline.segments):
        yield (NO_SUBSCRIPTION, start, end, 1, 1)


def fee_span_rows(timeline: Timeline) -> Iterator[Derived]:
    """Fee spans clipped to the subscription's active days and summed per `[start, end)`,
    so that each row is unique."""
    for contract in _contracts(timeline):
        active = _merged((s.start, _end(s)) for s in contract.segments)
        inputs = (active, contract.bookings, contract.fees)
        seen = _SEEN.get(contract.subscription_id)
        if seen is not None and seen[0] == inputs:
            yield from seen[1]
            continue
        rows = tuple(_fee_rows(contract, active))
        if len(_SEEN) >= 4096:
            _SEEN.clear()
        _SEEN[contract.subscription_id] = (inputs, rows)
        yield from rows


_SEEN: dict[str, tuple[tuple[object, ...], tuple[Derived, ...]]] = {}
"""The fee spans last derived per subscription, and what they were derived from: most of
a customer's events change a price, not a subscription's active days, bookings or fees."""


def _fee_rows(contract: Contract, active: list[Span]) -> Iterator[Derived]:
    totals: dict[Span, Fraction] = defaultdict(Fraction)
    for start, end, amount in _spans(contract):
        for span in _clip(start, end, active):
            totals[span] += amount
    for (start, end), amount in sorted(totals.items()):
        yield (contract.subscription_id, start, end, amount.numerator, amount.denominator)


def _end(segment: Segment) -> date:
    return segment.end or OPEN_END


def _merged(spans: Iterable[Span]) -> list[Span]:
    """The union of spans as maximal disjoint spans; touching spans join."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _clip(start: date, end: date, active: Sequence[Span]) -> Iterator[Span]:
    for low, high in active:
        if low < end and start < high:
            yield max(start, low), min(end, high)


def _contracts(timeline: Timeline) -> Iterator[Contract]:
    """The contracts whose fees count: those that fees name (most customers: none)."""
    fees = defaultdict(list)
    for fee in timeline.fees:
        if fee.subscription_id is not None:
            fees[fee.subscription_id].append(fee)
    for sid in sorted(fees):
        segments = tuple(s for s in timeline.segments if s.subscription_id == sid)
        bookings = [b for b in timeline.bookings if b.subscription_id == sid]
        bookings.sort(key=lambda b: (b.day, b.position))
        yield Contract(sid, segments, tuple(bookings), tuple(fees[sid]), fees[sid][0].currency)


def _spans(contract: Contract) -> Iterator[tuple[date, date, Fraction]]:
    """What each booking's fees add to ACV while it is current (SPEC §7): from its day
    until the next booking on a later day."""
    for start, end, amount, _ in _dated_spans(contract):
        yield start, end, amount


def _dated_spans(contract: Contract) -> Iterator[tuple[date, date, Fraction, date]]:
    """`_spans`, each fee's part apart, with the day it is dated (the rate's day)."""
    bookings = contract.bookings
    owners = list(zip(contract.fee_owners, contract.fees, strict=True))
    for number, booking in enumerate(bookings):
        until = bookings[number + 1].day if number + 1 < len(bookings) else OPEN_END
        # as `fees_of`: a fee dated before its booking counts as dated on the booking day
        fees = [(max(f.day, booking.day), _exact(f.amount)) for b, f in owners if b is booking]
        if not fees or not booking.day < until:
            continue
        for day, amount in fees:
            if booking.term_months:
                yield booking.day, until, amount * 12 / booking.term_months, day
                continue
            start, end = anchor_year(booking.day, day)
            yield max(start, booking.day), min(end, until), amount, day


@lru_cache(maxsize=1 << 12)  # fee amounts repeat; Fraction(Decimal) is slow
def _exact(amount: Decimal) -> Fraction:
    return Fraction(amount)
