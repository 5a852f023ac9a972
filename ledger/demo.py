"""`arr demo`: a sample ledger in a temporary folder, a report, and what to try next."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from rich.console import Console

from ledger.application import Ledger
from ledger.rows import Row
from ledger.sample import sample_events
from projections.render import figures

SAMPLE_START = date(2021, 1, 1)
SAMPLE_YEARS = 4
AS_OF = date(2024, 12, 31)


def run_demo(console: Console, customers: int, folder: str | None) -> str:
    """Builds the sample ledger; returns its URL."""
    where = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="arr-demo-"))
    where.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{where / 'demo.db'}"
    rows = sample_events(customers, SAMPLE_YEARS, seed=7, start=SAMPLE_START)
    with Ledger.init(url) as ledger:
        result = ledger.import_rows(Row(f"sample:{n}", r) for n, r in enumerate(rows, start=1))
        console.print(
            f"Built a sample ledger of {customers} customers, {result.appended + result.skipped} "
            f"events from {SAMPLE_START} to {AS_OF}, at {url}\n",
            highlight=False,
        )
        figures_now = ledger.report(AS_OF, acv_policy="including_fees").as_json()
    console.print(figures(f"Report as of {AS_OF}", figures_now, figures_now["currency"]))
    console.print("Try next:", highlight=False)
    for command in (
        f"arr report --db {url} --as-of 2023-06-30",
        f"arr report --db {url} --as-of 2023-06-30 --position 500 --format json",
    ):
        console.print(f"  {command}", highlight=False, markup=False)
    return url
