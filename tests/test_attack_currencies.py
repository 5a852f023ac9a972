"""Currencies under attack (SPEC §10): rates and foreign customers written while others
read, edits to their rows behind the ledger's back, hostile rate ids in every output, and
rates and amounts at their limits. (kill -9 of an import with rates: `test_crash`.)"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import Refused
from tests.conftest import new, rate, record

runner = CliRunner()
DAY = date(2024, 6, 30)


def test_answers_known_at_a_moment_stay_while_rates_and_customers_are_written(
    ledger: Ledger, db_url: str
) -> None:
    record(ledger, rate("EUR", "2024-01-01", "1.10"), new("c0", "s0", "2024-01-01", "100"))
    record(ledger, new("e0", "t0", "2024-01-01", "100", currency="EUR"))
    done, seen = threading.Event(), []

    def write() -> None:
        with Ledger.open(db_url) as writer:
            for n in range(1, 25):
                # a late rate, backdated into June: it restates the report as of DAY
                writer.append(rate("EUR", f"2024-06-{n:02d}", f"1.{10 + n}"))
                writer.append(new(f"e{n}", f"t{n}", "2024-02-01", "50", currency="EUR"))
                time.sleep(0.02)  # so that the reader reads between the commits
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    with Ledger.open(db_url) as reader:
        while not done.is_set():
            moment = datetime.now(UTC)
            for fx in ("spot", "booked"):
                seen.append((moment, fx, reader.report(DAY, known_at=moment, fx=fx).as_json()))
    thread.join()
    spot = {said["mrr"] for _, fx, said in seen if fx == "spot"}
    assert len(spot) > 2  # the answers did change as the ledger grew
    with Ledger.open(db_url) as later:
        for moment, fx, said in seen:
            assert later.report(DAY, known_at=moment, fx=fx).as_json() == said


@pytest.mark.parametrize(
    "table",
    [
        "arr_rm_foreign",
        "arr_rm_unit_segments",
        "arr_rm_unit_customer_spans",
        "arr_rm_unit_moves",
        "arr_rm_unit_bookings",
        "arr_rm_rates",
    ],
)
def test_an_edit_of_a_foreign_customers_rows_is_found(
    ledger: Ledger, db_url: str, table: str
) -> None:
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.10"),
        new("acme", "s1", "2024-01-01", "100", currency="EUR"),
    )
    ledger.report(DAY)
    assert ledger.verify().findings == []
    engine = create_engine(_plain(db_url))
    with engine.begin() as conn:
        schema = _schema(db_url)
        conn.execute(text(f"UPDATE {schema}{table} SET num = num + 7"))
    engine.dispose()
    found = ledger.verify().findings
    assert [f.message.split(":")[0] for f in found] == [table]


def _plain(url: str) -> str:
    return url.split("?")[0]


def _schema(url: str) -> str:
    return f"{url.split('schema=')[1]}." if "schema=" in url else ""


HOSTILE = '=HYPERLINK("http://x","y")\x1b[2J\u202e'


def test_a_hostile_rate_id_is_inert_in_tables_and_spreadsheets(ledger: Ledger, db_url: str) -> None:
    """Tables escape control and bidi characters; CSV makes a formula text; JSON and CSV
    otherwise carry the id exactly as recorded (docs/limits.md)."""
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.10"),
        new("acme", "s1", "2024-01-01", "100", currency="EUR"),
    )
    before = (datetime.now(UTC) + timedelta(microseconds=1)).isoformat()
    record(ledger, rate("EUR", "2024-06-01", "1.20", HOSTILE))
    asked = ["restatement", "--as-of", "2024-06-30", "--known-at", before, "--db", db_url]
    for fmt in ("table", "csv", "json"):
        result = runner.invoke(app, [*asked, "--format", fmt])
        assert result.exit_code == 0, result.output
        if fmt == "table":
            assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
            assert "\\x1b" in result.stdout
        if fmt == "csv":
            assert "'=HYPERLINK" in result.stdout
        if fmt == "json":
            events = json.loads(result.stdout)["events"]
            assert [(e["event_id"], e["customer_id"]) for e in events] == [(HOSTILE, None)]


def test_the_largest_rate_on_the_largest_amount_is_computed_exactly(ledger: Ledger) -> None:
    biggest = "999999999999.9999999999"
    record(
        ledger,
        rate("EUR", "2024-01-01", biggest),
        new("acme", "s1", "2024-01-01", "999999999999.9999", currency="EUR"),
    )
    exact = Fraction(Decimal(biggest)) * Fraction(Decimal("999999999999.9999"))
    assert ledger.report(DAY).mrr == exact
    # 999999999999999899999900.00000000000001, rounded only when printed
    assert ledger.report(DAY).as_json()["mrr"] == "999999999999999899999900.00"
    shown = ledger.movements(date(2023, 12, 31), DAY).as_json()
    assert (shown["new"], shown["fx"]) == ("999999999999999899999900.00", "0.00")


@pytest.mark.parametrize("given", ["1000000000000", "0.00000000001", "-1.1", "1,1", " "])
def test_a_rate_beyond_what_is_taken_is_refused(ledger: Ledger, given: str) -> None:
    from ledger.intake.rows import Row

    row: dict[str, Any] = rate("EUR", "2024-01-01", given)
    with pytest.raises(Refused) as refused:
        ledger.import_rows([Row("rates.csv:2", row)])
    (problem,) = refused.value.problems
    assert problem.location == "rates.csv:2"
    assert problem.message.startswith("rate: ")
    assert ledger.head() == 0
