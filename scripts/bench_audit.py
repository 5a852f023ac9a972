"""The audit benchmark of issue 4: what the hash chain costs, and how fast it is checked.

    python scripts/bench_audit.py --customers 2000 --db sqlite \\
        --db postgresql+psycopg://postgres@127.0.0.1:5432/test

For each database it imports a sample ledger in batches of 5,000 rows (the chains are
sealed in those transactions), then times sealing alone (pure Python, no database),
`verify` over the whole store (events only, then with the read model derived again and
compared), a `checkpoint`, and a restatement over the last half of
the ledger. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.intake.rows import Row
from ledger.store.recorders import IndexRow, sealed_rows

BATCH = 5_000
T = TypeVar("T")


class _Stored:
    """Just what sealing reads of a library stored event."""

    def __init__(self, version: int) -> None:
        self.originator_id = uuid4()
        self.originator_version = version
        self.topic = "ledger.store:Customer.EventRecorded"
        self.state = b'{"entry":{"event_id":"e","type":"new","amount":"1000"}}' * 3


def _url(db: str, folder: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}"
    return f"{db}?schema=audit_bench_{uuid.uuid4().hex[:8]}"


def _drop(url: str) -> None:
    if "schema=" not in url:
        return
    import psycopg

    dsn = url.split("?")[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{url.rsplit("schema=", 1)[1]}" CASCADE')


def _timed(label: str, count: int, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    print(f"  {label:<34} {seconds:8.3f} s  {count / seconds:12,.0f} events/s")
    return result


def bench(db: str, customers: int) -> None:
    events = sample_events(customers=customers, years=4, seed=5)
    with tempfile.TemporaryDirectory() as folder:
        url = _url(db, Path(folder))
        try:
            with Ledger.init(url) as ledger:
                _measure(ledger, db, events, customers)
        finally:
            _drop(url)


def _measure(ledger: Ledger, db: str, events: list[dict[str, str]], customers: int) -> None:
    print(f"{db.split('://')[0]}: {len(events):,} events, {customers:,} customers")

    def load() -> None:
        for start in range(0, len(events), BATCH):
            rows = [Row(f"row {start + i}", e) for i, e in enumerate(events[start : start + BATCH])]
            ledger.import_rows(rows)

    _timed("import (sealing included)", len(events), load)
    index = [IndexRow(f"e{i}", f"c{i % customers}", None) for i in range(len(events))]
    stored = [_Stored(1 + i // customers) for i in range(len(events))]
    positions = list(range(1, len(events) + 1))
    _timed(
        "sealing alone (no database)",
        len(events),
        lambda: sealed_rows(positions, index, stored, "t", (0, "0" * 64), {}),  # type: ignore[arg-type]
    )
    result = _timed("audit verify --events-only", len(events), lambda: ledger.verify(None, False))
    print(f"  -> {result.summary()}")
    ledger.report(date(2024, 12, 31))  # the read model caught up: what verify then derives again
    result = _timed("audit verify (with the read model)", len(events), ledger.verify)
    print(f"  -> {result.summary()}")
    _timed("audit checkpoint", 1, ledger.checkpoint)
    head = ledger.head()
    middle = [r for r in ledger.entries(stop=head // 2)][-1].recorded_at
    restated = _timed(
        "restatement (last half of the ledger)",
        head - head // 2,
        lambda: ledger.restatement(date(2023, 12, 31), middle),
    )
    print(f"  -> {len(restated.causes)} events listed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--db", action="append", default=None)
    args = parser.parse_args()
    for db in args.db or ["sqlite"]:
        bench(db, args.customers)


if __name__ == "__main__":
    main()
