"""The library's PostgreSQL recorder with the ledger's index: loaded only for a
PostgreSQL ledger (the library imports it by its topic), so a SQLite ledger's commands
never load psycopg."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row

from ledger.store.recorders import IndexRow, LedgerIndex, Unsealed
from ledger.store.tables import Params, StoreTables


class PostgresLedgerRecorder(PostgresApplicationRecorder, LedgerIndex):
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
        raise NotImplementedError("the ledger writes through `writing()`, never unindexed")

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """One plain transaction (not the library's pipeline, which stalls on very large
        batches) holding the library's lock on the event table from its start: the lock
        every writer takes before inserting, which lets readers read on."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cursor,
        ):
            # An import parses a chunk of rows, or waits for its input, between statements:
            # not the idle transaction the library's timeout (5 s) is there to end. A
            # writer that dies closes its connection, which rolls back.
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            self._lock_table(cursor)  # type: ignore[arg-type]
            self._notify_channel(cursor)  # type: ignore[arg-type]  # sent on commit
            yield cursor

    @contextmanager
    def settled(self) -> Iterator[Any]:
        """A read that waits for every writer in flight to commit (or roll back) and keeps
        new ones out while it lasts: SHARE conflicts with the EXCLUSIVE lock writers take
        (and with plain inserts), not with other readers."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cursor,
        ):
            cursor.execute(self.q("LOCK TABLE {events} IN SHARE MODE"))
            yield cursor

    def write(
        self,
        cursor: Any,
        stored: Sequence[StoredEvent],
        rows: Sequence[IndexRow],
        recorded_at: str,
        unsealed: Unsealed,
    ) -> list[int]:
        before = len(unsealed)
        ids = super().write(cursor, stored, rows, recorded_at, unsealed)
        if len(unsealed) >= 16_384 and len(unsealed).bit_length() > before.bit_length():
            # Each time the import has doubled what it wrote: with no statistics on the
            # rows it added, the planner took each customer's history by scanning whole
            # tables (the transaction's own rows count in ANALYZE's sample).
            cursor.execute(self.q("ANALYZE {events}, {entries}, {subscriptions}"))
        return ids

    # Bulk writes use COPY: an `executemany` is a statement per row on the server.

    def insert_stored(self, cursor: Any, stored: Sequence[StoredEvent]) -> list[int]:
        # The ids come from the table's sequence, drawn in COPY's row order; holding the
        # table lock, the rows after the previous largest id are exactly these.
        cursor.execute(self.q("SELECT COALESCE(MAX({pos}), 0) FROM {events}"))
        before = int(cursor.fetchone()[0])
        columns = "(originator_id, originator_version, topic, state)"
        with cursor.copy(self.q(f"COPY {{events}} {columns} FROM STDIN")) as copy:
            for s in stored:
                copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))
        cursor.execute(
            self.q("SELECT {pos} FROM {events} WHERE {pos} > ? ORDER BY {pos}"), (before,)
        )
        ids = [int(row[0]) for row in cursor.fetchall()]
        if len(ids) != len(stored):
            raise IntegrityError(f"expected {len(stored)} new positions, found {len(ids)}")
        return ids

    def insert_entries(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        with cursor.copy(self.q("COPY {entries} FROM STDIN")) as copy:
            for row in rows:
                copy.write_row(row)

    def claim(self, cursor: Any, owners: dict[str, str]) -> None:
        if owners:
            cursor.execute(
                self.q(
                    "INSERT INTO {subscriptions} SELECT * FROM unnest(?::text[], ?::text[]) "
                    "ON CONFLICT DO NOTHING"
                ),
                (list(owners), list(owners.values())),
            )

    def update_seals(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        if len(rows) < 1_000:  # an append: not worth a temporary table
            super().update_seals(cursor, rows)
            return
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS arr_seals (prev_position BIGINT, "
            "stream_prev BIGINT, content_hash TEXT, stream_hash TEXT, digest TEXT, "
            "recorded_at TEXT, position BIGINT) ON COMMIT DROP"
        )
        with cursor.copy("COPY arr_seals FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            self.q(
                "UPDATE {entries} a SET prev_position = s.prev_position, "
                "stream_prev = s.stream_prev, content_hash = s.content_hash, "
                "stream_hash = s.stream_hash, digest = s.digest, recorded_at = s.recorded_at "
                "FROM arr_seals s WHERE a.position = s.position"
            )
        )
        cursor.execute("TRUNCATE arr_seals")

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.run(self.q(sql), params)

    @cached_property
    def tables(self) -> StoreTables:
        return StoreTables(on_sqlite=False, schema=self.datastore.schema)

    def run(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Rows of driver-ready SQL (`tables.compiled`), on a connection of the pool."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(sql, params)
            return list(c.fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.q(sql), params)
