"""Named closes (SPEC §13): `arr close NAME`, `arr closes`, and `--close NAME` on every query.

Example 18 holds on both databases: a close taken after Q1's events keeps giving Q1's
figures, however much is backdated after it. Names are unique, a close is sealed with
the settings and stands on the chain's digest at its position, so `arr audit verify`
finds one edited behind the ledger's back.
"""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from tests.conftest import event, new, record

runner = CliRunner()


def arr(db_url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--db", db_url])
    return result.exit_code, result.stdout, result.stderr


def q1(ledger: Ledger) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "1000"),
        new("bolt", "s2", "2024-02-01", "500"),
    )


def test_example_18_a_close_keeps_the_figures_it_saw(ledger: Ledger, db_url: str) -> None:
    q1(ledger)
    code, said, _ = arr(db_url, "close", "q1", "--note", "Q1 board pack")
    assert code == 0 and said.startswith("closed 'q1' at position 2 (")
    asked = ("report", "--as-of", "2024-03-31", "--close", "q1", "--format", "json")
    before = arr(db_url, *asked)[1]
    record(ledger, event("churn", "acme", "2024-02-01", subscription_id="s1"))
    after = arr(db_url, *asked)[1]
    assert after == before
    figures = json.loads(after)
    assert (figures["position"], figures["mrr"], figures["active_customers"]) == (2, "1500.00", 2)
    now = ledger.report(date(2024, 3, 31)).as_json()
    assert (now["position"], now["mrr"]) == (3, "500.00")
    closed = ledger.report(date(2024, 3, 31), close="q1").as_json()
    assert closed == figures
    march = ledger.movements(date(2024, 2, 29), date(2024, 3, 31), close="q1").as_json()
    assert march["position"] == 2 and march["churn"] == "0.00"
    rows = ledger.series(date(2024, 1, 1), date(2024, 3, 31), close="q1")
    assert [r.as_json()["mrr"] for r in rows] == ["1000.00", "1500.00", "1500.00"]


def test_closes_are_listed_by_position_with_their_notes(ledger: Ledger, db_url: str) -> None:
    assert arr(db_url, "closes")[1].strip() == "no closes yet: `arr close NAME` records one"
    q1(ledger)
    ledger.record_close("board-2024-04", "April board pack")
    record(ledger, new("cove", "s3", "2024-04-01", "200"))
    ledger.record_close("q2")
    listed = json.loads(arr(db_url, "closes", "--format", "json")[1])
    assert [(c["name"], c["position"], c["note"]) for c in listed] == [
        ("board-2024-04", 2, "April board pack"),
        ("q2", 3, None),
    ]
    assert all(len(c["digest"]) == 64 for c in listed)


def test_names_are_unique_and_a_missing_close_is_a_usage_error(ledger: Ledger, db_url: str) -> None:
    q1(ledger)
    assert arr(db_url, "close", "q1")[0] == 0
    code, _, said = arr(db_url, "close", "q1")
    assert code == 1
    assert said.startswith("error: name: a close named 'q1' already exists (position 2, ")
    assert said.rstrip().endswith("): names are unique, give another")
    code, _, said = arr(db_url, "report", "--as-of", "2024-03-31", "--close", "nope")
    assert (code, said.strip()) == (
        2,
        "usage: --close: no close is named 'nope'; `arr closes` lists them",
    )
    code, _, said = arr(db_url, "movements", "--period", "2024", "--close", "q1", "--position", "1")
    assert (code, said.strip()) == (2, "usage: give --position or --close, not both")
    code, _, said = arr(db_url, "close", " ")
    assert (code, said.strip()) == (
        2,
        "usage: name: ' ' is not a close name: give 1-200 printable characters",
    )


def test_a_close_on_an_empty_ledger_is_position_0(ledger: Ledger) -> None:
    made = ledger.record_close("opening")
    assert made.position == 0
    record(ledger, new("acme", "s1", "2024-01-01", "100"))
    assert ledger.report(date(2024, 1, 31), close="opening").as_json()["mrr"] == "0.00"
    assert ledger.verify().ok


def test_verify_finds_a_close_edited_behind_the_ledgers_back(ledger: Ledger, db_url: str) -> None:
    q1(ledger)
    ledger.record_close("q1")
    record(ledger, event("churn", "acme", "2024-02-01", subscription_id="s1"))
    assert ledger.verify().ok
    engine = create_engine(_plain(db_url))
    with engine.begin() as conn:
        value = conn.execute(
            text("SELECT value FROM arr_settings WHERE key = 'close:q1'")
        ).scalar_one()
        moved = value.replace('"position": 2', '"position": 3')
        conn.execute(
            text("UPDATE arr_settings SET value = :v WHERE key = 'close:q1'"), {"v": moved}
        )
    engine.dispose()
    found = ledger.verify()
    assert not found.ok
    messages = [f.message for f in found.findings]
    assert any("do not match their seal" in m for m in messages)
    assert "the close 'q1' was taken at position 3 on a history that is no longer there" in messages


def _plain(db_url: str) -> str:
    """The test database's URL for SQLAlchemy, in the test's own schema."""
    if db_url.startswith("sqlite"):
        return db_url
    base, _, schema = db_url.partition("?schema=")
    return f"{base}?options=-csearch_path%3D{schema}"
