"""The store's tables in SQLAlchemy Core, as each database names them, and the one way a
read is turned into the SQL its driver runs.

The library's event table is `stored_events` on SQLite, positioned by its `rowid`, and
`arr_events` on PostgreSQL, positioned by `notification_id`: both are `events.c.position`
here. Statements are compiled for the ledger's database, IN-lists expanded
(`bindparam(..., expanding=True)`), and run on the library's own connections or on the
cursor of a write transaction. The bulk writes (`executemany`, `COPY`) keep their one
helper in `recorders`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, ClauseElement, Column, LargeBinary, MetaData, Table, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

Params = Sequence[Any] | Mapping[str, Any]


class StoreTables:
    """The ledger's tables in one database (and PostgreSQL schema)."""

    def __init__(self, *, on_sqlite: bool, schema: str | None = None) -> None:
        meta = MetaData(schema=schema)
        self.entries = Table(
            "arr_entries",
            meta,
            Column("position", BigInteger, primary_key=True),
            Column("event_id", Text),
            Column("customer_id", Text),
            Column("recorded_at", Text),
            Column("prev_position", BigInteger),
            Column("stream_prev", BigInteger),
            Column("content_hash", Text),
            Column("stream_hash", Text),
            Column("digest", Text),
        )
        self.subscriptions = Table(
            "arr_subscriptions",
            meta,
            Column("subscription_id", Text, primary_key=True),
            Column("customer_id", Text),
        )
        self.settings = Table(
            "arr_settings", meta, Column("key", Text, primary_key=True), Column("value", Text)
        )
        name, position = (
            ("stored_events", "rowid") if on_sqlite else ("arr_events", "notification_id")
        )
        self.events = Table(
            name,
            meta,
            Column(position, BigInteger, key="position"),
            Column("originator_id", Text),
            Column("originator_version", BigInteger),
            Column("topic", Text),
            Column("state", LargeBinary),
        )
        self.dialect: Dialect = sqlite.dialect() if on_sqlite else postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]

    def compiled(self, statement: ClauseElement) -> tuple[str, Params]:
        """The SQL and parameters the driver runs for `statement`."""
        done = statement.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        params, order = done.params, getattr(done, "positiontup", None)
        if order is not None:  # SQLite's `?`
            return str(done), tuple(params[name] for name in order)
        return str(done), params  # psycopg's `%(name)s`
