"""`arr audit log`: a lapsed term is a step of the customer's MRR, amounts read as money
with their interval and term, the position the log was computed at is said in words, and
the CSV holds both tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from tests.conftest import record

runner = CliRunner()
RECORDED = "2024-01-02 09:30:00"


def ev(event_id: str, kind: str, day: str, sub: str = "s1", **fields: str) -> dict[str, Any]:
    """An event of acme's, named by its id."""
    return {
        "event_id": event_id,
        "type": kind,
        "customer_id": "acme",
        "subscription_id": sub,
        "effective_date": day,
        **fields,
    }


YEARLY = {"amount": "9000", "interval": "year", "term_months": "12"}
"""9,000.00 a year for a 12-month term: MRR 750.00."""


def log(db_url: str, *options: str) -> list[str]:
    shown = runner.invoke(app, ["audit", "log", "--db", db_url, "--customer", "acme", *options])
    assert shown.exit_code == 0, shown.output
    return [line.rstrip() for line in shown.stdout.splitlines()]


def steps(ledger: Ledger) -> list[tuple[str, str | None, str, str | None, str]]:
    found = ledger.customer_log("acme").as_json()["mrr_after"]
    return [
        (s["effective_date"], s["event_id"], s["type"], s["subscription_id"], s["mrr"])
        for s in found
    ]


def test_a_lapsed_term_is_a_line_of_the_mrr_steps(ledger: Ledger, db_url: str) -> None:
    with freeze_time(RECORDED):
        record(
            ledger,
            ev("n1", "new", "2024-01-01", **YEARLY),
            {**ev("n2", "new", "2024-01-01", "s2", amount="500"), "customer_id": "beta"},
        )
    assert log(db_url) == [
        "Audit log of acme as known at position 2 (head), amounts in USD",
        "",
        "History of acme (recording order)",
        "",
        "  recorded position   recorded at           event id   type   effective date   "
        "subscription id     amount   interval   term        status",
        " " + "━" * 137,
        "                  1   2024-01-02 09:30:00   n1         new    2024-01-01       "
        "s1                9,000.00   year       12 months   live",
        "",
        "MRR of acme after each event or lapse (effective order)",
        "",
        "  effective date   recorded position   event id   type                          MRR",
        " " + "━" * 83,
        "  2024-01-01                       1   n1         new                        750.00",
        "  2025-01-01                       —   —          lapsed: term of s1 ended     0.00",
        "",
    ]
    assert steps(ledger) == [
        ("2024-01-01", "n1", "new", "s1", "750.00"),
        ("2025-01-01", None, "lapse", "s1", "0.00"),
    ]
    assert ledger.report(date(2025, 1, 1)).as_json()["mrr"] == "500.00"  # beta's alone


def test_amounts_read_as_money_with_their_interval_and_term(ledger: Ledger) -> None:
    record(
        ledger,
        ev("n1", "new", "2024-01-01", amount="108000", interval="quarter"),
        ev("d1", "downgrade", "2024-03-01", amount="1234.5678", interval="5"),
        ev("r1", "renewal", "2024-04-01", term_months="1"),
        ev("f1", "one_time_fee", "2024-04-01", amount="0.125"),
    )
    rows = ledger.customer_log("acme").as_json()["events"]
    assert [(r["amount"], r["interval"], r["term_months"]) for r in rows] == [
        ("108000.00", "quarter", None),
        ("1234.57", "5 months", None),
        (None, None, 1),
        ("0.12", None, None),  # half-even
    ]


def test_a_renewal_on_the_term_end_is_no_lapse_but_its_own_term_lapses(ledger: Ledger) -> None:
    record(
        ledger,
        ev("n1", "new", "2024-01-01", **YEARLY),
        ev("u1", "upgrade", "2024-06-01", amount="12000"),
        ev("r1", "renewal", "2025-01-01", term_months="6"),
    )
    assert steps(ledger) == [
        ("2024-01-01", "n1", "new", "s1", "750.00"),
        ("2024-06-01", "u1", "upgrade", "s1", "1000.00"),
        ("2025-01-01", "r1", "renewal", "s1", "1000.00"),
        ("2025-07-01", None, "lapse", "s1", "0.00"),
    ]


def test_a_churn_is_no_lapse_until_it_is_voided(ledger: Ledger) -> None:
    record(
        ledger,
        ev("n1", "new", "2024-01-01", **YEARLY),
        ev("c1", "churn", "2024-06-01"),
    )
    assert steps(ledger) == [
        ("2024-01-01", "n1", "new", "s1", "750.00"),
        ("2024-06-01", "c1", "churn", "s1", "0.00"),
    ]
    record(
        ledger,
        {"event_id": "v1", "type": "void", "customer_id": "acme", "target_event_id": "c1"},
    )
    assert steps(ledger) == [
        ("2024-01-01", "n1", "new", "s1", "750.00"),
        ("2025-01-01", None, "lapse", "s1", "0.00"),
    ]


def test_terms_ending_on_one_day_lapse_in_turn_before_that_days_events(ledger: Ledger) -> None:
    record(
        ledger,
        ev("n1", "new", "2024-01-01", **YEARLY),
        ev("n2", "new", "2024-01-01", "s2", amount="300", interval="quarter", term_months="12"),
        ev("n3", "new", "2025-01-01", "s3", amount="50", interval="5"),
    )
    assert steps(ledger) == [
        ("2024-01-01", "n1", "new", "s1", "750.00"),
        ("2024-01-01", "n2", "new", "s2", "850.00"),
        ("2025-01-01", None, "lapse", "s1", "100.00"),
        ("2025-01-01", None, "lapse", "s2", "0.00"),
        ("2025-01-01", "n3", "new", "s3", "10.00"),
    ]
    # The last step of a day is the customer's MRR that day, as the report has it.
    assert ledger.report(date(2024, 12, 31)).as_json()["mrr"] == "850.00"
    assert ledger.report(date(2025, 1, 1)).as_json()["mrr"] == "10.00"


def test_the_log_says_the_position_it_was_computed_at(ledger: Ledger, db_url: str) -> None:
    """An event's own position stays a column even when it is the only one: no bare
    `position N` line under a table."""
    with freeze_time(RECORDED):
        record(
            ledger,
            ev("n1", "new", "2024-01-01", amount="1000"),
            {**ev("n2", "new", "2024-01-01", "s2", amount="500"), "customer_id": "beta"},
            {**ev("n3", "new", "2024-01-01", "s3", amount="500"), "customer_id": "beta"},
        )
    shown = log(db_url)
    assert shown[0] == "Audit log of acme as known at position 3 (head), amounts in USD"
    assert shown[6] == (
        "                  1   2024-01-02 09:30:00   n1         new    2024-01-01       "
        "s1                1,000.00   month      —      live"
    )
    assert not [line for line in shown if re.fullmatch(r"position \d+", line.strip())]
    assert ledger.customer_log("acme").as_json()["position"] == 3


def test_the_log_csv_holds_the_events_and_the_mrr_steps(ledger: Ledger, db_url: str) -> None:
    with freeze_time(RECORDED):
        record(
            ledger,
            ev("n1", "new", "2024-01-01", "@s1", **YEARLY),
            ev("c1", "churn", "2024-06-01", "@s1"),
            {"event_id": "v1", "type": "void", "customer_id": "acme", "target_event_id": "c1"},
        )
    # three appends under a stopped clock: each commit still gets a time of its own
    at, second, third = (f"2024-01-02T09:30:00{s}+00:00" for s in ("", ".000001", ".000002"))
    assert log(db_url, "--format", "csv") == [
        "section,position,recorded_at,event_id,type,effective_date,subscription_id,amount,"
        "interval,term_months,trial_end,resume_date,percent_off,amount_off,duration_months,"
        "target_event_id,reason,note,historical,voided_by,voided_at,mrr",
        f"event,1,{at},n1,new,2024-01-01,'@s1,9000.00,year,12,,,,,,,,,,,,",
        f"event,2,{second},c1,churn,2024-06-01,'@s1,,,,,,,,,,,,,v1,{third},",
        f"event,3,{third},v1,void,,,,,,,,,,,c1,,,,,,",
        "mrr,1,,n1,new,2024-01-01,'@s1,,,,,,,,,,,,,,,750.00",
        "mrr,,,,lapse,2025-01-01,'@s1,,,,,,,,,,,,,,,0.00",
    ]
