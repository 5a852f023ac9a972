"""The read model's tables, kept in the ledger's own database (SQLAlchemy Core).

Each derived row is bitemporal: it holds in effective time over `[start, end)` and was
believed between the ledger positions `[recorded_from, recorded_to)`; a row still
believed has `recorded_to = BELIEVED`. `arr_rm_tracking` holds the last ledger position
the rows reflect; rows and position are written in one transaction (exactly once).
"""

from __future__ import annotations

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
)
from sqlalchemy.engine import URL

BELIEVED = 2**62
"""`recorded_to` of a row still believed: above any position, so ranges stay indexable."""

metadata = MetaData()
_FIGURES = ("recorded_to", "recorded_from", "den", "num", "customer_id", "subscription_id")


def _belief_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", String, nullable=False),
        Column("subscription_id", String, nullable=False),
        Column("start", Date, nullable=False),
        Column("end", Date, nullable=False),
        Column("num", BigInteger, nullable=False),
        Column("den", BigInteger, nullable=False),
        Column("recorded_from", BigInteger, nullable=False),
        Column("recorded_to", BigInteger, nullable=False),
        Column("node", Integer, nullable=False),  # see `read_model_nodes`
        # Covering indexes: a figure is read from the index alone, never from the table.
        Index(f"{name}_node_start", "node", "start", "end", *_FIGURES),
        Index(f"{name}_node_end", "node", "end", "start", *_FIGURES),
        Index(f"{name}_customer", "customer_id", "recorded_to"),
        Index(f"{name}_subscription", "subscription_id", "start", "end", *_FIGURES[:2]),
    )


segments = _belief_table("arr_rm_segments")
fee_spans = _belief_table("arr_rm_fee_spans")
tracking = Table(
    "arr_rm_tracking",
    metadata,
    Column("name", String, primary_key=True),
    Column("position", BigInteger, nullable=False),
)


def connect(url: URL) -> Engine:
    """An engine on the ledger's database; `?schema=` of the ledger URL is honoured."""
    schema = url.query.get("schema")
    plain = url.difference_update_query(["schema"])
    if url.get_backend_name() == "sqlite":
        engine = create_engine(plain, connect_args={"timeout": 30})
    else:
        engine = create_engine(plain, pool_pre_ping=True)
    if isinstance(schema, str) and schema:
        engine = engine.execution_options(schema_translate_map={None: schema})
    metadata.create_all(engine)
    return engine
