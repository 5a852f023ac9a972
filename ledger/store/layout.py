"""The event store's layout version, the sealed settings, and `arr upgrade`.

Layouts: 1, the first release (index rows without hash chains); 2, index rows sealed into
the hash chains (`ledger.store.chain`); 3, this one: the layout recorded in `arr_settings` and the
settings themselves sealed, so that `arr audit verify` finds a currency relabelled behind
the ledger's back. A ledger of an earlier layout is refused until `arr upgrade` has brought
it here: each step only adds (columns, seals, settings), never rewrites an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from hashlib import sha256
from itertools import groupby
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ledger.store.chain import GENESIS
from ledger.store.recorders import (
    IndexRow,
    Sealable,
    SQLiteLedgerRecorder,
    seal_batch,
    stream_uuid,
)

if TYPE_CHECKING:
    from ledger.store.recorders import Recorder

LAYOUT = 3
LAYOUT_KEY, SEAL_KEY = "layout", "seal"
CHAIN_COLUMNS = ("prev_position", "stream_prev", "content_hash", "stream_hash", "digest")


def settings_seal(settings: Mapping[str, str]) -> str:
    """The seal over every setting but itself: one line `key=value` each, sorted."""
    lines = "".join(f"{k}={v}\n" for k, v in sorted(settings.items()) if k != SEAL_KEY)
    return sha256(("arr-ledger settings\n" + lines).encode()).hexdigest()


def settings(recorder: Recorder) -> dict[str, str]:
    query = select(recorder.tables.settings)
    return {str(k): str(v) for k, v in recorder.run(*recorder.tables.compiled(query))}


def found_layout(recorder: Recorder) -> int:
    """The layout of the ledger's tables as they are."""
    stored = settings(recorder).get(LAYOUT_KEY)
    if stored is not None:
        return int(stored) if stored.isdigit() else 0
    return 2 if "digest" in columns(recorder, "entries") else 1


def columns(recorder: Recorder, table: str) -> set[str]:
    """The column names of one of the ledger's tables (`entries`, `events`, …)."""
    if isinstance(recorder, SQLiteLedgerRecorder):
        name = getattr(recorder, table)
        return {str(r[0]) for r in recorder.select(f"SELECT name FROM pragma_table_info('{name}')")}
    bare = getattr(recorder, table).rpartition(".")[2].strip('"')
    # the catalog by the table's oid: information_schema's views took 35 ms a table,
    # on every command's start
    sql = (
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attnum > 0 AND NOT attisdropped "
        "AND attrelid = to_regclass(quote_ident(?) || '.' || quote_ident(?))"
    )
    return {str(r[0]) for r in recorder.select(sql, (recorder.datastore.schema, bare))}


def seal_settings(recorder: Recorder, cursor: Any) -> None:
    """Records the layout and seals the settings as they now are (inside `cursor`'s
    transaction)."""
    _put(recorder, cursor, LAYOUT_KEY, str(LAYOUT))
    cursor.execute(recorder.q("SELECT key, value FROM {settings}"))
    _put(recorder, cursor, SEAL_KEY, settings_seal({str(k): str(v) for k, v in cursor.fetchall()}))


def _put(recorder: Recorder, cursor: Any, key: str, value: str) -> None:
    sql = "INSERT INTO {settings} VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?"
    cursor.execute(recorder.q(sql), (key, value, value))


def upgrade(recorder: Recorder) -> int:
    """Brings the ledger's tables to `LAYOUT` in one transaction; returns the layout
    found. Layout 1 gains the chain columns and every event its seal, in position order,
    at the recorded time it already has."""
    found = found_layout(recorder)
    if found >= LAYOUT:
        return found
    with recorder.writing() as cursor:
        if found == 1:
            _add_chains(recorder, cursor)
        seal_settings(recorder, cursor)
    return found


def _add_chains(recorder: Recorder, cursor: Any) -> None:
    for column in CHAIN_COLUMNS:
        kind = "BIGINT" if column in ("prev_position", "stream_prev") else "TEXT"
        cursor.execute(recorder.q(f"ALTER TABLE {{entries}} ADD COLUMN {column} {kind}"))
    cursor.execute(
        recorder.q(
            "SELECT a.position, a.event_id, a.customer_id, a.recorded_at, e.originator_id, "
            "e.originator_version, e.topic, e.state FROM {entries} a "
            "JOIN {events} e ON e.{pos} = a.position ORDER BY a.position"
        )
    )
    head: tuple[int, str] = (0, GENESIS)
    streams: dict[str, tuple[int, str]] = {}
    # An import's events share one recorded time: each run of them is one batch.
    for recorded_at, group in groupby(cursor.fetchall(), key=lambda row: str(row[3])):
        batch = list(group)
        ids = [int(row[0]) for row in batch]
        index = [IndexRow(str(row[1]), str(row[2]), None) for row in batch]
        sealable = [
            Sealable(str(stream_uuid(s)), int(v), str(t), sha256(bytes(state)).hexdigest())
            for *_, s, v, t, state in batch
        ]
        sealed = seal_batch(ids, index, sealable, [recorded_at] * len(ids), head, streams)
        recorder.update_seals(cursor, [(*row[4:], recorded_at, row[0]) for row in sealed])
        head = (ids[-1], str(sealed[-1][-1]))


EVENT_COLUMNS = {"originator_id", "originator_version", "topic", "state"}
ENTRY_COLUMNS = {"position", "event_id", "customer_id", "recorded_at"}


def foreign(recorder: Recorder) -> str | None:
    """Why the database's tables are not an arr ledger's, if they are not."""
    for table, expected in (("events", EVENT_COLUMNS), ("entries", ENTRY_COLUMNS)):
        found = columns(recorder, table)
        if not expected <= found:
            name = getattr(recorder, table).rpartition(".")[2].strip('"')
            return f"its table {name} ({', '.join(sorted(found))}) is not an arr ledger's"
    return None


def outdated(found: int) -> str | None:
    """What to do with a ledger of layout `found`, when it is not this one."""
    if found == LAYOUT:
        return None
    if found > LAYOUT:
        return f"was made by a newer version of arr (layout {found}): upgrade arr-ledger"
    return f"was made by an earlier version of arr (layout {found}): run `arr upgrade` first"
