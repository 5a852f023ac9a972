"""Movements netted by month (SPEC §13 `--netting month`), on both databases.

Example 17 holds; the bounds must be month ends; the month-netted movements of random
ledgers (one currency, three currencies, and with trials, pauses and discounts) agree
with the naive oracle's reading of §13 exactly, from the read model at commit ends and
from a replay inside an import, and the bridge closes.
"""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import UsageError
from ledger.intake.rows import Row
from tests.conftest import event, new, record
from tests.fx_ledgers import fx_events
from tests.oracle import Oracle
from tests.test_oracle_agreement import _import, _rows

runner = CliRunner()
KINDS = ("new", "expansion", "contraction", "churn", "reactivation", "paused", "resumed", "fx")


def _moved(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: figures[k] for k in KINDS if figures[k] != "0.00"}


def test_example_17_a_churn_and_restart_in_one_month_is_no_movement(
    ledger: Ledger, db_url: str
) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        event("churn", "acme", "2024-03-10", subscription_id="s1"),
        new("acme", "s1", "2024-03-20", "100"),
        new("brief", "b1", "2024-03-15", "40"),
        event("churn", "brief", "2024-03-25", subscription_id="b1"),
        new("brief", "b1", "2024-05-02", "40"),
    )
    march = (date(2024, 2, 29), date(2024, 3, 31))
    by_day = ledger.movements(*march).as_json()
    assert _moved(by_day) == {"new": "40.00", "churn": "140.00", "reactivation": "100.00"}
    assert _moved(ledger.movements(*march, netting="month").as_json()) == {}
    may = (date(2024, 4, 30), date(2024, 5, 31))
    assert _moved(ledger.movements(*may, netting="month").as_json()) == {"new": "40.00"}
    assert _moved(ledger.movements(*may).as_json()) == {"reactivation": "40.00"}
    args = ["movements", "--from", "2024-02-29", "--to", "2024-05-31", "--by", "month"]
    shown = runner.invoke(app, [*args, "--netting", "month", "--format", "json", "--db", db_url])
    assert [(r["to"], r["new"], r["churn"]) for r in json.loads(shown.stdout)] == [
        ("2024-03-31", "0.00", "0.00"),
        ("2024-04-30", "0.00", "0.00"),
        ("2024-05-31", "40.00", "0.00"),
    ]
    rows = ledger.series(date(2024, 1, 1), date(2024, 6, 30), netting="month")
    assert [r.as_json()["new"] for r in rows] == ["100.00", "0.00", "0.00", "0.00", "40.00", "0.00"]
    customers = runner.invoke(
        app,
        [
            *("movements", "--period", "2024-03", "--by", "customer", "--netting", "month"),
            *("--format", "json", "--db", db_url),
        ],
    )
    assert [(r["customer_id"], r["churn"]) for r in json.loads(customers.stdout)] == [
        ("acme", "0.00")
    ]


def test_a_pause_and_resume_inside_a_month_is_no_movement(ledger: Ledger) -> None:
    ledger.import_rows(
        [
            Row("r1", new("acme", "s1", "2024-01-01", "70")),
            Row(
                "r2",
                event(
                    "pause", "acme", "2024-02-10", subscription_id="s1", resume_date="2024-02-20"
                ),
            ),
            Row("r3", event("pause", "acme", "2024-04-10", subscription_id="s1")),
        ]
    )
    february = (date(2024, 1, 31), date(2024, 2, 29))
    assert _moved(ledger.movements(*february).as_json()) == {"paused": "70.00", "resumed": "70.00"}
    assert _moved(ledger.movements(*february, netting="month").as_json()) == {}
    april = (date(2024, 3, 31), date(2024, 4, 30))
    assert _moved(ledger.movements(*april, netting="month").as_json()) == {"paused": "70.00"}


def test_the_bounds_must_be_month_ends(ledger: Ledger, db_url: str) -> None:
    with pytest.raises(UsageError) as caught:
        ledger.movements(date(2024, 3, 1), date(2024, 3, 31), netting="month")
    assert str(caught.value) == (
        "start: 2024-03-01 is not a month end: give 2024-02-29, or netting day to net by day"
    )
    shown = runner.invoke(
        app,
        [
            *("movements", "--from", "2024-02-29", "--to", "2024-03-30"),
            *("--netting", "month", "--db", db_url),
        ],
    )
    assert (shown.exit_code, shown.stderr.strip()) == (
        2,
        "usage: --to: 2024-03-30 is not a month end: give 2024-03-31, or --netting day to net "
        "by day",
    )
    series = runner.invoke(
        app,
        [
            *("series", "--from", "2024-01-15", "--to", "2024-03-31", "--every", "month"),
            *("--netting", "month", "--db", db_url),
        ],
    )
    assert series.stderr.strip() == (
        "usage: --from: 2024-01-15 is not a month's first day: give 2024-01-01, or --netting "
        "day to net by day"
    )
    weekly = runner.invoke(
        app,
        ["series", "--period", "2024-Q1", "--every", "week", "--netting", "month", "--db", db_url],
    )
    assert weekly.exit_code == 2
    wrong = runner.invoke(
        app, ["movements", "--period", "2024", "--netting", "week", "--db", db_url]
    )
    assert wrong.stderr.strip() == "usage: --netting: 'week' is not one of day, month"


MONTHS = [
    (date(2020, 12, 31), date(2025, 1, 31)),
    (date(2022, 12, 31), date(2023, 12, 31)),
    (date(2023, 3, 31), date(2023, 6, 30)),
    (date(2021, 5, 31), date(2021, 6, 30)),
]


def _agree(
    ledger: Ledger, rows: list[dict[str, Any]], positions: list[int], fxs: list[str]
) -> None:
    for position in positions:
        oracle = Oracle([dict(r) for r in rows], position, until=date(2025, 3, 31))
        for start, end in MONTHS:
            for fx in fxs:
                got = ledger.movements(start, end, position=position, fx=fx, netting="month")
                expected = oracle.movements(start, end, "recurring", fx, "month")
                assert got.as_json() == expected, (position, start, end, fx)
                inflow = ("new", "reactivation", "expansion", "resumed", "fx")
                outflow = ("contraction", "churn", "paused")
                bridge = sum(Fraction(expected[k]) for k in inflow) - sum(
                    Fraction(expected[k]) for k in outflow
                )
                # each printed figure is rounded on its own: a cent apiece at most
                assert abs(bridge - Fraction(expected["net_new"])) <= Fraction(8, 200)
        series = ledger.series(
            date(2021, 1, 1), date(2024, 12, 31), position=position, netting="month"
        )
        expected_rows = oracle.series(
            date(2021, 1, 1), date(2024, 12, 31), "month", "recurring", "spot", "month"
        )
        assert [r.as_json() for r in series] == expected_rows, position


def test_month_netting_agrees_with_the_oracle_on_random_ledgers(
    ledger: Ledger, db_url: str
) -> None:
    customers = 300 if db_url.startswith("sqlite") else 150
    rows = [dict(r) for r in _rows("sample", customers, 11)]
    _import(ledger, rows)
    _agree(ledger, rows, [len(rows), 600, len(rows) // 2 + 7], ["spot"])


def test_month_netting_agrees_with_the_oracle_in_three_currencies(
    ledger: Ledger, db_url: str
) -> None:
    made = fx_events(40 if db_url.startswith("sqlite") else 20, seed=5, kind="mixed")
    rows = [dict(r) for r in made]
    _import(ledger, tuple(rows))
    _agree(ledger, rows, [len(rows)], ["spot", "booked", "fixed:2024-02-29"])
