"""The scale benchmark: from a raw file to the first answer, the day after, and rebuilds.

    python scripts/bench.py --events 100000,1000000 \\
        --db sqlite --db postgresql+psycopg://postgres@127.0.0.1:5432/test

For each database and size it generates a sample ledger (~5.6 events per customer over
5 years: upgrades, downgrades, renewals, lapses, restarts, fees, backdated churns and
voids), then measures, in one run and as whole CLI processes where a user would run
them:

* **the first answer**: `arr import` of the file into a fresh ledger, then `arr series
  --every month` over the whole history; compared with `saas-metrics` `analyze()` of
  the same history's month-end MRR lines and with a plain-DuckDB waterfall over the
  events file (`baselines`), whose month-end MRR is compared with the ledger's;
* **the day after**: `arr append` of one event then `arr report`, and `arr import` of
  1,000 events (most of them backdated) then `arr report`;
* `arr import` against Python's `sqlite3` `executemany` of the same rows and against
  the floor of writing its rows alone; `projections rebuild` against the floor of
  decoding and folding every customer once (`floors`, SQLite);
* `report` in process and as a process, at the head and at an earlier commit, and at a
  position inside the large import (answered by replay); a 60-month `series` and
  SPEC §13's queries, in a process of their own (`queries`).

It checks the figures against a full replay at three positions (inside the import, at
its end, after the backdated import) on three days under both ACV policies, and prints
a table and JSON.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import baselines
import floors
from rich.console import Console
from rich.table import Table

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.domain.events import Event
from projections.figures.conversion import FxPolicy
from projections.figures.movements import movements_over
from projections.figures.report import report
from projections.figures.series import series as replayed_series

FIELDS = tuple(field.name for field in dataclasses.fields(Event))  # the CSV header
EVENTS_PER_CUSTOMER = 5.6
YEARS = 5
START = date(2021, 1, 1)
AS_OF = date(2024, 6, 30)
CHECK_DAYS = (date(2022, 3, 31), AS_OF, date(2025, 12, 31))
GOALS = {
    "first_answer_over_saas_metrics": ("≤ 1×", lambda v: v <= 1),
    "import_over_floor": ("≤ 3× its writes", lambda v: v <= 3),
    "rebuild_of_fold": ("≥ 0.5 of the fold", lambda v: v >= 0.5),
    "append_s": ("≤ 1 s", lambda v: v <= 1),
    "report_after_append_s": ("≤ 1 s", lambda v: v <= 1),
    "import_1000_and_report_s": ("≤ 3 s", lambda v: v <= 3),
    "import_peak_rss_mib": ("≤ 1024 MiB", lambda v: v <= 1024),
    "report_ms": ("≤ 50 ms", lambda v: v <= 50),
    "report_booked_ms": ("≤ 50 ms", lambda v: v <= 50),
    "report_cli_s": ("≤ 1 s", lambda v: v <= 1),
    "report_earlier_ms": ("≤ 100 ms", lambda v: v <= 100),
    "series_s": ("≤ 1 s", lambda v: v <= 1),
    "series_month_netted_s": ("≤ 1 s", lambda v: v <= 1),
    "report_by_customer_s": ("≤ 1 s", lambda v: v <= 1),
    "cohorts_s": ("≤ 1 s", lambda v: v <= 1),
}
FLOORS = {  # SQLite only (`floors`): what no import or rebuild could beat here
    "import_floor_ratio": "writes alone ÷ baseline",
    "rebuild_events_per_s": "",
    "rebuild_floor_events_per_s": "writes alone",
    "fold_events_per_s": "decode, fold once, 1 core",
}
ARR = str(Path(sys.executable).with_name("arr"))


def generate(events: int, folder: Path, foreign: float = 0.0) -> tuple[Path, list[tuple[str, ...]]]:
    """A CSV of about `events` sample rows (valid by construction) and its rows; with
    `foreign`, that share of the customers bills in EUR or GBP, with daily rates."""
    customers = round(events / EVENTS_PER_CUSTOMER)
    rows = sample_events(customers=customers, years=YEARS, start=START, foreign=foreign)
    path = folder / f"ledger-{events}-{foreign}.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path, [tuple(r.get(k, "") for k in FIELDS) for r in rows]


def baseline(rows: list[tuple[str, ...]], folder: Path) -> float:
    """Seconds for sqlite3 `executemany` of the same rows into a plain table, one transaction."""
    path = folder / f"baseline-{uuid.uuid4().hex}.db"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE rows ({', '.join(FIELDS)})")
    clock = time.perf_counter()
    with conn:
        conn.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(FIELDS))})", rows)
    seconds = time.perf_counter() - clock
    conn.close()
    path.unlink()
    return seconds


class Stalled(Exception):
    """A CLI process did not finish in time or failed."""


_LAUNCHER = """
import os, sys, time
clock = time.perf_counter()
pid = os.fork()
if pid == 0:
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - clock, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def child(args: list[str], timeout: float = 3600) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one CLI process. It is started by a small
    launcher process: one started from this process would report this one's peak memory
    as its own (Linux keeps the peak of the memory a process had before its `exec`)."""
    launcher = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group: a stalled CLI process is killed with its launcher
    )
    try:
        out, _ = launcher.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()
        raise Stalled(f"{args[1]} did not finish within {timeout:.0f} s") from None
    seconds, peak, code = out.split()
    if int(code) != 0:
        raise Stalled(f"{args[1]} failed with exit code {code}")
    return float(seconds), int(peak)


def best_ms(action: Callable[[], object], repeat: int = 5) -> float:
    """The median of `repeat` warm runs, in milliseconds."""
    action()
    times = []
    for _ in range(repeat):
        clock = time.perf_counter()
        action()
        times.append(time.perf_counter() - clock)
    return statistics.median(times) * 1000


def fresh_url(db: str, folder: Path) -> str:
    if db == "sqlite":
        return f"sqlite:///{folder / f'bench-{uuid.uuid4().hex}.db'}"
    joiner = "&" if "?" in db else "?"
    return f"{db}{joiner}schema=bench_{uuid.uuid4().hex[:10]}"


def first_answer(
    db: str, csv_path: Path, folder: Path, import_timeout: float
) -> tuple[str, dict[str, Any]]:
    """A fresh ledger, `arr import` of the file and the first monthly `series`, as
    processes: the ledger's URL and the times (or the error)."""
    url = fresh_url(db, folder)
    subprocess.run([ARR, "init", "--db", url], check=True, stdout=subprocess.DEVNULL)
    try:
        import_s, rss = child([ARR, "import", str(csv_path), "--db", url], import_timeout)
        first_series_s = child([*SERIES, "--db", url], import_timeout)[0]
    except Stalled as exc:
        drop(db, url)
        return url, {"error": str(exc)}
    return url, {
        "import_s": round(import_s, 2),
        "first_series_s": round(first_series_s, 2),
        "first_answer_s": round(import_s + first_series_s, 2),
        "import_peak_rss_mib": round(rss / 1024),
    }


def measure(
    db: str, csv_path: Path, rows: list[Any], folder: Path, series_max: int, import_timeout: float
) -> dict[str, Any]:
    result: dict[str, Any] = {"db": "sqlite" if db == "sqlite" else "postgresql", "events": 0}
    url, found = first_answer(db, csv_path, folder, import_timeout)
    result |= found
    if "error" in found:
        return result
    base_s = baseline(rows, folder)
    result |= {
        "baseline_s": round(base_s, 3),
        "import_ratio": round(result["import_s"] / base_s, 1),
    }
    sqlite_path = Path(url.removeprefix("sqlite:///")) if db == "sqlite" else None
    if sqlite_path:
        result["import_floor_ratio"] = round(floors.import_writes(sqlite_path, folder) / base_s, 1)
        over = result["import_ratio"] / result["import_floor_ratio"]
        result["import_over_floor"] = round(over, 1)
    with Ledger.open(url) as ledger:
        imported = result["events"] = ledger.head()
        result |= analytics(ledger, csv_path, folder, result["first_answer_s"])
        clock = time.perf_counter()
        ledger.read_model().rebuild()
        result["rebuild_events_per_s"] = round(imported / (time.perf_counter() - clock))
        if sqlite_path:
            result["rebuild_floor_events_per_s"] = round(
                imported / floors.rebuild_writes(sqlite_path, folder)
            )
            result["fold_events_per_s"] = round(imported / floors.decode_and_fold(ledger))
            result["rebuild_of_fold"] = round(
                result["rebuild_events_per_s"] / result["fold_events_per_s"], 2
            )
    result |= steady(url, folder)
    with Ledger.open(url) as ledger:
        head = ledger.head()
        result["report_ms"] = round(best_ms(lambda: ledger.report(AS_OF)), 1)
        result["report_earlier_ms"] = round(
            best_ms(lambda: ledger.report(AS_OF, position=imported)), 1
        )
        inside = imported // 2  # inside the one import: no reader saw it, so replayed
        clock = time.perf_counter()
        ledger.report(AS_OF, position=inside)
        result["report_inside_import_s"] = round(time.perf_counter() - clock, 1)
        result["checked"] = check(ledger, (inside, imported, head))
    result |= query_seconds(url) if head <= series_max else {"series_s": None}
    cli = [ARR, "report", "--as-of", AS_OF.isoformat(), "--db", url, "--format", "json"]
    result["report_cli_s"] = round(min(child(cli)[0] for _ in range(3)), 2)
    drop(db, url)
    return result


SERIES = [ARR, "series", "--from", START.isoformat(), "--every", "month", "--format", "json"]
SERIES += ["--to", date(START.year + YEARS - 1, 12, 31).isoformat()]


def analytics(ledger: Ledger, events: Path, folder: Path, first_answer_s: float) -> dict[str, Any]:
    """saas-metrics and plain DuckDB on the same history (`baselines`), their month-end
    MRR compared with the ledger's to the cent."""
    ends = baselines.month_ends(START, date(START.year + YEARS - 1, 12, 31))
    lines = folder / "month-end-mrr.csv"
    ours, rounded = baselines.mrr_lines(ledger.book(), ends, lines)  # its input: not timed
    saas_s, theirs = baselines.saas_metrics(lines)
    duck_s, floor = baselines.duckdb_waterfall(events, ends[0], ends[-1])
    cent = Fraction(1, 100)
    return {
        "saas_metrics_s": round(saas_s, 2),
        "first_answer_over_saas_metrics": round(first_answer_s / saas_s, 2),
        "duckdb_floor_s": round(duck_s, 2),
        "first_answer_over_duckdb": round(first_answer_s / duck_s, 1),
        # its MRR is a sum of lines rounded to the cent: the same sum, to the cent
        "months_agreeing_with_saas_metrics": sum(rounded[d] == theirs.get(d) for d in ends),
        "months_agreeing_with_duckdb": sum(
            abs(ours[d] - floor.get(d, Fraction(0))) < cent for d in ends
        ),
        "months": len(ends),
    }


def steady(url: str, folder: Path) -> dict[str, Any]:
    """A day's work on the large ledger, as whole processes: one event appended then a
    report, and a file of 1,000 new events (most of them backdated) then a report."""
    event = {"event_id": "steady-1", "type": "new", "customer_id": "steady-1"}
    event |= {"subscription_id": "steady-1-s", "effective_date": "2025-12-01", "amount": "500"}
    report = [ARR, "report", "--as-of", AS_OF.isoformat(), "--db", url, "--format", "json"]
    append_s = child([ARR, "append", json.dumps(event), "--db", url])[0]
    after_append_s = child(report)[0]
    path = folder / "day.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, FIELDS)
        writer.writeheader()
        writer.writerows(day_of_events(1000))
    import_s = child([ARR, "import", str(path), "--db", url])[0]
    after_import_s = child(report)[0]
    return {
        "append_s": round(append_s, 2),
        "report_after_append_s": round(after_append_s, 2),
        "import_1000_and_report_s": round(import_s + after_import_s, 2),
    }


def query_seconds(url: str, finance: bool = True) -> dict[str, float]:
    """The in-process query latencies (`queries`), in a process of their own."""
    args = [sys.executable, str(Path(__file__).with_name("queries.py")), url]
    done = subprocess.run([*args, "--finance"] if finance else args, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"scripts/queries.py failed: {done.stderr.strip()}")
    found: dict[str, float] = json.loads(done.stdout)
    return found


def day_of_events(count: int) -> list[dict[str, str]]:
    """`count` valid events of new customers, most dated in the past (backdated): a
    start, then for some an upgrade and a churn."""
    rows: list[dict[str, str]] = []
    number = 0
    while len(rows) < count:
        number += 1
        customer, day = f"day-{number}", date(2022 + number % 4, 1 + number % 12, 1 + number % 28)
        base = {"customer_id": customer, "subscription_id": f"{customer}-s"}
        rows.append(base | {"event_id": f"{customer}-n", "type": "new", "amount": "300"})
        rows[-1]["effective_date"] = day.isoformat()
        if number % 3 == 0:
            later = date(day.year, day.month, 1) + timedelta(days=62)
            rows.append(base | {"event_id": f"{customer}-u", "type": "upgrade", "amount": "450"})
            rows[-1]["effective_date"] = later.isoformat()
        if number % 5 == 0:
            later = date(day.year, day.month, 1) + timedelta(days=130)
            rows.append(base | {"event_id": f"{customer}-c", "type": "churn"})
            rows[-1]["effective_date"] = later.isoformat()
    return rows[:count]


def growth(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per database, each measure at the largest size over the smallest (item 7)."""
    grown = {}
    for db in dict.fromkeys(r["db"] for r in results):
        runs = sorted((r for r in results if r["db"] == db), key=lambda r: r["events"])
        low, high = runs[0], runs[-1]
        grown[db] = {
            key: round(high[key] / low[key], 2)
            for key in GOALS
            if len(runs) > 1 and high.get(key) and low.get(key)
        }
    return grown


def check(
    ledger: Ledger,
    positions: tuple[int, ...],
    policies: tuple[str, ...] = ("spot",),
    series: bool = False,
) -> int:
    """Read-model figures must equal a full replay's (with `series`, a monthly series
    too); returns how many were compared."""
    compared = 0
    for position in positions:
        book = ledger.book(position=position)
        for day in CHECK_DAYS:
            for policy in ("recurring", "including_fees"):
                for fx in policies:
                    rates = FxPolicy.parse(fx)
                    replayed = report(book, day, policy, rates)
                    modelled = ledger.report(day, position=position, acv_policy=policy, fx=rates)
                    if modelled != replayed:
                        raise SystemExit(
                            f"MISMATCH at {day} position {position} {fx}: {modelled} {replayed}"
                        )
                    compared += 1
        bounds = [START, AS_OF, CHECK_DAYS[-1]]
        for fx in policies:
            rates = FxPolicy.parse(fx)
            if ledger.movements_over(bounds, position=position, fx=rates) != movements_over(
                book, bounds, "recurring", rates
            ):
                raise SystemExit(f"MISMATCH of movements at position {position} {fx}")
            compared += 1
            if series and list(
                ledger.series(START, AS_OF, "month", position=position, fx=rates)
            ) != (replayed_series(book, START, AS_OF, "month", "recurring", rates)):
                raise SystemExit(f"MISMATCH of the monthly series at position {position} {fx}")
            compared += 1
    return compared


FX_POLICIES = ("spot", "booked", f"fixed:{AS_OF}")


def measure_currencies(
    db: str, csv_path: Path, folder: Path, import_timeout: float
) -> dict[str, Any]:
    """The query latencies of a ledger in three currencies (`--foreign`): a report reads
    the foreign customers' unit rows, movements replay them (`docs/currencies.md`)."""
    name = "sqlite" if db == "sqlite" else "postgresql"
    result: dict[str, Any] = {"db": f"{name}, 3 currencies", "events": 0}
    url, found = first_answer(db, csv_path, folder, import_timeout)
    result |= found
    if "error" in found:
        return result
    with Ledger.open(url) as ledger:
        imported = result["events"] = ledger.head()
        customers = ledger.read_model().foreign(imported)
        result["foreign_customers"] = len(customers)
    result |= steady(url, folder)
    with Ledger.open(url) as ledger:
        head = ledger.head()
        result["report_ms"] = round(best_ms(lambda: ledger.report(AS_OF)), 1)
        result["report_booked_ms"] = round(best_ms(lambda: ledger.report(AS_OF, fx="booked")), 1)
        result["report_earlier_ms"] = round(
            best_ms(lambda: ledger.report(AS_OF, position=imported)), 1
        )
        result["checked"] = check(ledger, (imported, head), FX_POLICIES, series=True)
    result |= query_seconds(url)
    cli = [ARR, "report", "--as-of", AS_OF.isoformat(), "--db", url, "--format", "json"]
    result["report_cli_s"] = round(min(child(cli)[0] for _ in range(3)), 2)
    drop(db, url)
    return result


def drop(db: str, url: str) -> None:
    if db == "sqlite":
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    import psycopg

    schema = url.rsplit("schema=", 1)[1]
    dsn = db.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def show(results: list[dict[str, Any]]) -> None:
    console = Console(stderr=True)
    grid = Table(title=f"arr-ledger benchmark ({os.cpu_count()} cores)")
    grid.add_column("measure")
    grid.add_column("goal")
    for r in results:
        grid.add_column(f"{r['db']} {r['events']:,}", justify="right")
    keys = (
        *("events", "import_s", "first_series_s", "first_answer_s", "saas_metrics_s"),
        *("duckdb_floor_s", "first_answer_over_duckdb", "months"),
        *("months_agreeing_with_saas_metrics", "months_agreeing_with_duckdb"),
        *("baseline_s", "import_ratio", "checked", "report_inside_import_s", "foreign_customers"),
        *GOALS,
    )
    for key in (*keys, *FLOORS, "error"):
        goal, met = GOALS.get(key, (FLOORS.get(key, ""), None))
        cells = [_cell(r.get(key), met) for r in results]
        grid.add_row(key, goal, *cells)
    console.print(grid)


def _cell(value: Any, met: Callable[[Any], bool] | None) -> str:
    if value is None:
        return "not measured"
    return f"{value}" if met is None else f"{value} {'ok' if met(value) else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="100000", help="sizes, comma separated")
    parser.add_argument(
        "--db", action="append", help="sqlite (a temporary file) or a PostgreSQL URL; repeatable"
    )
    parser.add_argument("--json", help="also write the JSON results to this file")
    parser.add_argument(
        "--series-max",
        type=int,
        default=10**9,
        help="measure the series only up to this many events",
    )
    parser.add_argument(
        "--import-timeout", type=float, default=1800, help="seconds before an import is given up"
    )
    parser.add_argument(
        "--foreign",
        type=float,
        default=0.2,
        help="share of the customers in EUR or GBP in the multi-currency ledger (0: none)",
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for events in (int(n) for n in args.events.split(",")):
            csv_path, rows = generate(events, folder)
            for db in args.db or ["sqlite"]:
                print(f"measuring {db} at {events:,} events...", file=sys.stderr, flush=True)
                found = measure(db, csv_path, rows, folder, args.series_max, args.import_timeout)
                print(json.dumps(found), file=sys.stderr, flush=True)
                results.append(found)
            if not args.foreign:
                continue
            csv_path, rows = generate(events, folder, args.foreign)
            for db in args.db or ["sqlite"]:
                print(f"measuring {db} at {events:,} events, 3 currencies...", file=sys.stderr)
                found = measure_currencies(db, csv_path, folder, args.import_timeout)
                print(json.dumps(found), file=sys.stderr, flush=True)
                results.append(found)
    show(results)
    payload = {"cores": os.cpu_count(), "results": results, "growth": growth(results)}
    print(json.dumps(payload, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
