"""SPEC §14 "Other shapes", Stripe's invoice line items: `arr import --from stripe`.

The preset's conversions as literal tests (cents by the currency's exponent, lower-case
currencies, Unix timestamps and date-times to UTC dates, discounts, invoice items as fees,
free lines left out), its problems at their lines, all of them, nothing written; then a
Stripe-shaped export of 300 customers (tests/stripe_export.py) imported through the CLI
on both databases, whose MRR at every month end is the MRR its generator billed, computed
here from what it billed and the rates it gave, exactly; a re-import appends nothing and
the next export appends only what is new.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ledger import Ledger, Problem
from ledger.cli.main import app
from ledger.intake.rows import Row
from ledger.intake.stripe import exponent, from_stripe
from tests.stripe_export import COLUMNS, Billed, Export, add_months, stripe_export

runner = CliRunner()
HEADER = (
    "id,invoice,customer,subscription,type,amount,discount_amounts,currency,"
    "period.start,period.end,proration,price.id,description"
)
JAN = "1704067200"  # 2024-01-01T00:00:00Z
FEB = "1706745600"  # 2024-02-01T00:00:00Z
MAR = "1709251200"  # 2024-03-01T00:00:00Z
DISCOUNT = '"[{""amount"": 2000, ""discount"": ""di_1""}]"'  # a CSV cell of a JSON list


def converted(*lines: str, as_of: date | None = None) -> list[Row | Problem]:
    columns = HEADER.split(",")
    rows = [
        Row(f"export.csv:{n}", dict(zip(columns, next(csv.reader([line])), strict=True)))
        for n, line in enumerate(lines, start=2)
    ]
    return list(from_stripe(rows, as_of=as_of))


def brief(rows: list[Row | Problem]) -> list[tuple[str, ...]]:
    assert all(isinstance(row, Row) for row in rows), rows
    return [
        tuple(
            str(f[k])
            for k in ("type", "effective_date", "amount", "interval", "currency")
            if k in f
        )
        for f in (row.fields for row in rows if isinstance(row, Row))
    ]


def problems(rows: list[Row | Problem]) -> list[str]:
    return [str(row) for row in rows if isinstance(row, Problem)]


def test_cents_become_units_by_each_currencys_exponent() -> None:
    assert [exponent(c) for c in ("USD", "EUR", "JPY", "KRW", "KWD")] == [2, 2, 0, 0, 3]
    rows = converted(
        f"il_1,in_1,cus_1,sub_1,subscription,4900,,usd,{JAN},{FEB},false,price_a,",
        f"il_2,in_2,cus_2,sub_2,subscription,12000,,jpy,{JAN},{FEB},false,price_b,",
        f"il_3,in_3,cus_3,sub_3,subscription,5125,,kwd,{JAN},{FEB},false,price_c,",
    )
    assert brief(rows) == [
        ("new", "2024-01-01", "49", "1", "USD"),
        ("churn", "2024-02-01"),
        ("new", "2024-01-01", "12000", "1", "JPY"),
        ("churn", "2024-02-01"),
        ("new", "2024-01-01", "5.125", "1", "KWD"),
        ("churn", "2024-02-01"),
    ]


def test_timestamps_and_date_times_are_their_utc_dates() -> None:
    rows = converted(
        "il_1,in_1,cus_1,sub_1,subscription,1000,,eur,1704153599,1706831999,false,,",
        "il_2,in_2,cus_2,sub_2,subscription,1000,,eur,2024-01-31 23:30:00,2024-02-29T23:30:00Z,,,",
        "il_3,in_3,cus_3,sub_3,subscription,1000,,eur,2024-03-01T00:30:00+02:00,2024-03-28T23:00:00-02:00,,,",
    )
    assert brief(rows) == [
        ("new", "2024-01-01", "10", "1", "EUR"),  # 23:59:59 on 1 January
        ("churn", "2024-02-01"),
        ("new", "2024-01-31", "10", "1", "EUR"),
        ("churn", "2024-02-29"),
        ("new", "2024-02-29", "10", "1", "EUR"),  # 22:30 UTC on 29 February
        ("churn", "2024-03-29"),  # 01:00 UTC on 29 March
    ]


def test_a_coupon_lowers_what_is_charged_and_a_free_month_is_a_gap() -> None:
    rows = converted(
        f"il_1,in_1,cus_1,sub_1,subscription,10000,{DISCOUNT},usd,{JAN},{FEB},false,,",
        f"il_2,in_2,cus_1,sub_1,subscription,10000,10000,usd,{FEB},{MAR},false,,",
        f"il_3,in_3,cus_1,sub_1,subscription,10000,[],usd,{MAR},1711929600,false,,",
    )
    assert brief(rows) == [
        ("new", "2024-01-01", "80", "1", "USD"),
        ("churn", "2024-02-01"),
        ("new", "2024-03-01", "100", "1", "USD"),
        ("churn", "2024-04-01"),
    ]


def test_a_trial_of_part_of_a_month_is_left_out_and_prorations_are_checked_only() -> None:
    rows = converted(
        f"il_1,in_1,cus_1,sub_1,subscription,0,,usd,{JAN},1705276800,false,,Trial period",
        "il_2,in_2,cus_1,sub_1,subscription,2900,,usd,1705276800,1707955200,false,,",
        "il_3,in_3,cus_1,sub_1,invoiceitem,-1450,,usd,1706745600,1707955200,true,,Unused time",
        "il_4,in_3,cus_1,sub_1,invoiceitem,2450,,usd,1706745600,1707955200,true,,Remaining time",
        as_of=date(2024, 2, 1),
    )
    assert brief(rows) == [("new", "2024-01-15", "29", "1", "USD")]


def test_an_invoice_item_is_a_fee_even_on_a_subscriptions_invoice() -> None:
    rows = converted(
        f"il_1,in_1,cus_1,sub_1,invoiceitem,50000,,gbp,{JAN},{JAN},false,,Setup",
        f"il_2,in_1,cus_1,,invoiceitem,0,,gbp,{JAN},{JAN},false,,Nothing",
    )
    assert [row.fields for row in rows if isinstance(row, Row)] == [
        {
            "event_id": "invoices:fee:in_1:il_1",
            "type": "one_time_fee",
            "customer_id": "cus_1",
            "effective_date": "2024-01-01",
            "amount": "500",
            "currency": "GBP",
            "description": "Setup",
            "note": "from export.csv:2",
        }
    ]


def test_bad_values_are_refused_at_their_lines_all_of_them_in_stripes_names() -> None:
    rows = converted(
        f"il_1,in_1,cus_1,sub_1,subscription,49.00,,usd,{JAN},{FEB},false,,",
        f"il_2,in_2,cus_2,sub_2,subscription,4900,,dollars,yesterday,{FEB},false,,",
        f"il_3,in_3,cus_3,sub_3,subscription,4900,[{{}}],usd,{JAN},{FEB},false,,",
        f"il_4,in_4,cus_4,sub_4,refund,4900,,usd,{JAN},{FEB},false,,",
        f"il_5,in_5,cus_5,sub_5,subscription,4900,,usd,{JAN},1705276800,false,,",
        f"il_6,in_6,cus_6,,invoiceitem,-500,,usd,{JAN},{JAN},false,,Credit",
        f"il_7,in_7,cus_7,sub_7,subscription,4900,,usd,{JAN},{FEB},maybe,,",
        f",in_8,,sub_8,subscription,,,usd,{JAN},{FEB},false,,",
    )
    assert problems(rows) == [
        "export.csv:2: amount: '49.00' is not a whole number of the currency's smallest unit "
        "(Stripe gives 1000 for 10.00 EUR)",
        "export.csv:3: currency: 'dollars' is not a three-letter ISO code (eur); period.start: "
        "'yesterday' is not a Unix timestamp or an ISO 8601 date-time (1704067200 or "
        "2024-01-01 00:00:00)",
        "export.csv:4: discount_amounts: '[{}]' is not a JSON list of {\"amount\": ...} objects",
        "export.csv:5: type: 'refund' is not subscription or invoiceitem",
        "export.csv:6: period.end: 2024-01-15 is not a whole number of months after "
        "period.start 2024-01-01: a recurring line's amount is per month of service; mark a "
        "part-period charge proration=true (it is left out of MRR)",
        "export.csv:7: amount: '-5' is negative: credits and refunds are not derived into MRR "
        "or fees; leave credit notes out of the file (mark a proration's credit "
        "proration=true)",
        "export.csv:8: proration: 'maybe' is not true or false",
        "export.csv:9: amount: missing: give an integer in the currency's smallest unit "
        "(cents); negative for a credit",
    ]


def test_an_api_object_of_json_lines_is_read_with_its_nested_fields() -> None:
    line = {
        "id": "il_1",
        "invoice": "in_1",
        "customer": "cus_1",
        "amount": 120000,
        "currency": "eur",
        "discount_amounts": [{"amount": 20000, "discount": "di_1"}],
        "period": {"start": 1704067200, "end": 1735689600},
        "parent": {"subscription_item_details": {"subscription": "sub_1", "proration": False}},
        "pricing": {"price_details": {"price": "price_annual"}},
        "livemode": False,
    }
    rows = list(from_stripe([Row("api.jsonl:1", line)]))
    assert next(row.fields for row in rows if isinstance(row, Row)) == {
        "event_id": "invoices:sub_1:new:2024-01-01",
        "type": "new",
        "customer_id": "cus_1",
        "subscription_id": "sub_1",
        "effective_date": "2024-01-01",
        "amount": "1000",
        "interval": "12",
        "currency": "EUR",
        "plan": "price_annual",
        "note": "from api.jsonl:1",
    }


def test_the_cli_takes_stripe_and_its_export_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    path = tmp_path / "export.csv"
    path.write_text(f"{HEADER}\nil_1,in_1,cus_1,sub_1,subscription,4900,,usd,{JAN},{FEB},false,,\n")
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    checked = runner.invoke(app, ["check", "--from", "stripe", str(path), "--db", url])
    assert checked.exit_code == 0, checked.output
    done = runner.invoke(
        app, ["import", "--from", "stripe", "--export-date", "2024-01-20", str(path), "--db", url]
    )
    assert done.stdout == "imported 1 events, skipped 0 already recorded (positions 1-1)\n"
    wrong = runner.invoke(
        app, ["import", "--from", "periods", "--export-date", "2024-01-20", str(path), "--db", url]
    )
    assert wrong.exit_code == 2
    assert "--export-date: only with --from invoices or stripe" in wrong.output


# A Stripe-shaped export of a few hundred customers, end to end.

FIRST_TAKEN, LAST_TAKEN = date(2025, 3, 31), date(2025, 6, 30)
EXPORT = stripe_export(seed=19)


def month_ends(first: date, last: date) -> list[date]:
    ends, day = [], date(first.year, first.month, 1)
    while (end := add_months(day, 1, 1) - timedelta(days=1)) <= last:
        ends.append(end)
        day = add_months(day, 1, 1)
    return ends


def rate(export: Export, currency: str, day: date) -> Fraction:
    """The rate the generator gave for `day`: that of the 1st of its month."""
    if currency == "USD":
        return Fraction(1)
    return Fraction(export.rates[currency][date(day.year, day.month, 1)])


def billed_mrr(export: Export, day: date) -> Fraction:
    """The MRR the export implies at the end of `day`, in USD: each billing period covering
    it, charged over its months, at the rate of the day (`spot`)."""
    return sum(
        (
            Fraction(b.charged, 10 ** {"JPY": 0}.get(b.currency, 2) * b.months)
            * rate(export, b.currency, day)
            for b in export.billed
            if b.start <= day < b.end
        ),
        Fraction(0),
    )


def write(path: Path, lines: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)


def rates_file(path: Path, export: Export) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["event_id", "type", "currency", "effective_date", "rate"])
        for currency, days in export.rates.items():
            for day, value in days.items():
                writer.writerow([f"fx-{currency}-{day}", "fx_rate", currency, day, str(value)])


def imported(url: str, path: Path, taken: date) -> Any:
    args = ["import", "--from", "stripe", "--export-date", taken.isoformat(), str(path)]
    return runner.invoke(app, [*args, "--db", url])


def test_the_generator_bills_what_the_test_needs() -> None:
    kinds = {(line["type"], line["proration"]) for line in EXPORT.until(LAST_TAKEN)}
    assert kinds == {("subscription", "false"), ("invoiceitem", "true"), ("invoiceitem", "false")}
    lines = EXPORT.until(LAST_TAKEN)
    assert len({line["customer"] for line in lines}) == 300
    assert {line["currency"] for line in lines} == {"usd", "eur", "gbp", "jpy"}
    assert {b.months for b in EXPORT.billed} == {1, 3, 12, 24, 36}
    assert any(b.charged == 0 for b in EXPORT.billed)  # a 100% coupon
    assert any(line["description"] == "Trial period" for line in lines)
    assert any(line["discount_amounts"] != "[]" for line in lines)
    assert any(int(line["amount"]) < 0 for line in lines)  # proration credits
    subs_of: dict[str, set[str]] = {}
    for line in lines:
        subs_of.setdefault(line["customer"], set()).add(line["subscription"])
    assert sum(len(subs - {""}) > 1 for subs in subs_of.values()) >= 10  # restarts


def test_a_stripe_export_imports_with_the_mrr_it_billed(db_url: str, tmp_path: Path) -> None:
    rates, path = tmp_path / "rates.csv", tmp_path / "export.csv"
    rates_file(rates, EXPORT)
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    assert runner.invoke(app, ["import", str(rates), "--db", db_url]).exit_code == 0
    write(path, EXPORT.until(FIRST_TAKEN))
    first = imported(db_url, path, FIRST_TAKEN)
    assert first.exit_code == 0, first.output
    with Ledger.open(db_url) as ledger:
        head = ledger.head()
        recorded = head - sum(len(days) for days in EXPORT.rates.values())
        assert recorded > 400
        days = month_ends(date(2023, 1, 1), FIRST_TAKEN)
        for day, report in zip(days, ledger.reports(days), strict=True):
            assert report.mrr == billed_mrr(EXPORT, day), day
        assert billed_mrr(EXPORT, FIRST_TAKEN) > 10_000  # a business, not a rounding error
        fees = ledger.movements(date(2022, 12, 31), FIRST_TAKEN).one_time_fees
        assert fees == sum(
            (
                Fraction(int(line["amount"]), 10 ** (0 if line["currency"] == "jpy" else 2))
                * rate(EXPORT, line["currency"].upper(), day)
                for line in EXPORT.until(FIRST_TAKEN)
                if line["type"] == "invoiceitem"
                and line["proration"] == "false"
                and (day := datetime.fromtimestamp(int(line["period.start"]), UTC).date())
                <= FIRST_TAKEN
            ),
            Fraction(0),
        )
    again = imported(db_url, path, FIRST_TAKEN)
    assert again.stdout == f"imported 0 events, skipped {recorded} already recorded\n"

    write(path, EXPORT.until(LAST_TAKEN))  # the next export, of the same file
    later = imported(db_url, path, LAST_TAKEN)
    assert later.exit_code == 0, later.output
    assert f"skipped {recorded} already recorded" in later.stdout
    with Ledger.open(db_url) as ledger:
        added = list(ledger.export())[head:]
        assert len(added) > 50
        assert min(row["effective_date"] for row in added) > FIRST_TAKEN.isoformat()
        days = month_ends(date(2023, 1, 1), LAST_TAKEN)
        for day, report in zip(days, ledger.reports(days), strict=True):
            assert report.mrr == billed_mrr(EXPORT, day), day


def test_expected_mrr_is_computed_from_what_was_billed() -> None:
    """The by-hand rule on a small case: 12,000 JPY a year at 0.0067 (6.70 a month) and
    30.00 EUR a month billed 15.00 (a 50% coupon) at 1.1 (16.50): 23.20 on 31 March."""
    rates = {
        "EUR": {date(2024, 3, 1): Decimal("1.1")},
        "JPY": {date(2024, 3, 1): Decimal("0.0067")},
    }
    small = Export(
        billed=[
            Billed("sub_1", "JPY", date(2024, 1, 15), date(2025, 1, 15), 12000, 12),
            Billed("sub_2", "EUR", date(2024, 3, 1), date(2024, 4, 1), 1500, 1),
            Billed("sub_2", "EUR", date(2024, 4, 1), date(2024, 5, 1), 3000, 1),
        ],
        rates=rates,
    )
    assert billed_mrr(small, date(2024, 3, 31)) == Fraction("23.2")
