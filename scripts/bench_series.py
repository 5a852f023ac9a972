"""Times a 60-month `series` against 60 separate `report`s on one sample ledger.

    python scripts/bench_series.py --customers 2000 --months 60

The series replays the ledger once into a `Book` and evaluates every month end (and the
movements between them) from it; 60 reports replay it 60 times (and, for reference, 60
`Ledger.report`s read the persistent read model). Prints the times, the ratios, and
checks that all give the same figures.
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
from ledger.rows import Row
from ledger.sample import sample_events
from projections.report import report
from projections.series import period_ends

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
    series_time, rows = timed(lambda: ledger.series(start, days[-1], "month"))
    replays_time, replayed = timed(lambda: [report(ledger.book(), day) for day in days])
    reports_time, reports = timed(lambda: [ledger.report(day) for day in days])
    assert [r.report for r in rows] == replayed == reports, "series and reports disagree"
    print(f"ledger: {ledger.head()} events; {len(rows)} month ends")
    print(f"series, one replay, with movements:   {series_time:6.2f} s")
    print(f"{len(days)} reports, one replay each:       {replays_time:6.2f} s")
    print(f"{len(days)} reports from the read model:    {reports_time:6.2f} s")
    print(f"ratio replays / series: {replays_time / series_time:.1f}x")
    print(f"ratio read-model reports / series: {reports_time / series_time:.1f}x")


def timed(action: Callable[[], T]) -> tuple[float, T]:
    clock = time.perf_counter()
    result = action()
    return time.perf_counter() - clock, result


if __name__ == "__main__":
    main()
