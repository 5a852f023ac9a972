"""The library's recorders, extended to keep the ledger's index in the same transaction.

Every stored event also gets a row in `arr_entries` (its ledger position, `event_id`,
customer and recorded time) and every subscription its owner in `arr_subscriptions`,
written inside the transaction that writes the event. The database thus enforces what
must hold ledger-wide even with many writers: an `event_id` is recorded once, a
subscription belongs to one customer, recorded times never go backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor


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


def _first(row: Any) -> Any:
    """The first column of a row, whether the driver returns tuples or dicts."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


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
                "recorded_at TEXT NOT NULL)"
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

    def index(self, cursor: Any, ids: Sequence[int], rows: Sequence[IndexRow]) -> None:
        if len(ids) != len(rows):
            raise ValueError("every stored event needs its index row")
        cursor.execute(self.q("SELECT recorded_at FROM {entries} ORDER BY position DESC LIMIT 1"))
        last = cursor.fetchone()
        recorded_at = recorded_now(_first(last) if last else None)
        cursor.executemany(
            self.q("INSERT INTO {entries} VALUES (?, ?, ?, ?)"),
            [(i, r.event_id, r.customer_id, recorded_at) for i, r in zip(ids, rows, strict=True)],
        )
        owners = {r.new_subscription_id: r.customer_id for r in rows if r.new_subscription_id}
        self.claim(cursor, owners)

    def claim(self, cursor: Any, owners: dict[str, str]) -> None:
        if not owners:
            return
        cursor.executemany(
            self.q("INSERT INTO {subscriptions} VALUES (?, ?) ON CONFLICT DO NOTHING"),
            list(owners.items()),
        )
        for subscription_id, customer_id in owners.items():
            cursor.execute(
                self.q("SELECT customer_id FROM {subscriptions} WHERE subscription_id = ?"),
                (subscription_id,),
            )
            if _first(cursor.fetchone()) != customer_id:
                raise IntegrityError(f"subscription {subscription_id!r} has another owner")

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
        self.index(c, ids, kwargs.get("index", ()))
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

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        assert ids is not None
        self.index(curs, ids, kwargs.get("index", ()))
        return ids

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.q(sql), params)
            return [tuple(row.values()) for row in curs.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.q(sql), params)
