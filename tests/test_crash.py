"""Crashes and failing databases: an import killed half way leaves nothing behind, and a
full disk or a lost connection is one clear message, never a traceback.

The kills are real: a separate `arr` process is sent SIGKILL from outside while its
write transaction is open (it announces the moment through a file, then waits).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.cli.options import run
from ledger.intake.rows import Row
from projections.figures.conversion import FxPolicy
from projections.figures.report import report
from tests.conftest import POSTGRES, _drop_schema, _postgres_dsn, new, record

FIELDS = [
    *("event_id", "type", "customer_id", "subscription_id", "effective_date", "amount"),
    *("interval", "term_months", "plan", "quantity", "description", "target_event_id"),
    *("currency", "rate", "source"),
]
SECRET = "Pa55-w0rd-never-shown"

# Runs `arr import` with the store's index write announcing, once half the file's events
# are inside the open transaction, that it is there, then waiting to be killed.
_KILLABLE_IMPORT = """
import sys, time
from pathlib import Path
from ledger.store import recorders

marker, half = Path(sys.argv[1]), int(sys.argv[2])
original, written = recorders.LedgerIndex.index, [0]

def index(self, cursor, ids, rows, *more, **named):
    original(self, cursor, ids, rows, *more, **named)
    written[0] += len(rows)
    if written[0] >= half:
        marker.write_text(str(written[0]))
        time.sleep(120)

recorders.LedgerIndex.index = index
from ledger.cli.main import main
sys.argv = ["arr", *sys.argv[3:]]
main()
"""


def _arr(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from ledger.cli.main import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def _big_file(folder: Path, customers: int = 1500, foreign: float = 0.0) -> tuple[Path, int]:
    rows = sample_events(customers=customers, years=4, seed=5, foreign=foreign)
    path = folder / "big.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path, len(rows)


def _kill_mid_import(url: str, path: Path, events: int, marker: Path) -> int:
    """Starts `arr import`, SIGKILLs it inside its write transaction; the events it held."""
    command = [sys.executable, "-c", _KILLABLE_IMPORT, str(marker), str(events // 2)]
    process = subprocess.Popen([*command, "import", str(path), "--db", url])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the import ended before it could be killed"
        held = int(marker.read_text() or 0)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    return held


def test_sigkill_in_the_middle_of_a_large_import_leaves_none_of_it(
    db_url: str, tmp_path: Path
) -> None:
    with Ledger.init(db_url) as ledger:
        before = new("before", "s-before", "2024-01-01", "100")
        record(ledger, before)
        head = ledger.head()
    path, events = _big_file(tmp_path)

    held = _kill_mid_import(db_url, path, events, tmp_path / "inside-transaction")

    assert held >= events // 2  # it was killed with (at least) half the import written
    with Ledger.open(db_url) as ledger:
        assert ledger.head() == head
        assert [r.event.event_id for r in ledger.entries()] == [before["event_id"]]
    again = _arr("import", str(path), "--db", db_url)
    assert again.returncode == 0, again.stderr
    assert f"imported {events} events, skipped 0" in again.stdout
    with Ledger.open(db_url) as ledger:
        assert ledger.head() > head
        assert len(list(ledger.entries())) == events + 1
    verified = _arr("audit", "verify", "--db", db_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_sigkill_in_an_import_of_rates_and_foreign_customers_leaves_none_of_it(
    db_url: str, tmp_path: Path
) -> None:
    """A fifth of the customers in EUR or GBP, a rate of each every day (SPEC §10)."""
    with Ledger.init(db_url) as ledger:
        record(ledger, new("before", "s-before", "2024-01-01", "100"))
        head = ledger.head()
    path, events = _big_file(tmp_path, customers=400, foreign=0.2)

    _kill_mid_import(db_url, path, events, tmp_path / "inside-transaction")

    with Ledger.open(db_url) as ledger:
        assert ledger.head() == head
        assert ledger.read_model().foreign(head) == []
        assert ledger.report(date(2024, 6, 30)).as_json()["mrr"] == "100.00"
    again = _arr("import", str(path), "--db", db_url)
    assert again.returncode == 0, again.stderr
    with Ledger.open(db_url) as ledger:
        book = ledger.book()
        for fx in ("spot", "booked"):
            policy = FxPolicy.parse(fx)
            assert ledger.report(date(2024, 6, 30), fx=policy) == report(
                book, date(2024, 6, 30), "recurring", policy
            )
        assert ledger.verify().findings == []


# Runs a read-model catch-up in batches of 200 events; inside the third batch's open
# transaction it announces itself and waits to be killed.
_KILLABLE_CATCH_UP = """
import sys, time
from pathlib import Path
from ledger import Ledger
from projections.read_model import model as read_model

marker, url = Path(sys.argv[1]), sys.argv[2]
original, batches = read_model.write, [0]

def write(conn, changes):
    original(conn, changes)
    batches[0] += 1
    if batches[0] == 3:
        marker.write_text("3")
        time.sleep(120)

read_model.BATCH, read_model.write = 200, write
with Ledger.open(url) as ledger:
    ledger.read_model().catch_up()
"""


def _rows(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row of the read model: what a rebuild must reproduce."""
    return ledger.read_model().rows()


def test_a_catch_up_killed_mid_way_resumes_and_ends_with_the_rows_of_a_rebuild(
    db_url: str, tmp_path: Path, lagging: None
) -> None:
    with Ledger.init(db_url) as ledger:
        events = list(enumerate(sample_events(150, seed=3), 1))
        for first in range(0, len(events), 100):  # commits of 100: batches end at them
            ledger.import_rows(Row(f"sample:{n}", e) for n, e in events[first : first + 100])
        head = ledger.head()
    assert head > 600
    marker = tmp_path / "inside-third-batch"
    process = subprocess.Popen([sys.executable, "-c", _KILLABLE_CATCH_UP, str(marker), db_url])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the catch-up ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)

    with Ledger.open(db_url) as ledger:
        model = ledger.read_model()
        assert model.tracked() == 400  # two batches committed; the third died with it
        assert model.catch_up() == head
        caught_up = _rows(ledger)
        assert sum(map(len, caught_up.values())) > head // 4
        assert model.rebuild() == head
        assert caught_up == _rows(ledger)


# Disk full: SQLite limited to a few pages, the way a full disk refuses a write.


@pytest.fixture
def small_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every SQLite connection opened from now on may hold at most 60 pages (240 KiB)."""
    import eventsourcing.sqlite as es_sqlite

    connect = es_sqlite.sqlite3.connect

    def limited(*args: Any, **kwargs: Any) -> Any:
        connection = connect(*args, **kwargs)
        connection.execute("PRAGMA max_page_count = 60")
        return connection

    monkeypatch.setattr(es_sqlite.sqlite3, "connect", limited)
    yield


def test_a_full_disk_is_one_clear_message_and_writes_nothing(
    tmp_path: Path, small_disk: None
) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    path, _ = _big_file(tmp_path, customers=200)
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0

    result = runner.invoke(app, ["import", str(path), "--db", url])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [f"error: cannot write to {url}: database or disk is full"]
    assert result.stdout == ""
    with Ledger.open(url) as ledger:
        assert ledger.head() == 0


# Lost connections: a server that is not there, and a server that drops us mid-session.


def test_an_unreachable_server_is_one_clear_message_without_the_password() -> None:
    url = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:9/test"
    shown = "postgresql+psycopg://postgres:***@127.0.0.1:9/test"
    for command, reason in (
        (["init", "--db", f"{url}?schema=s"], "Connection refused"),
        (["report", "--as-of", "2024-01-31", "--db", url], "Connection refused"),
    ):
        result = _arr(*command)
        assert (result.returncode, result.stdout) == (1, "")
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"error: cannot open the ledger at {shown}")
        assert reason in line
        assert SECRET not in line


def _backends(ledger: Ledger) -> list[int]:
    """The server process ids of every pooled PostgreSQL connection the ledger holds."""
    pool = ledger.store.recorder.datastore.pool
    connections = [pool.getconn() for _ in range(pool.get_stats()["pool_size"])]
    pids = [connection.info.backend_pid for connection in connections]
    for connection in connections:
        pool.putconn(connection)
    return pids


@pytest.fixture
def secret_url() -> Iterator[str]:
    """A PostgreSQL ledger reached through a URL with a password (the server trusts us)."""
    schema = f"t_secret_{uuid.uuid4().hex[:12]}"
    yield f"{POSTGRES.replace('postgres@', f'postgres:{SECRET}@')}?schema={schema}"
    _drop_schema(schema)


def test_a_connection_the_server_drops_is_one_clear_message_and_then_recovers(
    secret_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    initialised = CliRunner().invoke(app, ["init", "--db", secret_url])
    assert "postgresql+psycopg://postgres:***@127.0.0.1" in initialised.stdout
    assert SECRET not in initialised.stdout
    with Ledger.open(secret_url) as ledger:
        record(ledger, new("acme", "s1", "2024-01-01", "100"))
        with psycopg.connect(_postgres_dsn(), autocommit=True) as admin:
            for pid in _backends(ledger):
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        with pytest.raises(typer.Exit) as stopped:
            run(lambda: ledger.append(new("acme", "s2", "2024-02-01", "50")))

    assert stopped.value.exit_code == 1
    shown = capsys.readouterr()
    assert shown.err.splitlines() == [
        f"error: cannot use the ledger at {secret_url.replace(SECRET, '***')}: "
        "terminating connection due to administrator command"
    ]
    assert SECRET not in shown.err + shown.out
    with Ledger.open(secret_url) as reopened:
        assert [r.event.subscription_id for r in reopened.entries()] == ["s1"]
        reopened.append(new("acme", "s2", "2024-02-01", "50"))
        assert reopened.head() == 2


# A bug is still one line for the user; the traceback is there on demand.

_FAILING_REPORT = """
import sys
from ledger.app.ledger import Ledger

def report(*args, **kwargs):
    raise RuntimeError("the unforeseen\\nsecond line")

Ledger.report = report
from ledger.cli.main import main
sys.argv = ["arr", *sys.argv[1:]]
main()
"""


def test_an_unforeseen_failure_is_one_line_not_a_traceback(db_url: str) -> None:
    Ledger.init(db_url).close()
    command = [sys.executable, "-c", _FAILING_REPORT, "report", "--as-of", "2024-01-31"]
    command += ["--db", db_url]

    shown = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    debugged = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=os.environ | {"ARR_DEBUG": "1"},
    )

    assert (shown.returncode, shown.stdout) == (1, "")
    assert shown.stderr.splitlines() == [
        "error: unexpected RuntimeError: the unforeseen (a bug in arr: rerun with ARR_DEBUG=1 "
        "for the traceback and report it)"
    ]
    assert debugged.returncode == 1
    assert "Traceback (most recent call last)" in debugged.stderr
