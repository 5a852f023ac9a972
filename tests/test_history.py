"""History from elsewhere (SPEC §14): `arr import --historical`, `arr check` and `arr export`.

An export imported as history into an empty ledger gives the same figures at every
`(as_of, known_at)` as the ledger it came from, on both databases; history's rules (a time
on every row, in order, after what the ledger knows, never in the future) refuse a row at
its location and write nothing; `arr check` says what `arr import` would, and writes
nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger, Refused
from ledger.cli.main import app
from ledger.intake.rows import Row
from tests.conftest import POSTGRES, _drop_schema, event, new

runner = CliRunner()
DAYS = [date(2024, 1, 31), date(2024, 2, 15), date(2024, 3, 31), date(2024, 6, 30)]


def grown(ledger: Ledger) -> list[datetime]:
    """A ledger recorded over three moments (a backdated churn last); the moments."""
    moments = []
    for when, rows in (
        (
            "2024-02-01T09:00:00+00:00",
            [new("acme", "s1", "2024-01-01", "1000"), new("bolt", "s2", "2024-01-15", "500")],
        ),
        (
            "2024-03-01T09:00:00+00:00",
            [
                event(
                    "upgrade",
                    "acme",
                    "2024-02-20",
                    subscription_id="s1",
                    amount="1300",
                    reason="price_increase",
                )
            ],
        ),
        (
            "2024-04-05T09:00:00+00:00",
            [
                event(
                    "churn",
                    "bolt",
                    "2024-02-01",
                    subscription_id="s2",
                    reason="non_payment",
                    note="card declined",
                )
            ],
        ),
    ):
        with freeze_time(when):
            ledger.import_rows(Row(f"r{n}", r) for n, r in enumerate(rows, 1))
        moments.append(datetime.fromisoformat(when))
    return moments


def test_an_export_imported_as_history_gives_the_same_figures(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    moments = grown(ledger)
    exported = list(ledger.export())
    assert exported[0]["recorded_at"] == "2024-02-01T09:00:00.000000+00:00"
    schema = None if db_url.startswith("sqlite") else db_url.rpartition("=")[2] + "_copy"
    other_url = (
        f"sqlite:///{tmp_path / 'other.db'}" if schema is None else f"{POSTGRES}?schema={schema}"
    )
    try:
        with Ledger.init(other_url) as copy:
            rows = (Row(f"x:{n}", r) for n, r in enumerate(exported, 1))
            copy.import_rows(rows, historical=True)
            _same_figures(ledger, copy, moments)
            assert copy.verify().ok
    finally:
        if schema is not None:
            _drop_schema(schema)


def _same_figures(ledger: Ledger, copy: Ledger, moments: list[datetime]) -> None:
    asked = [m - timedelta(days=1) for m in moments] + [m + timedelta(hours=1) for m in moments]
    for known in asked:
        for day in DAYS:
            assert (
                copy.report(day, known_at=known).as_json()
                == ledger.report(day, known_at=known).as_json()
            ), (known, day)
        mine = ledger.movements(date(2023, 12, 31), date(2024, 6, 30), known_at=known)
        theirs = copy.movements(date(2023, 12, 31), date(2024, 6, 30), known_at=known)
        assert theirs.as_json() == mine.as_json()


def test_history_round_trips_through_the_cli(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    moments = grown(ledger)
    for fmt in ("csv", "jsonl"):
        shown = runner.invoke(app, ["export", "--format", fmt, "--db", db_url])
        assert shown.exit_code == 0
        path = tmp_path / f"history.{fmt}"
        path.write_text(shown.stdout)
        url = f"sqlite:///{tmp_path / f'copy-{fmt}.db'}"
        assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
        done = runner.invoke(app, ["import", "--historical", str(path), "--db", url])
        assert done.stdout == "imported 4 events, skipped 0 already recorded (positions 1-4)\n"
        again = runner.invoke(app, ["import", "--historical", str(path), "--db", url])
        assert again.stdout == "imported 0 events, skipped 4 already recorded\n"
        with Ledger.open(url) as copy:
            _same_figures(ledger, copy, moments)
            log = copy.customer_log("bolt").as_json()["events"]
            assert [(e["event_id"][:1], e["historical"], e["reason"], e["note"]) for e in log] == [
                ("n", "2024-02-01T09:00:00.000000+00:00", None, None),
                ("c", "2024-04-05T09:00:00.000000+00:00", "non_payment", "card declined"),
            ]


def _rows(*rows: dict[str, Any]) -> list[Row]:
    return [Row(f"h.csv:{n}", r) for n, r in enumerate(rows, 2)]


def _refused(ledger: Ledger, rows: list[Row], historical: bool = True) -> list[str]:
    head = ledger.head()
    with pytest.raises(Refused) as caught:
        ledger.import_rows(rows, historical=historical)
    assert ledger.head() == head
    return [str(p) for p in caught.value.problems]


def test_the_rules_of_history(ledger: Ledger) -> None:
    one = new("acme", "s1", "2024-01-01", "100") | {"recorded_at": "2024-01-02T10:00:00+02:00"}
    assert _refused(ledger, _rows(one), historical=False) == [
        "h.csv:2: recorded_at: '2024-01-02T10:00:00+02:00': the ledger records the time itself; "
        "leave it out, or import the file as history, recorded at its own times"
    ]
    bare = new("acme", "s1", "2024-01-01", "100")
    assert _refused(ledger, _rows(bare)) == [
        "h.csv:2: recorded_at: missing: history gives the time each event was recorded, ISO "
        "8601 with an offset (2024-03-05T09:00:00+00:00)"
    ]
    naive = bare | {"recorded_at": "2024-01-02 10:00"}
    assert _refused(ledger, _rows(naive)) == [
        "h.csv:2: recorded_at: '2024-01-02 10:00' is not a time with a UTC offset "
        "(2024-03-05T09:00:00+00:00)"
    ]
    later = new("bolt", "s2", "2024-01-05", "50") | {"recorded_at": "2024-01-01T00:00:00Z"}
    assert _refused(ledger, _rows(one, later)) == [
        "h.csv:3: recorded_at: 2024-01-01T00:00:00.000000+00:00 is before "
        "2024-01-02T08:00:00.000000+00:00, the time of the event recorded before it: history "
        "is recorded in order, after what the ledger already knows"
    ]
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    problems = _refused(ledger, _rows(bare | {"recorded_at": future}))
    assert problems[0].startswith("h.csv:2: recorded_at: ") and problems[0].endswith(
        " is in the future"
    )
    ledger.import_rows(_rows(one), historical=True)
    assert ledger.entries().__next__().recorded_at.isoformat() == "2024-01-02T08:00:00+00:00"
    assert _refused(ledger, _rows(later)) == [
        "h.csv:2: recorded_at: 2024-01-01T00:00:00.000000+00:00 is before "
        "2024-01-02T08:00:00.000000+00:00, the time of the event recorded before it: history "
        "is recorded in order, after what the ledger already knows"
    ]
    assert ledger.verify().ok


def test_check_says_what_import_would_and_writes_nothing(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "event_id,type,customer_id,subscription_id,effective_date,amount\n"
        "n1,new,acme,s1,2024-01-01,100\nn2,new,bolt,s2,2024-01-01,50\n"
    )
    said = runner.invoke(app, ["check", str(good), "--db", db_url])
    assert (said.exit_code, said.stdout) == (
        0,
        "ok: would import 2 events (positions 1-2), skip 0 already recorded; nothing was written\n"
        "would record: 2 new; 2 customers; effective 2024-01-01 to 2024-01-01\n",
    )
    assert ledger.head() == 0 and ledger.verify().ok
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "event_id,type,customer_id,subscription_id,effective_date,amount\n"
        "u1,upgrade,acme,s1,2024-01-01,100\n"
    )
    checked = runner.invoke(app, ["check", str(bad), "--db", db_url])
    imported = runner.invoke(app, ["import", str(bad), "--db", db_url])
    assert (checked.exit_code, checked.stderr) == (imported.exit_code, imported.stderr)
    assert checked.exit_code == 1 and f"{bad}:2: upgrade on 2024-01-01" in checked.stderr
    assert ledger.head() == 0
    json_rows = runner.invoke(app, ["export", "--db", db_url]).stdout
    assert json_rows == ""
    assert runner.invoke(app, ["import", str(good), "--db", db_url]).exit_code == 0
    lines = runner.invoke(app, ["export", "--db", db_url]).stdout.splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == ["n1", "n2"]


def test_a_source_with_its_own_column_names_is_mapped(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "warehouse.csv"
    source.write_text("Sub,Customer ID,From,Until,Price\ns1,c1,2024-01-01,2024-03-01,100\n")
    names = (
        "subscription_id=Sub,customer_id=Customer ID,start_date=From,end_date=Until,amount=Price"
    )
    done = runner.invoke(
        app, ["import", "--from", "periods", "--map", names, str(source), "--db", db_url]
    )
    assert done.stdout == "imported 2 events, skipped 0 already recorded (positions 1-2)\n"
    assert ledger.report(date(2024, 2, 15)).as_json()["mrr"] == "100.00"
    wrong = runner.invoke(
        app, ["import", "--from", "periods", "--map", "Sub", str(source), "--db", db_url]
    )
    assert (wrong.exit_code, wrong.stderr.strip()) == (
        2,
        "usage: --map: 'Sub' is not OURS=YOURS (customer_id=Customer ID)",
    )
