"""The query latencies of `scripts/bench.py`, in a process of their own:

    python scripts/queries.py URL [--finance]

prints, as JSON, the seconds of a 60-month `series --every month` and, with
`--finance`, of SPEC §13's queries (a 60-month series netted by month, `report --by
customer`, 60 months of monthly cohorts), each run once after one `report` has opened
the read model. Measured in a process that holds only the ledger, as a notebook or a
CLI does: the benchmark's own process holds the million generated rows and the
baselines' data, whose weight on Python's garbage collector would be timed with any
query that makes many objects (a `report --by customer` of 100,000 lines took twice as
long there).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import date

from ledger import Ledger

START, YEARS, AS_OF = date(2021, 1, 1), 5, date(2024, 6, 30)
"""The span of `bench.py`'s sample ledgers, and the day of its reports."""


def timed(ledger: Ledger, finance: bool) -> dict[str, float]:
    last = date(START.year + YEARS - 1, 12, 31)
    queries: dict[str, Callable[[], object]] = {
        "series_s": lambda: ledger.series(START, date(START.year + YEARS, 1, 1), "month"),
    }
    if finance:
        queries |= {
            "series_month_netted_s": lambda: ledger.series(START, last, "month", netting="month"),
            "report_by_customer_s": lambda: ledger.by_customer(AS_OF),
            "cohorts_s": lambda: ledger.cohorts(START, last, "month"),
        }
    ledger.report(AS_OF)
    found = {}
    for name, query in queries.items():
        clock = time.perf_counter()
        query()
        found[name] = round(time.perf_counter() - clock, 2)
    return found


def main() -> None:
    with Ledger.open(sys.argv[1]) as ledger:
        print(json.dumps(timed(ledger, "--finance" in sys.argv[2:])))


if __name__ == "__main__":
    main()
