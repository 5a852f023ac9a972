"""Every validation rule of SPEC §3 and every input-format rule of §2 and §9, one test each.

A refused batch names each problem at its row and leaves the ledger exactly as it was:
`head()` does not move. Identical repeats are skipped; the CLI prints `FILE:LINE: message`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.intake.rows import Row
from tests.conftest import accept, refused

S1 = {"customer_id": "acme", "subscription_id": "s1"}


def row(event_id: str, kind: str, day: str | None = None, **fields: Any) -> dict[str, Any]:
    """An event of customer acme's subscription s1, unless `fields` say otherwise."""
    dated = {"effective_date": day} if day else {}
    return {"event_id": event_id, "type": kind, **S1, **dated, **fields}


def monthly(
    event_id: str = "n1", day: str = "2024-01-01", amount: Any = "100", **fields: Any
) -> dict[str, Any]:
    return row(event_id, "new", day, amount=amount, **fields)


# Fields common to every event (SPEC §3).


def test_event_id_is_required(ledger: Ledger) -> None:
    fields = monthly()
    del fields["event_id"]
    assert refused(ledger, fields) == ["row1: event_id: missing"]


def test_type_is_required(ledger: Ledger) -> None:
    fields = monthly()
    del fields["type"]
    assert refused(ledger, fields) == ["row1: type: missing"]


def test_type_is_one_of_the_twelve(ledger: Ledger) -> None:
    expected = (
        "row1: type: 'refund' is not one of new, upgrade, downgrade, churn, renewal, "
        "one_time_fee, void, fx_rate, trial, pause, resume, discount"
    )
    assert refused(ledger, row("r1", "refund", "2024-01-01")) == [expected]


def test_customer_id_is_required(ledger: Ledger) -> None:
    fields = monthly()
    del fields["customer_id"]
    assert refused(ledger, fields) == ["row1: customer_id: missing"]


@pytest.mark.parametrize("kind", ["new", "upgrade", "downgrade", "churn", "renewal"])
def test_subscription_id_is_required_except_for_fees_and_voids(ledger: Ledger, kind: str) -> None:
    fields = row("e1", kind, "2024-01-01", amount="100")
    del fields["subscription_id"]
    if kind == "churn":
        del fields["amount"]
    assert refused(ledger, fields) == ["row1: subscription_id: missing"]


def test_a_fee_needs_no_subscription(ledger: Ledger) -> None:
    accept(ledger, {"event_id": "f1", "type": "one_time_fee", "customer_id": "acme",
                    "effective_date": "2024-01-01", "amount": "10000"})  # fmt: skip
    assert ledger.head() == 1


def test_effective_date_is_required_except_for_voids(ledger: Ledger) -> None:
    assert refused(ledger, row("n1", "new", amount="100")) == ["row1: effective_date: missing"]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2024-02-30", "'2024-02-30' is not a calendar date"),
        ("01/02/2024", "'01/02/2024' is not a date in the form YYYY-MM-DD"),
        ("2024-1-5", "'2024-1-5' is not a date in the form YYYY-MM-DD"),
    ],
)
def test_effective_date_is_a_calendar_date(ledger: Ledger, day: str, message: str) -> None:
    assert refused(ledger, monthly(day=day)) == [f"row1: effective_date: {message}"]


def test_currency_is_an_iso_code(ledger: Ledger) -> None:
    expected = "row1: currency: 'Euro' is not a three-letter currency code (ISO 4217)"
    assert refused(ledger, monthly(currency="Euro")) == [expected]
    accept(ledger, monthly(currency="USD"))
    assert ledger.head() == 1


def test_a_field_of_another_event_type_is_refused(ledger: Ledger) -> None:
    expected = (
        "row1: target_event_id: not a field of this event type (value 'x'); see `arr fields new`"
    )
    assert refused(ledger, monthly(target_event_id="x")) == [expected]


# Money (SPEC §2).


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "'0' is not greater than 0"),
        ("-5", "'-5' is negative"),
        ("1e3", "'1e3' is not a decimal with at most 4 fraction digits"),
        ("NaN", "'NaN' is not a decimal with at most 4 fraction digits"),
        ("Infinity", "'Infinity' is not a decimal with at most 4 fraction digits"),
        ("100.12345", "'100.12345' is not a decimal with at most 4 fraction digits"),
        ("1,000", "'1,000' is not a decimal with at most 4 fraction digits"),
        (1000.5, "1000.5 is a floating-point number; give a decimal string"),
    ],
)
def test_an_amount_is_a_positive_decimal_with_at_most_4_fraction_digits(
    ledger: Ledger, amount: object, message: str
) -> None:
    assert refused(ledger, monthly(amount=amount)) == [f"row1: amount: {message}"]


def test_four_fraction_digits_and_integers_are_amounts(ledger: Ledger) -> None:
    accept(ledger, monthly(amount="99.9999"), monthly("n2", amount=1000, subscription_id="s2"))
    assert ledger.report(date(2024, 1, 1)).as_json()["mrr"] == "1100.00"


def test_a_fee_amount_must_be_positive(ledger: Ledger) -> None:
    fee = row("f1", "one_time_fee", "2024-01-01", amount="0")
    assert refused(ledger, fee) == ["row1: amount: '0' is not greater than 0"]


# `new` (SPEC §3).


@pytest.mark.parametrize("interval", ["week", "0", "121", "1.5", "-1"])
def test_interval_is_named_or_1_to_120_months(ledger: Ledger, interval: str) -> None:
    expected = (
        f"row1: interval: {interval!r} is not month, quarter, year or a whole number of "
        "months 1-120"
    )
    assert refused(ledger, monthly(interval=interval)) == [expected]


@pytest.mark.parametrize("term", ["0", "121", "twelve"])
def test_term_months_is_1_to_120(ledger: Ledger, term: str) -> None:
    expected = f"row1: term_months: {term!r} is not a whole number 1-120"
    assert refused(ledger, monthly(term_months=term)) == [expected]


def test_new_on_an_active_subscription_is_refused(ledger: Ledger) -> None:
    accept(ledger, monthly())
    expected = "row1: new on 2024-02-01: subscription 's1' is already active on 2024-02-01"
    assert refused(ledger, monthly("n2", day="2024-02-01")) == [expected]


def test_new_on_an_ended_subscription_restarts_it(ledger: Ledger) -> None:
    accept(ledger, monthly(), row("c1", "churn", "2024-03-01"), monthly("n2", day="2024-03-01"))
    assert ledger.head() == 3


def test_a_subscription_belongs_to_the_customer_that_started_it(ledger: Ledger) -> None:
    accept(ledger, monthly())
    other = monthly("n2", day="2024-06-01", customer_id="globex")
    assert refused(ledger, other) == ["row1: subscription_id 's1' belongs to customer 'acme'"]


# `upgrade` / `downgrade` (SPEC §3).


def test_an_upgrade_must_raise_mrr(ledger: Ledger) -> None:
    accept(ledger, monthly())
    same = row("u1", "upgrade", "2024-03-01", amount="1200", interval="year")  # 100 a month
    expected = (
        "row1: upgrade on 2024-03-01: an upgrade must raise MRR, but 100.00 is not above 100.00"
    )
    assert refused(ledger, same) == [expected]


def test_a_downgrade_must_lower_mrr(ledger: Ledger) -> None:
    accept(ledger, monthly())
    higher = row("d1", "downgrade", "2024-03-01", amount="150")
    expected = (
        "row1: downgrade on 2024-03-01: a downgrade must lower MRR, but 150.00 is not below 100.00"
    )
    assert refused(ledger, higher) == [expected]


def test_a_downgrade_to_zero_is_a_churn(ledger: Ledger) -> None:
    accept(ledger, monthly())
    zero = row("d1", "downgrade", "2024-03-01", amount="0")
    assert refused(ledger, zero) == ["row1: amount: '0' is not greater than 0"]


@pytest.mark.parametrize(
    ("kind", "day"),
    [
        ("upgrade", "2023-12-31"),  # before it started
        ("upgrade", "2024-05-01"),  # the day it was churned
        ("downgrade", "2024-06-01"),  # after it was churned
        ("churn", "2024-05-01"),  # churned twice
    ],
)
def test_changes_need_an_active_subscription(ledger: Ledger, kind: str, day: str) -> None:
    accept(ledger, monthly(), row("c1", "churn", "2024-05-01"))
    amount = {"upgrade": {"amount": "500"}, "downgrade": {"amount": "50"}}.get(kind, {})
    expected = f"row1: {kind} on {day}: subscription 's1' is not active on {day}"
    assert refused(ledger, row("e1", kind, day, **amount)) == [expected]


def test_a_lapsed_term_is_not_active_on_its_term_end(ledger: Ledger) -> None:
    accept(ledger, monthly(term_months="12"))
    late = row("u1", "upgrade", "2025-01-01", amount="200")
    expected = "row1: upgrade on 2025-01-01: subscription 's1' is not active on 2025-01-01"
    assert refused(ledger, late) == [expected]


# `renewal` (SPEC §3).


def test_a_renewal_needs_an_active_subscription_or_a_term_ending_that_day(ledger: Ledger) -> None:
    accept(ledger, monthly(term_months="12"))
    expected = (
        "row1: renewal on 2025-01-02: subscription 's1' is not active on 2025-01-02 "
        "and no term of it ended that day"
    )
    assert refused(ledger, row("r1", "renewal", "2025-01-02")) == [expected]
    accept(ledger, row("r2", "renewal", "2025-01-01"))  # the day its term ended
    assert ledger.report(date(2025, 6, 30)).as_json()["mrr"] == "100.00"


# `one_time_fee` (SPEC §3).


def test_a_fee_naming_a_subscription_needs_its_live_new(ledger: Ledger) -> None:
    fee = row("f1", "one_time_fee", "2024-01-01", amount="500", subscription_id="s9")
    expected = "row1: one_time_fee on 2024-01-01: subscription 's9' has no live `new`"
    assert refused(ledger, fee) == [expected]


def test_a_setup_fee_may_precede_go_live(ledger: Ledger) -> None:
    fee = row("f1", "one_time_fee", "2023-12-15", amount="500")
    accept(ledger, monthly(), fee)
    assert ledger.head() == 2


def test_a_fee_on_a_voided_new_is_refused(ledger: Ledger) -> None:
    void = {"event_id": "v1", "type": "void", "customer_id": "acme", "target_event_id": "n1"}
    accept(ledger, monthly(), void)
    fee = row("f1", "one_time_fee", "2024-02-01", amount="500")
    expected = "row1: one_time_fee on 2024-02-01: subscription 's1' has no live `new`"
    assert refused(ledger, fee) == [expected]


# `void` (SPEC §3).


def void(event_id: str, target: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "void", "customer_id": "acme", "target_event_id": target}


def test_a_void_of_an_unknown_event_is_refused(ledger: Ledger) -> None:
    expected = "row1: target_event_id 'nope' is not a recorded event of this customer"
    assert refused(ledger, void("v1", "nope")) == [expected]


def test_a_void_of_a_voided_event_is_refused(ledger: Ledger) -> None:
    fee = row("f1", "one_time_fee", "2024-02-01", amount="500")
    accept(ledger, monthly(), fee, void("v1", "f1"))
    assert refused(ledger, void("v2", "f1")) == ["row1: target_event_id 'f1' is already voided"]


def test_a_void_of_a_void_is_refused(ledger: Ledger) -> None:
    fee = row("f1", "one_time_fee", "2024-02-01", amount="500")
    accept(ledger, monthly(), fee, void("v1", "f1"))
    expected = "row1: target_event_id 'v1' is itself a void; append the event again instead"
    assert refused(ledger, void("v2", "v1")) == [expected]


def test_a_void_that_would_leave_an_invalid_history_is_refused(ledger: Ledger) -> None:
    accept(ledger, monthly(), row("u1", "upgrade", "2024-03-01", amount="150"))
    expected = (
        "row1: would make recorded event 'u1' invalid: upgrade on 2024-03-01: "
        "subscription 's1' is not active on 2024-03-01"
    )
    assert refused(ledger, void("v1", "n1")) == [expected]


def test_a_voided_event_no_longer_counts(ledger: Ledger) -> None:
    accept(ledger, monthly(), row("u1", "upgrade", "2024-03-01", amount="150"), void("v1", "u1"))
    assert ledger.report(date(2024, 3, 31)).as_json()["mrr"] == "100.00"


# The whole timeline (SPEC §3).


def test_a_backdated_churn_before_a_recorded_upgrade_is_refused(ledger: Ledger) -> None:
    accept(ledger, monthly(), row("u1", "upgrade", "2024-03-01", amount="150"))
    expected = (
        "row1: would make recorded event 'u1' invalid: upgrade on 2024-03-01: "
        "subscription 's1' is not active on 2024-03-01"
    )
    assert refused(ledger, row("c1", "churn", "2024-02-01")) == [expected]


def test_ties_on_a_day_are_broken_by_recorded_position(ledger: Ledger) -> None:
    accept(ledger, monthly())
    # Recorded in this order on one day: the churn first, so the upgrade finds s1 ended.
    churn, upgrade = (
        row("c1", "churn", "2024-03-01"),
        row("u1", "upgrade", "2024-03-01", amount="150"),
    )
    expected = "row2: upgrade on 2024-03-01: subscription 's1' is not active on 2024-03-01"
    assert refused(ledger, churn, upgrade) == [expected]
    accept(ledger, upgrade, churn)
    assert ledger.head() == 3


def test_every_problem_of_a_refused_batch_is_named_format_problems_first(ledger: Ledger) -> None:
    rows = [
        monthly(),
        row("u1", "upgrade", "2024-02-01", amount="90"),  # does not raise MRR
        monthly("n2", subscription_id="s2", amount="1e3"),  # not a decimal
        row("x1", "churn", "2024-02-30", subscription_id="s2"),  # not a date
        row("c1", "churn", "2024-03-01", subscription_id="s3"),  # s3 never started
    ]
    assert refused(ledger, *rows) == [
        "row3: amount: '1e3' is not a decimal with at most 4 fraction digits",
        "row4: effective_date: '2024-02-30' is not a calendar date",
    ]
    rows[2:4] = [
        monthly("n2", subscription_id="s2"),
        row("x1", "churn", "2024-03-01", subscription_id="s2"),
    ]
    assert refused(ledger, *rows) == [
        "row2: upgrade on 2024-02-01: an upgrade must raise MRR, but 90.00 is not above 100.00",
        "row5: churn on 2024-03-01: subscription 's3' is not active on 2024-03-01",
    ]
    assert ledger.head() == 0


# Idempotency (SPEC §3).


def test_an_identical_repeat_is_skipped_without_a_new_position(ledger: Ledger) -> None:
    accept(ledger, monthly(amount="1000"))
    again = ledger.import_rows([Row("row1", monthly(amount="1000.00"))])  # the same amount
    assert (again.appended, again.skipped, again.positions) == (0, 1, ())
    assert ledger.head() == 1


def test_a_repeat_within_one_batch_is_skipped(ledger: Ledger) -> None:
    result = ledger.import_rows([Row("row1", monthly()), Row("row2", monthly())])
    assert (result.appended, result.skipped, ledger.head()) == (1, 1, 1)


def test_an_event_id_reused_with_other_content_is_a_conflict(ledger: Ledger) -> None:
    accept(ledger, monthly())
    expected = (
        "row1: event_id 'n1' is already recorded (position 1) with other content: "
        "amount '100' recorded, '101' here"
    )
    assert refused(ledger, monthly(amount="101")) == [expected]


# Input files and the CLI (SPEC §9).


def arr(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


CSV_HEADER = "event_id,type,customer_id,subscription_id,effective_date,amount,term_months\n"


def test_an_invalid_row_in_a_csv_refuses_the_file_naming_every_bad_line(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        CSV_HEADER
        + "n1,new,acme,s1,2024-01-01,100,\n"
        + "u1,upgrade,acme,s1,2024-03-01,90,\n"  # line 3: does not raise MRR
        + "n2,new,acme,s2,2024-01-01,1e3,\n"  # line 4: not a decimal
        + "n3,new,globex,s3,2024-01-01,50,12\n"
    )
    result = arr("import", str(events), "--db", db_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{events}:4: amount: '1e3' is not a decimal with at most 4 fraction digits",
        "nothing was written",
    ]
    assert ledger.head() == 0
    events.write_text(events.read_text().replace("1e3", "1000"))
    result = arr("import", str(events), "--db", db_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{events}:3: upgrade on 2024-03-01: an upgrade must raise MRR, but 90.00 is not "
        "above 100.00",
        "nothing was written",
    ]
    assert ledger.head() == 0


def test_every_bad_row_of_every_file_is_printed(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.jsonl"
    first.write_text(CSV_HEADER + "n1,new,acme,s1,2024-01-01,-5,\nn2,new,acme,s2,2024-13-01,5,\n")
    second.write_text(
        '{"event_id":"n3","type":"new","customer_id":"acme","subscription_id":"s3",'
        '"effective_date":"2024-01-01","amount":"100"}\n'
        "not json\n"
        '{"event_id":"n4","type":"new","customer_id":"acme","subscription_id":"s4",'
        '"effective_date":"2024-01-01","amount":100.5}\n'
    )
    result = arr("import", str(first), str(second), "--db", db_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{first}:2: amount: '-5' is negative",
        f"{first}:3: effective_date: '2024-13-01' is not a calendar date",
        f"{second}:2: not a JSON object: Expecting value (column 1)",
        f"{second}:3: amount: 100.5 is a floating-point number; give a decimal string",
        "nothing was written",
    ]
    assert ledger.head() == 0


def test_reimporting_a_file_skips_every_row(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        CSV_HEADER + "n1,new,acme,s1,2024-01-01,100,\nn2,new,acme,s2,2024-01-01,50,12\n"
    )
    assert arr("import", str(events), "--db", db_url).stdout.splitlines() == [
        "imported 2 events, skipped 0 already recorded (positions 1-2)"
    ]
    again = arr("import", str(events), "--db", db_url)
    assert again.exit_code == 0
    assert again.stdout.splitlines() == ["imported 0 events, skipped 2 already recorded"]
    assert ledger.head() == 2


def test_an_empty_csv_cell_is_an_absent_field(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(CSV_HEADER + "n1,new,acme,s1,2024-01-01,100,\n")  # no term: evergreen
    assert arr("import", str(events), "--db", db_url).exit_code == 0
    figures = ledger.report(date(2030, 1, 1)).as_json()
    assert figures["mrr"] == "100.00"


def test_rows_are_recorded_in_file_order(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        CSV_HEADER
        + "n9,new,zeta,s9,2024-05-01,100,\n"
        + "n1,new,acme,s1,2024-01-01,100,\n"
        + "n5,new,mid,s5,2024-03-01,100,\n"
    )
    assert arr("import", str(events), "--db", db_url).exit_code == 0
    recorded = [(r.position, r.event.event_id) for r in ledger.entries()]
    assert recorded == [(1, "n9"), (2, "n1"), (3, "n5")]


def test_json_lines_on_stdin(ledger: Ledger, db_url: str) -> None:
    line = (
        '{"event_id":"n1","type":"new","customer_id":"acme","subscription_id":"s1",'
        '"effective_date":"2024-01-01","amount":"12000","interval":"year"}\n'
    )
    result = arr("import", "-", "--db", db_url, input=line)
    assert result.exit_code == 0
    assert ledger.report(date(2024, 1, 1)).as_json()["mrr"] == "1000.00"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("events.txt", "x", "{path}: unknown file type: expected .csv or .jsonl"),
        ("events.csv", "", "{path}: the file is empty"),
        (
            "events.csv",
            "id,kind\n1,new\n",
            "{path}:1: the header row must name the fields (event_id, type, customer_id, …), "
            "but it has 'id', 'kind': see `arr fields`, or `arr template` for a file to fill in",
        ),
        (
            "events.csv",
            CSV_HEADER + "n1,new,acme,s1,2024-01-01\n",
            "{path}:2: 5 cells, but the header names 7",
        ),
        ("events.jsonl", '["a list"]\n', "{path}:1: not a JSON object"),
    ],
)
def test_malformed_files_are_refused(
    ledger: Ledger, db_url: str, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = arr("import", str(path), "--db", db_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [message.format(path=path), "nothing was written"]
    assert ledger.head() == 0


def test_a_missing_file_is_refused(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    result = arr("import", str(path), "--db", db_url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}: cannot read: No such file or directory",
        "nothing was written",
    ]
