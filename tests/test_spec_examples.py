"""SPEC §8 worked examples 1-6 and 9, as figures the ledger must give exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime

from freezegun import freeze_time

from ledger import Ledger
from tests.conftest import event, new, record


def report(ledger: Ledger, day: str, **kwargs: object) -> dict[str, object]:
    return ledger.report(date.fromisoformat(day), **kwargs).as_json()  # type: ignore[arg-type]


def test_1_monthly_subscription(ledger: Ledger) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    figures = report(ledger, "2024-01-31")
    assert (figures["mrr"], figures["arr"]) == ("1000.00", "12000.00")


def test_2_annual_subscription(ledger: Ledger) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "12000", interval="year"))
    figures = report(ledger, "2024-01-31")
    assert (figures["mrr"], figures["arr"]) == ("1000.00", "12000.00")


def test_3_one_time_fee_alone_is_not_recurring(ledger: Ledger) -> None:
    record(ledger, event("one_time_fee", "acme", "2024-01-01", amount="10000"))
    figures = report(ledger, "2024-01-31")
    assert (figures["arr"], figures["active_customers"], figures["acv"]) == ("0.00", 0, None)


def test_4_one_year_contract_with_implementation_fee(ledger: Ledger) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "40000", interval="year", term_months="12"),
        event("one_time_fee", "acme", "2024-01-01", subscription_id="s1", amount="10000"),
    )
    recurring = report(ledger, "2024-06-30")
    with_fees = report(ledger, "2024-06-30", acv_policy="including_fees")
    assert recurring["arr"] == "40000.00"
    assert recurring["acv"] == "40000.00"
    assert with_fees["acv"] == "50000.00"
    assert recurring["acv_arr_ratio"] == with_fees["acv_arr_ratio"] == "1.2500"


def test_5_three_year_contract_billed_once(ledger: Ledger) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "30000", interval="36", term_months="36"))
    figures = report(ledger, "2025-01-01")
    assert (figures["acv"], figures["arr"]) == ("10000.00", "10000.00")


def _hundred_customers(ledger: Ledger) -> None:
    rows = []
    for n in range(100):
        years, yearly = (3, "30000") if n < 30 else (2, "40000") if n < 60 else (1, "50000")
        rows.append(
            new(
                f"c{n:03d}",
                f"s{n:03d}",
                "2024-01-01",
                yearly,
                interval="year",
                term_months=str(12 * years),
            )
        )
    ledger.import_rows(
        __import__("ledger.intake.rows", fromlist=["Row"]).Row(f"t:{i}", r)
        for i, r in enumerate(rows, 1)
    )


def test_6_acv_of_active_contracts_as_terms_lapse(ledger: Ledger) -> None:
    _hundred_customers(ledger)
    assert report(ledger, "2024-06-30")["acv"] == "41000.00"
    assert report(ledger, "2025-06-30")["acv"] == "35000.00"
    assert report(ledger, "2026-06-30")["acv"] == "30000.00"


def test_6_one_year_contracts_lapse_on_their_term_end(ledger: Ledger) -> None:
    _hundred_customers(ledger)
    before, after = report(ledger, "2024-12-31"), report(ledger, "2025-01-01")
    assert (before["active_contracts"], after["active_contracts"]) == (100, 60)
    # 40 × 50,000 / 12 of MRR lapses that day: 166,666.67 of 341,666.67
    assert (before["mrr"], after["mrr"]) == ("341666.67", "175000.00")


def test_9_backdated_churn_keeps_earlier_knowledge(ledger: Ledger) -> None:
    with freeze_time("2024-01-01 09:00:00"):
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    with freeze_time("2024-03-05 10:00:00"):
        record(ledger, event("churn", "acme", "2024-02-01", subscription_id="s1"))
    known_before = datetime(2024, 3, 1, tzinfo=UTC)
    assert report(ledger, "2024-02-15", known_at=known_before)["mrr"] == "1000.00"
    assert report(ledger, "2024-02-15")["mrr"] == "0.00"
    with freeze_time("2024-04-01 10:00:00"):
        record(ledger, new("other", "s2", "2024-01-15", "500"))
    assert report(ledger, "2024-02-15", known_at=known_before)["mrr"] == "1000.00"
    assert report(ledger, "2024-02-15", known_at=datetime(2024, 3, 6, tzinfo=UTC))["mrr"] == "0.00"
