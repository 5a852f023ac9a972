"""The read model's tables, kept in the ledger's own database (SQLAlchemy Core).

Each derived row is bitemporal: it holds in effective time over `[start, end)` and was
believed between the ledger positions `[recorded_from, recorded_to)`; a row still
believed has `recorded_to = BELIEVED`. `arr_rm_snapshots` holds, at some positions, each
kind's sums as step functions over days (`read_model_snapshots`), and
`arr_rm_cohort_snapshots` each cohort's changes at month ends (`read_model_cohort_snapshots`).
`arr_rm_tracking` holds the last ledger position the rows reflect; rows, snapshots and
position are written in one transaction (exactly once), or, for a long catch-up,
customer by customer (`read_model_passes`).

The read model is derived data: when its layout changes (`LAYOUT`), its tables are
dropped and rebuilt from the events on the next catch-up, never migrated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

BELIEVED = 2**62
"""`recorded_to` of a row still believed: above any position, so ranges stay indexable."""
CLOSED = f"recorded_to < {BELIEVED}"
"""The condition of the index of closed rows: a query must state it to use that index."""

LAYOUT = 15  # 15: pieces keyed by cohort, and cohort snapshots (§13)
"""The version of how rows are derived and stored: the tables of another version (or of
other kinds, `shape`) in the database are dropped and rebuilt."""
LAYOUT_KEY, TRACK, PASS = "layout", "figures", "pass"  # the rows of `arr_rm_tracking`
_LEGACY = ("arr_rm_segments", "arr_rm_fee_spans", "arr_rm_customer_spans", "arr_rm_snapshots")

metadata = MetaData()
_SUMMED = ("start", "end", "den", "num", "big")

SMALL = 2**47
"""Values are stored as `num / den`; a numerator at or above this bound (amounts of
billions with 4 decimals) goes to `big` as text with `num = 0`, so that SQL can sum
`num` over many rows without overflowing a 64-bit integer, and no value is lost."""


def belief_table(name: str, bounded: bool = False) -> Table:
    """A table of one kind of derived row. Its indexes answer the only three questions
    asked of it: a customer's believed rows (maintenance) and the rows opened or closed
    in a range of positions (snapshots and reports), the latter from the index alone.
    `bounded` adds two for the rows that begin or end in a range of days."""
    extra = [Index(f"{name}_{c}", c, "recorded_to") for c in ("start", "end")] if bounded else []
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, nullable=False),
        Column("subscription_id", String, nullable=False),
        Column("start", Date, nullable=False),
        Column("end", Date, nullable=False),
        Column("num", BigInteger, nullable=False),
        Column("big", String, nullable=True),  # the numerator when it is not `SMALL`
        Column("den", BigInteger, nullable=False),
        Column("recorded_from", BigInteger, nullable=False),
        Column("recorded_to", BigInteger, nullable=False),
        Index(f"{name}_customer", "customer_id", "recorded_to"),
        Index(f"{name}_opened", "recorded_from", *_SUMMED),
        # Most rows are still believed: only the closed ones are ever looked up by it.
        Index(
            f"{name}_closed",
            "recorded_to",
            *_SUMMED,
            sqlite_where=text(CLOSED),
            postgresql_where=text(CLOSED),
        ),
        *extra,
    )


snapshots = Table(
    "arr_rm_snapshots",
    metadata,
    Column("kind", String, primary_key=True),
    Column("at", BigInteger, primary_key=True),  # the ledger position it was taken at
    Column("day", Date, primary_key=True),  # the sums hold from this day to the next row's
    Column("count", BigInteger, nullable=False),
    Column("value", String, nullable=False),  # an exact fraction, "num/den" or "num"
)
cohort_snapshots = Table(
    "arr_rm_cohort_snapshots",
    metadata,
    Column("at", BigInteger, primary_key=True),  # the ledger position it was taken at
    Column("cohort", String, primary_key=True),  # YYYY-MM, the month of its first MRR
    Column("day", Date, primary_key=True),  # the month end at which the sums change
    Column("count", BigInteger, nullable=False),  # the change of its active customers
    Column("value", String, nullable=False),  # the change of their MRR, an exact fraction
)
SNAPSHOTS = (snapshots, cohort_snapshots)
"""The tables of snapshots: a function of the rows, taken together (`read_model_snapshots`)."""
tracking = Table(
    "arr_rm_tracking",
    metadata,
    Column("name", String, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("customer", String, nullable=True),  # of a pass: the last customer written
)


def connect(url: URL) -> Engine:
    """An engine on the ledger's database, its read-model tables of this `LAYOUT` ready."""
    created = engine(url)
    _ensure_layout(created)
    return created


def engine(url: URL) -> Engine:
    """An engine on the ledger's database. On PostgreSQL `?schema=` of the ledger URL
    becomes the search path, so that plain SQL (the bulk paths) and SQLAlchemy Core
    both find the tables."""
    schema = url.query.get("schema")
    plain = url.difference_update_query(["schema"])
    if url.get_backend_name() == "sqlite":
        return create_engine(plain, connect_args={"timeout": 30})
    if not isinstance(schema, str) or not schema:
        return create_engine(plain, pool_pre_ping=True)
    # libpq splits its options at unescaped spaces; PostgreSQL then reads a quoted name
    quoted = '"' + schema.replace('"', '""') + '"'
    option = "-csearch_path=" + quoted.replace("\\", "\\\\").replace(" ", "\\ ")
    return create_engine(plain, pool_pre_ping=True, connect_args={"options": option})


def _ensure_layout(created: Engine) -> None:
    with created.connect() as conn:
        if _current(conn):  # the usual case: no lock needed
            return
    if created.dialect.name == "sqlite":
        _create_on_sqlite(created.url)
        return
    for attempt in range(3):
        try:
            with created.begin() as conn:
                _create(conn)
            return
        except DBAPIError:
            if attempt == 2:
                raise  # not a race with another process creating the tables


def _create_on_sqlite(url: URL) -> None:
    """`_create` in one transaction that holds SQLite's write lock from its start. The
    driver would commit each CREATE and DROP by itself, and another process could see
    the tables made but not yet filled (every import makes them, if they are missing)."""
    locking = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(locking, "connect")
    def _manual(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions begun below, not by the driver

    @event.listens_for(locking, "begin")
    def _immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locking.begin() as conn:
            _create(conn)
    finally:
        locking.dispose()


def _current(conn: Connection) -> bool:
    """Whether the database has this layout's tables, ready."""
    if not inspect(conn).has_table(tracking.name):
        return False
    stored = conn.execute(text("SELECT * FROM arr_rm_tracking WHERE name = :k"), {"k": "layout"})
    found = stored.first()
    return found is not None and tuple(found)[1:] == (LAYOUT, shape())


def _create(conn: Connection) -> None:
    """The tables of this layout: kept when the database has them, else made afresh."""
    layout_shape = shape()
    if inspect(conn).has_table(tracking.name):
        if _current(conn):
            return
        for name in {*_LEGACY, *metadata.tables}:
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    metadata.create_all(conn)
    rows = [
        {"name": LAYOUT_KEY, "position": LAYOUT, "customer": layout_shape},
        {"name": TRACK, "position": 0, "customer": None},
    ]
    conn.execute(insert(tracking), rows)


def shape() -> str:
    """Every read-model table and its columns: a kind added or changed (`read_model_kinds`)
    changes it, and the tables are then rebuilt, as for a new `LAYOUT`."""
    return ";".join(
        f"{table.name}({','.join(c.name for c in table.columns)})"
        for table in sorted(metadata.tables.values(), key=lambda t: t.name)
    )
