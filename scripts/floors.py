"""Floors under two of issue 5's goals: what no import or rebuild could beat on this
machine, measured on the benchmark's own SQLite ledger in the same run.

* **Import writes**: the rows an import leaves in the event store (the library's stored
  events, the ledger's index of positions and hash chain, subscription owners), already
  made, inserted with `executemany` into empty tables with the same schema and indexes, in
  one transaction: the writes alone, without reading, validating, encoding or sealing a
  single event. Compared with the same baseline as the import.
* **Rebuild writes**: the read model's rows after a rebuild, inserted into empty tables
  and then indexed, as a rebuild does: events per second if deriving them cost nothing.
* **Decode and fold**: every event read back and decoded, and each customer folded once
  (the ONE fold every figure comes from), on one core: events per second if a rebuild
  derived only the final state and wrote nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from pathlib import Path

from ledger import Ledger
from ledger.domain.timeline import Recorded, fold
from ledger.store.recorders import SQLiteLedgerRecorder

STORE = ("stored_events", "arr_entries", "arr_subscriptions")
READ_MODEL = "arr_rm_"


def import_writes(ledger_path: Path, folder: Path) -> float:
    """Seconds to insert the event store's rows of the ledger at `ledger_path`."""
    return _copy(ledger_path, folder / "import-floor.db", STORE, indexed_first=True)


def rebuild_writes(ledger_path: Path, folder: Path) -> float:
    """Seconds to insert the read model's rows of the ledger at `ledger_path`, then index them."""
    with sqlite3.connect(ledger_path) as source:
        tables = [n for (n,) in source.execute(_TABLES) if n.startswith(READ_MODEL)]
    return _copy(ledger_path, folder / "rebuild-floor.db", tables, indexed_first=False)


def decode_and_fold(ledger: Ledger) -> float:
    """Seconds to read every event back and fold each customer's history once."""
    clock = time.perf_counter()
    histories: dict[str, list[Recorded]] = defaultdict(list)
    for item in ledger.entries():
        histories[item.event.customer_id].append(item)
    for customer, history in histories.items():
        fold(customer, history, ledger.currency)
    return time.perf_counter() - clock


_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"


def _copy(
    source_path: Path,
    target_path: Path,
    tables: list[str] | tuple[str, ...],
    *,
    indexed_first: bool,
) -> float:
    """Seconds to insert the rows of `tables` (read beforehand) into a fresh database with
    their schema; their indexes made before the inserts or after them."""
    target_path.unlink(missing_ok=True)
    with sqlite3.connect(source_path) as source:
        made, indexes = _schema(source, tables)
        rows = {name: source.execute(f"SELECT * FROM {name}").fetchall() for name in tables}
    target = sqlite3.connect(target_path)
    try:
        target.execute(f"PRAGMA cache_size = {SQLiteLedgerRecorder.CACHE}")
        for statement in made + (indexes if indexed_first else []):
            target.execute(statement)
        clock = time.perf_counter()
        with target:
            for name, found in rows.items():
                if found:
                    marks = ", ".join("?" * len(found[0]))
                    target.executemany(f"INSERT INTO {name} VALUES ({marks})", found)
            for statement in [] if indexed_first else indexes:
                target.execute(statement)
        return time.perf_counter() - clock
    finally:
        target.close()
        target_path.unlink(missing_ok=True)


def _schema(
    source: sqlite3.Connection, tables: list[str] | tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """The `CREATE` statements of `tables`, and of their explicit indexes."""
    found: dict[str, list[str]] = {"table": [], "index": []}
    query = "SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL"
    for name in tables:
        for kind, statement in source.execute(query, (name,)):
            found[kind].append(statement)
    return found["table"], found["index"]
