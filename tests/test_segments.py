"""SPEC §13 segments: `report --by customer` and `report --by plan`."""

from __future__ import annotations

import json
import random
from datetime import date
from fractions import Fraction
from typing import Any

from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.intake.rows import Row
from projections.figures.conversion import FxPolicy
from projections.figures.report import by_customer, by_plan, measures_of
from tests.conftest import event, new, record
from tests.fx_ledgers import fx_events
from tests.oracle import Oracle

runner = CliRunner()
JUNE = date(2024, 6, 30)


def _three_customers(ledger: Ledger) -> None:
    """acme: two subscriptions on two plans; bolt: EUR at 1.10; cora: no plan, then one
    given by a renewal at the same price."""
    record(
        ledger,
        {"event_id": "fx1", "type": "fx_rate", "currency": "EUR"}
        | {"effective_date": "2024-01-01", "rate": "1.10"},
        new("acme", "a1", "2024-01-01", "1000", plan="pro"),
        new("acme", "a2", "2024-02-01", "1200", interval="year", plan="basic"),
        event("upgrade", "acme", "2024-03-01", subscription_id="a1", amount="1500"),
        new("bolt", "b1", "2024-01-15", "2000", currency="EUR", plan="pro"),
        new("cora", "c1", "2024-01-01", "300"),
        new("cora", "c2", "2024-01-01", "50"),
        event("renewal", "cora", "2024-07-01", subscription_id="c2", plan="basic"),
    )


def test_by_customer(ledger: Ledger) -> None:
    _three_customers(ledger)
    lines = [line.as_json() for line in ledger.by_customer(JUNE)]
    assert [(x["customer_id"], x["mrr"], x["arr"], x["active_contracts"]) for x in lines] == [
        ("bolt", "2200.00", "26400.00", 1),
        ("acme", "1600.00", "19200.00", 2),
        ("cora", "350.00", "4200.00", 2),
    ]
    assert lines[0] | {"customer_id": ""} == {
        "as_of": "2024-06-30",
        "position": 8,
        "fx_policy": "spot",
        "customer_id": "",
        "mrr": "2200.00",
        "arr": "26400.00",
        "active_contracts": 1,
    }
    assert [x.mrr for x in ledger.by_customer(JUNE, position=3)] == [Fraction(1100)]


def test_by_plan(ledger: Ledger) -> None:
    _three_customers(ledger)
    lines = ledger.by_plan(JUNE)
    assert [(x.key, x.mrr, x.active_contracts) for x in lines] == [
        ("pro", Fraction(3700), 2),  # the upgrade gave no plan: acme's a1 is still pro
        ("unspecified", Fraction(350), 2),
        ("basic", Fraction(100), 1),
    ]
    july = ledger.by_plan(date(2024, 7, 1))
    assert [(x.key, x.mrr) for x in july] == [
        ("pro", Fraction(3700)),
        ("unspecified", Fraction(300)),
        ("basic", Fraction(150)),
    ]


def test_lines_add_up_to_the_report(ledger: Ledger) -> None:
    _three_customers(ledger)
    for day in (JUNE, date(2024, 7, 1), date(2024, 1, 20)):
        report = ledger.report(day)
        for lines in (ledger.by_customer(day), ledger.by_plan(day)):
            assert sum((x.mrr for x in lines), Fraction(0)) == report.mrr
            assert sum(x.active_contracts for x in lines) == report.active_contracts
    assert ledger.by_plan(date(2023, 12, 31)) == []


def test_on_the_command_line(ledger: Ledger, db_url: str) -> None:
    _three_customers(ledger)
    base = ["report", "--as-of", "2024-06-30", "--db", db_url]
    result = runner.invoke(app, [*base, "--by", "customer", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "as_of,position,fx_policy,customer_id,mrr,arr,active_contracts",
        "2024-06-30,8,spot,bolt,2200.00,26400.00,1",
        "2024-06-30,8,spot,acme,1600.00,19200.00,2",
        "2024-06-30,8,spot,cora,350.00,4200.00,2",
    ]
    result = runner.invoke(app, [*base, "--by", "plan", "--format", "json", "--position", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "as_of": "2024-06-30",
            "position": 2,
            "fx_policy": "spot",
            "plan": "pro",
            "mrr": "1000.00",
            "arr": "12000.00",
            "active_contracts": 1,
        }
    ]
    result = runner.invoke(app, [*base, "--by", "plan"])
    assert result.exit_code == 0, result.output
    assert "unspecified" in result.stdout and "3,700.00" in result.stdout
    assert runner.invoke(app, [*base, "--by", "region"]).exit_code == 2
    result = runner.invoke(app, [*base, "--by", "customer", "--fx", "fixed:2023-01-01"])
    assert result.exit_code == 1  # no EUR rate on that day


def test_a_table_by_customer_shows_the_largest_fifty(ledger: Ledger, db_url: str) -> None:
    record(
        ledger,
        *(new(f"c{n:03d}", f"s{n:03d}", "2024-01-01", str(100 + n)) for n in range(1, 53)),
    )
    base = ["report", "--as-of", "2024-06-30", "--db", db_url, "--by", "customer"]
    shown = runner.invoke(app, base)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert "c052" in lines[4] and "152.00" in lines[4]  # after the title and the header
    assert "c003" in shown.stdout and "c002" not in shown.stdout
    assert lines[-1] == "the 50 largest of 52 customers by ARR; every line: --format csv or json"
    every = runner.invoke(app, [*base, "--format", "csv"]).stdout.splitlines()
    assert len(every) == 53 and every[-1] == "2024-06-30,52,spot,c001,101.00,1212.00,1"


def _with_plans(rows: list[dict[str, str]], seed: int) -> list[dict[str, str]]:
    """Plans on some of the priced events, none on others: the plan in force is then the
    latest event's that gave one."""
    rng = random.Random(seed)
    for row in rows:
        if row["type"] in ("new", "upgrade", "downgrade", "renewal"):
            choice = rng.choice(["pro", "basic", "team", None, None])
            row.pop("plan", None)
            if choice is not None:
                row["plan"] = choice
    return rows


def test_random_ledger_agrees_with_the_oracle(tmp_path: Any) -> None:
    rows = _with_plans([dict(r) for r in fx_events(16, seed=3, kind="mixed")], 3)
    with Ledger.init(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        half = len(rows) // 2
        for begin, end in ((0, half), (half, len(rows))):
            ledger.import_rows(Row(f"r:{n}", dict(r)) for n, r in enumerate(rows[begin:end], 1))
        for position in (len(rows), half):
            oracle = Oracle([dict(r) for r in rows], position, until=date(2025, 3, 31))
            book = ledger.book(position=position)
            for day in (date(2024, 6, 30), date(2025, 3, 31)):
                for fx in ("spot", "booked"):
                    _agree(ledger, oracle, book, day, fx, position)


def _agree(ledger: Ledger, oracle: Oracle, book: Any, day: date, fx: str, at: int) -> None:
    customers = [x.as_json() for x in ledger.by_customer(day, position=at, fx=fx)]
    plans = [x.as_json() for x in ledger.by_plan(day, position=at, fx=fx)]
    assert customers == oracle.by_customer(day, fx)
    assert plans == oracle.by_plan(day, fx)
    policy = FxPolicy.parse(fx)
    assert [x.as_json() for x in by_customer(book, day, policy)] == customers
    total = measures_of(book, day, policy)
    for lines in (by_customer(book, day, policy), by_plan(book, day, policy)):
        assert sum((x.mrr for x in lines), Fraction(0)) == total["mrr"]
        assert sum(x.active_contracts for x in lines) == total["active_contracts"]


def test_a_plan_given_at_the_same_price_moves_nothing(ledger: Ledger) -> None:
    _three_customers(ledger)
    moved = ledger.movements(date(2024, 6, 30), date(2024, 7, 31)).as_json()
    assert (moved["expansion"], moved["contraction"], moved["net_new"]) == ("0.00",) * 3
    assert not ledger.verify().findings
