"""Deriving the read model's rows for a set of customers over positions `(done, stop]`.

A reader only ever sees the ledger where a commit ended (`Queries.commit_ends`): every
position inside one all-or-nothing import is a state nobody observed. So rows are
believed from commit to commit. Each customer's history is read once and folded once
(`timelines`: the ONE fold, continued event by event and folded again only after a
backdated event or a void), and its rows are derived at the end of each commit that
changed it, not after each event: once per customer for a whole import. They are
compared with the rows believed before: vanished rows are closed at that commit's end,
new ones opened. A figure at a position inside a commit is answered by replaying the
events instead (`Ledger`). The result is a batch of writes ready for `executemany`. It
is a pure function of the database's committed events and rows, so it may run in a
worker process.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.domain.events import RATES, Event
from ledger.domain.rates import rate_timelines
from ledger.domain.timeline import Recorded, Timeline, timelines
from ledger.store.codec import entry_of
from ledger.store.recorders import chunks
from projections.read_model.bulk import collector_paused
from projections.read_model.kinds import KINDS, RowKind
from projections.read_model.rows import Derived, changed
from projections.read_model.sql import Raw, marks
from projections.read_model.tables import BELIEVED, SMALL

IN_LIST = 500
"""Keys per `IN (...)`: small enough for either database."""
UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The fold never reads an event's recorded time, so it is not read (nor parsed)."""


@dataclass(frozen=True)
class EventSql:
    """The ledger's event queries, with its table names (`EventStore.recorder.q`)."""

    touched: str  # customers with an event in (?, ?]
    commits: str  # the last position of each commit's events in (?, ?]
    commit_end: str  # the last position of the commit that wrote position ?
    histories: str  # events of the customers in {keys} up to ?, by customer and position
    currency: str  # the ledger's: the fold's, for subscriptions that name none


@dataclass
class Writes:
    """One set of customers' writes, ready for `executemany`, per kind (in `KINDS` order):
    rows to open (customer, subscription, start, end, num, big, den, recorded_from,
    recorded_to) and rows to close (recorded_to, id). `events` is how many events of
    `(done, stop]` they reflect."""

    opened: list[list[tuple[Any, ...]]] = field(default_factory=lambda: [[] for _ in KINDS])
    closed: list[list[tuple[int, int]]] = field(default_factory=lambda: [[] for _ in KINDS])
    events: int = 0


Ref = tuple[bool, int]
"""Where a believed row is: (True, row id) in its table, (False, index) in `opened`."""
Believed = list[dict[Derived, Ref]]
"""A customer's believed rows, per kind."""


def touched(raw: Raw, sql: EventSql, done: int, stop: int) -> list[str]:
    return sorted(str(c) for (c,) in raw.rows(sql.touched, (done, stop)))


def derive(
    raw: Raw, sql: EventSql, customers: Sequence[str], done: int, ends: Sequence[int]
) -> Writes:
    """The writes that bring these customers' rows from position `done` to the last of
    `ends`, the commit ends after `done` (in order)."""
    with collector_paused():  # it would scan the histories again and again
        believed = no_beliefs(customers) if done == 0 else believed_rows(raw, customers)
        writes = Writes()
        stop = ends[-1] if ends else done
        for customer, history in _histories(raw, sql, customers, stop).items():
            commits = (done, ends)
            _follow(customer, history, sql.currency, believed[customer], commits, writes, raw)
            writes.events += sum(1 for r in history if r.position > done)
        return writes


def commit_ends(raw: Raw, sql: EventSql, done: int, stop: int) -> list[int]:
    """The positions in `(done, stop]` where a commit ended."""
    return sorted(int(p) for (p,) in raw.rows(sql.commits, (done, stop)))


def follow(
    customer: str,
    timeline: Timeline,
    believed: Believed,
    position: int,
    writes: Writes,
    raw: Raw,
    before: Timeline | None = None,
) -> None:
    """The writes that make `timeline` the customer's believed rows from `position` on
    (`before`: the timeline the believed rows were derived from, when known)."""
    sources = changed(before, timeline)
    for number, kind in enumerate(KINDS):
        if kind.source not in sources:
            continue
        mine = believed[number]
        derived = _derived(kind, timeline)
        if not mine:  # a customer new to the model (every one, from 0): nothing to close
            _open(customer, position, derived, mine, writes.opened[number], raw)
            continue
        now = set(derived)
        if mine.keys() != now:  # most events leave most kinds as they were
            _diff(customer, position, now, mine, writes, number, raw)


def _histories(
    raw: Raw, sql: EventSql, customers: Sequence[str], stop: int
) -> dict[str, list[Recorded]]:
    found: dict[str, list[Recorded]] = {c: [] for c in customers}
    for chunk in chunks(customers, IN_LIST):
        query = sql.histories.replace("{keys}", marks(len(chunk)))
        for customer, position, state in raw.rows(query, (*chunk, stop)):
            event = Event.from_entry(entry_of(state))
            found[customer].append(Recorded(int(position), UNKNOWN_TIME, event))
    return found


def _follow(
    customer: str,
    history: list[Recorded],
    currency: str,
    believed: Believed,
    commits: tuple[int, Sequence[int]],
    writes: Writes,
    raw: Raw,
) -> None:
    """The rows at the end of each commit after `done` that changed the customer, as
    writes. A kind whose source did not change keeps the rows it had (believed)."""
    done, ends = commits
    points = _points([r.position for r in history], done, ends)
    before: Timeline | None = None
    folded = (
        rate_timelines(history, points)
        if customer == RATES
        else timelines(customer, history, currency, points)
    )
    for position, timeline in folded:
        if position > done:
            follow(customer, timeline, believed, points[position], writes, raw, before)
        before = timeline


def _points(positions: Sequence[int], done: int, ends: Sequence[int]) -> dict[int, int]:
    """The customer's last position at or before `done`, and its last in each commit
    after it, each with the end of its commit (the position its rows are believed from)."""
    points: dict[int, int] = {}
    last_before = None
    for number, position in enumerate(positions):
        if position <= done:
            last_before = position
            continue
        end = ends[bisect_left(ends, position)]
        later = positions[number + 1] if number + 1 < len(positions) else None
        if later is None or later > end:
            points[position] = end
    if last_before is not None:
        points[last_before] = done
    return points


def _diff(
    customer: str,
    position: int,
    now: set[Derived],
    mine: dict[Derived, Ref],
    writes: Writes,
    number: int,
    raw: Raw,
) -> None:
    """Closes the believed rows that are gone at `position`, opens the new ones."""
    opened = writes.opened[number]
    for gone in [r for r in mine if r not in now]:
        stored, key = mine.pop(gone)
        if stored:
            writes.closed[number].append((position, key))
        else:
            opened[key] = (*opened[key][:8], position)
    _open(customer, position, now - mine.keys(), mine, opened, raw)


def _open(
    customer: str,
    position: int,
    rows: Iterable[Derived],
    mine: dict[Derived, Ref],
    opened: list[tuple[Any, ...]],
    raw: Raw,
) -> None:
    """Opens `rows` (none of them believed) at `position`."""
    day = raw.day
    for fresh in rows:
        if fresh in mine:  # a kind may derive one row twice (two equal fee spans)
            continue
        mine[fresh] = (False, len(opened))
        sid, start, end, num, den = fresh
        small, big = (num, None) if -SMALL < num < SMALL else (0, str(num))
        opened.append((customer, sid, day(start), day(end), small, big, den, position, BELIEVED))


def no_beliefs(customers: Iterable[str]) -> dict[str, Believed]:
    return {c: [{} for _ in KINDS] for c in customers}


def believed_rows(raw: Raw, customers: Sequence[str]) -> dict[str, Believed]:
    found = no_beliefs(customers)
    for number, kind in enumerate(KINDS):
        for chunk in chunks(customers, IN_LIST):
            query = (
                f'SELECT id, customer_id, subscription_id, start, "end", num, big, den '
                f"FROM {kind.table.name} WHERE recorded_to = ? "
                f"AND customer_id IN ({marks(len(chunk))})"
            )
            found_rows = raw.rows(query, (BELIEVED, *chunk))
            for rid, customer, sid, start, end, num, big, den in found_rows:
                value = int(big) if big is not None else int(num)
                key = (sid, raw.to_day(start), raw.to_day(end), value, int(den))
                found[customer][number][key] = (True, int(rid))
    return found


def _derived(kind: RowKind, timeline: Timeline) -> Iterable[Derived]:
    """A customer's rows of one kind. Of a customer with a trial, a pause or a discount
    (SPEC §11), only the row that says it is held out: its figures are replayed."""
    if timeline.held_out != kind.foreign or (timeline.lifecycle and kind.name != "foreign"):
        return ()
    return kind.derive(timeline)
