"""Times a 60-month `series` from the read model against the same series from one
replay, and against 60 separate replayed `report`s, on one sample ledger.

    python scripts/bench_series.py --customers 2000 --months 60

`Ledger.series` reads the persistent read model (caught up first, not timed); the replay
folds the whole ledger into a `Book` once and evaluates every month end and the
movements between them from it. Prints the times and ratios, and checks that all three
give the same figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.intake.rows import Row
from projections.figures.report import report
from projections.figures.series import period_ends, series

T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=60)
    parser.add_argument("--db", help="a ledger URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'bench.db'}"
        rows = sample_events(customers=args.customers, years=args.months // 12 + 1)
        with Ledger.init(url) as ledger:
            ledger.import_rows(Row(f"sample:{i}", r) for i, r in enumerate(rows, 1))
            measure(ledger, args.months)


def measure(ledger: Ledger, months: int) -> None:
    start, end = date(2021, 1, 1), date(2021 + months // 12, 1, 1)
    days = period_ends(start, end, "month")[:months]
    ledger.read_model().catch_up()
    model_time, rows = timed(lambda: ledger.series(start, days[-1], "month"))
    replay_time, replayed = timed(lambda: series(ledger.book(), start, days[-1], "month"))
    reports_time, reports = timed(lambda: [report(ledger.book(), day) for day in days])
    assert list(rows) == replayed, "the read model's series and the replay's disagree"
    assert [r.report for r in rows] == reports, "series and reports disagree"
    print(f"ledger: {ledger.head()} events; {len(rows)} month ends")
    print(f"series from the read model:         {model_time:6.2f} s")
    print(f"series from one replay:             {replay_time:6.2f} s")
    print(f"{len(days)} reports, one replay each:     {reports_time:6.2f} s")
    print(f"ratio replay / read model: {replay_time / model_time:.1f}x")
    print(f"ratio {len(days)} replays / read model: {reports_time / model_time:.1f}x")


def timed(action: Callable[[], T]) -> tuple[float, T]:
    clock = time.perf_counter()
    result = action()
    return time.perf_counter() - clock, result


if __name__ == "__main__":
    main()
