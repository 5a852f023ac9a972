"""Cohorts (SPEC §13 `arr cohorts`), and the trailing 12 months' retention of `series` rows,
on both databases: literal examples, and exact agreement with the naive oracle on random
ledgers in one and three currencies, at the head and at earlier positions."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import UsageError
from projections.read_model import snapshots as read_model_snapshots
from tests.conftest import event, new, record
from tests.fx_ledgers import fx_events
from tests.oracle import Oracle, cohorts
from tests.test_oracle_agreement import _import, _rows

runner = CliRunner()


def history(ledger: Ledger) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-05", "100"),
        new("bolt", "s2", "2024-01-20", "200"),
        new("cove", "s3", "2024-02-10", "50"),
        event("churn", "bolt", "2024-03-01", subscription_id="s2"),
        event("upgrade", "acme", "2024-03-15", subscription_id="s1", amount="150"),
    )


def test_cohorts_by_month(ledger: Ledger, db_url: str) -> None:
    history(ledger)
    cells = ledger.cohorts(date(2024, 1, 1), date(2024, 4, 30), "month")
    assert [
        (c.cohort, str(c.as_of), c.customers, c.as_json()["mrr"], c.as_json()["nrr"]) for c in cells
    ] == [
        ("2024-01", "2024-01-31", 2, "300.00", "1.0000"),
        ("2024-01", "2024-02-29", 2, "300.00", "1.0000"),
        ("2024-01", "2024-03-31", 1, "150.00", "0.5000"),
        ("2024-01", "2024-04-30", 1, "150.00", "0.5000"),
        ("2024-02", "2024-02-29", 1, "50.00", "1.0000"),
        ("2024-02", "2024-03-31", 1, "50.00", "1.0000"),
        ("2024-02", "2024-04-30", 1, "50.00", "1.0000"),
    ]
    shown = runner.invoke(
        app,
        ["cohorts", "--period", "2024", "--every", "quarter", "--format", "csv", "--db", db_url],
    )
    assert shown.stdout.splitlines() == [
        "cohort,as_of,position,currency,fx_policy,customers,mrr,nrr",
        "2024-Q1,2024-03-31,5,USD,spot,2,200.00,1.0000",
        "2024-Q1,2024-06-30,5,USD,spot,2,200.00,1.0000",
        "2024-Q1,2024-09-30,5,USD,spot,2,200.00,1.0000",
        "2024-Q1,2024-12-31,5,USD,spot,2,200.00,1.0000",
    ]
    frame = cells.to_pandas() if _has_pandas() else None
    if frame is not None:
        assert len(frame) == 7


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def test_a_cohort_that_left_in_its_first_period_has_no_nrr(ledger: Ledger) -> None:
    record(
        ledger,
        new("brief", "b1", "2024-01-10", "80"),
        event("churn", "brief", "2024-01-20", subscription_id="b1"),
        new("brief", "b1", "2024-03-01", "80"),
    )
    cells = [c.as_json() for c in ledger.cohorts(date(2024, 1, 1), date(2024, 3, 31), "month")]
    assert [(c["as_of"], c["customers"], c["mrr"], c["nrr"]) for c in cells] == [
        ("2024-01-31", 0, "0.00", None),
        ("2024-02-29", 0, "0.00", None),
        ("2024-03-31", 1, "80.00", None),
    ]


def test_usage_errors(ledger: Ledger, db_url: str) -> None:
    with pytest.raises(UsageError, match=r"^every: 'week' is not one of month, quarter, year$"):
        ledger.cohorts(date(2024, 1, 1), date(2024, 3, 31), "week")  # type: ignore[arg-type]
    shown = runner.invoke(app, ["cohorts", "--period", "2024", "--every", "day", "--db", db_url])
    assert (shown.exit_code, shown.stderr.strip()) == (
        2,
        "usage: --every: 'day' is not one of month, quarter, year",
    )


def test_series_rows_carry_the_trailing_twelve_months(ledger: Ledger) -> None:
    record(
        ledger,
        new("acme", "s1", "2023-01-01", "100"),
        new("bolt", "s2", "2023-01-01", "100"),
        event("churn", "bolt", "2023-06-01", subscription_id="s2"),
        event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="150"),
    )
    rows = [r.as_json() for r in ledger.series(date(2024, 1, 1), date(2024, 2, 29))]
    # over (2023-01-31, 2024-01-31]: acme 100 -> 100, bolt 100 -> 0
    assert (rows[0]["nrr_12m"], rows[0]["grr_12m"], rows[0]["logo_churn_rate_12m"]) == (
        "0.5000",
        "0.5000",
        "0.5000",
    )
    # over (2023-02-28, 2024-02-29]: acme 100 -> 150, bolt 100 -> 0
    assert (rows[1]["nrr_12m"], rows[1]["grr_12m"]) == ("0.7500", "0.5000")
    early = ledger.series(date(2023, 1, 1), date(2023, 1, 31))[0].as_json()
    assert early["nrr_12m"] is None  # nobody was active on 2022-01-31


def test_trailing_twelve_months_to_any_day(ledger: Ledger) -> None:
    record(
        ledger,
        new("acme", "s1", "2023-01-10", "100"),
        new("bolt", "s2", "2023-03-01", "200"),
        event("upgrade", "acme", "2024-01-15", subscription_id="s1", amount="130"),
        event("downgrade", "bolt", "2024-03-01", subscription_id="s2", amount="50"),
        event("churn", "acme", "2024-03-02", subscription_id="s1"),
    )
    days = ("2024-01-09", "2024-01-10", "2024-01-14", "2024-01-15", "2024-02-29", "2024-03-01")
    found = []
    for day in days:
        row = ledger.series(date(2024, 1, 1), date.fromisoformat(day))[-1].as_json()
        found.append((row["as_of"], row["nrr_12m"], row["grr_12m"], row["logo_churn_rate_12m"]))
    assert found == [
        ("2024-01-09", None, None, None),  # nobody was active on 2023-01-09
        ("2024-01-10", "1.0000", "1.0000", "0.0000"),  # acme 100 -> 100
        ("2024-01-14", "1.0000", "1.0000", "0.0000"),
        ("2024-01-15", "1.3000", "1.0000", "0.0000"),  # acme 100 -> 130
        # a month end's window starts at the month end a year before: acme only
        ("2024-02-29", "1.3000", "1.0000", "0.0000"),
        # (2023-03-01, 2024-03-01]: acme 100 -> 130, bolt 200 -> 50: 180/300, GRR 150/300
        ("2024-03-01", "0.6000", "0.5000", "0.0000"),
    ]
    after = ledger.series(date(2024, 3, 2), date(2024, 3, 2))[0].as_json()
    # (2023-03-02, 2024-03-02]: acme 100 -> 0, bolt 200 -> 50
    assert (after["nrr_12m"], after["grr_12m"], after["logo_churn_rate_12m"]) == (
        "0.1667",
        "0.1667",
        "0.5000",
    )


@pytest.mark.parametrize("every", ["month", "quarter", "year"])
def test_cohorts_agree_with_the_oracle(
    ledger: Ledger, db_url: str, every: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # snapshots every 700 positions: the model reads one and the changes since
    monkeypatch.setattr(read_model_snapshots, "BLOCK", 700)
    customers = 300 if db_url.startswith("sqlite") else 120
    rows = [dict(r) for r in _rows("sample", customers, 7)]
    _import(ledger, rows)
    for position in (len(rows), 600 if len(rows) > 600 else len(rows) // 3, len(rows) // 2 + 3):
        oracle = Oracle(rows, position, until=date(2025, 3, 31))
        for start, end in (
            (date(2021, 1, 1), date(2024, 12, 31)),
            (date(2022, 4, 1), date(2023, 8, 15)),
        ):
            got = [c.as_json() for c in ledger.cohorts(start, end, every, position=position)]  # type: ignore[arg-type]
            assert got == cohorts(oracle, start, end, every), (position, start, end)


def test_cohorts_agree_with_the_oracle_in_three_currencies(ledger: Ledger, db_url: str) -> None:
    made = fx_events(40 if db_url.startswith("sqlite") else 20, seed=3, kind="mixed")
    rows = [dict(r) for r in made]
    _import(ledger, tuple(rows))
    oracle = Oracle(rows, until=date(2025, 3, 31))
    spans = [
        (date(2021, 1, 1), date(2024, 12, 31), "quarter"),
        (date(2021, 3, 15), date(2024, 11, 20), "month"),
    ]
    for fx in ("spot", "booked", "fixed:2024-02-29"):
        for start, end, every in spans:
            got = [c.as_json() for c in ledger.cohorts(start, end, every, fx=fx)]  # type: ignore[arg-type]
            assert got == cohorts(oracle, start, end, every, fx), (fx, start, end)
    series = ledger.series(date(2022, 1, 1), date(2024, 12, 31), fx="booked")
    expected = oracle.series(date(2022, 1, 1), date(2024, 12, 31), "month", "recurring", "booked")
    assert [r.as_json() for r in series] == expected


def test_the_cli_prints_cohorts_as_json(ledger: Ledger, db_url: str) -> None:
    history(ledger)
    shown = runner.invoke(
        app,
        [
            "cohorts",
            "--from",
            "2024-01-01",
            "--to",
            "2024-02-29",
            "--format",
            "json",
            "--db",
            db_url,
        ],
    )
    assert json.loads(shown.stdout)[0] == {
        "cohort": "2024-01",
        "as_of": "2024-01-31",
        "position": 5,
        "currency": "USD",
        "fx_policy": "spot",
        "customers": 2,
        "mrr": "300.00",
        "nrr": "1.0000",
    }
