"""The event store: the `eventsourcing` library, one stream (aggregate) per customer.

The customer stream is the consistency boundary (movements are per customer): appends
to it are guarded by the library's optimistic concurrency on (stream, version). The
ledger-wide position is the library's notification id; the recorders of
`ledger.recorders` index every event with its recorded time in the same transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring as _quote
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Mapper, PersistenceError, StoredEvent
from eventsourcing.utils import get_topic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ledger.errors import LedgerError, StoreDamaged, StoreUnavailable, first_line
from ledger.events import Event
from ledger.recorders import (
    IndexRow,
    PostgresLedgerRecorder,
    SQLiteLedgerRecorder,
    Unsealed,
    chunks,
    recorded_now,
)
from ledger.timeline import Recorded

STREAMS = UUID("8f5d2d1e-3c0a-4c55-9a51-2f4a7b0f3e11")
DEFAULT_URL = "sqlite:///arr.db"
PAGE = 20_000


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
    return _library_event(
        stream_id(event.customer_id), version, timestamp or datetime.now(UTC), event.entry()
    )


def _library_event(stream: UUID, version: int, timestamp: datetime, entry: dict[str, str]) -> Any:
    kind = Customer.Opened if version == 1 else Customer.EventRecorded
    extra = {"originator_topic": get_topic(Customer)} if version == 1 else {}
    return kind(  # type: ignore[call-arg]  # the library makes events dataclasses
        originator_id=stream, originator_version=version, timestamp=timestamp, entry=entry, **extra
    )


class StoredEvents:
    """Stored events exactly as the library's mapper (with `_Transcoder`) would make them
    from `domain_event`, without a domain event per ledger event: each state is the
    entry's JSON (`_entry_json`) inside a frame the mapper made once per batch for an
    empty entry. `tests/test_import.py` holds them equal to the mapper's and reads them
    back with the library's mapper, repository and notification log."""

    _HOLE = b'"entry":{}'

    def __init__(self, mapper: Mapper[UUID]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder)
        # `_entry_json` spells out what this encoder makes of a dict of strings.
        assert transcoder.encoder.item_separator == "," and not transcoder.encoder.ensure_ascii
        assert transcoder.encoder.key_separator == ":"

    def build(
        self, events: Sequence[Event], versions: dict[str, int], timestamp: datetime
    ) -> list[StoredEvent]:
        """`events` as the next versions of their streams. `versions` holds the streams'
        current versions (absent: a new stream) and is moved on past these events."""
        frames = {first: self._frame(first, timestamp) for first in (True, False)}
        streams = {c: stream_id(c) for c in {e.customer_id for e in events}}
        out = []
        for event in events:
            customer = event.customer_id
            versions[customer] = version = versions.get(customer, 0) + 1
            topic, before, after = frames[version == 1]
            state = b"".join((before, _entry_json(event.entry()).encode(), after))
            out.append(StoredEvent(streams[customer], version, topic, state))
        return out

    def _frame(self, first: bool, timestamp: datetime) -> tuple[str, bytes, bytes]:
        template = _library_event(STREAMS, 1 if first else 2, timestamp, {})
        empty = self.mapper.to_stored_event(template)
        before, hole, after = empty.state.partition(self._HOLE)
        assert hole and self._HOLE not in after, "the library's state layout changed"
        return empty.topic, before + b'"entry":', after


def _entry_json(entry: dict[str, str]) -> str:
    """The library's JSON of a dict of strings (compact, not ASCII-escaped), without the
    per-call setup of `JSONEncoder.encode`, which was half of building a stored event."""
    return "{" + ",".join([f"{_quote(k)}:{_quote(v)}" for k, v in entry.items()]) + "}"


class _Transcoder(JSONTranscoder):
    def _encode_obj(self, o: Any) -> dict[str, Any]:
        if type(o) not in self.types and isinstance(o, datetime):
            return {"_type_": "datetime_iso", "_data_": o.isoformat()}
        return super()._encode_obj(o)


class LedgerApplication(Application[UUID]):
    name = "arr"

    def construct_transcoder(self) -> JSONTranscoder:
        transcoder = _Transcoder()
        self.register_transcodings(transcoder)
        return transcoder


@dataclass(frozen=True)
class Location:
    """Where a ledger lives, parsed from a SQLAlchemy URL."""

    url: URL

    @classmethod
    def parse(cls, text: str | None) -> Location:
        raw = text or os.environ.get("ARR_DB") or DEFAULT_URL
        try:
            url = make_url(raw)
        except ArgumentError:
            raise LedgerError(f"--db: {raw!r} is not a database URL") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise LedgerError(
                f"--db: {url.get_backend_name()!r} is not supported (sqlite or postgresql)"
            )
        return cls(url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def __str__(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def sqlite_path(self) -> str:
        return self.url.database or ":memory:"

    def env(self, *, create: bool) -> dict[str, str]:
        common = {"CREATE_TABLE": "yes" if create else "no", "ORIGINATOR_ID_TYPE": "uuid"}
        if self.is_sqlite:
            recorder = get_topic(SQLiteLedgerRecorder)
            return common | {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.sqlite_path(),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": recorder,
            }
        url = self.url
        return common | {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.database or "postgres",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": str(url.query.get("schema", "")),
            "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLedgerRecorder),
        }


_ENTRY = '"entry":'
_JSON = json.JSONDecoder()


UNREAD = datetime.min.replace(tzinfo=UTC)
"""The recorded time of an event read without it (`Queries.histories(times=False)`)."""


def _decode(row: Sequence[Any]) -> Recorded:
    """A stored event read back. Only its entry is decoded, found after the frame the
    library writes before it (`StoredEvents`): histories are read for every import."""
    position, recorded_at, state = row
    try:
        text = state if isinstance(state, str) else bytes(state).decode()
        entry, _ = _JSON.raw_decode(text, text.index(_ENTRY) + len(_ENTRY))
        return Recorded(int(position), _moment(recorded_at), Event.from_entry(entry))
    except (ValueError, KeyError, TypeError, AttributeError):  # never what the ledger wrote
        raise StoreDamaged(
            f"the stored event at position {position} cannot be read: it was altered "
            "outside the ledger (run `arr audit verify`)"
        ) from None


@lru_cache(maxsize=1024)  # a batch of events shares one recorded time
def _moment(recorded_at: str | None) -> datetime:
    return UNREAD if recorded_at is None else datetime.fromisoformat(recorded_at)


class Queries:
    """The ledger's reads, through whatever `select` reads: a connection of its own, or
    the cursor of a write transaction (which sees what that transaction wrote)."""

    recorder: SQLiteLedgerRecorder | PostgresLedgerRecorder

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def head(self) -> int:
        rows = self.select("SELECT MAX(position) FROM {entries}")
        return int(rows[0][0] or 0)

    def histories(
        self, customer_ids: Iterable[str], *, times: bool = True
    ) -> dict[str, list[Recorded]]:
        """The recorded events of each customer, in position order; without their
        recorded times (`UNREAD`) when folds that order by position need only them."""
        found: dict[str, list[Recorded]] = {c: [] for c in customer_ids}
        for chunk in chunks(sorted(found)):
            marks = ",".join("?" * len(chunk))
            sql = self.recorder.entries_sql(f"a.customer_id IN ({marks})", times=times)
            for item in map(_decode, self.select(sql, chunk)):
                found[item.event.customer_id].append(item)
        return found

    def recorded(self, event_ids: Iterable[str]) -> list[Recorded]:
        """The recorded events among `event_ids`."""
        found: list[Recorded] = []
        for chunk in chunks(sorted(set(event_ids))):
            sql = self.recorder.entries_sql(f"a.event_id IN ({','.join('?' * len(chunk))})")
            found.extend(map(_decode, self.select(sql, chunk)))
        return found

    def versions(self, customer_ids: Iterable[str]) -> dict[str, int]:
        """How many events each customer's stream holds (absent: none)."""
        found: dict[str, int] = {}
        for chunk in chunks(sorted(set(customer_ids))):
            sql = (
                "SELECT customer_id, COUNT(*) FROM {entries} "
                f"WHERE customer_id IN ({','.join('?' * len(chunk))}) GROUP BY customer_id"
            )
            found.update((str(c), int(n)) for c, n in self.select(sql, chunk))
        return found

    def customers_of(self, event_ids: Iterable[str]) -> dict[str, str]:
        """The customer each recorded event id belongs to."""
        return self._lookup("SELECT event_id, customer_id FROM {entries} WHERE event_id", event_ids)

    def owners(self, subscription_ids: Iterable[str]) -> dict[str, str]:
        """The customer that owns each known subscription id."""
        sql = "SELECT subscription_id, customer_id FROM {subscriptions} WHERE subscription_id"
        return self._lookup(sql, subscription_ids)

    def _lookup(self, sql: str, keys: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(keys))):
            marks = ",".join("?" * len(chunk))
            found.update(self.select(f"{sql} IN ({marks})", chunk))
        return found


class EventStore(Queries):
    """The ledger's events with both clocks, on SQLite or PostgreSQL."""

    def __init__(self, location: Location, *, create: bool = False) -> None:
        self.location = location
        if location.is_sqlite and not create and not _sqlite_exists(location):
            raise LedgerError(f"no ledger at {location}: run `arr init` first")
        if location.is_sqlite:
            _check_sqlite(location)
        if not location.is_sqlite:
            _prepare_postgres(location, create=create)
        try:
            self.app = LedgerApplication(env=location.env(create=create))
        except PersistenceError as exc:
            raise StoreUnavailable(
                f"cannot open the ledger at {location}: {first_line(exc)}"
            ) from None
        recorder = self.app.recorder
        assert isinstance(recorder, (SQLiteLedgerRecorder, PostgresLedgerRecorder))
        self.recorder = recorder
        self.stored_events = StoredEvents(self.app.mapper)

    def close(self) -> None:
        self.app.close()

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.recorder.select(sql, params)

    def setting(self, key: str) -> str | None:
        rows = self.select("SELECT value FROM {settings} WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def position_at(self, moment: datetime) -> int:
        """The last position recorded at or before `moment` (0 before the first): an
        answer that can no longer change. A writer stamps its events, under the write
        lock, no earlier than the latest committed time and no earlier than its clock, and
        commits a moment later. So a `moment` before the latest committed time is settled
        by the committed rows alone; any other waits for the writers in flight (`settled`)
        and for the clock to pass it, after which every writer stamps a later time."""
        stamp = moment.astimezone(UTC).isoformat(timespec="microseconds")
        known, latest = self._known_at(self.select, stamp)
        if latest is not None and latest > stamp:
            return known
        with self.recorder.settled() as cursor:
            _wait_past(moment)
            known, _ = self._known_at(lambda sql, p: _fetch(cursor, self.recorder.q(sql), p), stamp)
        return known

    def _known_at(
        self, select: Callable[[str, Sequence[Any]], list[Any]], stamp: str
    ) -> tuple[int, str | None]:
        """The last position recorded at or before `stamp`, and the latest recorded time."""
        sql = (
            "SELECT (SELECT MAX(position) FROM {entries} WHERE recorded_at <= ?) AS known, "
            "(SELECT MAX(recorded_at) FROM {entries}) AS latest"
        )
        known, latest = select(sql, (stamp,))[0]
        return int(known or 0), None if latest is None else str(latest)

    def entries(self, stop: int | None = None, start: int = 0) -> Iterator[Recorded]:
        """Every recorded event with start < position <= stop, in position order."""
        last = start
        while True:
            where = "a.position > ?" + (" AND a.position <= ?" if stop is not None else "")
            params = [last, stop] if stop is not None else [last]
            rows = self.select(self.recorder.entries_sql(where) + f" LIMIT {PAGE}", params)
            yield from map(_decode, rows)
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

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        self.cursor.execute(self.recorder.q(sql), params)
        return list(self.cursor.fetchall())

    def append(self, events: Sequence[Event], versions: dict[str, int]) -> list[int]:
        """Appends `events` in order as the next versions of their customers' streams
        (`versions`: each stream's current version, moved on past them). Returns their
        positions."""
        stored = self.stored_events.build(events, versions, datetime.now(UTC))
        index = [IndexRow(e.event_id, e.customer_id, _new_subscription(e)) for e in events]
        self.wrote = True
        return self.recorder.write(self.cursor, stored, index, self.provisional, self.unsealed)


def _fetch(cursor: Any, sql: str, params: Sequence[Any]) -> list[Any]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


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


def _check_sqlite(location: Location) -> None:
    """Refuses, before anything is written, a file that is not a SQLite database, or a
    database whose event table belongs to something else."""
    path = location.sqlite_path()
    if ":memory:" in path or "mode=memory" in path or not Path(path).exists():
        return
    try:
        with closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {str(name) for (name,) in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        raise LedgerError(f"{location} is not a SQLite database: {first_line(exc)}") from None
    if "stored_events" in tables and "arr_entries" not in tables:
        raise LedgerError(
            f"the database at {location} is not a ledger: it has a table stored_events of "
            "something else; give another file"
        )


def _sqlite_exists(location: Location) -> bool:
    path = location.sqlite_path()
    return ":memory:" in path or "mode=memory" in path or Path(path).exists()


def _prepare_postgres(location: Location, *, create: bool) -> None:
    """Creates the ledger's schema when asked to, and refuses, before anything is
    written, a schema whose event table belongs to something else."""
    import psycopg

    url, schema = location.url, str(location.url.query.get("schema") or "public")
    try:
        with psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password or "",
            dbname=url.database or "postgres",
            connect_timeout=10,
            autocommit=True,
        ) as conn:
            if create and schema != "public":
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            found = conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'arr_events'",
                (schema,),
            ).fetchall()
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot open the ledger at {location}: {first_line(exc)}") from None
    names = sorted(str(name) for (name,) in found)
    if names and not {"notification_id", "originator_id", "state"} <= set(names):
        raise LedgerError(
            f"the database at {location} is not a ledger: its table arr_events "
            f"({', '.join(names)}) is not an arr ledger's"
        )
