"""SPEC §14 "Other shapes": subscription periods and invoice line items become events.

Example 19 exactly; each decision of `ledger.intake.shapes` as a literal test; each
problem's message at its source line; stable ids; and imports end to end on SQLite and
PostgreSQL (the `ledger` fixture), where importing the same source again appends nothing.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger, Problem, Refused
from ledger.intake.rows import Row
from ledger.intake.shapes import (
    INVOICE_COLUMNS,
    PERIOD_COLUMNS,
    SHAPES,
    InvoiceLine,
    PeriodRow,
    from_invoices,
    from_periods,
    interval_of,
    months_between,
    read,
)

PERIODS = "subscription_id,customer_id,start_date,end_date,amount,interval,currency,plan"
INVOICES = (
    "invoice_id,line_id,customer_id,subscription_id,amount,currency,"
    "service_period_start,service_period_end,proration,plan,description"
)
EXAMPLE_19 = [
    "s1,c1,2024-01-01,2024-03-01,100,,,",
    "s1,c1,2024-03-01,,150,,,",
    "s2,c2,2024-01-01,2024-02-01,50,,,",
    "s2,c2,2024-04-01,2024-05-01,50,,,",
]


def source(tmp_path: Path, header: str, lines: list[str], name: str = "src.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def periods(*lines: str) -> list[Row | Problem]:
    """The converted rows of a periods file given as CSV lines (line 1 is the header)."""
    return list(from_periods(_rows(PERIODS, lines, "periods.csv")))


def invoices(*lines: str, as_of: date | None = None) -> list[Row | Problem]:
    return list(from_invoices(_rows(INVOICES, lines, "invoices.csv"), as_of=as_of))


def _rows(header: str, lines: tuple[str, ...], name: str) -> list[Row]:
    columns = header.split(",")
    return [
        Row(f"{name}:{n}", {k: v for k, v in zip(columns, line.split(","), strict=True) if v})
        for n, line in enumerate(lines, start=2)
    ]


def events(converted: list[Row | Problem]) -> list[dict[str, Any]]:
    assert all(isinstance(row, Row) for row in converted), converted
    return [row.fields for row in converted if isinstance(row, Row)]


def brief(converted: list[Row | Problem]) -> list[tuple[str, ...]]:
    """(type, date, amount, interval) of each event, amount and interval when given."""
    return [
        (f["type"], f["effective_date"], *(f[k] for k in ("amount", "interval") if k in f))
        for f in events(converted)
    ]


def problems(converted: list[Row | Problem]) -> list[str]:
    return [str(row) for row in converted if isinstance(row, Problem)]


# Example 19 (SPEC §8), exactly.


def test_example_19() -> None:
    converted = periods(*EXAMPLE_19)
    assert [row.location for row in converted if isinstance(row, Row)] == [
        "periods.csv:2",
        "periods.csv:3",
        "periods.csv:4",
        "periods.csv:4",
        "periods.csv:5",
        "periods.csv:5",
    ]

    def made(kind: str, sub: str, customer: str, day: str, note: str, **price: str) -> Any:
        return {
            "event_id": f"periods:{sub}:{kind}:{day}",
            "type": kind,
            "customer_id": customer,
            "subscription_id": sub,
            "effective_date": day,
            **price,
            "note": note,
        }

    assert events(converted) == [
        made("new", "s1", "c1", "2024-01-01", "from periods.csv:2", amount="100", interval="1"),
        made(
            "upgrade",
            "s1",
            "c1",
            "2024-03-01",
            "from periods.csv:2, periods.csv:3",
            amount="150",
            interval="1",
        ),
        made("new", "s2", "c2", "2024-01-01", "from periods.csv:4", amount="50", interval="1"),
        made("churn", "s2", "c2", "2024-02-01", "from periods.csv:4"),
        made("new", "s2", "c2", "2024-04-01", "from periods.csv:5", amount="50", interval="1"),
        made("churn", "s2", "c2", "2024-05-01", "from periods.csv:5"),
    ]


def test_example_19_imported_end_to_end(ledger: Ledger, tmp_path: Path) -> None:
    name = source(tmp_path, PERIODS, EXAMPLE_19, "periods.csv")
    done = ledger.import_rows(from_periods(read(name)))
    assert done.appended == 6
    assert ledger.report(date(2024, 3, 15)).mrr == 150  # s1 upgraded; s2 between its runs
    assert ledger.report(date(2024, 4, 15)).mrr == 200
    moved = ledger.movements(date(2023, 12, 31), date(2024, 5, 31))
    assert [moved.new, moved.expansion, moved.churn, moved.reactivation] == [150, 50, 100, 50]
    again = ledger.import_rows(from_periods(read(name)))
    assert (again.appended, again.skipped) == (0, 6)


def test_periods_as_json_lines(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "periods.jsonl"
    path.write_text(
        '{"subscription_id": "s1", "customer_id": "c1", "start_date": "2024-01-01", '
        '"amount": 1200, "interval": "year", "end_date": null}\n'
    )
    assert ledger.import_rows(from_periods(read(str(path)))).appended == 1
    assert ledger.report(date(2024, 6, 30)).mrr == 100


# Decisions: periods.


def test_a_lower_price_where_the_last_ended_is_a_downgrade() -> None:
    assert brief(periods("s1,c1,2024-01-01,2024-02-01,100,,,", "s1,c1,2024-02-01,,60,,,")) == [
        ("new", "2024-01-01", "100", "1"),
        ("downgrade", "2024-02-01", "60", "1"),
    ]


def test_mrr_compares_amount_over_interval_months() -> None:
    """1,200 a year is 100 a month: 110 a month after it is an upgrade."""
    converted = periods("s1,c1,2024-01-01,2025-01-01,1200,year,,", "s1,c1,2025-01-01,,110,,,")
    assert brief(converted) == [
        ("new", "2024-01-01", "1200", "12"),
        ("upgrade", "2025-01-01", "110", "1"),
    ]


def test_same_mrr_at_another_interval_is_a_renewal_with_the_new_price() -> None:
    converted = periods("s1,c1,2024-01-01,2024-04-01,100,,,", "s1,c1,2024-04-01,,300,quarter,,")
    assert brief(converted) == [
        ("new", "2024-01-01", "100", "1"),
        ("renewal", "2024-04-01", "300", "3"),
    ]
    assert events(converted)[1]["event_id"] == "periods:s1:renewal:2024-04-01"


def test_same_price_on_another_plan_is_a_renewal_naming_the_plan() -> None:
    converted = periods("s1,c1,2024-01-01,2024-04-01,100,,,basic", "s1,c1,2024-04-01,,100,,,plus")
    assert events(converted)[1] | {"note": ""} == {
        "event_id": "periods:s1:renewal:2024-04-01",
        "type": "renewal",
        "customer_id": "c1",
        "subscription_id": "s1",
        "effective_date": "2024-04-01",
        "amount": "100",
        "interval": "1",
        "plan": "plus",
        "note": "",
    }


def test_a_period_continuing_the_last_unchanged_makes_no_event() -> None:
    converted = periods("s1,c1,2024-01-01,2024-04-01,100,,,basic", "s1,c1,2024-04-01,,100.00,,,")
    assert brief(converted) == [("new", "2024-01-01", "100", "1")]


def test_a_final_period_without_end_date_is_still_running() -> None:
    assert brief(periods("s1,c1,2024-01-01,,100,,,")) == [("new", "2024-01-01", "100", "1")]


def test_a_final_period_with_end_date_churns_on_it() -> None:
    assert brief(periods("s1,c1,2024-01-01,2024-07-01,100,,,")) == [
        ("new", "2024-01-01", "100", "1"),
        ("churn", "2024-07-01"),
    ]


def test_periods_are_taken_in_start_order_whatever_the_file_order() -> None:
    converted = periods("s1,c1,2024-03-01,,150,,,", "s1,c1,2024-01-01,2024-03-01,100,,,")
    assert brief(converted) == [
        ("new", "2024-01-01", "100", "1"),
        ("upgrade", "2024-03-01", "150", "1"),
    ]
    assert events(converted)[1]["note"] == "from periods.csv:3, periods.csv:2"


def test_currency_and_plan_are_carried_on_priced_events() -> None:
    new, churn = events(periods("s1,c1,2024-01-01,2024-02-01,100,,EUR,pro"))
    assert (new["currency"], new["plan"]) == ("EUR", "pro")
    assert "currency" not in churn and "reason" not in new and "reason" not in churn


def test_converting_twice_gives_the_same_rows() -> None:
    assert periods(*EXAMPLE_19) == periods(*EXAMPLE_19)
    lines = ("1,1,c1,s1,100,USD,2024-01-01,2024-02-01,,,", "1,2,c1,,10,USD,2024-01-01,,,,")
    assert invoices(*lines) == invoices(*lines)


def test_an_id_too_long_to_spell_out_is_its_digest() -> None:
    sub = "s" * 200
    (new,) = events(periods(f"{sub},c1,2024-01-01,,100,,,"))
    assert new["event_id"].startswith("periods:") and len(new["event_id"]) == 8 + 64
    assert events(periods(f"{sub},c1,2024-01-01,,100,,,"))[0]["event_id"] == new["event_id"]


def test_a_subscription_with_a_problem_gives_no_events_and_problems_come_first() -> None:
    converted = periods(
        "s2,c2,2024-01-01,,50,,,", "s1,c1,2024-01-01,2024-02-01,100,,,", "s1,c9,2024-02-01,,9,,,"
    )
    assert [type(row).__name__ for row in converted] == ["Problem", "Row"]
    assert brief(converted[1:]) == [("new", "2024-01-01", "50", "1")]


def test_the_shapes_are_named_for_the_command_line() -> None:
    assert list(SHAPES) == ["periods", "invoices", "stripe"]
    assert (SHAPES["periods"], SHAPES["invoices"]) == (from_periods, from_invoices)
    assert list(PERIOD_COLUMNS) == list(PeriodRow.model_fields)
    assert list(INVOICE_COLUMNS) == list(InvoiceLine.model_fields)


# Problems: periods, each at its line, all of the file.


def test_a_missing_field_is_named_with_what_to_give() -> None:
    assert problems(periods("s1,c1,,,100,,,")) == [
        "periods.csv:2: start_date: missing: give the period's first day, YYYY-MM-DD"
    ]


def test_invalid_fields_are_named_with_their_values() -> None:
    assert problems(periods("s1,c1,2024-02-30,,-5,week,eur,")) == [
        "periods.csv:2: start_date: '2024-02-30' is not a calendar date; amount: '-5' is "
        "negative; interval: 'week' is not month, quarter, year or a whole number of months "
        "1-120; currency: 'eur' is not a three-letter currency code (ISO 4217): did you mean "
        "'EUR'?"
    ]


def test_a_zero_amount_is_refused() -> None:
    assert problems(periods("s1,c1,2024-01-01,,0,,,")) == [
        "periods.csv:2: amount: '0' is not greater than 0"
    ]


def test_an_end_date_not_after_the_start_is_refused() -> None:
    assert problems(periods("s1,c1,2024-03-01,2024-03-01,100,,,")) == [
        "periods.csv:2: end_date: 2024-03-01 is not after start_date 2024-03-01: give the "
        "first day after the period (exclusive), or leave it empty while it runs"
    ]


def test_overlapping_periods_name_both_lines() -> None:
    assert problems(periods("s1,c1,2024-01-01,2024-03-01,100,,,", "s1,c1,2024-02-01,,150,,,")) == [
        "periods.csv:3: start_date: 2024-02-01 is inside the period of subscription 's1' at "
        "periods.csv:2 (from 2024-01-01 to 2024-03-01): a subscription has one price at a "
        "time; end that period on or before 2024-02-01"
    ]


def test_a_period_after_one_still_running_overlaps_it() -> None:
    converted = periods("s1,c1,2024-01-01,,100,,,", "s1,c1,2024-05-01,2024-06-01,100,,,")
    assert problems(converted) == [
        "periods.csv:3: start_date: 2024-05-01 is inside the period of subscription 's1' at "
        "periods.csv:2 (from 2024-01-01 with no end_date): a subscription has one price at "
        "a time; end that period on or before 2024-05-01"
    ]


def test_an_overlap_with_a_long_period_is_found_past_a_short_one() -> None:
    converted = periods(
        "s1,c1,2024-01-01,2024-12-01,100,,,",
        "s1,c1,2024-02-01,2024-03-01,100,,,",
        "s1,c1,2024-05-01,2024-06-01,100,,,",
    )
    assert [p.split(": ")[0] for p in problems(converted)] == ["periods.csv:3", "periods.csv:4"]


def test_a_subscription_of_two_customers_is_refused_at_the_other_line() -> None:
    converted = periods("s1,c1,2024-01-01,2024-02-01,100,,,", "s1,c2,2024-02-01,,100,,,")
    assert problems(converted) == [
        "periods.csv:3: customer_id: 'c2', but subscription 's1' is 'c1' at periods.csv:2: "
        "a subscription has one customer_id; give this one another subscription_id"
    ]


def test_a_subscription_in_two_currencies_is_refused() -> None:
    converted = periods("s1,c1,2024-01-01,2024-02-01,100,,EUR,", "s1,c1,2024-02-01,,100,,USD,")
    assert problems(converted) == [
        "periods.csv:3: currency: 'USD', but subscription 's1' is 'EUR' at periods.csv:2: "
        "a subscription has one currency; give this one another subscription_id"
    ]


def test_an_unknown_column_suggests_the_nearest() -> None:
    rows = [Row("periods.csv:2", {**_rows(PERIODS, ("s1,c1,2024-01-01,,100,,,",), "p")[0].fields})]
    rows[0].fields["amout"] = rows[0].fields.pop("amount")
    rows[0].fields["colour"] = "red"
    assert problems(list(from_periods(rows))) == [
        "periods.csv:2: amout: not a column of periods (value '100'); did you mean amount?; "
        "colour: not a column of periods (value 'red'); the columns are subscription_id, "
        "customer_id, start_date, end_date, amount, interval, currency, plan; amount: "
        "missing: give the charge per interval: a decimal > 0, at most 4 fraction digits"
    ]


def test_every_problem_of_the_file_is_reported_in_line_order(tmp_path: Path) -> None:
    name = source(
        tmp_path,
        PERIODS,
        [
            "s1,c1,2024-01-01,2024-03-01,100,,,",
            "s2,c2,2024-01-01,2024-02-01,x,,,",
            "s1,c1,2024-02-01,,150,,,",
            "s3,c3,2024-01-01",
        ],
        "periods.csv",
    )
    found = [str(p) for p in from_periods(read(name)) if isinstance(p, Problem)]
    assert [p.removeprefix(str(tmp_path) + "/").split(": ")[0] for p in found] == [
        "periods.csv:3",
        "periods.csv:4",
        "periods.csv:5",
    ]
    assert found[2].endswith("periods.csv:5: 3 cells, but the header names 8")


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    name = source(tmp_path, "amount,amount", ["1,2"])
    assert [str(p) for p in read(name)] == [f"{name}:1: the header row names amount more than once"]


def test_a_refused_import_names_the_source_line_and_writes_nothing(ledger: Ledger) -> None:
    with pytest.raises(Refused) as caught:
        ledger.import_rows(from_periods(_rows(PERIODS, ("s1,c1,2024-01-01,,zero,,,",), "p.csv")))
    assert [str(p) for p in caught.value.problems] == [
        "p.csv:2: amount: 'zero' is not a decimal with at most 4 fraction digits"
    ]
    assert ledger.head() == 0


def test_the_ledgers_own_problems_are_at_the_source_line(ledger: Ledger) -> None:
    ledger.append(
        {
            "event_id": "x",
            "type": "new",
            "customer_id": "other",
            "subscription_id": "s1",
            "effective_date": "2023-01-01",
            "amount": "10",
        }
    )
    with pytest.raises(Refused) as caught:
        ledger.import_rows(from_periods(_rows(PERIODS, ("s1,c1,2024-01-01,,100,,,",), "p.csv")))
    assert [p.location for p in caught.value.problems] == ["p.csv:2"]


# Decisions: invoices.


def test_a_yearly_line_is_its_amount_over_twelve_months() -> None:
    converted = invoices("in1,l1,c1,s1,1200,USD,2024-01-01,2025-01-01,,annual,")
    assert brief(converted) == [("new", "2024-01-01", "1200", "12"), ("churn", "2025-01-01")]
    assert events(converted)[0]["event_id"] == "invoices:s1:new:2024-01-01"
    assert events(converted)[0]["note"] == "from invoices.csv:2"


def test_consecutive_months_at_one_amount_are_one_period_and_a_change_is_an_upgrade() -> None:
    converted = invoices(
        "in1,l1,c1,s1,100,USD,2024-01-15,2024-02-15,,basic,",
        "in2,l1,c1,s1,100,USD,2024-02-15,2024-03-15,,basic,",
        "in3,l1,c1,s1,150,USD,2024-03-15,2024-04-15,,pro,",
    )
    assert brief(converted) == [
        ("new", "2024-01-15", "100", "1"),
        ("upgrade", "2024-03-15", "150", "1"),
        ("churn", "2024-04-15"),
    ]
    upgrade, churn = events(converted)[1:]
    assert upgrade["note"] == "from invoices.csv:3, invoices.csv:4"
    assert churn["note"] == "from invoices.csv:4" and upgrade["plan"] == "pro"


def test_service_still_running_at_as_of_does_not_churn() -> None:
    lines = ("in1,l1,c1,s1,100,USD,2024-01-01,2024-02-01,,,",)
    assert brief(invoices(*lines, as_of=date(2024, 1, 31))) == [("new", "2024-01-01", "100", "1")]
    assert brief(invoices(*lines, as_of=date(2024, 2, 1)))[-1] == ("churn", "2024-02-01")


def test_months_anchored_on_a_month_end_are_whole_months() -> None:
    converted = invoices(
        "in1,l1,c1,s1,100,USD,2024-01-31,2024-02-29,,,",
        "in2,l1,c1,s1,100,USD,2024-02-29,2024-03-31,,,",
        "in3,l1,c1,s1,100,USD,2024-03-31,2024-04-30,,,",
    )
    assert brief(converted) == [("new", "2024-01-31", "100", "1"), ("churn", "2024-04-30")]


def test_months_between() -> None:
    assert months_between(date(2024, 1, 1), date(2025, 1, 1)) == 12
    assert months_between(date(2024, 1, 31), date(2024, 2, 29)) == 1
    assert months_between(date(2024, 2, 29), date(2024, 3, 31)) == 1
    assert months_between(date(2024, 1, 15), date(2024, 2, 1)) is None
    assert months_between(date(2024, 1, 1), date(2024, 1, 31)) is None


def test_lines_of_one_subscription_over_the_same_days_add_up() -> None:
    converted = invoices(
        "in1,l1,c1,s1,100,USD,2024-01-01,2024-02-01,,base,",
        "in1,l2,c1,s1,20,USD,2024-01-01,2024-02-01,,seats,",
    )
    new, _ = events(converted)
    assert (new["amount"], new["interval"], new["plan"]) == ("120", "1", "base + seats")


def test_a_price_is_over_the_lines_common_months() -> None:
    """100 a month and 1,200 a year together: 2,400 every 12 months (200 a month)."""
    converted = invoices(
        "in1,l1,c1,s1,1200,USD,2024-01-01,2025-01-01,,,",
        "in1,l2,c1,s1,100,USD,2024-01-01,2024-02-01,,,",
        "in2,l1,c1,s1,100,USD,2024-02-01,2024-03-01,,,",
    )
    assert brief(converted) == [
        ("new", "2024-01-01", "2400", "12"),
        ("downgrade", "2024-03-01", "1200", "12"),
        ("churn", "2025-01-01"),
    ]


def test_an_interval_over_120_months_falls_back_to_the_fewest_exact_months() -> None:
    assert interval_of(Fraction(100), [7, 11, 13]) == 1
    assert interval_of(Fraction(1, 3), [7, 11, 13]) == 3
    assert interval_of(Fraction(1, 127), [7, 11, 13]) is None
    assert interval_of(Fraction(100), [1, 12]) == 12


def test_a_month_adding_up_to_zero_has_no_mrr() -> None:
    converted = invoices(
        "in1,l1,c1,s1,0,USD,2024-01-01,2024-02-01,,trial,",
        "in2,l1,c1,s1,100,USD,2024-02-01,2024-03-01,,,",
        "in3,l1,c1,s1,0,USD,2024-03-01,2024-04-01,,,",
        "in4,l1,c1,s1,100,USD,2024-04-01,2024-05-01,,,",
    )
    assert brief(converted) == [
        ("new", "2024-02-01", "100", "1"),
        ("churn", "2024-03-01"),
        ("new", "2024-04-01", "100", "1"),
        ("churn", "2024-05-01"),
    ]


def test_proration_lines_are_left_out_and_may_be_credits() -> None:
    converted = invoices(
        "in1,l1,c1,s1,100,USD,2024-01-01,2024-02-01,,basic,",
        "in2,l1,c1,s1,-50,USD,2024-01-16,2024-02-01,true,basic,",
        "in2,l2,c1,s1,75,USD,2024-01-16,2024-02-01,yes,pro,",
        "in3,l1,c1,s1,150,USD,2024-02-01,2024-03-01,false,pro,",
    )
    assert brief(converted) == [
        ("new", "2024-01-01", "100", "1"),
        ("upgrade", "2024-02-01", "150", "1"),
        ("churn", "2024-03-01"),
    ]


def test_a_credit_on_a_line_that_is_not_a_proration_is_refused() -> None:
    assert problems(invoices("in1,l1,c1,s1,-100,USD,2024-01-01,2024-02-01,,,")) == [
        "invoices.csv:2: amount: '-100' is negative: credits and refunds are not derived into "
        "MRR or fees; leave credit notes out of the file (mark a proration's credit "
        "proration=true)"
    ]


def test_a_recurring_line_of_part_of_a_month_is_refused() -> None:
    assert problems(invoices("in1,l1,c1,s1,50,USD,2024-01-15,2024-02-01,,,")) == [
        "invoices.csv:2: service_period_end: 2024-02-01 is not a whole number of months after "
        "service_period_start 2024-01-15: a recurring line's amount is per month of service; "
        "mark a part-period charge proration=true (it is left out of MRR)"
    ]


def test_a_recurring_line_needs_its_end() -> None:
    assert problems(invoices("in1,l1,c1,s1,50,USD,2024-01-15,,,,")) == [
        "invoices.csv:2: service_period_end: missing: a recurring line gives the first day "
        "after its service (exclusive: the next period's start)"
    ]


def test_service_ending_before_it_starts_is_refused() -> None:
    assert problems(invoices("in1,l1,c1,,50,USD,2024-01-15,2024-01-01,,,")) == [
        "invoices.csv:2: service_period_end: 2024-01-01 is before service_period_start 2024-01-15"
    ]


def test_a_line_of_more_than_120_months_is_refused() -> None:
    assert problems(invoices("in1,l1,c1,s1,50,USD,2024-01-01,2035-01-01,,,")) == [
        "invoices.csv:2: the service period covers 132 months, more than 120"
    ]


def test_invalid_invoice_fields_are_named() -> None:
    assert problems(invoices("in1,l1,c1,s1,1.23456,,2024-01-01,2024-02-01,maybe,,")) == [
        "invoices.csv:2: amount: '1.23456' is not a decimal with at most 4 fraction digits; "
        "currency: missing: give an ISO 4217 code (EUR); proration: 'maybe' is not true or "
        "false"
    ]


def test_a_one_time_line_is_a_fee_at_its_service_start() -> None:
    (fee,) = events(invoices("in1,l9,c1,,500,EUR,2024-01-20,2024-01-20,,setup,Onboarding"))
    assert fee == {
        "event_id": "invoices:fee:in1:l9",
        "type": "one_time_fee",
        "customer_id": "c1",
        "effective_date": "2024-01-20",
        "amount": "500",
        "currency": "EUR",
        "description": "Onboarding",
        "note": "from invoices.csv:2",
    }
    (named,) = events(invoices("in1,l9,c1,,500,EUR,2024-01-20,,,setup,"))
    assert named["description"] == "setup"


def test_a_fee_without_ids_is_named_by_its_content_and_occurrence() -> None:
    line = ",,c1,,500,USD,2024-01-20,,,,"
    first, second = (fee["event_id"] for fee in events(invoices(line, line)))
    assert first.startswith("invoices:fee:") and first.endswith(":1")
    assert second == first.removesuffix(":1") + ":2"
    assert events(invoices(line))[0]["event_id"] == first


def test_a_one_time_line_of_zero_is_left_out() -> None:
    assert invoices("in1,l1,c1,,0,USD,2024-01-20,,,,") == []


def test_a_line_id_given_twice_on_an_invoice_is_refused() -> None:
    converted = invoices("in1,l1,c1,,5,USD,2024-01-20,,,,", "in1,l1,c1,,6,USD,2024-01-20,,,,")
    assert problems(converted) == [
        "invoices.csv:3: line_id: 'l1' of invoice 'in1' is given twice, here and at "
        "invoices.csv:2: give each invoice line once"
    ]


def test_invoice_lines_of_one_subscription_naming_two_customers_are_refused() -> None:
    converted = invoices(
        "in1,l1,c1,s1,100,USD,2024-01-01,2024-02-01,,,",
        "in2,l1,c2,s1,100,USD,2024-02-01,2024-03-01,,,",
    )
    assert converted == [
        Problem(
            "invoices.csv:3",
            "customer_id: 'c2', but subscription 's1' is 'c1' at invoices.csv:2: a "
            "subscription has one customer_id; give this one another subscription_id",
        )
    ]


def test_an_unknown_invoice_column_suggests_the_nearest() -> None:
    rows = _rows(INVOICES, ("in1,l1,c1,,5,USD,2024-01-20,,,,",), "invoices.csv")
    rows[0].fields["Service Period Start"] = rows[0].fields.pop("service_period_start")
    assert problems(list(from_invoices(rows))) == [
        "invoices.csv:2: Service Period Start: not a column of invoices (value "
        "'2024-01-20'); did you mean service_period_start?; service_period_start: missing: "
        "give the first day of service, YYYY-MM-DD"
    ]


# Invoices end to end.


def test_a_yearly_line_imports_as_mrr_of_a_twelfth(ledger: Ledger, tmp_path: Path) -> None:
    name = source(
        tmp_path,
        INVOICES,
        [
            "in1,l1,c1,s1,1000,USD,2024-01-01,2025-01-01,false,annual,",
            "in1,l2,c1,,250,USD,2024-01-01,,,,Setup",
        ],
        "invoices.csv",
    )
    assert ledger.import_rows(from_invoices(read(name))).appended == 3
    report = ledger.report(date(2024, 6, 30))
    assert [report.mrr, report.arr] == [Fraction(1000, 12), 1000]
    moved = ledger.movements(date(2023, 12, 31), date(2024, 12, 31))
    assert [moved.new, moved.one_time_fees] == [Fraction(1000, 12), 250]
    assert ledger.report(date(2025, 1, 1)).mrr == 0
    assert ledger.import_rows(from_invoices(read(name))).appended == 0


def test_a_monthly_series_with_a_price_change_is_a_new_and_an_upgrade(
    ledger: Ledger, tmp_path: Path
) -> None:
    lines = [
        f"in{n},l1,c1,s1,{amount},USD,2024-{n:02d}-01,2024-{n + 1:02d}-01,,,"
        for n, amount in enumerate([100, 100, 100, 150, 150], start=1)
    ]
    name = source(tmp_path, INVOICES, lines, "invoices.csv")
    done = ledger.import_rows(from_invoices(read(name), as_of=date(2024, 5, 20)))
    assert done.appended == 2
    moved = ledger.movements(date(2023, 12, 31), date(2024, 5, 31))
    assert [moved.new, moved.expansion, moved.churn] == [100, 50, 0]
    assert ledger.report(date(2024, 5, 31)).mrr == 150
    again = ledger.import_rows(from_invoices(read(name), as_of=date(2024, 5, 20)))
    assert (again.appended, again.skipped) == (0, 2)


def test_lines_no_interval_prices_exactly_are_refused_at_the_first() -> None:
    converted = invoices(
        "in1,l1,c1,s1,1,USD,2024-01-01,2024-08-01,,,",
        "in1,l2,c1,s1,1,USD,2024-01-01,2024-12-01,,,",
        "in1,l3,c1,s1,1,USD,2024-01-01,2025-02-01,,,",
    )
    assert problems(converted) == [
        "invoices.csv:2: the lines of subscription 's1' from 2024-01-01 to 2024-08-01 add up "
        "to 0.31 a month, which no interval of 1-120 months gives as a price of at most 4 "
        "fraction digits: bill them over a common number of months",
        "invoices.csv:3: the lines of subscription 's1' from 2024-08-01 to 2024-12-01 add up "
        "to 0.17 a month, which no interval of 1-120 months gives as a price of at most 4 "
        "fraction digits: bill them over a common number of months",
    ]
