"""Measures the two candidate SQLite recorders for the event store, in one run.

    python scripts/compare_recorders.py --events 50000

Needs `pip install eventsourcing-sqlalchemy` (not a project dependency: this script is
how we chose not to depend on it). Prints events/s appended in large batches, one save
per aggregate, and read back through the notification log, for the library's own SQLite
recorder and for eventsourcing-sqlalchemy, and the ratio between them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate


class Stream(Aggregate):
    class Recorded(Aggregate.Event):
        entry: dict[str, str]

        def apply(self, aggregate: Aggregate) -> None:
            pass

    def __init__(self) -> None:
        pass

    def record(self, entry: dict[str, str]) -> None:
        self.trigger_event(self.Recorded, entry=entry)


ENTRY = {
    "type": "upgrade",
    "customer_id": "C000001",
    "amount": "1250.50",
    "effective_date": "2024-03-10",
}


def measure(env: dict[str, str], events: int) -> dict[str, float]:
    app = Application(env=env)
    streams = [Stream() for _ in range(events // 10)]
    for stream in streams:
        for _ in range(9):
            stream.record(ENTRY)
    started = time.perf_counter()
    app.save(*streams)  # one large batch
    batch = events / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(events // 10):
        single = Stream()
        single.record(ENTRY)
        app.save(single)  # one save per aggregate (2 events)
    per_save = (events // 10) * 2 / (time.perf_counter() - started)
    started, read = time.perf_counter(), 0
    last = 0
    while True:
        page = app.recorder.select_notifications(last + 1, 10_000)
        if not page:
            break
        read += len(page)
        last = page[-1].id
    read_rate = read / (time.perf_counter() - started)
    app.close()
    return {
        "batch_events_per_s": batch,
        "per_save_events_per_s": per_save,
        "read_events_per_s": read_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    events = parser.parse_args().events
    folder = Path(tempfile.mkdtemp())
    library = measure(
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(folder / "lib.db")},
        events,
    )
    alchemy = measure(
        {
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "SQLALCHEMY_URL": f"sqlite:///{folder / 'sa.db'}",
        },
        events,
    )
    ratios = {k: library[k] / alchemy[k] for k in library}
    print(
        json.dumps(
            {
                "events": events,
                "library_sqlite": library,
                "eventsourcing_sqlalchemy": alchemy,
                "library_over_sqlalchemy": ratios,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
