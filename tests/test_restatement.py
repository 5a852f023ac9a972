"""Restatements: the figures for a date at two states of knowledge, and the events recorded
in between that changed them, whose own MRR effects add up to the change exactly."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.cli.parse import parse_known_at
from ledger.intake.rows import Row
from tests.conftest import event, new, record

runner = CliRunner()
K1 = "2024-03-01"


def history(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Known on 2024-03-01: acme 1000, beta 500, gamma 300 a month since 2024-01-01.
    Recorded on 2024-03-05: acme churned on 2024-02-01 (backdated), beta's start voided,
    gamma upgraded to 450 on 2024-02-10 (backdated), delta starting 2024-04-01 (after the
    date asked about), and a one-time fee of gamma's on 2024-02-01."""
    beta = new("beta", "s2", "2024-01-01", "500")
    later = {
        "churn": event("churn", "acme", "2024-02-01", subscription_id="s1"),
        "void": {"event_id": "v1", "type": "void", "customer_id": "beta"}
        | {"target_event_id": beta["event_id"]},
        "upgrade": event("upgrade", "gamma", "2024-02-10", subscription_id="s3", amount="450"),
        "delta": new("delta", "s4", "2024-04-01", "700"),
        "fee": event("one_time_fee", "gamma", "2024-02-01", amount="100"),
    }
    with freeze_time("2024-03-01 10:00:00"):
        record(
            ledger,
            new("acme", "s1", "2024-01-01", "1000"),
            beta,
            new("gamma", "s3", "2024-01-01", "300"),
        )
    with freeze_time("2024-03-05 12:00:00"):
        record(ledger, *later.values())
    return later


def test_restatement_lists_the_causes_and_they_add_up(ledger: Ledger) -> None:
    later = history(ledger)
    restated = ledger.restatement(date(2024, 2, 15), parse_known_at(K1)).as_json()
    # By hand: known at K1, MRR as of 2024-02-15 = 1000 + 500 + 300 = 1800; known now,
    # acme has churned, beta never started, gamma pays 450: MRR 450.
    assert restated["figures"]["mrr"] == {
        "before": "1800.00",
        "after": "450.00",
        "change": "-1350.00",
    }
    assert restated["figures"]["arr"]["change"] == "-16200.00"
    assert restated["figures"]["active_customers"] == {"before": 3, "after": 1, "change": -2}
    assert restated["figures"]["position"] == {"before": 3, "after": 8, "change": 5}
    effects = [(e["event_id"], e["type"], e["mrr_effect"]) for e in restated["events"]]
    assert effects == [
        (later["churn"]["event_id"], "churn", "-1000.00"),
        ("v1", "void", "-500.00"),
        (later["upgrade"]["event_id"], "upgrade", "150.00"),
    ]
    total = sum(Decimal(e["mrr_effect"]) for e in restated["events"])
    assert total == Decimal(restated["figures"]["mrr"]["change"])


def test_restatement_json_shape(ledger: Ledger, db_url: str) -> None:
    history(ledger)
    asked = ["--as-of", "2024-02-15", "--known-at", K1, "--known-at-2", "2024-03-06"]
    result = runner.invoke(app, ["restatement", "--db", db_url, *asked, "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert list(shown) == ["as_of", "known_at", "known_at_2", "position", "figures", "events"]
    assert shown["position"] == 8  # K2's: the position it was computed at
    assert shown["figures"]["position"] == {"before": 3, "after": 8, "change": 5}
    assert (shown["known_at"], shown["known_at_2"]) == (
        "2024-03-01T23:59:59.999999+00:00",
        "2024-03-06T23:59:59.999999+00:00",
    )
    assert list(shown["figures"]) == [
        "as_of", "position", "currency", "fx_policy", "mrr", "arr", "active_customers",
        "active_contracts", "arpa", "acv", "acv_policy", "acv_arr_ratio",
        "trialing_contracts", "paused_customers", "discounts",
    ]  # fmt: skip
    void = shown["events"][1]
    assert void == {
        "event_id": "v1",
        "type": "void",
        "customer_id": "beta",
        "effective_date": "2024-01-01",  # a void takes effect at its target's date
        "recorded_at": "2024-03-05T12:00:00.000001+00:00",  # the clock stopped: 1 µs on
        "position": 5,
        "mrr_effect": "-500.00",
        "reason": None,
        "note": None,
    }


def test_nothing_recorded_between_restates_nothing(ledger: Ledger) -> None:
    history(ledger)
    restated = ledger.restatement(
        date(2024, 2, 15), parse_known_at("2024-03-02"), parse_known_at("2024-03-04")
    ).as_json()
    assert restated["events"] == []
    assert restated["figures"]["mrr"] == {"before": "1800.00", "after": "1800.00", "change": "0.00"}


def test_restatement_with_a_period_restates_movements(ledger: Ledger) -> None:
    later = history(ledger)
    restated = ledger.restatement(
        date(2024, 2, 15), parse_known_at(K1), start=date(2024, 1, 31)
    ).as_json()
    figures = restated["figures"]
    # Over (2024-01-31, 2024-02-15]: known at K1 nothing moved; known now acme churned
    # (1000), gamma expanded (150), beta is not there at the start, the fee fell inside.
    assert figures["start_mrr"] == {"before": "1800.00", "after": "1300.00", "change": "-500.00"}
    assert figures["churn"] == {"before": "0.00", "after": "1000.00", "change": "1000.00"}
    assert figures["expansion"] == {"before": "0.00", "after": "150.00", "change": "150.00"}
    assert figures["one_time_fees"] == {"before": "0.00", "after": "100.00", "change": "100.00"}
    listed = [e["event_id"] for e in restated["events"]]
    assert listed == [
        later["churn"]["event_id"],
        "v1",
        later["upgrade"]["event_id"],
        later["fee"]["event_id"],
    ]
    assert restated["events"][-1]["mrr_effect"] == "0.00"


def test_restatement_usage_errors(ledger: Ledger, db_url: str) -> None:
    history(ledger)
    base = ["restatement", "--db", db_url, "--as-of", "2024-02-15"]
    backwards = runner.invoke(app, [*base, "--known-at", "2024-03-06", "--known-at-2", K1])
    assert backwards.exit_code == 2
    bad_period = runner.invoke(app, [*base, "--known-at", K1, "--from", "2024-03-01"])
    assert bad_period.exit_code == 2


def test_restatement_table_lists_the_events(ledger: Ledger, db_url: str) -> None:
    history(ledger)
    result = runner.invoke(
        app, ["restatement", "--db", db_url, "--as-of", "2024-02-15", "--known-at", K1]
    )
    assert result.exit_code == 0, result.output
    assert "−1,350.00" in result.stdout and "v1" in result.stdout


def test_restatement_csv_holds_the_figures_and_their_causes(ledger: Ledger, db_url: str) -> None:
    later = history(ledger)
    asked = ["--as-of", "2024-02-15", "--known-at", K1, "--known-at-2", "2024-03-06"]
    result = runner.invoke(app, ["restatement", "--db", db_url, *asked, "--format", "csv"])
    assert result.exit_code == 0, result.output
    at = "2024-03-05T12:00:00+00:00"
    churn, upgrade = later["churn"]["event_id"], later["upgrade"]["event_id"]
    assert result.stdout.splitlines() == [
        "section,figure,before,after,change,event_id,type,customer_id,effective_date,"
        "recorded_at,position,mrr_effect,reason,note",
        "figure,as_of,2024-02-15,2024-02-15,,,,,,,,,,",
        "figure,position,3,8,5,,,,,,,,,",
        "figure,currency,USD,USD,,,,,,,,,,",
        "figure,fx_policy,spot,spot,,,,,,,,,,",
        "figure,mrr,1800.00,450.00,-1350.00,,,,,,,,,",
        "figure,arr,21600.00,5400.00,-16200.00,,,,,,,,,",
        "figure,active_customers,3,1,-2,,,,,,,,,",
        "figure,active_contracts,3,1,-2,,,,,,,,,",
        "figure,arpa,600.00,450.00,-150.00,,,,,,,,,",
        "figure,acv,7200.00,5400.00,-1800.00,,,,,,,,,",
        "figure,acv_policy,recurring,recurring,,,,,,,,,,",
        "figure,acv_arr_ratio,1.0000,1.0000,0.0000,,,,,,,,,",
        "figure,trialing_contracts,0,0,0,,,,,,,,,",
        "figure,paused_customers,0,0,0,,,,,,,,,",
        "figure,discounts,0.00,0.00,0.00,,,,,,,,,",
        f"cause,,,,,{churn},churn,acme,2024-02-01,{at},4,-1000.00,,",
        f"cause,,,,,v1,void,beta,2024-01-01,{at[:19]}.000001+00:00,5,-500.00,,",
        f"cause,,,,,{upgrade},upgrade,gamma,2024-02-10,{at[:19]}.000002+00:00,6,150.00,,",
    ]


def late_churn(ledger: Ledger, customer: str, churn_id: str) -> None:
    """One customer's $1,000/month from 2024-01-01, recorded on 1 March; its churn
    effective 2024-02-01, recorded on 5 March."""
    with freeze_time("2024-03-01 10:00:00"):
        record(ledger, new(customer, "s1", "2024-01-01", "1000"))
    with freeze_time("2024-03-05 12:00:00"):
        churn = event("churn", customer, "2024-02-01", subscription_id="s1")
        record(ledger, churn | {"event_id": churn_id})


def test_restatement_csv_cells_are_spreadsheet_safe(ledger: Ledger, db_url: str) -> None:
    late_churn(ledger, "=acme", "@c")
    asked = ["--as-of", "2024-02-15", "--known-at", K1, "--known-at-2", "2024-03-06"]
    result = runner.invoke(app, ["restatement", "--db", db_url, *asked, "--format", "csv"])
    assert result.stdout.splitlines()[-1] == (
        "cause,,,,,'@c,churn,'=acme,2024-02-01,2024-03-05T12:00:00+00:00,2,-1000.00,,"
    )


def test_restatement_table_keeps_a_lone_causes_position(ledger: Ledger, db_url: str) -> None:
    """One event recorded in between: its position stays in its row, never a bare
    `position N` line under the table."""
    late_churn(ledger, "acme", "c")
    asked = ["--as-of", "2024-02-15", "--known-at", K1, "--known-at-2", "2024-03-06"]
    result = runner.invoke(app, ["restatement", "--db", db_url, *asked])
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[-4:] == [
        "  event id   type    customer id   effective date   recorded at                 "
        "recorded position   MRR effect",
        " " + "━" * 110,
        "  c          churn   acme          2024-02-01       2024-03-05T12:00:00+00:00   "
        "                2    −1,000.00",
        "",
    ]
    assert not [line for line in lines if re.fullmatch(r"position \d+", line.strip())]


def test_effects_add_up_exactly_on_a_sample_ledger(ledger: Ledger) -> None:
    rows = [Row(f"row {n}", e) for n, e in enumerate(sample_events(customers=30, years=3))]
    half = len(rows) // 2
    with freeze_time("2024-06-01 10:00:00"):
        ledger.import_rows(rows[:half])
    with freeze_time("2024-06-08 10:00:00"):
        ledger.import_rows(rows[half:])
    k1 = parse_known_at("2024-06-01")
    for day in (date(2021, 12, 31), date(2022, 7, 15), date(2023, 12, 31)):
        restated = ledger.restatement(day, k1)
        assert restated.before == ledger.report(day, known_at=k1)
        assert restated.after == ledger.report(day)
        total = sum((c.mrr_effect for c in restated.causes), Fraction(0))
        assert total == restated.after.mrr - restated.before.mrr
    assert any(c.mrr_effect for c in restated.causes)
