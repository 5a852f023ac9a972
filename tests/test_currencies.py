"""SPEC §10: currencies, rates as events, the three conversion policies, `fx` in the bridge.

Worked examples 10-12 of SPEC §8, and the rules around them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import MissingRate, UsageError
from tests import conftest
from tests.conftest import event, new, rate, record

runner = CliRunner()


def eur_subscription(ledger: Ledger) -> None:
    """Example 10: EUR 1,000/month from 2024-01-01; EUR 1.10, then 1.20 from 2024-02-01."""
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.10"),
        rate("EUR", "2024-02-01", "1.20"),
        new("acme", "s1", "2024-01-01", "1000", currency="EUR"),
    )


def mrr(ledger: Ledger, day: str, fx: str = "spot", **known: Any) -> str:
    return str(ledger.report(date.fromisoformat(day), fx=fx, **known).as_json()["mrr"])


def moved(ledger: Ledger, start: str, end: str, fx: str = "spot") -> dict[str, Any]:
    """The movements over `(start, end]` that are not zero."""
    found = ledger.movements(date.fromisoformat(start), date.fromisoformat(end), fx=fx)
    flows = ("new", "expansion", "contraction", "churn", "reactivation", "fx")
    return {k: v for k, v in found.as_json().items() if k in flows and v != "0.00"}


def test_10_spot_converts_each_day_at_its_rate_and_the_change_is_fx(ledger: Ledger) -> None:
    eur_subscription(ledger)
    assert (mrr(ledger, "2024-01-31"), mrr(ledger, "2024-02-29")) == ("1100.00", "1200.00")
    assert moved(ledger, "2024-01-31", "2024-02-29") == {"fx": "100.00"}
    found = ledger.movements(date(2024, 1, 31), date(2024, 2, 29)).as_json()
    assert (found["fx_policy"], found["net_new"]) == ("spot", "100.00")


def test_10_booked_keeps_the_rate_of_the_day_the_price_was_set(ledger: Ledger) -> None:
    eur_subscription(ledger)
    days = ("2024-01-31", "2024-02-29")
    assert [mrr(ledger, day, "booked") for day in days] == ["1100.00", "1100.00"]
    assert moved(ledger, *days, fx="booked") == {}


def test_10_fixed_converts_every_day_at_one_days_rate(ledger: Ledger) -> None:
    eur_subscription(ledger)
    days = ("2024-01-31", "2024-02-29")
    assert [mrr(ledger, day, "fixed:2024-02-01") for day in days] == ["1200.00", "1200.00"]
    assert moved(ledger, *days, fx="fixed:2024-02-01") == {}
    report = ledger.report(date(2024, 1, 31), fx="fixed:2024-02-01").as_json()
    assert report["fx_policy"] == "fixed:2024-02-01"


@pytest.mark.parametrize("fx", ["booked", "spot"])
def test_11_an_upgrade_is_expansion_at_todays_rate_and_the_rest_is_fx(
    ledger: Ledger, fx: str
) -> None:
    eur_subscription(ledger)
    record(ledger, event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="1500"))
    assert mrr(ledger, "2024-02-29", fx) == "1800.00"
    assert moved(ledger, "2024-01-31", "2024-02-01", fx) == {"expansion": "600.00", "fx": "100.00"}


@pytest.mark.parametrize(
    ("fx", "expected"),
    [
        ("spot", {"contraction": "40.00"}),
        ("fixed:2024-01-01", {"contraction": "40.00"}),
        ("fixed:2024-06-01", {"expansion": "20.00"}),
    ],
)
def test_changes_in_opposite_directions_in_two_currencies_net_at_that_days_rates(
    ledger: Ledger, fx: str, expected: dict[str, str]
) -> None:
    """EUR +200 and GBP -200 on one day: at GBP 1.30 a contraction of 2400 - 2360 = 40,
    at GBP 1.00 an expansion of 220 - 200 = 20. The read model keeps such a day by unit
    and classifies it at the query's rates; a replay agrees."""
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.10"),
        rate("GBP", "2024-01-01", "1.30"),
        rate("GBP", "2024-06-01", "1.00"),
        new("duo", "s1", "2024-01-01", "1000", currency="EUR"),
        new("duo", "s2", "2024-01-01", "1000", currency="GBP"),
        event("upgrade", "duo", "2024-03-01", subscription_id="s1", amount="1200"),
        event("downgrade", "duo", "2024-03-01", subscription_id="s2", amount="800"),
    )
    assert moved(ledger, "2024-02-29", "2024-03-31", fx) == expected
    rows = ledger.series(date(2024, 1, 1), date(2024, 6, 30), "month", fx=fx)
    march = next(r for r in rows if r.report.as_of == date(2024, 3, 31)).as_json()
    assert {k: march[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("fx", "expected"),
    [
        ("booked", {"expansion": "70.00", "fx": "50.00"}),
        ("spot", {"contraction": "130.00", "fx": "150.00"}),
    ],
)
def test_a_churn_and_an_upgrade_on_one_day_under_booked_net_at_their_own_rates(
    ledger: Ledger, fx: str, expected: dict[str, str]
) -> None:
    """Under `booked` a churned subscription leaves at the rate its price was set at
    (1000 at 1.10), an upgraded one is priced again at the day's (1400 - 500 at 1.30):
    1820 - (1100 + 650) = 70 of expansion; under `spot` both at 1.30, a contraction."""
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.10"),
        rate("EUR", "2024-02-01", "1.20"),
        rate("EUR", "2024-03-01", "1.30"),
        new("two", "s1", "2024-01-01", "1000", currency="EUR"),
        new("two", "s2", "2024-02-01", "500", currency="EUR"),
        event("churn", "two", "2024-03-01", subscription_id="s1"),
        event("upgrade", "two", "2024-03-01", subscription_id="s2", amount="1400"),
    )
    assert moved(ledger, "2024-02-29", "2024-03-31", fx) == expected


def test_12_a_missing_rate_is_an_error_naming_currency_and_day(ledger: Ledger) -> None:
    record(
        ledger,
        rate("GBP", "2024-01-15", "1.27"),
        new("acme", "s1", "2024-01-01", "500", currency="GBP"),
    )
    with pytest.raises(MissingRate, match=r"no GBP rate on or before 2024-01-10") as raised:
        ledger.report(date(2024, 1, 10))
    assert (raised.value.currency, raised.value.day) == ("GBP", date(2024, 1, 10))
    assert mrr(ledger, "2024-01-15") == "635.00"


def test_12_on_the_command_line_exit_1_and_one_line(ledger: Ledger, db_url: str) -> None:
    record(
        ledger,
        rate("GBP", "2024-01-15", "1.27"),
        new("acme", "s1", "2024-01-01", "500", currency="GBP"),
    )
    result = runner.invoke(app, ["report", "--as-of", "2024-01-10", "--db", db_url])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no GBP rate on or before 2024-01-10, as known at ")
    assert "Traceback" not in result.output


def test_a_rate_is_needed_only_where_an_amount_is_not_zero(ledger: Ledger) -> None:
    record(ledger, new("acme", "s1", "2024-03-01", "500", currency="GBP"))
    assert mrr(ledger, "2024-02-01") == "0.00"  # nothing in GBP yet: no rate needed
    with pytest.raises(MissingRate, match="GBP"):
        ledger.report(date(2024, 3, 1))


def test_booked_names_the_day_the_price_was_set_when_its_rate_is_missing(ledger: Ledger) -> None:
    record(
        ledger,
        rate("EUR", "2024-02-01", "1.20"),
        new("acme", "s1", "2024-01-01", "100", currency="EUR"),
    )
    assert mrr(ledger, "2024-02-10") == "120.00"
    with pytest.raises(MissingRate, match=r"EUR rate on or before 2024-01-01 \(the date its"):
        ledger.report(date(2024, 2, 10), fx="booked")


def test_one_time_fees_and_bookings_convert_at_their_own_dates(ledger: Ledger) -> None:
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.10"),
        rate("EUR", "2024-06-01", "1.20"),
        new("acme", "s1", "2024-01-01", "12000", currency="EUR", interval="year", term_months="12"),
        event("one_time_fee", "acme", "2024-06-15", subscription_id="s1", amount="1000"),
        event("one_time_fee", "bolt", "2024-06-15", amount="100", currency="EUR"),
    )
    period = ledger.movements(date(2023, 12, 31), date(2024, 6, 30)).as_json()
    # the booking at 1.10; the fees at 1.20, their own date
    assert (period["bookings_acv"], period["bookings_tcv"]) == ("13200.00", "14400.00")
    assert period["one_time_fees"] == "1320.00"
    report = ledger.report(date(2024, 6, 30), acv_policy="including_fees").as_json()
    assert (report["mrr"], report["acv"]) == ("1200.00", "15600.00")  # 12 x 1,200 + 1,200
    fixed = ledger.movements(date(2023, 12, 31), date(2024, 6, 30), fx="fixed:2024-01-01")
    assert fixed.as_json()["bookings_tcv"] == "14300.00"  # 13,000 EUR at 1.10


def test_report_by_currency(ledger: Ledger) -> None:
    eur_subscription(ledger)
    record(
        ledger,
        new("bolt", "s2", "2024-01-01", "300"),
        rate("GBP", "2024-01-01", "1.2512345678"),
        new("cove", "s3", "2024-01-01", "100", currency="GBP"),
    )
    lines = [line.as_json() for line in ledger.by_currency(date(2024, 2, 29))]
    assert [(x["currency"], x["local_mrr"], x["rate"], x["mrr"]) for x in lines] == [
        ("EUR", "1000.00", "1.2", "1200.00"),
        ("GBP", "100.00", "1.2512345678", "125.12"),
        ("USD", "300.00", "1", "300.00"),
    ]
    booked = ledger.by_currency(date(2024, 2, 29), fx="booked")
    assert [(x.currency, x.rate) for x in booked] == [("EUR", None), ("GBP", None), ("USD", None)]
    assert ledger.report(date(2024, 2, 29)).as_json()["mrr"] == "1625.12"


def test_report_by_currency_on_the_command_line(ledger: Ledger, db_url: str) -> None:
    eur_subscription(ledger)
    args = ["report", "--as-of", "2024-02-29", "--by", "currency", "--format", "json"]
    result = runner.invoke(app, [*args, "--db", db_url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "as_of": "2024-02-29",
            "position": 3,
            "fx_policy": "spot",
            "currency": "EUR",
            "local_mrr": "1000.00",
            "rate": "1.2",
            "mrr": "1200.00",
        }
    ]


def test_fx_flag_on_every_query(ledger: Ledger, db_url: str) -> None:
    eur_subscription(ledger)
    for args in (
        ["report", "--as-of", "2024-02-29"],
        ["movements", "--from", "2024-01-31", "--to", "2024-02-29"],
        ["series", "--from", "2024-01-01", "--to", "2024-02-29", "--every", "month"],
    ):
        result = runner.invoke(app, [*args, "--fx", "booked", "--format", "json", "--db", db_url])
        assert result.exit_code == 0, result.output
        found = json.loads(result.stdout)
        last = found[-1] if isinstance(found, list) else found
        assert last["fx_policy"] == "booked"
        assert last.get("mrr", last.get("end_mrr")) == "1100.00"


@pytest.mark.parametrize("given", ["bogus", "fixed:", "fixed:2024-02-30", "Spot"])
def test_an_unknown_policy_is_a_usage_error(ledger: Ledger, db_url: str, given: str) -> None:
    with pytest.raises(UsageError, match="is not spot, booked or fixed:YYYY-MM-DD"):
        ledger.report(date(2024, 1, 1), fx=given)
    result = runner.invoke(app, ["report", "--as-of", "2024-01-01", "--fx", given, "--db", db_url])
    assert result.exit_code == 2
    assert result.stderr.startswith("usage: --fx: ")


def refused(ledger: Ledger, *rows: dict[str, Any]) -> list[str]:
    return conftest.refused(ledger, *rows, source="rows.csv:", first=2)


def _rows(rows: tuple[dict[str, Any], ...]) -> list[Any]:
    from ledger.intake.rows import Row

    return [Row(f"rows.csv:{n}", r) for n, r in enumerate(rows, start=2)]


def test_a_second_live_rate_for_a_currency_and_day_is_refused(ledger: Ledger) -> None:
    record(ledger, rate("EUR", "2024-01-01", "1.10", "r1"))
    assert refused(ledger, rate("EUR", "2024-01-01", "1.11", "r2")) == [
        "rows.csv:2: fx_rate on 2024-01-01: EUR already has a live rate for that day ('r1', "
        "position 1); to correct a rate, void it and record another"
    ]
    head = ledger.head()
    record(
        ledger,
        {"event_id": "v1", "type": "void", "target_event_id": "r1"},
        rate("EUR", "2024-01-01", "1.11", "r2"),
    )
    assert ledger.head() == head + 2


def test_a_rate_is_a_decimal_above_zero_with_at_most_10_fraction_digits(ledger: Ledger) -> None:
    problems = refused(
        ledger,
        rate("EUR", "2024-01-01", "1.12345678901", "a"),
        rate("EUR", "2024-01-02", "0", "b"),
        rate("EUR", "2024-01-03", "1e3", "c"),
        rate("eur", "2024-01-04", "1.1", "d"),
        rate("USD", "2024-01-05", "1.1", "e"),
        {**rate("EUR", "2024-01-06", "1.1", "f"), "customer_id": "acme"},
    )
    assert problems == [
        "rows.csv:2: rate: '1.12345678901' is not a decimal rate with at most 10 fraction "
        "digits (units of the reporting currency for one unit of `currency`)",
        "rows.csv:3: rate: '0' is not greater than 0",
        "rows.csv:4: rate: '1e3' is not a decimal rate with at most 10 fraction digits "
        "(units of the reporting currency for one unit of `currency`)",
        "rows.csv:5: currency: 'eur' is not a three-letter currency code (ISO 4217): did you "
        "mean 'EUR'?",
        "rows.csv:6: currency: 'USD' is the ledger's reporting currency, whose rate is always "
        "1: give a rate of another currency",
        "rows.csv:7: customer_id: not a field of this event type (value 'acme'); see "
        "`arr fields fx_rate`",
    ]


def test_a_subscription_keeps_the_currency_of_its_first_new(ledger: Ledger) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "100", currency="EUR", event_id="n-s1"))
    upgrade = event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="200")
    assert refused(ledger, {**upgrade, "currency": "USD"}) == [
        "rows.csv:2: upgrade on 2024-02-01: currency 'USD' is not subscription 's1''s, EUR (set "
        "by its first new, 'n-s1'): give EUR or leave it empty"
    ]
    fee = event("one_time_fee", "acme", "2024-02-01", subscription_id="s1", amount="50")
    assert refused(ledger, {**fee, "currency": "GBP"}) == [
        "rows.csv:2: one_time_fee on 2024-02-01: currency 'GBP' is not subscription 's1''s, "
        "EUR (set by its first new, 'n-s1'): give EUR or leave it empty"
    ]
    record(ledger, {**upgrade, "currency": "EUR"}, {**fee, "event_id": "f-ok"})


def test_a_void_of_a_rate_names_no_customer(ledger: Ledger) -> None:
    record(ledger, rate("EUR", "2024-01-01", "1.10", "r1"), new("acme", "s1", "2024-01-01", "1"))
    sub = ledger.entries()
    first_new = next(r.event.event_id for r in sub if r.event.type == "new")
    assert refused(
        ledger,
        {"event_id": "v1", "type": "void", "customer_id": "acme", "target_event_id": "r1"},
        {"event_id": "v2", "type": "void", "target_event_id": first_new},
        {"event_id": "v3", "type": "void", "target_event_id": "nowhere"},
    ) == [
        "rows.csv:2: target_event_id 'r1' is an fx_rate: a void of a rate names no customer_id",
        f"rows.csv:3: target_event_id '{first_new}' belongs to customer 'acme'",
        "rows.csv:4: target_event_id 'nowhere' is not a recorded fx_rate (a void that names no "
        "customer_id voids a rate): give the customer_id of the event it voids",
    ]


def test_rates_are_idempotent_and_an_explicit_ledger_currency_repeats_a_row(
    ledger: Ledger,
) -> None:
    record(ledger, rate("EUR", "2024-01-01", "1.10", "r1"), new("acme", "s1", "2024-01-01", "1"))
    first_new = next(r.event for r in ledger.entries() if r.event.type == "new")
    again = {**first_new.entry(), "currency": "USD"}
    done = ledger.import_rows(_rows((rate("EUR", "2024-01-01", "1.10", "r1"), again)))
    assert (done.appended, done.skipped) == (0, 2)


def test_a_late_rate_restates_like_a_backdated_event(ledger: Ledger) -> None:
    with freeze_time("2024-03-01 12:00:00"):
        record(
            ledger,
            rate("EUR", "2024-01-01", "1.10", "r1"),
            new("acme", "s1", "2024-01-01", "1000", currency="EUR"),
        )
    with freeze_time("2024-03-05 12:00:00"):
        record(ledger, rate("EUR", "2024-02-01", "1.20", "late"))
    before, after = datetime(2024, 3, 2, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC)
    assert mrr(ledger, "2024-02-15", known_at=before) == "1100.00"
    assert mrr(ledger, "2024-02-15", known_at=after) == "1200.00"
    found = ledger.restatement(date(2024, 2, 15), before, after).as_json()
    assert found["figures"]["mrr"] == {"before": "1100.00", "after": "1200.00", "change": "100.00"}
    assert [
        (e["event_id"], e["type"], e["customer_id"], e["mrr_effect"]) for e in found["events"]
    ] == [("late", "fx_rate", None, "100.00")]
    with freeze_time("2024-03-07 12:00:00"):
        record(ledger, {"event_id": "v-late", "type": "void", "target_event_id": "late"})
    assert mrr(ledger, "2024-02-15") == "1100.00"
    assert mrr(ledger, "2024-02-15", known_at=after) == "1200.00"  # forever


def test_rates_are_sealed_in_the_chains(ledger: Ledger) -> None:
    eur_subscription(ledger)
    found = ledger.verify()
    assert found.findings == []


def test_the_read_model_holds_the_customers_in_the_ledgers_currency(ledger: Ledger) -> None:
    record(ledger, new("bolt", "s2", "2024-01-01", "300"))
    at = ledger.head()
    eur_subscription(ledger)
    model = ledger.read_model()
    assert model.foreign(at) == []
    assert model.foreign(ledger.head()) == ["acme"]
    assert mrr(ledger, "2024-02-29", position=at) == "300.00"
    assert mrr(ledger, "2024-02-29") == "1500.00"


def test_the_rates_stream_is_no_customers_log(ledger: Ledger, db_url: str) -> None:
    eur_subscription(ledger)
    result = runner.invoke(app, ["audit", "log", "--customer", "", "--db", db_url])
    assert result.exit_code == 1
    assert result.stderr == "error: customer_id: give a customer's id; an empty one names none\n"
