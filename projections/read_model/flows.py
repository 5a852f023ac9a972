"""What `movements` and `series` read of the read model: the flows inside a period.

Movements, bookings and fees over a period are sums over the days inside it, so each is
a kind whose rows run from their day to `OPEN_END` (`read_model_kinds`): its measure on
a day is the running total up to that day, and a period's sum the difference of its two
bounds' measures, two snapshot lookups whatever the ledger's size:

* a **movement** (SPEC §5), one kind per movement kind, its amount on its day;
* a **booking** (SPEC §7): its ACV under each policy and its TCV, one kind each, keyed
  by the booking's event id (the count of the first is the number of bookings);
* a **one-time fee**, keyed by its event id, on its day.

Retention (SPEC §6) is not a sum over days: it compares each customer's MRR at the
period's two ends. Two sorts of row keep what it needs:

* a **customer MRR piece**: the days `[start, end)` on which the customer's MRR holds one
  value > 0, keyed by the customer's cohort month. Any period's retention comes from
  the pieces that begin or end inside it, and any cohort's MRR from its own pieces;
* a customer's **month retention**, on the last day of each calendar month in which its
  MRR moved from a > 0 at the end of the month before to b != a: what it adds to that
  month's NRR (b - a), GRR (b - a when b < a) and logo churn (when b = 0). A `series`
  A monthly series then reads each month's retention from one lookup too (three kinds:
  kept, lost, churned);
* a customer's **trailing-12-month retention** (SPEC §13), on every day: for the window
  from the day 12 months before (`year_before`) to this one, its MRR at the window's
  start when > 0 (`year_opened`) and, when its MRR at the end differs, what it adds to
  that window's NRR, GRR and logo churn (`year_kept`, `year_lost`, `year_churned`). A
  pair of its runs of MRR, one covering the windows' starts and one their ends, adds a
  constant to the windows ending on a run of days: one row per such pair, over those
  days. So every `series` row, on whatever day, reads its trailing retention from
  snapshots.

Movements netted by month (SPEC §13) are sums over month ends: a customer's **netted
movement** is its MRR at a month's end against the month before's, classified by §5's
table, on the month end, one kind per movement kind (`netted_new`, …), from that day to
`OPEN_END` as the day-netted movements are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import ClassVar

from ledger.domain.dates import DAY, add_months, months_end, year_before
from ledger.domain.timeline import Timeline
from projections.figures.book import Account, account_of
from projections.figures.movements import (
    ScaledMove,
    ScaledSteps,
    account_bookings,
    account_fees,
    classify,
)
from projections.read_model.rows import NO_SUBSCRIPTION, OPEN_END, Derived, Source

Maker = Callable[[Account], dict[str, list[Derived]]]


class _Last:
    """The flow rows of the timeline derived last: each flow kind asks for its own, and
    those made from the same part (`MOVED`, `BOOKED`) together, when a kind of it asks."""

    timeline: Timeline | None = None
    account: Account | None = None
    rows: ClassVar[dict[Maker, dict[str, list[Derived]]]] = {}


def rows_of(name: str) -> Callable[[Timeline], list[Derived]]:
    """The derivation of the flow kind `name`: its rows of a customer's timeline."""
    make = _MAKERS[name]

    def rows(timeline: Timeline) -> list[Derived]:
        if _Last.timeline is not timeline:
            _Last.timeline, _Last.account, _Last.rows = timeline, account_of(timeline), {}
        if make not in _Last.rows:
            assert _Last.account is not None
            _Last.rows[make] = make(_Last.account)
        return _Last.rows[make].get(name, [])

    return rows


def _moved_rows(account: Account) -> dict[str, list[Derived]]:
    """The rows of the customer's MRR movements (SPEC §5), from one pass over them, in
    integers over the customer's one denominator (`ScaledSteps`)."""
    steps = ScaledSteps.of(account)
    moved, den = steps.movements(), steps.den
    found: dict[str, list[Derived]] = defaultdict(list)
    for movement in moved:
        row = _scaled(NO_SUBSCRIPTION, movement.day, OPEN_END, movement.amount, den)
        found[movement.kind].append(row)
    found["pieces"] = list(_pieces(moved, den))
    found.update(_year_rows(moved, den))
    found.update(_netted_rows(moved, den))
    for last, a, b in _month_moves(moved):
        # the month's last day alone; December 9999's is the open end, which no query asks
        after = last + DAY if last < OPEN_END else OPEN_END
        month, change = (NO_SUBSCRIPTION, last, after), b - a
        found["month_kept"].append(_scaled(*month, change, den))
        if b < a:
            found["month_lost"].append(_scaled(*month, change, den))
        if not b:
            found["month_churned"].append(_scaled(*month, a, den))
    return found


def _booked_rows(account: Account) -> dict[str, list[Derived]]:
    """The rows of the customer's bookings (SPEC §7) and one-time fees."""
    found: dict[str, list[Derived]] = defaultdict(list)
    for booked in account_bookings(account):
        booking = (booked.event_id, booked.day, OPEN_END)
        found["recurring_acv"].append(_row(*booking, booked.recurring_acv))
        found["including_fees_acv"].append(_row(*booking, booked.including_fees_acv))
        found["tcv"].append(_row(*booking, booked.tcv))
    for charged in account_fees(account):
        found["fees"].append(_row(charged.event_id, charged.day, OPEN_END, charged.amount))
    return found


MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
YEAR = ("year_opened", "year_kept", "year_lost", "year_churned")
NETTED = tuple(f"netted_{kind}" for kind in MOVEMENTS)
MOVED = (*MOVEMENTS, "pieces", "month_kept", "month_lost", "month_churned", *YEAR, *NETTED)
"""The flow kinds made from the customer's MRR movements: from its segments alone."""
BOOKED = ("recurring_acv", "including_fees_acv", "tcv", "fees")
"""The flow kinds made from its bookings and fees."""
_MAKERS = dict.fromkeys(MOVED, _moved_rows) | dict.fromkeys(BOOKED, _booked_rows)


def source_of(name: str) -> Source:
    """What of a customer's timeline the flow kind `name` depends on (`changed`)."""
    return "segments" if name in MOVED else "books"


def _row(key: str, start: date, end: date, value: Fraction) -> Derived:
    return (key, start, end, value.numerator, value.denominator)


def _scaled(key: str, start: date, end: date, num: int, den: int) -> Derived:
    """The row of `num / den`, reduced as `_row` stores a `Fraction`."""
    common = gcd(num, den)
    return (key, start, end, num // common, den // common)


def _pieces(moved: list[ScaledMove], den: int) -> Iterator[Derived]:
    """The runs of MRR > 0, each keyed by the customer's cohort (`cohort_key`), so that
    a cohort's sums need no other row (`read_model_cohort_snapshots`)."""
    opened: ScaledMove | None = None
    key = NO_SUBSCRIPTION
    for movement in moved:
        if opened is not None:
            yield _scaled(key, opened.day, movement.day, opened.cur, den)
        opened = movement if movement.cur > 0 else None
        if opened is not None and key == NO_SUBSCRIPTION:
            key = cohort_key(opened.day)
    if opened is not None:
        yield _scaled(key, opened.day, OPEN_END, opened.cur, den)


def cohort_key(first: date) -> str:
    """The key of a customer's pieces: the month of its first day of MRR > 0, its cohort
    (SPEC §13), as `YYYY-MM`."""
    return f"{first.year:04d}-{first.month:02d}"


def _month_moves(moved: list[ScaledMove]) -> Iterator[tuple[date, int, int]]:
    """(month end, a, b) of each calendar month in which the customer's MRR moved from
    a > 0 at the end of the month before to b != a at the month's end."""
    for last, (a, b) in _month_ends(moved).items():
        if a > 0 and a != b:
            yield last, a, b


def _year_rows(moved: list[ScaledMove], den: int) -> dict[str, list[Derived]]:
    """The customer's trailing-12-month rows (`YEAR`), from its MRR as runs of days: a
    run covering the starts of some windows, and one covering their ends, add a constant
    to the windows ending on a run of days (`_first_end`), one row for them all."""
    runs = [
        (m.day, moved[i + 1].day if i + 1 < len(moved) else OPEN_END, m.cur)
        for i, m in enumerate(moved)
    ]
    found: dict[str, list[Derived]] = defaultdict(list)
    for index, (low, high, before) in enumerate(runs):
        opened = (_first_end(low), _first_end(high))  # the windows starting in the run
        if not before or opened[0] >= opened[1]:
            continue
        found["year_opened"].append(_scaled(NO_SUBSCRIPTION, *opened, before, den))
        for other_low, other_high, after in runs[index:]:
            if other_low >= opened[1]:
                break  # the runs are in order: none after this one holds a window's end
            first, last = max(opened[0], other_low), min(opened[1], other_high)
            if after == before or first >= last:
                continue
            window = (NO_SUBSCRIPTION, first, last)
            found["year_kept"].append(_scaled(*window, after - before, den))
            if after < before:
                found["year_lost"].append(_scaled(*window, after - before, den))
            if not after:
                found["year_churned"].append(_scaled(*window, before, den))
    return found


_LAST_START = year_before(OPEN_END - DAY)
"""The latest start of a window ending on a day a query can ask (at most 9999-12-30)."""


@lru_cache(maxsize=1 << 16)  # runs begin on a few thousand distinct days
def _first_end(start: date) -> date:
    """The first day whose window's start (`year_before`) is on or after `start`: the
    windows starting in `[a, b)` are those ending in `[_first_end(a), _first_end(b))`,
    as `year_before` never decreases from one day to the next."""
    if start > _LAST_START:
        return OPEN_END
    if start == date.min:  # every day of year 1 has it as its window's start
        return date.min
    end = add_months(start, 12) - 3 * DAY  # a day or two early, at most
    while year_before(end) < start:
        end += DAY
    return end


def _netted_rows(moved: list[ScaledMove], den: int) -> dict[str, list[Derived]]:
    """The customer's movements netted by month (`NETTED`): on the end of each month in
    which its MRR moved, its MRR then against that at the end of the month before."""
    found: dict[str, list[Derived]] = defaultdict(list)
    seen = False  # whether its MRR was > 0 at an earlier month end
    for last, (before, after) in _month_ends(moved).items():
        if (kind := classify(before, after, seen)) is not None and last < OPEN_END:
            row = _scaled(NO_SUBSCRIPTION, last, OPEN_END, kind[1], den)
            found[f"netted_{kind[0]}"].append(row)
        seen = seen or before > 0 or after > 0
    return found


def _month_ends(moved: list[ScaledMove]) -> dict[date, tuple[int, int]]:
    """The customer's MRR at the end of the month before and at the end of each month in
    which it moved, by month end."""
    ends: dict[date, tuple[int, int]] = {}
    for movement in moved:  # in day order
        last = months_end(movement.day)
        ends[last] = (ends[last][0] if last in ends else movement.prev, movement.cur)
    return ends
