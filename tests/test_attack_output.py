"""Output that attacks its reader, and options that crashed: every CSV is safe to open in
a spreadsheet, a chart never writes through a symlink or over the ledger, and a date or
moment at the calendar's ends is a usage error (exit 2), never an overflow."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import UsageError
from projections.figures.movements import movements_over
from projections.figures.report import report
from projections.figures.series import series
from projections.render.text import as_csv
from tests.conftest import event, new, record

HYPERLINK = '=HYPERLINK("http://x","y")'
COMMAND = "+cmd|' /C calc'!A0"
FORMULAS = (HYPERLINK, COMMAND, "@SUM(1)", "-2+3")


def arr(db_url: str, *words: str) -> Any:
    result = CliRunner().invoke(app, [*words, "--db", db_url], catch_exceptions=False)
    assert "unexpected" not in result.output + result.stderr
    return result


def cells(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_csv_cell_that_a_spreadsheet_would_run_is_made_text(db_url: str) -> None:
    with Ledger.init(db_url) as ledger:
        for text in FORMULAS:
            record(ledger, new(text, text, "2024-01-01", "100") | {"event_id": text, "plan": text})
        record(
            ledger,
            event("churn", "-2+3", "2024-02-10", subscription_id="-2+3"),
            event("one_time_fee", "@SUM(1)", "2024-01-05", amount="5", description="=1+1"),
        )
    by_customer = arr(db_url, "movements", "--from", "2023-12-31", "--to", "2024-03-31")
    assert by_customer.exit_code == 0
    shown = arr(
        db_url, "movements", "--from", "2023-12-31", "--to", "2024-03-31", "--by", "customer",
        "--format", "csv",
    )  # fmt: skip
    assert shown.exit_code == 0
    rows = {r["customer_id"]: r for r in cells(shown.stdout)}
    assert sorted(rows) == sorted(
        ['\'=HYPERLINK("http://x","y")', "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3"]
    )
    assert (rows["'-2+3"]["churn"], rows["'-2+3"]["net_new"]) == ("100.00", "0.00")

    log = arr(db_url, "audit", "log", "--customer", "@SUM(1)", "--format", "csv")
    assert log.exit_code == 0
    events = [r for r in cells(log.stdout) if r["section"] == "event"]
    assert [(e["event_id"], e["type"], e["subscription_id"]) for e in events] == [
        ("'@SUM(1)", "new", "'@SUM(1)"),
        (events[1]["event_id"], "one_time_fee", ""),
    ]
    assert not events[1]["event_id"].startswith("'")  # a plain id is left as it is
    # JSON is for machines: raw
    raw = json.loads(
        arr(db_url, "audit", "log", "--customer", "@SUM(1)", "--format", "json").stdout
    )
    assert raw["events"][0]["event_id"] == "@SUM(1)"

    # the one writer of every CSV: text cells made inert, figures exactly as they are
    line = {
        "id": HYPERLINK,
        "plan": COMMAND,
        "tab": "\tx",
        "cr": "\rx",
        "at": "@SUM(1)",
        "dash": "-2+3",
        "change": "-500.00",
        "nrr": "-0.2500",
        "count": -3,
        "none": None,
        "word": "acme",
        "row": "acme\r=1+1",  # unquoted, a spreadsheet would start a row at the formula
    }
    written = as_csv([line])
    assert written == (
        "id,plan,tab,cr,at,dash,change,nrr,count,none,word,row\n"
        '"\'=HYPERLINK(""http://x"",""y"")",\'+cmd|\' /C calc\'!A0,\'\tx,"\'\rx",'
        "'@SUM(1),'-2+3,-500.00,-0.2500,-3,,acme,\"acme\r=1+1\"\n"
    )
    assert list(csv.reader(io.StringIO(written, newline="")))[1] == [
        '\'=HYPERLINK("http://x","y")',
        "'+cmd|' /C calc'!A0",
        "'\tx",
        "'\rx",
        "'@SUM(1)",
        "'-2+3",
        "-500.00",
        "-0.2500",
        "-3",
        "",
        "acme",
        "acme\r=1+1",
    ]


def test_a_chart_replaces_a_symlink_and_never_writes_over_the_ledger(
    db_url: str, tmp_path: Path
) -> None:
    with Ledger.init(db_url) as ledger:
        record(ledger, new("acme", "s1", "2024-01-01", "100"))
    span = ("--from", "2024-01-01", "--to", "2024-03-31")
    target = tmp_path / "target.txt"
    target.write_text("keep me")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    result = arr(db_url, "chart", *span, "-o", str(link))
    assert result.exit_code == 0
    assert target.read_text() == "keep me"  # the symlink was replaced, not followed
    assert not link.is_symlink() and link.read_text().startswith("<!doctype html>")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []

    if not db_url.startswith("sqlite"):
        return
    database = tmp_path / "ledger.db"
    books = tmp_path / "books.html"  # a ledger named like a chart
    Ledger.init(f"sqlite:///{books}").close()
    pointer = tmp_path / "pointer.png"
    pointer.symlink_to(database)
    for url, output in (
        (db_url, str(database)),
        (db_url, f"{database}-wal"),
        (db_url, f"{database}-journal"),
        (db_url, str(pointer)),
        (f"sqlite:///{books}", str(books)),
        (f"sqlite:///{books}", f"{tmp_path}/../{tmp_path.name}/books.html"),
    ):
        refused = arr(url, "chart", *span, "-o", output)
        assert refused.exit_code == 2
        assert refused.stderr.startswith(
            f"usage: --output: {output!r} is a file of the ledger's own database"
        )
    for url in (db_url, f"sqlite:///{books}"):
        assert arr(url, "report", "--as-of", "2024-01-31").exit_code == 0
    assert not Path(f"{database}-journal").exists()


RANGE = "is outside the supported dates, 0001-01-02 to 9999-12-30"
CALENDAR = "0001-01-01T00:00:00+00:00 to 9999-12-31T23:59:59.999999+00:00"


def test_dates_and_moments_past_the_calendars_ends_are_usage_errors(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    record(
        ledger,
        new("early", "s1", "0001-01-01", "100"),
        new("late", "s2", "9998-12-15", "70"),
        event("churn", "late", "9998-12-31", subscription_id="s2"),
    )
    chart = str(tmp_path / "c.html")
    refused = {
        ("report", "--as-of", "2024-01-31", "--known-at", "0001-01-01T00:00:00+01:00"): (
            f"usage: --known-at: '0001-01-01T00:00:00+01:00' is outside the calendar in UTC, "
            f"{CALENDAR}"
        ),
        ("report", "--as-of", "9999-12-31"): f"usage: --as-of: 9999-12-31 {RANGE}",
        ("report", "--as-of", "0001-01-01"): f"usage: --as-of: 0001-01-01 {RANGE}",
        ("series", "--from", "2024-01-01", "--to", "9999-12-31", "--every", "month"): (
            f"usage: --to: 9999-12-31 {RANGE}"
        ),
        ("series", "--from", "0001-01-01", "--to", "2024-01-01", "--every", "week"): (
            f"usage: --from: 0001-01-01 {RANGE}"
        ),
        ("movements", "--from", "9999-12-30", "--to", "9999-12-31"): (
            f"usage: --to: 9999-12-31 {RANGE}"
        ),
        ("movements", "--from", "2024-01-01", "--to", "9999-12-31", "--by", "year"): (
            f"usage: --to: 9999-12-31 {RANGE}"
        ),
        ("chart", "--from", "0001-01-01", "--to", "2024-01-01", "-o", chart): (
            f"usage: --from: 0001-01-01 {RANGE}"
        ),
        ("restatement", "--as-of", "9999-12-31", "--known-at", "2024-01-01"): (
            f"usage: --as-of: 9999-12-31 {RANGE}"
        ),
        ("report", "--as-of", "2024-01-31", "--position", "99999999999999999999999"): (
            "usage: --position: 99999999999999999999999 is not between 0 and the head, 3"
        ),
        ("report", "--as-of", "2024-01-31", "--position", "-1"): (
            "usage: --position: -1 is not between 0 and the head, 3"
        ),
    }
    for words, message in refused.items():
        result = arr(db_url, *words)
        assert (result.exit_code, result.stderr.strip()) == (2, message), words

    # the last supported days are answered, the same as a replay of the ledger
    for every in ("day", "week", "month", "quarter", "year"):
        words = ("--from", "9999-12-01", "--to", "9999-12-30")
        assert arr(db_url, "series", *words, "--every", every).exit_code == 0
        assert arr(db_url, "movements", *words, "--by", every).exit_code == 0
        assert arr(db_url, "chart", *words, "--every", every, "-o", chart).exit_code == 0
    book = ledger.book()
    for day in (date(1, 1, 2), date(9998, 12, 31), date(9999, 12, 30)):
        assert ledger.report(day).as_json() == report(book, day).as_json()
    bounds = [date.min, date(1, 1, 31), date(9998, 12, 30), date(9999, 12, 1), date(9999, 12, 30)]
    assert [m.as_json() for m in ledger.movements_over(bounds)] == [
        m.as_json() for m in movements_over(book, bounds)
    ]
    for first, last in ((date(1, 1, 2), date(1, 3, 1)), (date(9998, 11, 1), date(9999, 12, 30))):
        assert [r.as_json() for r in ledger.series(first, last, "week")] == [
            r.as_json() for r in series(book, first, last, "week")
        ]

    # the Python API names its own parameters
    for call, message in (
        (lambda: ledger.report(date.max), f"as_of: 9999-12-31 {RANGE}"),
        (lambda: ledger.movements(date(2024, 1, 1), date.max), f"end: 9999-12-31 {RANGE}"),
        (lambda: ledger.movements(date.max, date.max), f"end: 9999-12-31 {RANGE}"),
        (lambda: ledger.series(date.min, date(2024, 1, 1), "week"), f"start: 0001-01-01 {RANGE}"),
        (lambda: ledger.series(date(2024, 1, 1), date.max, "month"), f"end: 9999-12-31 {RANGE}"),
        (
            lambda: ledger.movements(date(2024, 2, 1), date(2024, 1, 31)),
            "start 2024-02-01 is after end 2024-01-31",
        ),
    ):
        with pytest.raises(UsageError) as raised:
            call()
        assert str(raised.value) == message
    assert ledger.report(date(9999, 12, 30), known_at=datetime.min.replace(tzinfo=UTC)).mrr == 0
