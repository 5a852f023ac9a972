"""The scale benchmark of issue 5: import, queries and rebuild on a realistic ledger.

    python scripts/bench.py --events 100000,1000000 \\
        --db sqlite --db postgresql+psycopg://postgres@127.0.0.1:5432/test

For each database and size it generates a sample ledger (~5.6 events per customer over
5 years: upgrades, downgrades, renewals, lapses, restarts, fees, backdated churns and
voids), then measures, in one run: `arr import` (wall time, peak RSS, and the ratio to
Python's `sqlite3` `executemany` of the same rows into a plain table), `projections
rebuild` throughput, `report --as-of` in process and as a CLI process, `report` at the
middle position, and a 60-month `series`. It checks that the read model's figures equal
a full replay's at a few dates and positions, and prints a table and JSON. On SQLite it
also measures the floors under the import and rebuild goals (`floors`).
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
from datetime import date
from pathlib import Path
from typing import Any

import floors
from rich.console import Console
from rich.table import Table

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.domain.events import Event
from projections.figures.report import report

FIELDS = tuple(field.name for field in dataclasses.fields(Event))  # the CSV header
EVENTS_PER_CUSTOMER = 5.6
YEARS = 5
START = date(2021, 1, 1)
AS_OF = date(2024, 6, 30)
CHECK_DAYS = (date(2022, 3, 31), AS_OF, date(2025, 12, 31))
GOALS = {
    "import_ratio": ("≤ 3×", lambda v: v <= 3),
    "report_ms": ("≤ 50 ms", lambda v: v <= 50),
    "report_cli_s": ("≤ 1 s", lambda v: v <= 1),
    "report_mid_ms": ("≤ 100 ms", lambda v: v <= 100),
    "series_s": ("≤ 1 s", lambda v: v <= 1),
    "rebuild_events_per_s": ("≥ 150k/s", lambda v: v >= 150_000),
    "import_peak_rss_mib": ("≤ 1024 MiB", lambda v: v <= 1024),
}
FLOORS = {  # SQLite only (`floors`): what no import or rebuild could beat here
    "import_floor_ratio": "writes alone ÷ baseline",
    "rebuild_floor_events_per_s": "writes alone",
    "fold_events_per_s": "decode, fold once, 1 core",
}
ARR = str(Path(sys.executable).with_name("arr"))


def generate(events: int, folder: Path) -> tuple[Path, list[tuple[str, ...]]]:
    """A CSV of about `events` sample rows (valid by construction) and its rows."""
    rows = sample_events(customers=round(events / EVENTS_PER_CUSTOMER), years=YEARS, start=START)
    path = folder / f"ledger-{events}.csv"
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


def measure(
    db: str, csv_path: Path, rows: list[Any], folder: Path, series_max: int, import_timeout: float
) -> dict[str, Any]:
    url = fresh_url(db, folder)
    subprocess.run([ARR, "init", "--db", url], check=True, stdout=subprocess.DEVNULL)
    result: dict[str, Any] = {"db": "sqlite" if db == "sqlite" else "postgresql", "events": 0}
    try:
        import_s, rss = child([ARR, "import", str(csv_path), "--db", url], import_timeout)
    except Stalled as exc:
        drop(db, url)
        return result | {"error": str(exc)}
    base_s = baseline(rows, folder)
    result |= {
        "import_s": round(import_s, 2),
        "baseline_s": round(base_s, 3),
        "import_ratio": round(import_s / base_s, 1),
        "import_peak_rss_mib": round(rss / 1024),
    }
    sqlite_path = Path(url.removeprefix("sqlite:///")) if db == "sqlite" else None
    if sqlite_path:
        result["import_floor_ratio"] = round(floors.import_writes(sqlite_path, folder) / base_s, 1)
    with Ledger.open(url) as ledger:
        head = result["events"] = ledger.head()
        clock = time.perf_counter()
        ledger.read_model().catch_up()  # what the first query after the import does
        result["catch_up_events_per_s"] = round(head / (time.perf_counter() - clock))
        clock = time.perf_counter()
        ledger.read_model().rebuild()
        result["rebuild_events_per_s"] = round(head / (time.perf_counter() - clock))
        if sqlite_path:
            result["rebuild_floor_events_per_s"] = round(
                head / floors.rebuild_writes(sqlite_path, folder)
            )
            result["fold_events_per_s"] = round(head / floors.decode_and_fold(ledger))
        result["report_ms"] = round(best_ms(lambda: ledger.report(AS_OF)), 1)
        middle = head // 2
        result["report_mid_ms"] = round(best_ms(lambda: ledger.report(AS_OF, position=middle)), 1)
        result["series_s"] = series_seconds(ledger) if head <= series_max else None
        result["checked"] = check(ledger, (middle, head))
    cli = [ARR, "report", "--as-of", AS_OF.isoformat(), "--db", url, "--format", "json"]
    result["report_cli_s"] = round(min(child(cli)[0] for _ in range(3)), 2)
    drop(db, url)
    return result


def series_seconds(ledger: Ledger) -> float:
    """A 60-month `series --every month`, in process."""
    clock = time.perf_counter()
    ledger.series(START, date(START.year + YEARS, 1, 1), "month")
    return round(time.perf_counter() - clock, 2)


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


def check(ledger: Ledger, positions: tuple[int, ...]) -> int:
    """Read-model figures must equal a full replay's; returns how many were compared."""
    compared = 0
    for position in positions:
        book = ledger.book(position=position)
        for day in CHECK_DAYS:
            for policy in ("recurring", "including_fees"):
                replayed = report(book, day, policy)
                modelled = ledger.report(day, position=position, acv_policy=policy)
                if modelled != replayed:
                    raise SystemExit(
                        f"MISMATCH at {day} position {position}: {modelled} {replayed}"
                    )
                compared += 1
    return compared


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
    keys = ("events", "import_s", "baseline_s", "checked", "catch_up_events_per_s", *GOALS)
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
    show(results)
    payload = {"cores": os.cpu_count(), "results": results, "growth": growth(results)}
    print(json.dumps(payload, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
