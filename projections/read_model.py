"""The persistent, bitemporal read model: maintained by following the ledger's positions.

For each event after the tracked position, its customer's history up to that event is
re-folded (the ONE fold), the derived rows are compared with the rows believed so far,
vanished rows are closed (`recorded_to = p`) and new ones opened (`recorded_from = p`).
Rows and the tracked position are committed in one transaction, and the position is
moved first with a compare-and-set, so a batch is applied exactly once even when
several processes catch up at the same time. A rebuild replays from position 0 and
therefore yields exactly the rows incremental maintenance yields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from ledger.errors import StoreUnavailable
from ledger.store import EventStore
from ledger.timeline import Recorded
from projections.contract_value import AcvPolicy
from projections.read_model_nodes import fork_node
from projections.read_model_report import figures_report
from projections.read_model_rows import FEE_SPAN, SEGMENT, Belief, Kind, beliefs
from projections.read_model_tables import BELIEVED, connect, fee_spans, segments, tracking
from projections.report import Report

TRACK = "figures"
BATCH = 20_000
REBUILD_CUSTOMERS = 2_000
_CUSTOMERS = "SELECT DISTINCT customer_id FROM {entries} ORDER BY customer_id"
_TOUCHED = "SELECT DISTINCT customer_id FROM {entries} WHERE position > ? AND position <= ?"
TABLES: dict[Kind, Table] = {SEGMENT: segments, FEE_SPAN: fee_spans}
Progress = Callable[[int, int], None]
P = ParamSpec("P")
T = TypeVar("T")


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    """A database failure becomes one clear message naming the ledger, never a traceback."""

    @wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except DBAPIError as exc:
            where = _location(args)
            first = str(exc.orig).strip().splitlines()[:1] or [type(exc.orig).__name__]
            raise StoreUnavailable(f"cannot use the read model of {where}: {first[0]}") from None

    return guarded


def _location(args: tuple[Any, ...]) -> Any:
    """The ledger a guarded method works on (its store is set once `__init__` is past)."""
    store = next((a for a in args if isinstance(a, EventStore)), None)
    return (store or args[0].store).location


class Contended(Exception):
    """Another process applied the same batch first."""


@dataclass(frozen=True)
class Status:
    tracked: int
    head: int

    @property
    def lag(self) -> int:
        return self.head - self.tracked

    def as_json(self) -> dict[str, Any]:
        return {"tracked": self.tracked, "head": self.head, "lag": self.lag}


@dataclass
class _Changes:
    """One batch's writes: rows to open (with their believed span) and rows to close."""

    opened: list[tuple[str, Belief, int, int]] = field(default_factory=list)
    closed: list[tuple[Kind, int, int]] = field(default_factory=list)


class ReadModel:
    """The read model of one ledger, in the ledger's own database."""

    @_guarded
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.engine = connect(store.location.url)

    def close(self) -> None:
        self.engine.dispose()

    @_guarded
    def tracked(self) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(select(tracking.c.position).where(tracking.c.name == TRACK))
            return int(found.scalar() or 0)

    @_guarded
    def status(self) -> Status:
        return Status(self.tracked(), self.store.head())

    @_guarded
    def catch_up(self, progress: Progress | None = None) -> int:
        """Applies every event recorded after the tracked position; the position reached."""
        head = self.store.head()
        while (done := self.tracked()) < head:
            stop = min(head, done + BATCH)
            try:
                self._apply(done, stop)
            except Contended:
                continue
            if progress is not None:
                progress(stop, head)
        return max(done, head)

    @_guarded
    def rebuild(self, progress: Progress | None = None) -> int:
        """Drops every derived row and replays the whole ledger, customer by customer, in
        one transaction: the same `_follow` as incremental maintenance, so the same rows."""
        head = self.store.head()
        customers = [str(c) for (c,) in self.store.recorder.select(_CUSTOMERS)]
        with self.engine.begin() as conn:
            conn.execute(delete(segments))
            conn.execute(delete(fee_spans))
            conn.execute(delete(tracking).where(tracking.c.name == TRACK))
            conn.execute(insert(tracking).values(name=TRACK, position=head))
            done = 0
            for first in range(0, len(customers), REBUILD_CUSTOMERS):
                chunk = customers[first : first + REBUILD_CUSTOMERS]
                changes = _Changes()
                for customer, history in self.store.histories(chunk).items():
                    kept = _upto(history, head)
                    _follow(customer, kept, {}, 0, changes)
                    done += len(kept)
                _write(conn, changes)
                if progress is not None:
                    progress(done, head)
        return head

    @_guarded
    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every derived row, without its id and index node: what a rebuild reproduces."""
        found = {}
        with self.engine.connect() as conn:
            for table in (segments, fee_spans):
                columns = [c for c in table.c if c.name not in ("id", "node")]
                found[table.name] = sorted(tuple(r) for r in conn.execute(select(*columns)))
        return found

    @_guarded
    def report(self, as_of: date, position: int, currency: str, policy: AcvPolicy) -> Report:
        """The figures at `position`, catching up first when the read model lags."""
        if self.tracked() < position:
            self.catch_up()
        with self.engine.connect() as conn:
            return figures_report(conn, as_of, position, currency, policy)

    def _apply(self, done: int, stop: int) -> None:
        touched = self.store.recorder.select(_TOUCHED, (done, stop))
        histories = self.store.histories(str(c) for (c,) in touched)
        with self.engine.begin() as conn:
            _advance(conn, done, stop)
            believed = _believed(conn, histories)
            changes = _Changes()
            for customer, history in histories.items():
                _follow(customer, _upto(history, stop), believed[customer], done, changes)
            _write(conn, changes)


def _follow(
    customer: str, history: list[Recorded], believed: Believed, after: int, changes: _Changes
) -> None:
    """Re-folds the customer's history at each of its events recorded after `after`."""
    for item in history:
        if item.position > after:
            now = beliefs(customer, _upto(history, item.position))
            _diff(customer, believed, now, item.position, changes)


def _upto(history: list[Recorded], position: int) -> list[Recorded]:
    return [r for r in history if r.position <= position]


def _advance(conn: Connection, done: int, stop: int) -> None:
    """Moves the tracked position first, so a concurrent catch-up waits or gives way."""
    moved = conn.execute(
        update(tracking)
        .where(tracking.c.name == TRACK, tracking.c.position == done)
        .values(position=stop)
    )
    if moved.rowcount == 1:
        return
    if done == 0 and conn.execute(select(tracking).where(tracking.c.name == TRACK)).first() is None:
        conn.execute(insert(tracking).values(name=TRACK, position=stop))
        return
    raise Contended


Believed = dict[Belief, tuple[str, int]]
"""A customer's believed rows: ("db", row id) or ("new", index in `_Changes.opened`)."""


def _believed(conn: Connection, customers: Iterable[str]) -> dict[str, Believed]:
    found: dict[str, Believed] = {c: {} for c in customers}
    keys = sorted(found)
    for kind, table in TABLES.items():
        c = table.c
        query = select(c.id, c.customer_id, c.subscription_id, c.start, c.end, c.num, c.den)
        for first in range(0, len(keys), 500):
            chunk = keys[first : first + 500]
            rows = conn.execute(
                query.where(c.recorded_to == BELIEVED, c.customer_id.in_(chunk))
            ).all()
            for rid, customer, sid, start, end, num, den in rows:
                found[customer][Belief(kind, sid, start, end, num, den)] = ("db", rid)
    return found


def _diff(
    customer: str, believed: Believed, now: frozenset[Belief], position: int, changes: _Changes
) -> None:
    for gone in [b for b in believed if b not in now]:
        where, key = believed.pop(gone)
        if where == "db":
            changes.closed.append((gone.kind, key, position))
        else:
            row = changes.opened[key]
            changes.opened[key] = (row[0], row[1], row[2], position)
    for fresh in sorted(now - believed.keys()):
        believed[fresh] = ("new", len(changes.opened))
        changes.opened.append((customer, fresh, position, BELIEVED))


def _write(conn: Connection, changes: _Changes) -> None:
    for kind, table in TABLES.items():
        closed = [{"rid": rid, "to": to} for k, rid, to in changes.closed if k == kind]
        if closed:
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("rid"))
                .values(recorded_to=bindparam("to")),
                closed,
            )
        opened = [_row(*row) for row in changes.opened if row[1].kind == kind]
        if opened:
            conn.execute(insert(table), opened)


def _row(customer: str, belief: Belief, recorded_from: int, recorded_to: int) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "subscription_id": belief.subscription_id,
        "start": belief.start,
        "end": belief.end,
        "num": belief.num,
        "den": belief.den,
        "recorded_from": recorded_from,
        "recorded_to": recorded_to,
        "node": fork_node(belief.start, belief.end),
    }
