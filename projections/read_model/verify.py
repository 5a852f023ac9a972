"""Checking the read model against the events: what `arr audit verify` says of it.

The read model is derived data kept in the ledger's own database, where anyone with
write access can edit it. Its rows are a function of the events (a rebuild reproduces
them), so they are checked by deriving them again, customer chunk by customer chunk, and
comparing row for row; the snapshots are a function of the rows, so they are taken again
inside a transaction that is rolled back, and compared. The tracked position must lie
within the ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from ledger.store.recorders import chunks
from projections.read_model import snapshots as read_model_snapshots
from projections.read_model.derive import EventSql, commit_ends, derive, touched
from projections.read_model.kinds import KINDS, RowKind
from projections.read_model.passes import State, state
from projections.read_model.sql import Raw, marks
from projections.read_model.tables import SNAPSHOTS, snapshots

CUSTOMERS = 2_000
SHOWN = 3
"""Rows named per table when they differ: the rest are counted."""


def impossible(now: State, head: int) -> str | None:
    """Why the tracked position cannot be true, if it cannot: it is never trusted."""
    if not 0 <= now.done <= head:
        return f"its tracked position {now.done} is not between 0 and the ledger's head {head}"
    if now.stop is not None and not now.done <= now.stop <= head:
        return f"its catch-up target {now.stop} is not between {now.done} and the head {head}"
    return None


def problems(engine: Engine, sql: EventSql, head: int) -> Iterator[str]:
    """Every difference between the read model and what the events imply."""
    with engine.connect() as conn:
        now = state(conn)
        wrong = impossible(now, head)
        if wrong is not None:
            yield wrong
            return
        if now.stop is not None:
            yield "a catch-up is in progress: verify again when it has finished"
            return
        raw = Raw(conn)
        customers = touched(raw, sql, 0, now.done)
        yield from _foreign_customers(raw, set(customers))
        ends = commit_ends(raw, sql, 0, now.done)
        for chunk in chunks(customers, CUSTOMERS):
            yield from _chunk(raw, sql, chunk, ends)
    yield from _snapshots(engine, sql, now.done)


def _foreign_customers(raw: Raw, known: set[str]) -> Iterator[str]:
    """One finding per customer with rows but no recorded events, naming its tables."""
    tables: dict[str, list[str]] = {}
    for kind in KINDS:
        found = {str(c) for (c,) in raw.rows(f"SELECT DISTINCT customer_id FROM {kind.table.name}")}
        for customer in found - known:
            tables.setdefault(customer, []).append(kind.table.name)
    for customer in sorted(tables)[:SHOWN]:
        names = tables[customer]
        listed = ", ".join(names[:SHOWN]) + (
            f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
        )
        yield f"rows of customer {customer!r}, who has no recorded events, in {listed}"
    if len(tables) > SHOWN:
        yield f"rows of {len(tables) - SHOWN} more customers who have no recorded events"


def _chunk(raw: Raw, sql: EventSql, chunk: Sequence[str], ends: Sequence[int]) -> Iterator[str]:
    expected = derive(raw, sql, chunk, 0, ends)
    for number, kind in enumerate(KINDS):
        want = Counter(_row(raw, r) for r in expected.opened[number])
        have = Counter(_row(raw, r) for r in _stored(raw, kind, chunk))
        if want != have:
            yield _difference(kind, want - have, have - want)


def _stored(raw: Raw, kind: RowKind, chunk: Sequence[str]) -> list[Any]:
    query = (
        'SELECT customer_id, subscription_id, start, "end", num, big, den, recorded_from, '
        f"recorded_to FROM {kind.table.name} WHERE customer_id IN ({marks(len(chunk))})"
    )
    return raw.rows(query, chunk)


def _row(raw: Raw, row: Sequence[Any]) -> tuple[Any, ...]:
    customer, sid, start, end, num, big, den, recorded_from, recorded_to = row
    value = int(big) if big is not None else int(num)
    return (
        str(customer),
        str(sid),
        raw.to_day(start),
        raw.to_day(end),
        value,
        int(den),
        int(recorded_from),
        int(recorded_to),
    )


def _difference(kind: RowKind, missing: Counter[Any], extra: Counter[Any]) -> str:
    said = []
    if missing:
        said.append(f"{sum(missing.values())} missing (e.g. {_show(missing)})")
    if extra:
        said.append(f"{sum(extra.values())} not implied by the events (e.g. {_show(extra)})")
    return f"{kind.table.name}: rows differ from the events: " + "; ".join(said)


def _show(rows: Counter[Any]) -> str:
    shown = []
    for customer, sid, start, end, value, den, since, until in sorted(rows)[:SHOWN]:
        believed = "now" if until >= 2**62 else f"to {until}"
        shown.append(
            f"customer {customer!r} {sid!r} [{start}, {end}) {value}/{den} "
            f"believed from position {since} {believed}"
        )
    return ", ".join(shown)


def _snapshots(engine: Engine, sql: EventSql, at: int) -> Iterator[str]:
    """The snapshots as stored, against the ones the rows give, taken again and rolled
    back (a writer of the read model waits meanwhile, as for any catch-up step)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            stored = [_snapshot_rows(conn, table) for table in SNAPSHOTS]
            for table in SNAPSHOTS:
                conn.execute(table.delete())
            read_model_snapshots.take(Raw(conn), 0, at, commit_ends(Raw(conn), sql, 0, at))
            again = [_snapshot_rows(conn, table) for table in SNAPSHOTS]
        finally:
            transaction.rollback()
    for table, before, after in zip(SNAPSHOTS, stored, again, strict=True):
        if before != after:
            changed = sorted({(row[0], row[1]) for row in before ^ after})
            where = ", ".join(f"{name} at {position}" for name, position in changed[:SHOWN])
            yield f"{table.name}: {len(changed)} snapshots differ from the rows ({where})"


def _snapshot_rows(conn: Connection, table: Table) -> set[tuple[Any, ...]]:
    """The rows, as (kind or cohort, at, day, count, value)."""
    raw = Raw(conn)
    found = conn.execute(
        select(
            table.c.kind if table is snapshots else table.c.cohort,
            *(table.c[n] for n in ("at", "day", "count", "value")),
        )
    )
    return {(str(k), int(a), raw.to_day(d), int(c), str(v)) for k, a, d, c, v in found}
