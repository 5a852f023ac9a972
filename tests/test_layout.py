"""The ledger's layout: recorded, refused when earlier or foreign, and `arr upgrade`.

`tests/fixtures/ledger-v1.db` was made by the first release (commit 551d8d4: `arr init`,
then `arr import tests/fixtures/ledger-v1.csv`); it answered `report --as-of 2024-04-30`
with MRR 2500.00 and ARR 30000.00. On PostgreSQL the same layout is made by taking a
current ledger's chain columns and sealed settings away.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from projections.read_model import parallel as read_model_parallel
from tests.test_audit import tamper

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures"


def first_release_ledger(db_url: str, tmp_path: Path) -> str:
    """A ledger of layout 1 holding the five events of `ledger-v1.csv`."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "v1.db"
        shutil.copy(FIXTURES / "ledger-v1.db", path)
        return f"sqlite:///{path}"
    with Ledger.init(db_url) as ledger:
        ledger.import_files([str(FIXTURES / "ledger-v1.csv")])
    columns = "prev_position, stream_prev, content_hash, stream_hash, digest"
    for column in columns.split(", "):
        tamper(db_url, f"ALTER TABLE arr_entries DROP COLUMN {column}")
    tamper(db_url, "DELETE FROM arr_settings WHERE key IN ('layout', 'seal')")
    return db_url


def arr(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, (result.stdout + result.stderr).strip()


def test_a_first_release_ledger_is_refused_until_upgraded(db_url: str, tmp_path: Path) -> None:
    url = first_release_ledger(db_url, tmp_path)
    where = make_url(url).render_as_string(hide_password=True)
    refused = (
        f"error: the ledger at {where} was made by an earlier version of arr (layout 1): "
        "run `arr upgrade` first"
    )
    assert arr("report", "--as-of", "2024-04-30", "--db", url) == (1, refused)
    assert arr("init", "--db", url) == (1, refused)
    assert arr("audit", "verify", "--db", url) == (1, refused)
    assert arr("upgrade", "--db", url) == (0, "ledger upgraded from layout 1 to layout 3")
    assert arr("upgrade", "--db", url) == (0, "ledger already at layout 3")
    code, printed = arr("report", "--as-of", "2024-04-30", "--db", url, "--format", "json")
    figures = json.loads(printed)
    assert (code, figures["mrr"], figures["arr"], figures["position"]) == (
        0,
        "2500.00",
        "30000.00",
        5,
    )
    code, printed = arr("audit", "verify", "--db", url)
    assert code == 0 and printed.startswith("ok: 5 events checked, head ")
    appended = arr(
        "append",
        '{"event_id":"e6","type":"new","customer_id":"cara","subscription_id":"s3",'
        '"effective_date":"2024-02-01","amount":"10"}',
        "--db",
        url,
    )
    assert appended == (0, "recorded at position 6")
    code, printed = arr("audit", "verify", "--db", url)
    assert code == 0 and printed.startswith("ok: 6 events checked, head ")


def test_upgrade_keeps_every_recorded_time(db_url: str, tmp_path: Path) -> None:
    url = first_release_ledger(db_url, tmp_path)
    before = recorded_times(url)
    assert len(before) == 5
    assert arr("upgrade", "--db", url)[0] == 0
    assert recorded_times(url) == before


def recorded_times(url: str) -> list[tuple[int, str]]:
    sql = "SELECT position, recorded_at FROM arr_entries ORDER BY position"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(str(parsed.database)) as conn:
            rows = conn.execute(sql).fetchall()
    else:
        dsn = f"postgresql://{parsed.username}@{parsed.host}:{parsed.port}/{parsed.database}"
        with psycopg.connect(dsn) as conn:
            conn.execute(f'SET search_path TO "{parsed.query["schema"]}"')
            rows = conn.execute(sql).fetchall()
    return [(int(p), str(t)) for p, t in rows]


def test_a_newer_layout_is_refused(ledger: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_settings SET value = '9' WHERE key = 'layout'")
    where = ledger.store.location
    assert arr("report", "--as-of", "2024-04-30", "--db", db_url) == (
        1,
        f"error: the ledger at {where} was made by a newer version of arr (layout 9): "
        "upgrade arr-ledger",
    )


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("hello, this is not a database\n")
    url = f"sqlite:///{text}"
    said = f"error: {url} is not a SQLite database: file is not a database"
    assert arr("report", "--as-of", "2024-01-01", "--db", url) == (1, said)
    assert arr("init", "--db", url) == (1, said)
    assert text.read_text() == "hello, this is not a database\n"


def test_a_foreign_database_with_its_own_event_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE stored_events (id INTEGER PRIMARY KEY, payload TEXT)")
    url = f"sqlite:///{path}"
    said = (
        f"error: the database at {url} is not a ledger: it has a table stored_events of "
        "something else; give another file"
    )
    assert arr("init", "--db", url) == (1, said)
    assert arr("report", "--as-of", "2024-01-01", "--db", url) == (1, said)
    with sqlite3.connect(path) as conn:  # nothing of the ledger's was created there
        names = [name for (name,) in conn.execute("SELECT name FROM sqlite_master")]
    assert names == ["stored_events"]


def test_a_foreign_postgres_event_table_is_refused(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        return  # SQLite: the test above
    schema = make_url(db_url).query["schema"]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".arr_events (id INT PRIMARY KEY, payload TEXT)')
    code, said = arr("init", "--db", db_url)
    assert code == 1
    assert said == (
        f"error: the database at {db_url} is not a ledger: its table arr_events (id, payload) "
        "is not an arr ledger's"
    )


def test_worker_processes_get_the_password_on_stdin_not_argv() -> None:
    address = "postgresql+psycopg://postgres:s3cret@127.0.0.1:5432/test"
    process = read_model_parallel._start(address)
    try:
        assert all("s3cret" not in arg for arg in process.args)  # type: ignore[union-attr]
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"s3cret" not in cmdline
    finally:
        read_model_parallel._stop(process, finished=True)
