"""The history import benchmark: a periods file against the same events given directly.

    python scripts/bench_history.py --subscriptions 200000 \\
        [--db sqlite] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]

It generates a periods file (SPEC §14, the shape of the dbt mrr-playbook) of
`--subscriptions` subscriptions: customers of 1-3 subscriptions, monthly, quarterly and
yearly prices, periods continuing one another at another price (upgrades, downgrades,
renewals onto another plan), churns, and restarts after a gap. It converts the file once,
untimed, with the same converter `arr import --from periods` uses, and writes the events
it derives as an events file in the ledger's own columns. Then, as whole CLI processes,
each into a fresh ledger (`arr init` untimed), it times

* `arr import --from periods periods.csv`, and
* `arr import events.csv`,

checks that both ledgers give the same `arr report --format json` at a few days, and
prints the seconds, the events and the ratio (goal: periods within 3× the events).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from bench import ARR, Stalled, child, drop, fresh_url
from rich.console import Console
from rich.table import Table

from ledger.domain.dates import add_months
from ledger.domain.errors import Problem
from ledger.intake.fields import FIELD_ORDER
from ledger.intake.rows import Row
from ledger.intake.shapes import PERIOD_COLUMNS, from_periods, read

START = date(2019, 1, 1)
LAST_START = date(2024, 6, 1)  # no period starts later: the history ends mid-2024
CHECK_DAYS = (date(2020, 12, 31), date(2022, 6, 30), date(2024, 6, 30), date(2026, 1, 31))
GOAL = 3.0  # the periods import within this many times the events import (SPEC §14)
PRICES = (29, 49, 99, 149, 299, 499, 999)
INTERVALS = ((1, 0.7), (3, 0.1), (12, 0.2))  # months and their share
PLANS = ("starter", "team", "business", "enterprise")


def periods_of(chance: random.Random, subscription: str, customer: str) -> Iterator[list[str]]:
    """One subscription's periods, in order: a first price, then changes of price or
    plan, gaps with restarts, and maybe a churn at its last end (else still running)."""
    start = add_months(START, chance.randrange(66))
    months = chance.choices([m for m, _ in INTERVALS], [w for _, w in INTERVALS])[0]
    price = chance.choice(PRICES)
    plan = chance.choice(PLANS)
    while True:
        end = add_months(start, months * chance.randint(1, 8))
        running = end > LAST_START
        amount = price * months
        yield [subscription, customer, start.isoformat(), "" if running else end.isoformat()]
        yield [str(amount), str(months), "", plan]
        if running:
            return
        step = chance.random()
        if step < 0.25:  # churned for good
            return
        if step < 0.35:  # a gap, then a restart at the same price
            start = add_months(end, chance.randint(1, 6))
            if start > LAST_START:
                return
            continue
        start = end
        if step < 0.85:  # an upgrade or a downgrade
            price = chance.choice([p for p in PRICES if p != price])
        else:  # the same MRR onto another plan: a renewal
            plan = chance.choice([p for p in PLANS if p != plan])


def generate(subscriptions: int, path: Path, seed: int = 19) -> int:
    """A periods CSV of `subscriptions` subscriptions; returns how many periods it has."""
    chance = random.Random(seed)
    written = made = customer = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(PERIOD_COLUMNS)
        while made < subscriptions:
            customer += 1
            for _ in range(min(chance.choice((1, 1, 1, 2, 2, 3)), subscriptions - made)):
                made += 1
                pieces = periods_of(chance, f"sub{made}", f"cust{customer}")
                for head, tail in zip(pieces, pieces, strict=True):
                    writer.writerow(head + tail)
                    written += 1
    return written


def derive(periods: Path, events: Path) -> tuple[int, float]:
    """The periods' events, as `arr import --from periods` derives them, written as an
    events file; returns how many and the seconds the conversion took in process."""
    clock = time.perf_counter()
    rows = list(from_periods(read(str(periods))))
    seconds = time.perf_counter() - clock
    problems = [row for row in rows if isinstance(row, Problem)]
    if problems:
        raise SystemExit(f"the generated periods have problems: {problems[:3]}")
    with events.open("w", newline="") as out:
        writer = csv.DictWriter(out, FIELD_ORDER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.fields for row in rows if isinstance(row, Row))
    return len(rows), seconds


def imported(db: str, folder: Path, command: list[str], timeout: float) -> tuple[str, float, int]:
    """A fresh ledger, the import timed as a process: its URL, seconds, peak RSS (KiB)."""
    url = fresh_url(db, folder)
    subprocess.run([ARR, "init", "--db", url], check=True, stdout=subprocess.DEVNULL)
    seconds, peak = child([ARR, "import", *command, "--db", url], timeout)
    return url, seconds, peak


def reports(url: str) -> list[Any]:
    """`arr report --format json` of the ledger at each check day."""
    found = []
    for day in CHECK_DAYS:
        cli = [ARR, "report", "--as-of", day.isoformat(), "--db", url, "--format", "json"]
        done = subprocess.run(cli, capture_output=True, text=True)
        if done.returncode != 0:  # its own message, not this script's traceback
            raise Stalled(f"arr report --as-of {day} failed: {done.stderr.strip()}")
        found.append(json.loads(done.stdout))
    return found


def measure(db: str, folder: Path, periods: Path, events: Path, timeout: float) -> dict[str, Any]:
    name = "sqlite" if db == "sqlite" else "postgresql"
    result: dict[str, Any] = {"db": name}
    try:
        periods_url, periods_s, periods_rss = imported(
            db, folder, ["--from", "periods", str(periods)], timeout
        )
        events_url, events_s, events_rss = imported(db, folder, [str(events)], timeout)
    except Stalled as exc:
        return result | {"error": str(exc)}
    timed = {"periods_import_s": round(periods_s, 2), "events_import_s": round(events_s, 2)}
    print(json.dumps(timed), file=sys.stderr, flush=True)  # kept should the check fail
    try:
        same = reports(periods_url) == reports(events_url)
    except Stalled as exc:
        return result | timed | {"error": str(exc)}
    finally:
        drop(db, periods_url)
        drop(db, events_url)
    if not same:
        raise SystemExit(f"MISMATCH: the two {name} ledgers report different figures")
    return result | {
        "periods_import_s": round(periods_s, 2),
        "events_import_s": round(events_s, 2),
        "ratio": round(periods_s / events_s, 2),
        "periods_peak_rss_mib": round(periods_rss / 1024),
        "events_peak_rss_mib": round(events_rss / 1024),
        "reports_agree": len(CHECK_DAYS),
    }


def show(facts: dict[str, Any], results: list[dict[str, Any]]) -> None:
    console = Console(stderr=True)
    grid = Table(title=f"arr import --from periods ({os.cpu_count()} cores)")
    grid.add_column("measure")
    grid.add_column("goal")
    for r in results:
        grid.add_column(r["db"], justify="right")
    for key, value in facts.items():
        grid.add_row(key, "", *(f"{value:,}" for _ in results))
    keys = ("periods_import_s", "events_import_s", "ratio", "periods_peak_rss_mib")
    failed = ("error",) if any("error" in r for r in results) else ()
    for key in (*keys, "events_peak_rss_mib", "reports_agree", *failed):
        goal = f"≤ {GOAL:g}×" if key == "ratio" else ""
        grid.add_row(key, goal, *(_cell(key, r.get(key)) for r in results))
    console.print(grid)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "not measured"
    if key != "ratio":
        return f"{value}"
    return f"{value} {'ok' if value <= GOAL else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=200_000)
    parser.add_argument(
        "--db", action="append", help="sqlite (a temporary file) or a PostgreSQL URL; repeatable"
    )
    parser.add_argument("--json", help="also write the JSON results to this file")
    parser.add_argument(
        "--import-timeout", type=float, default=3600, help="seconds before an import is given up"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        periods, events = folder / "periods.csv", folder / "events.csv"
        print(f"generating {args.subscriptions:,} subscriptions...", file=sys.stderr, flush=True)
        rows = generate(args.subscriptions, periods)
        count, convert_s = derive(periods, events)
        facts = {"subscriptions": args.subscriptions, "periods": rows, "events": count}
        results = []
        for db in args.db or ["sqlite"]:
            print(f"measuring {db}...", file=sys.stderr, flush=True)
            found = measure(db, folder, periods, events, args.import_timeout)
            print(json.dumps(found), file=sys.stderr, flush=True)
            results.append(found)
    show(facts, results)
    payload = facts | {"convert_in_process_s": round(convert_s, 2), "cores": os.cpu_count()}
    payload["results"] = results
    print(json.dumps(payload, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
