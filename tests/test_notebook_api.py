"""The notebook API: `Ledger` results as pydantic models and pandas DataFrames.

Figures are the SPEC's worked examples, computed by hand.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from ledger import Ledger, LedgerError
from projections.figures.frames import pandas
from projections.figures.models import (
    MovementsModel,
    ReportModel,
    RestatementModel,
    SeriesRowModel,
)
from tests.conftest import event, new, record


def test_report_model_and_frame(ledger: Ledger) -> None:
    """SPEC §8 example 2: an annual $12,000 subscription is MRR 1,000, ARR 12,000."""
    record(ledger, new("acme", "s1", "2024-01-01", "12000", interval="year"))
    figures = ledger.report(date(2024, 6, 30))
    model = figures.model()
    assert isinstance(model, ReportModel)
    assert (model.mrr, model.arr, model.acv_arr_ratio) == (
        Decimal("1000.00"),
        Decimal("12000.00"),
        Decimal("1.0000"),
    )
    assert model.model_dump(mode="json") == figures.as_json()
    frame = figures.to_pandas()
    assert list(frame.index) == [pd.Timestamp("2024-06-30")]
    assert frame.loc["2024-06-30", "arr"] == 12000.0
    assert frame.loc["2024-06-30", "active_customers"] == 1
    assert list(frame.columns) == [k for k in figures.as_json() if k != "as_of"]


def test_movements_model_and_frame(ledger: Ledger) -> None:
    """SPEC §8 example 8: churn on 2024-05-01, back on 2024-08-01: a reactivation."""
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        event("churn", "acme", "2024-05-01", subscription_id="s1"),
        new("acme", "s1", "2024-08-01", "100"),
    )
    moved = ledger.movements(date(2024, 4, 30), date(2024, 8, 31))
    model = moved.model()
    assert isinstance(model, MovementsModel)
    assert (model.start, model.end) == (date(2024, 4, 30), date(2024, 8, 31))
    assert (model.new, model.churn, model.reactivation) == (0, Decimal(100), Decimal(100))
    assert model.model_dump(mode="json") == moved.as_json()
    row = moved.to_pandas().loc["2024-08-31"]
    assert (row["churn"], row["reactivation"], row["net_new"]) == (100.0, 100.0, 0.0)
    assert row["from"] == pd.Timestamp("2024-04-30")
    assert row["nrr"] == 1.0  # acme: 100 at the start, 100 at the end


def test_series_frame_is_one_row_per_period_end(ledger: Ledger) -> None:
    """$1,000/month from 2024-01-15; upgraded to $1,500 on 2024-03-01."""
    record(
        ledger,
        new("acme", "s1", "2024-01-15", "1000"),
        event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="1500"),
    )
    rows = ledger.series(date(2024, 1, 1), date(2024, 3, 31), "month")
    assert all(isinstance(m, SeriesRowModel) for m in rows.model())
    frame = rows.to_pandas()
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2024-01-31", "2024-02-29", "2024-03-31"]
    assert list(frame["arr"]) == [12000.0, 12000.0, 18000.0]
    assert list(frame["new"]) == [1000.0, 0.0, 0.0]
    assert list(frame["expansion"]) == [0.0, 0.0, 500.0]
    assert frame["nrr"].isna().tolist() == [True, False, False]  # nobody active on 2023-12-31
    assert frame["arr"].dtype == "float64"


def test_restatement_frame_shows_each_figure_before_and_after(ledger: Ledger) -> None:
    """SPEC §8 example 9: a churn for 2024-02-01 recorded late restates February."""
    record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    closed = list(ledger.entries())[-1].recorded_at
    record(ledger, event("churn", "acme", "2024-02-01", subscription_id="s1"))
    restated = ledger.restatement(date(2024, 2, 15), closed)
    model = restated.model()
    assert isinstance(model, RestatementModel)
    assert model.figures["mrr"].before == "1000.00" and model.figures["mrr"].after == "0.00"
    assert [e.mrr_effect for e in model.events] == [Decimal("-1000.00")]
    frame = restated.to_pandas()
    assert frame.loc["mrr", "before"] == 1000.0
    assert frame.loc["mrr", "after"] == 0.0
    assert frame.loc["mrr", "change"] == -1000.0
    assert frame.loc["active_customers", "change"] == -1


def test_without_pandas_the_message_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(LedgerError, match=r"pip install 'arr-ledger\[notebook\]'"):
        pandas()


def test_every_result_names_a_model_and_commands_load_none() -> None:
    """The models are pydantic's, loaded only when a result is asked for one: `arr`
    starts a command without them (a tenth of a second of every process's start)."""
    import subprocess

    from projections.figures import cohorts, models, movements, report, restatement, series

    results = (
        report.Report,
        movements.Movements,
        series.SeriesRow,
        cohorts.CohortCell,
        restatement.Restatement,
    )
    assert all(issubclass(getattr(models, r.model_name), models.Figures) for r in results)
    started = "import sys, ledger.cli.main; print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", started], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
