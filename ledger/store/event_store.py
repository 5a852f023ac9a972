"""The event store: the `eventsourcing` library, one stream (aggregate) per customer.

The customer stream is the consistency boundary (movements are per customer): appends
to it are guarded by the library's optimistic concurrency on (stream, version). The
ledger-wide position is the library's notification id; the recorders of
`ledger.store.recorders` index every event with its recorded time in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from eventsourcing.persistence import PersistenceError
from sqlalchemy import ClauseElement, ColumnElement, Select, and_, bindparam, func, null, select

from ledger.domain.errors import LedgerError, StoreUnavailable, first_line
from ledger.domain.events import Event
from ledger.domain.timeline import Recorded
from ledger.store.codec import LedgerApplication, StoredEvents, decode
from ledger.store.location import Location, check_sqlite, prepare_postgres, sqlite_exists
from ledger.store.recorders import (
    IndexRow,
    LedgerIndex,
    Unsealed,
    chunks,
    recorded_now,
)
from ledger.store.tables import Params

if TYPE_CHECKING:
    from ledger.store.recorders import Recorder

PAGE = 20_000


class Queries:
    """The ledger's reads, through whatever `execute` runs on: a connection of its own,
    or the cursor of a write transaction (which sees what that transaction wrote)."""

    recorder: Recorder

    def execute(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def rows(self, statement: ClauseElement) -> list[tuple[Any, ...]]:
        return self.execute(*self.recorder.tables.compiled(statement))

    def head(self) -> int:
        entries = self.recorder.tables.entries
        return int(self.rows(select(func.max(entries.c.position)))[0][0] or 0)

    def stored(self, where: ColumnElement[bool], *, times: bool = True) -> Select[Any]:
        """Stored events with their positions (and recorded times), in position order.
        Without the times, a customer's are found from its index alone."""
        t = self.recorder.tables
        recorded_at = t.entries.c.recorded_at if times else null()
        return (
            select(t.entries.c.position, recorded_at, t.events.c.state)
            .join(t.events, t.events.c.position == t.entries.c.position)
            .where(where)
            .order_by(t.entries.c.position)
        )

    def histories(
        self, customer_ids: Iterable[str], *, times: bool = True
    ) -> dict[str, list[Recorded]]:
        """The recorded events of each customer, in position order; without their
        recorded times (`UNREAD`) when folds that order by position need only them."""
        found: dict[str, list[Recorded]] = {c: [] for c in customer_ids}
        customer = self.recorder.tables.entries.c.customer_id
        for chunk in chunks(sorted(found)):
            query = self.stored(customer.in_(bindparam("keys", chunk, expanding=True)), times=times)
            for item in map(decode, self.rows(query)):
                found[item.event.customer_id].append(item)
        return found

    def recorded(self, event_ids: Iterable[str]) -> list[Recorded]:
        """The recorded events among `event_ids`."""
        found: list[Recorded] = []
        event_id = self.recorder.tables.entries.c.event_id
        for chunk in chunks(sorted(set(event_ids))):
            query = self.stored(event_id.in_(bindparam("keys", chunk, expanding=True)))
            found.extend(map(decode, self.rows(query)))
        return found

    def commit_ends(self, after: int, upto: int) -> list[int]:
        """The positions in `(after, upto]` at which a commit ended: the states of the
        ledger a reader could see. Every commit stamps its events with one recorded time
        of its own; commits of an earlier version that shared a time count as one."""
        c = self.recorder.tables.entries.c
        inside = and_(c.position > after, c.position <= upto)
        ends = select(func.max(c.position)).where(inside).group_by(c.recorded_at)
        return sorted(int(p) for (p,) in self.rows(ends))

    def observed(self, position: int) -> bool:
        """Whether a reader could have seen the ledger at `position`: before its first
        event, or where a commit ended. Inside one all-or-nothing import, no one did."""
        c = self.recorder.tables.entries.c
        found = dict(
            self.rows(
                select(c.position, c.recorded_at).where(c.position.in_([position, position + 1]))
            )
        )
        return position == 0 or (position in found and found[position] != found.get(position + 1))

    def versions(self, customer_ids: Iterable[str]) -> dict[str, int]:
        """How many events each customer's stream holds (absent: none)."""
        c = self.recorder.tables.entries.c
        count = select(c.customer_id, func.count()).group_by(c.customer_id)
        return {str(k): int(n) for k, n in self._each(count, c.customer_id, customer_ids)}

    def customers_of(self, event_ids: Iterable[str]) -> dict[str, str]:
        """The customer each recorded event id belongs to."""
        c = self.recorder.tables.entries.c
        return dict(self._each(select(c.event_id, c.customer_id), c.event_id, event_ids))

    def owners(self, subscription_ids: Iterable[str]) -> dict[str, str]:
        """The customer that owns each known subscription id."""
        c = self.recorder.tables.subscriptions.c
        query = select(c.subscription_id, c.customer_id)
        return dict(self._each(query, c.subscription_id, subscription_ids))

    def _each(
        self, query: Select[Any], key: ColumnElement[str], keys: Iterable[str]
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of `query` for `keys`, a database-sized IN-list at a time."""
        for chunk in chunks(sorted(set(keys))):
            yield from self.rows(query.where(key.in_(bindparam("keys", chunk, expanding=True))))


class EventStore(Queries):
    """The ledger's events with both clocks, on SQLite or PostgreSQL."""

    def __init__(self, location: Location, *, create: bool = False) -> None:
        self.location = location
        if location.is_sqlite and not create and not sqlite_exists(location):
            raise LedgerError(f"no ledger at {location}: run `arr init` first")
        if location.is_sqlite:
            check_sqlite(location)
        if not location.is_sqlite:
            prepare_postgres(location, create=create)
        try:
            self.app = LedgerApplication(env=location.env(create=create))
        except PersistenceError as exc:
            raise StoreUnavailable(
                f"cannot open the ledger at {location}: {first_line(exc)}"
            ) from None
        recorder = self.app.recorder
        assert isinstance(recorder, LedgerIndex)  # one of the ledger's recorders
        self.recorder = cast("Recorder", recorder)
        self.stored_events = StoredEvents(self.app.mapper)

    def close(self) -> None:
        self.app.close()

    def execute(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        return self.recorder.run(sql, params)

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of SQL in the recorders' own templates (`{entries}`, `?`)."""
        return self.recorder.select(sql, params)

    def setting(self, key: str) -> str | None:
        c = self.recorder.tables.settings.c
        found = self.rows(select(c.value).where(c.key == key))
        return str(found[0][0]) if found else None

    def position_at(self, moment: datetime) -> int:
        """The last position recorded at or before `moment` (0 before the first): an
        answer that can no longer change. A writer stamps its events, under the write
        lock, no earlier than the latest committed time and no earlier than its clock, and
        commits a moment later. So a `moment` before the latest committed time is settled
        by the committed rows alone; any other waits for the writers in flight (`settled`)
        and for the clock to pass it, after which every writer stamps a later time."""
        stamp = moment.astimezone(UTC).isoformat(timespec="microseconds")
        known, latest = self._known_at(self.rows, stamp)
        if latest is not None and latest > stamp:
            return known
        with self.recorder.settled() as cursor:
            _wait_past(moment)
            read = lambda q: _fetch(cursor, *self.recorder.tables.compiled(q))  # noqa: E731
            known, _ = self._known_at(read, stamp)
        return known

    def _known_at(
        self, rows: Callable[[ClauseElement], list[tuple[Any, ...]]], stamp: str
    ) -> tuple[int, str | None]:
        """The last position recorded at or before `stamp`, and the latest recorded time."""
        c = self.recorder.tables.entries.c
        known = select(func.max(c.position)).where(c.recorded_at <= stamp).scalar_subquery()
        latest = select(func.max(c.recorded_at)).scalar_subquery()
        position, last = rows(select(known.label("known"), latest.label("latest")))[0]
        return int(position or 0), None if last is None else str(last)

    def entries(self, stop: int | None = None, start: int = 0) -> Iterator[Recorded]:
        """Every recorded event with start < position <= stop, in position order."""
        position, last = self.recorder.tables.entries.c.position, start
        while True:
            where = position > last if stop is None else and_(position > last, position <= stop)
            rows = self.rows(self.stored(where).limit(PAGE))
            yield from map(decode, rows)
            if len(rows) < PAGE:
                return
            last = int(rows[-1][0])

    @contextmanager
    def writing(self) -> Iterator[Transaction]:
        """The one write transaction of an append or import, holding the database's write
        lock from its start: reads through it see a still ledger, and its own writes.
        What it wrote is stamped and sealed as it ends well, then committed."""
        with self.recorder.writing() as cursor:
            transaction = Transaction(self, cursor)
            yield transaction
            if transaction.wrote:
                self.recorder.seal(cursor, transaction.since, transaction.unsealed)


class Transaction(Queries):
    """Reads and appends inside one write transaction; committed when it ends well."""

    def __init__(self, store: EventStore, cursor: Any) -> None:
        self.recorder, self.cursor = store.recorder, cursor
        self.stored_events = store.stored_events
        self.wrote = False
        self.unsealed = Unsealed()
        last = self.recorder.last_recorded(cursor)
        self.since = last[0] if last else 0  # what comes after is this transaction's
        # Until `seal` stamps them, its events carry a time that keeps the clock's order.
        self.provisional = recorded_now(last[1] if last else None)

    def execute(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        return _fetch(self.cursor, sql, params)

    def append(self, events: Sequence[Event], versions: dict[str, int]) -> list[int]:
        """Appends `events` in order as the next versions of their customers' streams
        (`versions`: each stream's current version, moved on past them). Returns their
        positions."""
        stored = self.stored_events.build(events, versions, datetime.now(UTC))
        index = [IndexRow(e.event_id, e.customer_id, _new_subscription(e)) for e in events]
        base = len(self.unsealed)
        for n, event in enumerate(events):
            if event.historical is not None:  # recorded at its own time (SPEC §14)
                self.unsealed.times[base + n] = event.historical
        self.wrote = True
        return self.recorder.write(self.cursor, stored, index, self.provisional, self.unsealed)


def _fetch(cursor: Any, sql: str, params: Params) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return [tuple(row) for row in cursor.fetchall()]


def _wait_past(moment: datetime) -> None:
    """Returns once the recording clock is past `moment` (a `known_at` of "now" is a
    moment or two ahead of it). Bounded: a clock that does not move (a test's frozen
    clock) is not waited for."""
    for _ in range(2_000):
        if datetime.now(UTC) > moment:
            return
        time.sleep(0.0005)


def _new_subscription(event: Event) -> str | None:
    return event.subscription_id if event.type == "new" else None
