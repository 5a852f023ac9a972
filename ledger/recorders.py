"""The library's recorders, extended to keep the ledger's index in the same transaction.

Every stored event also gets a row in `arr_entries` (its ledger position, `event_id`,
customer and recorded time) and every subscription its owner in `arr_subscriptions`,
written inside the transaction that writes the event. The database thus enforces what
must hold ledger-wide even with many writers: an `event_id` is recorded once, a
subscription belongs to one customer, recorded times never go backwards. Each index row
also seals its event into the hash chains of `ledger.chain` (its customer's stream and the
whole ledger), computed for a batch at once from the heads read inside the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ledger.chain import GENESIS, Content, seal


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


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A stored event read back with both of its clocks."""

    position: int
    recorded_at: str
    state: bytes


def recorded_now(last: str | None) -> str:
    """The recording clock: UTC, never behind the last recorded time."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    return max(now, last) if last else now


def _values(row: Any) -> tuple[Any, ...] | None:
    """A row's columns as a tuple, whether the driver returns tuples or dicts."""
    if row is None:
        return None
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def sealed_rows(
    ids: Sequence[int],
    rows: Sequence[IndexRow],
    stored: Sequence[StoredEvent],
    recorded_at: str,
    head: tuple[int, str],
    streams: dict[str, tuple[int, str]],
) -> list[tuple[Any, ...]]:
    """The `arr_entries` rows of one batch, each sealed into both chains (`ledger.chain`)."""
    (prev_position, prev_digest), out = head, []
    for position, row, event in zip(ids, rows, stored, strict=True):
        stream_prev, stream_prev_hash = streams.get(row.customer_id, (0, GENESIS))
        content = Content(
            position=position,
            prev_position=prev_position,
            stream_prev=stream_prev,
            recorded_at=recorded_at,
            event_id=row.event_id,
            customer_id=row.customer_id,
            stream_id=str(event.originator_id),
            version=event.originator_version,
            topic=event.topic,
            state=event.state,
        )
        done = seal(content, stream_prev_hash, prev_digest)
        chains = (prev_position, stream_prev, done.content_hash, done.stream_hash, done.digest)
        out.append((position, row.event_id, row.customer_id, recorded_at, *chains))
        prev_position, prev_digest = position, done.digest
        streams[row.customer_id] = (position, done.stream_hash)
    return out


class _LedgerIndex:
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

    def index(
        self,
        cursor: Any,
        ids: Sequence[int],
        rows: Sequence[IndexRow],
        stored: Sequence[StoredEvent],
    ) -> None:
        if not len(ids) == len(rows) == len(stored):
            raise ValueError("every stored event needs its index row")
        # The library has already locked the event table (PostgreSQL) or taken the single
        # write lock (SQLite), so the head read here cannot move before we commit.
        cursor.execute(
            self.q(
                "SELECT position, recorded_at, digest FROM {entries} ORDER BY position DESC LIMIT 1"
            )
        )
        last = _values(cursor.fetchone())
        recorded_at = recorded_now(last[1] if last else None)
        head = (int(last[0]), str(last[2])) if last else (0, GENESIS)
        streams = self.stream_heads(cursor, {r.customer_id for r in rows})
        owners = {r.new_subscription_id: r.customer_id for r in rows if r.new_subscription_id}
        # Every read comes before the first write: in psycopg's pipeline mode, a fetch after
        # an `executemany` on this cursor can be handed that INSERT's result instead.
        self.check_owners(cursor, owners)
        cursor.executemany(
            self.q("INSERT INTO {entries} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            sealed_rows(ids, rows, stored, recorded_at, head, streams),
        )
        self.claim(cursor, owners)

    def select_in(self, cursor: Any, sql: str, keys: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql`, whose `{keys}` is an `IN` list, for keys in database-sized slices."""
        for chunk in chunks(sorted(keys)):
            cursor.execute(self.q(sql.replace("{keys}", ",".join("?" * len(chunk)))), chunk)
            for row in cursor.fetchall():
                yield _values(row) or ()

    def stream_heads(self, cursor: Any, customers: set[str]) -> dict[str, tuple[int, str]]:
        """Each customer's last recorded position and stream hash."""
        sql = (
            "SELECT customer_id, position, stream_hash FROM {entries} WHERE position IN "
            "(SELECT MAX(position) FROM {entries} WHERE customer_id IN ({keys}) "
            "GROUP BY customer_id)"
        )
        rows = self.select_in(cursor, sql, customers)
        return {customer: (int(position), str(hash_)) for customer, position, hash_ in rows}

    def check_owners(self, cursor: Any, owners: dict[str, str]) -> None:
        """A subscription keeps its first owner. Writers hold the event table's write lock
        here (see `index`), so no other can claim it between this check and `claim`."""
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

    def entries_sql(self, where: str) -> str:
        return self.q(
            "SELECT a.position, a.recorded_at, e.state FROM {entries} a "
            "JOIN {events} e ON e.{pos} = a.position WHERE " + where + " ORDER BY a.position"
        )


class SQLiteLedgerRecorder(SQLiteApplicationRecorder, _LedgerIndex):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.index_statements()]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        self.index(c, ids, kwargs.get("index", ()), stored_events)
        return ids

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.q(sql), params)
            return list(c.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(self.q(sql), params)


class PostgresLedgerRecorder(PostgresApplicationRecorder, _LedgerIndex):
    position_column = "notification_id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = self.datastore.schema
        prefix = f'"{schema}".' if schema else ""
        self.entries, self.subscriptions = prefix + "arr_entries", prefix + "arr_subscriptions"
        self.settings, self.events = prefix + "arr_settings", prefix + self.events_table_name
        from psycopg.sql import SQL

        self.sql_create_statements.extend(SQL(s).format() for s in self.index_statements())

    def q(self, sql: str) -> str:
        return super().q(sql).replace("?", "%s")

    def index_statements(self) -> list[str]:
        # An index name may not be schema-qualified in PostgreSQL.
        return [
            s.replace(f"EXISTS {self.entries}_", "EXISTS arr_entries_")
            for s in super().index_statements()
        ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """One plain transaction, not the library's pipeline mode: a pipeline stalls on
        very large batches (seen at 100k events) and can hand a later fetch an earlier
        statement's result."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            if not stored_events:
                return []
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert ids is not None
        self.index(curs, ids, kwargs.get("index", ()), stored_events)
        return ids

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.q(sql), params)
            return [tuple(row.values()) for row in curs.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.q(sql), params)
