"""`--period`: a year, a quarter, a month or an ISO week, instead of `--from/--to` (SPEC §13).

A period means `(the day before its first day, its last day]`: its first day counts. The
ledger of these tests has one `new` of 1,000 a month on 2024-01-01, a Monday, the first
day of 2024, of 2024-Q1, of January and of ISO week 2024-W01."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import UsageError
from ledger.domain.periods import Period
from tests.conftest import new, record

FORMS = "give a year (2024), a quarter (2024-Q4), a month (2024-11) or an ISO week (2024-W05)"
BOTH = "usage: give --from and --to, or --period, not both"
NEITHER = "usage: give --from and --to, or --period"


def arr(db_url: str, command: str) -> Result:
    """Runs `arr COMMAND --db URL`, the command written as on a shell line."""
    return CliRunner().invoke(app, [*command.split(), "--db", db_url], prog_name="arr")


def arr_json(db_url: str, command: str) -> Any:
    result = arr(db_url, f"{command} --format json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(db_url: str, command: str) -> str:
    """The one line a usage error prints, once its exit code is known to be 2."""
    result = arr(db_url, command)
    assert result.exit_code == 2, result.output
    return result.stderr.strip()


@pytest.fixture
def opened(ledger: Ledger) -> Ledger:
    record(ledger, new("acme", "acme-1", "2024-01-01", "1000"))
    return ledger


# The days each form names.


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2024-Q2", date(2024, 4, 1), date(2024, 6, 30)),
        ("2024-Q3", date(2024, 7, 1), date(2024, 9, 30)),
        ("2024-Q4", date(2024, 10, 1), date(2024, 12, 31)),
        ("2024-01", date(2024, 1, 1), date(2024, 1, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2024-11", date(2024, 11, 1), date(2024, 11, 30)),
        ("2024-W01", date(2024, 1, 1), date(2024, 1, 7)),
        ("2024-W05", date(2024, 1, 29), date(2024, 2, 4)),
        ("2019-W01", date(2018, 12, 31), date(2019, 1, 6)),
        ("2026-W01", date(2025, 12, 29), date(2026, 1, 4)),
        ("2020-W53", date(2020, 12, 28), date(2021, 1, 3)),
        ("2024-q4", date(2024, 10, 1), date(2024, 12, 31)),
        ("2024-w05", date(2024, 1, 29), date(2024, 2, 4)),
    ],
)
def test_each_form_names_its_first_and_last_day(text: str, first: date, last: date) -> None:
    assert Period.parse(text).days == (first, last)


def test_movements_read_a_period_from_the_day_before_its_first_day() -> None:
    assert Period.parse("2024").span == (date(2023, 12, 31), date(2024, 12, 31))
    assert Period.parse("2024-03").span == (date(2024, 2, 29), date(2024, 3, 31))
    assert Period.parse("2024-W01").span == (date(2023, 12, 31), date(2024, 1, 7))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "2021-W53",
            f"period: '2021-W53' is not a week: ISO week-year 2021 has weeks W01 to W52; {FORMS}",
        ),
        (
            "2024-W00",
            f"period: '2024-W00' is not a week: ISO week-year 2024 has weeks W01 to W52; {FORMS}",
        ),
        (
            "2020-W54",
            f"period: '2020-W54' is not a week: ISO week-year 2020 has weeks W01 to W53; {FORMS}",
        ),
        ("2024-13", f"period: '2024-13' is not a period; {FORMS}"),
        ("2024-Q5", f"period: '2024-Q5' is not a period; {FORMS}"),
        ("2024-1", f"period: '2024-1' is not a period; {FORMS}"),
        ("2024-W5", f"period: '2024-W5' is not a period; {FORMS}"),
        ("2024-11-01", f"period: '2024-11-01' is not a period; {FORMS}"),
        ("2024/11", f"period: '2024/11' is not a period; {FORMS}"),
        ("24", f"period: '24' is not a period; {FORMS}"),
        (" 2024", f"period: ' 2024' is not a period; {FORMS}"),
        ("", f"period: '' is not a period; {FORMS}"),
        ("0000", f"period: '0000' is not a period; {FORMS}"),
        ("0001", "period: '0001' reaches outside the supported dates, 0001-01-02 to 9999-12-30"),
        ("9999", "period: '9999' reaches outside the supported dates, 0001-01-02 to 9999-12-30"),
        (
            "9999-W52",
            "period: '9999-W52' reaches outside the supported dates, 0001-01-02 to 9999-12-30",
        ),
    ],
)
def test_a_malformed_or_missing_period_is_refused_saying_what_is_taken(
    text: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        Period.parse(text)
    assert str(caught.value) == message


def test_the_calendars_edges_that_still_have_a_day_before_and_after_are_taken() -> None:
    assert Period.parse("0001-02").span == (date(1, 1, 31), date(1, 2, 28))
    assert Period.parse("9999-11").days == (date(9999, 11, 1), date(9999, 11, 30))


# `arr movements`.


@pytest.mark.parametrize(
    ("period", "end"),
    [
        ("2024", "2024-12-31"),
        ("2024-Q1", "2024-03-31"),
        ("2024-01", "2024-01-31"),
        ("2024-W01", "2024-01-07"),
    ],
)
def test_a_new_on_the_periods_first_day_is_new_in_the_period(
    opened: Ledger, db_url: str, period: str, end: str
) -> None:
    found = arr_json(db_url, f"movements --period {period}")
    assert (found["from"], found["to"]) == ("2023-12-31", end)
    assert (found["start_mrr"], found["new"], found["end_mrr"]) == ("0.00", "1000.00", "1000.00")


def test_from_the_first_day_leaves_that_day_out_as_ever(opened: Ledger, db_url: str) -> None:
    found = arr_json(db_url, "movements --from 2024-01-01 --to 2024-12-31")
    assert (found["start_mrr"], found["new"], found["end_mrr"]) == ("1000.00", "0.00", "1000.00")
    whole = arr_json(db_url, "movements --from 2023-12-31 --to 2024-12-31")
    assert whole == arr_json(db_url, "movements --period 2024")


def test_a_period_by_month_splits_at_its_month_ends(opened: Ledger, db_url: str) -> None:
    rows = arr_json(db_url, "movements --period 2024-Q1 --by month")
    assert [(r["from"], r["to"], r["new"]) for r in rows] == [
        ("2023-12-31", "2024-01-31", "1000.00"),
        ("2024-01-31", "2024-02-29", "0.00"),
        ("2024-02-29", "2024-03-31", "0.00"),
    ]


def test_a_period_by_customer_counts_its_first_day(opened: Ledger, db_url: str) -> None:
    (row,) = arr_json(db_url, "movements --period 2024-W01 --by customer")
    assert (row["customer_id"], row["from"], row["to"], row["new"]) == (
        "acme",
        "2023-12-31",
        "2024-01-07",
        "1000.00",
    )


def test_the_table_title_names_the_period_as_read(opened: Ledger, db_url: str) -> None:
    result = arr(db_url, "movements --period 2024-02")
    assert result.exit_code == 0, result.output
    assert " ".join(result.stdout.split()).startswith("Movements over (2024-01-31, 2024-02-29]")


# `arr series` and `arr chart`.


def test_a_series_of_a_year_every_month_has_its_twelve_month_ends(
    opened: Ledger, db_url: str
) -> None:
    rows = arr_json(db_url, "series --period 2024 --every month")
    assert [r["as_of"] for r in rows] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
        "2024-07-31",
        "2024-08-31",
        "2024-09-30",
        "2024-10-31",
        "2024-11-30",
        "2024-12-31",
    ]
    assert (rows[0]["from"], rows[0]["new"], rows[11]["arr"]) == (
        "2023-12-31",
        "1000.00",
        "12000.00",
    )
    assert rows == arr_json(db_url, "series --from 2024-01-01 --to 2024-12-31 --every month")


def test_a_series_of_a_week_every_day_has_its_seven_days(opened: Ledger, db_url: str) -> None:
    rows = arr_json(db_url, "series --period 2024-W01 --every day")
    assert [r["as_of"] for r in rows] == [f"2024-01-0{d}" for d in range(1, 8)]
    assert [r["new"] for r in rows] == ["1000.00", *["0.00"] * 6]


def test_a_chart_takes_a_period(opened: Ledger, db_url: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = arr(db_url, f"chart --period 2024-Q1 -o {page}")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {page}: 3 periods, every month\n"
    assert "<html" in page.read_text()


# One way of saying the days, never two.


@pytest.mark.parametrize(
    "command",
    [
        "movements --from 2023-12-31 --to 2024-12-31 --period 2024",
        "movements --to 2024-12-31 --period 2024",
        "movements --from 2023-12-31 --period 2024 --by month",
        "series --from 2024-01-01 --period 2024 --every month",
        "chart --to 2024-12-31 --period 2024 -o report.html",
    ],
)
def test_dates_and_a_period_together_are_a_usage_error(tmp_path: Path, command: str) -> None:
    assert refused(f"sqlite:///{tmp_path / 'none.db'}", command) == BOTH


@pytest.mark.parametrize(
    "command",
    [
        "movements",
        "movements --from 2023-12-31",
        "movements --to 2024-12-31 --by customer",
        "series --every month",
        "series --from 2024-01-01 --every month",
        "chart -o report.html",
    ],
)
def test_neither_two_dates_nor_a_period_is_a_usage_error(tmp_path: Path, command: str) -> None:
    assert refused(f"sqlite:///{tmp_path / 'none.db'}", command) == NEITHER


@pytest.mark.parametrize("command", ["movements", "series --every month", "chart -o r.html"])
def test_a_week_that_does_not_exist_is_a_usage_error(tmp_path: Path, command: str) -> None:
    assert refused(f"sqlite:///{tmp_path / 'none.db'}", f"{command} --period 2021-W53") == (
        f"usage: --period: '2021-W53' is not a week: ISO week-year 2021 has weeks W01 to W52; "
        f"{FORMS}"
    )


def test_a_malformed_period_says_what_is_taken(tmp_path: Path) -> None:
    assert refused(f"sqlite:///{tmp_path / 'none.db'}", "movements --period Q4-2024") == (
        f"usage: --period: 'Q4-2024' is not a period; {FORMS}"
    )


# The help says which end counts.


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("movements", "--from 2024-01-01 leaves 1 January out"),
        ("movements", "--period 2024 is (2023-12-31, 2024-12-31]"),
        ("movements", "--to DATE End date YYYY-MM-DD, included."),
        ("series", "--from DATE First day YYYY-MM-DD, included"),
        ("series", "--period 2024 is the same as --from 2024-01-01 --to 2024-12-31"),
        ("chart", "from its first day to its last, both included"),
    ],
)
def test_the_help_says_which_end_is_counted(command: str, said: str) -> None:
    shown = CliRunner().invoke(app, [command, "--help"], prog_name="arr", terminal_width=80)
    assert shown.exit_code == 0 and said in " ".join(shown.output.split())


# The Python API.


def test_the_api_takes_a_period_or_the_dates_as_before(opened: Ledger) -> None:
    year = opened.movements(period="2024").as_json()
    assert (year["from"], year["to"], year["new"]) == ("2023-12-31", "2024-12-31", "1000.00")
    assert opened.movements(date(2023, 12, 31), date(2024, 12, 31)).as_json() == year
    rows = opened.series(period="2024-Q1")
    assert [r.as_json()["as_of"] for r in rows] == ["2024-01-31", "2024-02-29", "2024-03-31"]
    same = opened.series(date(2024, 1, 1), date(2024, 3, 31), "month")
    assert [r.as_json() for r in same] == [r.as_json() for r in rows]
    weeks = opened.series(period="2024-01", every="week")
    assert [r.as_json()["as_of"] for r in weeks][:2] == ["2024-01-07", "2024-01-14"]


def test_the_api_refuses_dates_and_a_period_together_or_neither(opened: Ledger) -> None:
    with pytest.raises(UsageError, match=r"^give start and end, or period, not both$"):
        opened.movements(date(2023, 12, 31), period="2024")
    with pytest.raises(UsageError, match=r"^give start and end, or period, not both$"):
        opened.series(end=date(2024, 12, 31), period="2024")
    with pytest.raises(UsageError, match=r"^give start and end, or period$"):
        opened.movements(date(2023, 12, 31))
