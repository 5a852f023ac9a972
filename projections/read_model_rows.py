"""What the read model believes of one customer: its figures as rows over effective time.

Two kinds of row, both `(subscription, [start, end), exact value)`:

* a **segment**: the subscription's MRR while its price holds (`Segment` of the fold);
* a **fee span**: what the fees of the subscription's current booking add to its
  `including_fees` ACV over the days on which that booking is current (SPEC §7).

So on any day D, a contract's `including_fees` ACV = 12 × (its covering segment) + (its
covering fee spans), and every `report` figure is a sum over covering rows. The rows come
from the same `Account` a replay builds, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from ledger.timeline import Booking, Recorded
from projections.book import Account, Book, Contract
from projections.contract_value import anchor_year, fees_of

OPEN_END = date.max
"""The end of a span with no end: kept as a date so that spans are compared by index."""

Kind = str
SEGMENT: Kind = "segment"
FEE_SPAN: Kind = "fee_span"


@dataclass(frozen=True, slots=True, order=True)
class Belief:
    """One derived row: `value` for `subscription_id` on the days `[start, end)`."""

    kind: Kind
    subscription_id: str
    start: date
    end: date
    num: int
    den: int

    @property
    def value(self) -> Fraction:
        return Fraction(self.num, self.den)


def beliefs(customer_id: str, history: Iterable[Recorded]) -> frozenset[Belief]:
    """The rows one customer's recorded history implies, folded by the ONE fold."""
    book = Book.replay(history, 0, "")
    return frozenset(b for account in book.accounts for b in account_beliefs(account))


def account_beliefs(account: Account) -> Iterator[Belief]:
    for contract in account.contracts:
        for segment in contract.segments:
            yield _belief(
                SEGMENT, contract.subscription_id, segment.start, segment.end, segment.mrr
            )
        yield from _fee_spans(contract)


def _belief(kind: Kind, sid: str, start: date, end: date | None, value: Fraction) -> Belief:
    return Belief(kind, sid, start, end or OPEN_END, value.numerator, value.denominator)


def _fee_spans(contract: Contract) -> Iterator[Belief]:
    """Fee spans summed per `[start, end)`, so that each row is unique."""
    totals: dict[tuple[date, date], Fraction] = {}
    if not contract.fees:
        return
    for start, end, amount in _spans(contract):
        if start < end and amount:
            totals[start, end] = totals.get((start, end), Fraction(0)) + amount
    for (start, end), amount in sorted(totals.items()):
        yield _belief(FEE_SPAN, contract.subscription_id, start, end, amount)


def _spans(contract: Contract) -> Iterator[tuple[date, date, Fraction]]:
    bookings = contract.bookings
    for number, booking in enumerate(bookings):
        # A booking is current from its day until the next booking on a later day.
        until = bookings[number + 1].day if number + 1 < len(bookings) else OPEN_END
        yield from _booking_spans(contract, booking, until)


def _booking_spans(
    contract: Contract, booking: Booking, until: date
) -> Iterator[tuple[date, date, Fraction]]:
    fees = fees_of(contract, booking)
    if booking.term_months:
        total = sum((a for _, a in fees), Fraction(0))
        yield booking.day, until, total * 12 / booking.term_months
        return
    for day, amount in fees:
        start, end = anchor_year(booking.day, day)
        yield max(start, booking.day), min(end, until), amount
