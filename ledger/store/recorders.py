"""The library's recorders, extended to keep the ledger's index in the same transaction.

Every stored event also gets a row in `arr_entries` (its ledger position, `event_id`,
customer and recorded time) and every subscription its owner in `arr_subscriptions`,
written inside the transaction that writes the event. The database thus enforces what
must hold ledger-wide even with many writers: an `event_id` is recorded once, a
subscription belongs to one customer, recorded times never go backwards. Each index row
also seals its event into the hash chains of `ledger.store.chain` (its customer's stream and the
whole ledger), computed for a batch at once from the heads read inside the transaction.

The ledger writes only through `writing()`: one transaction that takes the database's
write lock first (SQLite `BEGIN IMMEDIATE`, PostgreSQL the library's table lock), so all
it reads inside stays still until it commits. The library's own `insert_events` is
refused: an event saved that way would have no index row and no seal.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from hashlib import sha256
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteTransaction

from ledger.store.chain import GENESIS, content_digest, link
from ledger.store.tables import Params, StoreTables


def chunks(items: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    """Keys in slices small enough for one `IN (...)` list on either database."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass(frozen=True, slots=True)
class IndexRow:
    """What the ledger indexes of one stored event."""

    event_id: str
    customer_id: str
    new_subscription_id: str | None


_UNSEALED = "-" * 64
"""An index row's chain columns between its insert and `seal`, in the same transaction."""


def recorded_now(last: str | None) -> str:
    """The recording clock: UTC, always after the last recorded time (by a microsecond
    at least), so that each commit has a time of its own and its last position is where
    one state of the ledger that readers saw ends (`Queries.commit_ends`)."""
    now = datetime.now(UTC)
    if last:
        now = max(now, datetime.fromisoformat(last) + timedelta(microseconds=1))
    return now.isoformat(timespec="microseconds")


def stream_uuid(stored: Any) -> UUID:
    """A stream id as read back: a UUID (PostgreSQL) or its hex (SQLite)."""
    return stored if isinstance(stored, UUID) else UUID(str(stored))


def _values(row: Any) -> tuple[Any, ...] | None:
    """A row's columns as a tuple, whether the driver returns tuples or dicts."""
    if row is None:
        return None
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


class Sealable(NamedTuple):
    """What the seal of one event covers besides its index row and clocks."""

    stream_id: str
    version: int
    topic: str
    state_digest: str  # sha256 of the stored state, hex


class Unsealed:
    """The events a transaction wrote, in position order, as far as `seal` needs them
    once they are written: 57 bytes an event, not the stored states (reading those back
    through a large transaction's log was a quarter of sealing a million events)."""

    def __init__(self) -> None:
        self.digests, self.streams = bytearray(), bytearray()
        self.versions, self.topics = array("q"), array("B")
        self.topic_names: list[str] = []
        self.times: dict[int, str] = {}  # by index: a historical event's own time (SPEC §14)

    def add(self, stored: Sequence[StoredEvent]) -> None:
        for event in stored:
            if event.topic not in self.topic_names:
                self.topic_names.append(event.topic)
            self.digests += sha256(event.state).digest()
            self.streams += stream_uuid(event.originator_id).bytes
            self.versions.append(event.originator_version)
            self.topics.append(self.topic_names.index(event.topic))

    def __len__(self) -> int:
        return len(self.versions)

    def __getitem__(self, index: int) -> Sealable:
        return Sealable(
            _stream_text(bytes(self.streams[16 * index : 16 * index + 16])),
            self.versions[index],
            self.topic_names[self.topics[index]],
            self.digests[32 * index : 32 * index + 32].hex(),
        )


@lru_cache(maxsize=1 << 14)  # a customer's events come in runs
def _stream_text(raw: bytes) -> str:
    return str(UUID(bytes=raw))


def sealed_rows(
    ids: Sequence[int],
    rows: Sequence[IndexRow],
    stored: Sequence[StoredEvent],
    recorded_at: str,
    head: tuple[int, str],
    streams: dict[str, tuple[int, str]],
) -> list[tuple[Any, ...]]:
    """The `arr_entries` rows of one batch, each sealed into both chains (`ledger.store.chain`:
    `seal` of a `Content`, unrolled here because it runs for every event recorded)."""
    sealable = [
        Sealable(str(e.originator_id), e.originator_version, e.topic, sha256(e.state).hexdigest())
        for e in stored
    ]
    return seal_batch(ids, rows, sealable, [recorded_at] * len(ids), head, streams)


def seal_batch(
    ids: Sequence[int],
    rows: Sequence[IndexRow],
    sealable: Sequence[Sealable],
    times: Sequence[str],
    head: tuple[int, str],
    streams: dict[str, tuple[int, str]],
) -> list[tuple[Any, ...]]:
    """Each event's index row sealed into both chains, recorded at its time in `times`."""
    (prev_position, prev_digest), out = head, []
    for position, row, event, recorded_at in zip(ids, rows, sealable, times, strict=True):
        customer = row.customer_id
        stream_prev, stream_prev_hash = streams.get(customer, (0, GENESIS))
        content_hash = content_digest(
            position,
            prev_position,
            stream_prev,
            recorded_at,
            row.event_id,
            customer,
            event.stream_id,
            event.version,
            event.topic,
            event.state_digest,
        )
        stream_hash = link(stream_prev_hash, content_hash)
        digest = link(prev_digest, stream_hash)
        chains = (prev_position, stream_prev, content_hash, stream_hash, digest)
        out.append((position, row.event_id, customer, recorded_at, *chains))
        prev_position, prev_digest = position, digest
        streams[customer] = (position, stream_hash)
    return out


class LedgerIndex:
    """SQL shared by both databases; `?` placeholders, rewritten for PostgreSQL."""

    entries = "arr_entries"
    subscriptions = "arr_subscriptions"
    settings = "arr_settings"
    events = "stored_events"
    position_column = "rowid"

    def q(self, sql: str) -> str:
        return sql.format(
            entries=self.entries,
            subscriptions=self.subscriptions,
            settings=self.settings,
            events=self.events,
            pos=self.position_column,
        )

    def index_statements(self) -> list[str]:
        return [
            self.q(
                "CREATE TABLE IF NOT EXISTS {entries} (position BIGINT PRIMARY KEY, "
                "event_id TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL, "
                "recorded_at TEXT NOT NULL, prev_position BIGINT, stream_prev BIGINT, "
                "content_hash TEXT, stream_hash TEXT, digest TEXT)"
            ),
            self.q(
                "CREATE INDEX IF NOT EXISTS {entries}_customer ON {entries} (customer_id, position)"
            ),
            self.q(
                "CREATE INDEX IF NOT EXISTS {entries}_recorded ON {entries} (recorded_at, position)"
            ),
            self.q(
                "CREATE TABLE IF NOT EXISTS {subscriptions} (subscription_id TEXT PRIMARY KEY, "
                "customer_id TEXT NOT NULL)"
            ),
            self.q("CREATE TABLE IF NOT EXISTS {settings} (key TEXT PRIMARY KEY, value TEXT)"),
        ]

    def write(
        self,
        cursor: Any,
        stored: Sequence[StoredEvent],
        rows: Sequence[IndexRow],
        recorded_at: str,
        unsealed: Unsealed,
    ) -> list[int]:
        """Inserts one batch of stored events and their index rows, stamped `recorded_at`
        for now and unsealed (`seal` finishes them, from `unsealed`); returns their
        positions. Runs inside `writing()`: nothing else writes until it commits."""
        ids = self.insert_stored(cursor, stored)
        self.index(cursor, ids, rows, stored, recorded_at)
        unsealed.add(stored)
        return ids

    def insert_stored(self, cursor: Any, stored: Sequence[StoredEvent]) -> list[int]:
        raise NotImplementedError

    def index(
        self,
        cursor: Any,
        ids: Sequence[int],
        rows: Sequence[IndexRow],
        stored: Sequence[StoredEvent],
        recorded_at: str,
    ) -> None:
        if not len(ids) == len(rows) == len(stored):
            raise ValueError("every stored event needs its index row")
        owners = {r.new_subscription_id: r.customer_id for r in rows if r.new_subscription_id}
        self.check_owners(cursor, owners)
        # Placeholders as long as the seal that replaces them: `seal` rewrites each row
        # in place rather than growing it.
        unsealed = (0, 0, _UNSEALED, _UNSEALED, _UNSEALED)
        self.insert_entries(
            cursor,
            [
                (i, r.event_id, r.customer_id, recorded_at, *unsealed)
                for i, r in zip(ids, rows, strict=True)
            ],
        )
        self.claim(cursor, owners)

    def insert_entries(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        cursor.executemany(self.q("INSERT INTO {entries} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), rows)

    def update_seals(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        """Each row: (prev_position, stream_prev, content_hash, stream_hash, digest,
        recorded_at, position)."""
        cursor.executemany(
            self.q(
                "UPDATE {entries} SET prev_position = ?, stream_prev = ?, content_hash = ?, "
                "stream_hash = ?, digest = ?, recorded_at = ? WHERE position = ?"
            ),
            rows,
        )

    def last_recorded(self, cursor: Any, upto: int | None = None) -> tuple[int, str, str] | None:
        """The position, recorded time and digest of the last entry (up to `upto`)."""
        where = "" if upto is None else "WHERE position <= ? "
        cursor.execute(
            self.q(
                "SELECT position, recorded_at, digest FROM {entries} "
                + where
                + "ORDER BY position DESC LIMIT 1"
            ),
            () if upto is None else (upto,),
        )
        last = _values(cursor.fetchone())
        return (int(last[0]), str(last[1]), str(last[2])) if last else None

    def seal(self, cursor: Any, since: int, unsealed: Unsealed) -> None:
        """Stamps every entry after position `since` with one recorded time, taken now,
        and seals each into both chains, in position order (`unsealed`: what was written
        after `since`, in that order). Called last before the transaction commits: events
        recorded at T are visible to every reader from T on (a time taken when an import
        began would let a `known_at` between then and its commit see events no reader
        could see then)."""
        last = self.last_recorded(cursor, since)
        latest = max(unsealed.times.values(), default=last[1] if last else None)
        recorded_at = recorded_now(latest)
        head = (last[0], last[2]) if last else (0, GENESIS)
        streams: dict[str, tuple[int, str]] = {}
        page = self.q(
            "SELECT position, event_id, customer_id FROM {entries} WHERE position > ? "
            "ORDER BY position LIMIT 20000"
        )
        done, after = 0, since
        while True:
            cursor.execute(page, (after,))
            found = [_values(row) or () for row in cursor.fetchall()]
            if not found:
                break
            fresh = {customer for _, _, customer in found if customer not in streams}
            streams.update(self.stream_heads(cursor, fresh, since))
            ids = [int(position) for position, _, _ in found]
            rows = [IndexRow(event_id, customer, None) for _, event_id, customer in found]
            sealable = [unsealed[done + n] for n in range(len(found))]
            times = [unsealed.times.get(done + n, recorded_at) for n in range(len(found))]
            sealed = seal_batch(ids, rows, sealable, times, head, streams)
            self.update_seals(cursor, [(*row[4:], row[3], row[0]) for row in sealed])
            head, done, after = (ids[-1], sealed[-1][-1]), done + len(found), ids[-1]
        if done != len(unsealed):  # only this transaction writes after `since`
            raise IntegrityError(f"{len(unsealed)} events written, {done} index rows found")

    def select_in(self, cursor: Any, sql: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql`, whose `{keys}` is an `IN` list, for keys in database-sized slices."""
        for chunk in chunks(sorted(keys)):
            cursor.execute(self.q(sql.replace("{keys}", ",".join("?" * len(chunk)))), chunk)
            for row in cursor.fetchall():
                yield _values(row) or ()

    def stream_heads(
        self, cursor: Any, customers: set[str], upto: int
    ) -> dict[str, tuple[int, str]]:
        """Each customer's last position up to `upto`, and its stream hash there."""
        sql = (
            "SELECT customer_id, position, stream_hash FROM {entries} WHERE position IN "
            "(SELECT MAX(position) FROM {entries} WHERE customer_id IN ({keys}) "
            f"AND position <= {int(upto)} GROUP BY customer_id)"
        )
        rows = self.select_in(cursor, sql, customers)
        return {customer: (int(position), str(hash_)) for customer, position, hash_ in rows}

    def check_owners(self, cursor: Any, owners: dict[str, str]) -> None:
        """A subscription keeps its first owner. Writers hold the write lock here (see
        `writing`), so no other can claim it between this check and `claim`."""
        sql = (
            "SELECT subscription_id, customer_id FROM {subscriptions} "
            "WHERE subscription_id IN ({keys})"
        )
        for subscription_id, customer_id in self.select_in(cursor, sql, owners):
            if owners[subscription_id] != customer_id:
                raise IntegrityError(f"subscription {subscription_id!r} has another owner")

    def claim(self, cursor: Any, owners: dict[str, str]) -> None:
        if owners:
            cursor.executemany(
                self.q("INSERT INTO {subscriptions} VALUES (?, ?) ON CONFLICT DO NOTHING"),
                list(owners.items()),
            )


class _Immediate(SQLiteTransaction):
    """The library's SQLite transaction, begun IMMEDIATE: the write lock is taken first,
    so what the transaction reads cannot change before it commits."""

    def __enter__(self) -> Any:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # the lock timeout: as the library says it
            raise OperationalError(exc) from exc
        return cursor


class SQLiteLedgerRecorder(SQLiteApplicationRecorder, LedgerIndex):
    CACHE = -262_144
    """The page cache while writing, in KiB. An import inserts into indexes keyed all over
    (stream ids, event ids, customers): at a million events they are ~150 MiB, and a
    cache that holds them made that import ~15% faster than one of 64 MiB."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.index_statements()]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        raise NotImplementedError("the ledger writes through `writing()`, never unindexed")

    @contextmanager
    def settled(self) -> Iterator[Any]:
        """A read that waits for every writer in flight to commit (or roll back) and keeps
        new ones out while it lasts: SQLite's write lock, taken and given back unused."""
        with (
            self.datastore.get_connection(commit=False) as conn,
            _Immediate(conn, commit=False) as cursor,
            cursor as raw,
        ):
            raw.row_factory = None
            yield raw

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """One write transaction holding the database's write lock from its start."""
        with self.datastore.get_connection(commit=True) as conn:
            usual = _cache(conn, self.CACHE)
            try:
                with _Immediate(conn, commit=True) as cursor, cursor as raw:
                    raw.row_factory = None  # plain tuples, as on PostgreSQL
                    yield raw
            finally:
                with suppress(sqlite3.Error):  # a broken connection has its own error
                    _cache(conn, usual)

    def insert_stored(self, cursor: Any, stored: Sequence[StoredEvent]) -> list[int]:
        # Positions are the table's rowids. Explicit, as SQLite would assign them (the
        # largest plus one), so the batch goes in with one `executemany`.
        cursor.execute(self.q("SELECT MAX(rowid) FROM {events}"))
        first = int(cursor.fetchone()[0] or 0) + 1
        ids = list(range(first, first + len(stored)))
        cursor.executemany(
            self.q(
                "INSERT INTO {events} (rowid, originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?, ?)"
            ),
            [
                (i, _hex(s.originator_id), s.originator_version, s.topic, s.state)
                for i, s in zip(ids, stored, strict=True)
            ],
        )
        return ids

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.run(self.q(sql), params)

    @cached_property
    def tables(self) -> StoreTables:
        return StoreTables(on_sqlite=True)

    def run(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Rows of driver-ready SQL (`tables.compiled`), on a connection of the pool."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return [tuple(row) for row in c.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.q(sql), params)


def _cache(conn: SQLiteConnection, size: int) -> int:
    """Sets the page cache size (PRAGMA units: negative is KiB); returns the previous."""
    with conn.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {int(size)}")
    return previous


def _hex(originator_id: Any) -> str:
    return str(originator_id.hex) if hasattr(originator_id, "hex") else str(originator_id)


if TYPE_CHECKING:
    from ledger.store.postgres import PostgresLedgerRecorder

    Recorder: TypeAlias = SQLiteLedgerRecorder | PostgresLedgerRecorder
    """Either database's recorder (the PostgreSQL one is loaded only for PostgreSQL)."""
