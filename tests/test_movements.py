"""Movements, retention, bookings and the series (SPEC §5-7, §8 examples 4-8, §9)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.intake.rows import Row
from projections.figures.book import Book
from projections.figures.movements import KINDS, movements, movements_over
from projections.figures.series import bounds, period_ends
from tests.conftest import event, new, record
from tests.oracle import Oracle

MOVEMENT_KEYS = [
    "from",
    "to",
    "position",
    "currency",
    "fx_policy",
    "start_mrr",
    "end_mrr",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "paused",
    "resumed",
    "fx",
    "net_new",
    "net_expansion",
    "nrr",
    "grr",
    "logo_churn_rate",
    "bookings",
    "bookings_acv",
    "bookings_tcv",
    "one_time_fees",
    "trials_started",
    "trials_converted",
]
ZEROS = dict.fromkeys((*KINDS, "fx", "net_new"), "0.00")


def arr(db_url: str, command: str) -> Any:
    """Runs `arr COMMAND --db URL`, the command written as on a shell line."""
    return CliRunner().invoke(app, [*command.split(), "--db", db_url])


def arr_json(db_url: str, command: str) -> Any:
    result = arr(db_url, f"{command} --format json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def moved(figures: dict[str, Any]) -> dict[str, Any]:
    """The five movements, fx and net new of a `movements` JSON object."""
    return {k: figures[k] for k in (*KINDS, "fx", "net_new")}


def import_all(ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    ledger.import_rows(Row(f"t:{i}", r) for i, r in enumerate(rows, 1))


# SPEC §8 examples through the CLI.


def test_7_upgrade_and_second_subscription_same_day_net_to_one_expansion(
    ledger: Ledger, db_url: str
) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        event("upgrade", "acme", "2024-03-10", subscription_id="s1", amount="150"),
        new("acme", "s2", "2024-03-10", "50"),
    )
    figures = arr_json(db_url, "movements --from 2024-02-29 --to 2024-03-31")
    assert moved(figures) == {**ZEROS, "expansion": "100.00", "net_new": "100.00"}
    days = arr_json(db_url, "movements --from 2024-03-08 --to 2024-03-11 --by day")
    assert [(d["to"], d["expansion"]) for d in days] == [
        ("2024-03-09", "0.00"),
        ("2024-03-10", "100.00"),
        ("2024-03-11", "0.00"),
    ]


def test_8_churn_then_return_is_a_reactivation_never_a_second_new(
    ledger: Ledger, db_url: str
) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        event("churn", "acme", "2024-05-01", subscription_id="s1"),
        new("acme", "s1", "2024-08-01", "120"),
    )
    year = arr_json(db_url, "movements --from 2023-12-31 --to 2024-12-31")
    assert moved(year) == {
        **ZEROS,
        "new": "100.00",
        "churn": "100.00",
        "reactivation": "120.00",
        "net_new": "120.00",
    }
    months = arr_json(db_url, "movements --from 2023-12-31 --to 2024-12-31 --by month")
    nonzero = [(m["to"], k, m[k]) for m in months for k in KINDS if m[k] != "0.00"]
    assert nonzero == [
        ("2024-01-31", "new", "100.00"),
        ("2024-05-31", "churn", "100.00"),
        ("2024-08-31", "reactivation", "120.00"),
    ]


def _hundred_customers(ledger: Ledger) -> None:
    """SPEC §8 example 6: 30 × 3-year, 30 × 2-year, 40 × 1-year contracts, billed yearly."""
    rows = []
    for n in range(100):
        years, yearly = (3, "30000") if n < 30 else (2, "40000") if n < 60 else (1, "50000")
        term = str(12 * years)
        rows.append(
            new(f"c{n:03d}", f"s{n:03d}", "2024-01-01", yearly, interval="year", term_months=term)
        )
    import_all(ledger, rows)


def test_6_one_year_terms_lapse_as_churn_on_their_term_end(ledger: Ledger, db_url: str) -> None:
    _hundred_customers(ledger)
    day = arr_json(db_url, "movements --from 2024-12-31 --to 2025-01-01")
    # 40 × 50,000 / 12 = 166,666.67 of 4,100,000 / 12 = 341,666.67 lapses that day
    assert moved(day) == {**ZEROS, "churn": "166666.67", "net_new": "-166666.67"}
    assert (day["start_mrr"], day["end_mrr"]) == ("341666.67", "175000.00")
    # NRR = GRR = 2,100,000 / 4,100,000; 40 of 100 customers lost
    assert (day["nrr"], day["grr"], day["logo_churn_rate"]) == ("0.5122", "0.5122", "0.4000")
    assert (day["net_expansion"], day["bookings"], day["bookings_acv"]) == ("0.00", 0, None)


def test_6_bookings_of_the_hundred_contracts(ledger: Ledger, db_url: str) -> None:
    _hundred_customers(ledger)
    day = arr_json(db_url, "movements --from 2023-12-31 --to 2024-01-01")
    assert moved(day) == {**ZEROS, "new": "341666.67", "net_new": "341666.67"}
    # ACV: (30 × 30,000 + 30 × 40,000 + 40 × 50,000) / 100; TCV: 30 × 90k + 30 × 80k + 40 × 50k
    assert (day["bookings"], day["bookings_acv"], day["bookings_tcv"]) == (
        100,
        "41000.00",
        "7100000.00",
    )
    assert (day["nrr"], day["grr"], day["logo_churn_rate"]) == (None, None, None)


def test_6_series_every_year_shows_acv_and_lapses(ledger: Ledger, db_url: str) -> None:
    _hundred_customers(ledger)
    rows = arr_json(db_url, "series --from 2024-06-30 --to 2026-06-30 --every year")
    assert [(r["as_of"], r["from"], r["to"]) for r in rows] == [
        ("2024-12-31", "2024-06-29", "2024-12-31"),
        ("2025-12-31", "2024-12-31", "2025-12-31"),
        ("2026-06-30", "2025-12-31", "2026-06-30"),
    ]
    assert [r["acv"] for r in rows] == ["41000.00", "35000.00", "30000.00"]
    # the 2-year contracts lapse on 2026-01-01: 30 × 40,000 / 12
    assert [r["churn"] for r in rows] == ["0.00", "166666.67", "100000.00"]
    assert [r["mrr"] for r in rows] == ["341666.67", "175000.00", "75000.00"]


def test_4_and_5_tcv_of_a_booking(ledger: Ledger, db_url: str) -> None:
    record(
        ledger,
        new("a", "s1", "2024-01-01", "40000", interval="year", term_months="12"),
        event("one_time_fee", "a", "2024-01-01", subscription_id="s1", amount="10000"),
        new("b", "s2", "2024-02-01", "30000", interval="36", term_months="36"),
    )
    four = arr_json(db_url, "movements --from 2023-12-31 --to 2024-01-01")
    assert (four["bookings"], four["bookings_acv"], four["bookings_tcv"]) == (
        1,
        "40000.00",
        "50000.00",
    )
    assert four["one_time_fees"] == "10000.00"
    with_fees = arr_json(
        db_url, "movements --from 2023-12-31 --to 2024-01-01 --acv-policy including_fees"
    )
    assert with_fees["bookings_acv"] == "50000.00"
    five = arr_json(db_url, "movements --from 2024-01-31 --to 2024-02-01")
    assert (five["bookings_acv"], five["bookings_tcv"], five["new"]) == (
        "10000.00",
        "30000.00",
        "833.33",
    )


# Movements of one customer.


def test_cancelling_one_of_two_subscriptions_is_contraction_not_churn(ledger: Ledger) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        new("acme", "s2", "2024-01-01", "40"),
        event("churn", "acme", "2024-04-01", subscription_id="s2"),
    )
    figures = ledger.movements(date(2024, 3, 31), date(2024, 4, 30)).as_json()
    assert moved(figures) == {**ZEROS, "contraction": "40.00", "net_new": "-40.00"}
    assert (figures["logo_churn_rate"], figures["nrr"], figures["grr"]) == (
        "0.0000",
        "0.7143",  # 100 / 140
        "0.7143",
    )
    assert figures["net_expansion"] == "-40.00"


def test_renewal_at_the_same_price_moves_nothing_and_at_a_new_price_moves(
    ledger: Ledger,
) -> None:
    record(
        ledger,
        new("same", "s1", "2024-01-01", "100", term_months="12"),
        new("up", "s2", "2024-01-01", "100", term_months="12"),
        new("down", "s3", "2024-01-01", "100", term_months="12"),
        event("renewal", "same", "2025-01-01", subscription_id="s1"),
        event("renewal", "up", "2025-01-01", subscription_id="s2", amount="130"),
        event("renewal", "down", "2025-01-01", subscription_id="s3", amount="75"),
    )
    figures = ledger.movements(date(2024, 12, 31), date(2025, 1, 1)).as_json()
    assert moved(figures) == {
        **ZEROS,
        "expansion": "30.00",
        "contraction": "25.00",
        "net_new": "5.00",
    }
    assert (figures["bookings"], figures["bookings_tcv"]) == (3, "3660.00")  # 12 × (100+130+75)
    assert (figures["nrr"], figures["grr"]) == ("1.0167", "0.9167")  # 305 / 300, 275 / 300


def test_by_customer_shows_who_churned_and_who_expanded(ledger: Ledger, db_url: str) -> None:
    record(
        ledger,
        new("gone", "s1", "2024-01-01", "100"),
        new("grew", "s2", "2024-01-01", "200"),
        new("idle", "s3", "2023-01-01", "50"),
        event("churn", "idle", "2023-06-01", subscription_id="s3"),
        event("churn", "gone", "2024-02-10", subscription_id="s1"),
        event("upgrade", "grew", "2024-02-20", subscription_id="s2", amount="260"),
    )
    rows = arr_json(db_url, "movements --from 2024-01-31 --to 2024-02-29 --by customer")
    assert [(r["customer_id"], r["churn"], r["expansion"], r["net_new"]) for r in rows] == [
        ("gone", "100.00", "0.00", "-100.00"),
        ("grew", "0.00", "60.00", "60.00"),
    ]
    csv = arr(db_url, "movements --from 2024-01-31 --to 2024-02-29 --by customer --format csv")
    assert csv.stdout.splitlines()[1] == (
        "gone,2024-01-31,2024-02-29,6,USD,spot,100.00,0.00,0.00,0.00,0.00,100.00,0.00,0.00,0.00,"
        "0.00,-100.00,"
    )


def test_backdated_churn_changes_movements_known_now_not_known_before(ledger: Ledger) -> None:
    with freeze_time("2024-01-01 09:00:00"):
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    with freeze_time("2024-03-05 10:00:00"):
        record(ledger, event("churn", "acme", "2024-02-01", subscription_id="s1"))
    february = date(2024, 1, 31), date(2024, 2, 29)
    before = ledger.movements(*february, known_at=datetime(2024, 3, 1, tzinfo=UTC)).as_json()
    assert moved(before) == ZEROS
    assert (before["position"], before["end_mrr"], before["logo_churn_rate"]) == (
        1,
        "1000.00",
        "0.0000",
    )
    now = ledger.movements(*february).as_json()
    assert moved(now) == {**ZEROS, "churn": "1000.00", "net_new": "-1000.00"}
    assert (now["position"], now["logo_churn_rate"], now["nrr"]) == (2, "1.0000", "0.0000")
    assert ledger.movements(*february, position=1).as_json() == before
    rows = ledger.series(date(2024, 1, 1), date(2024, 2, 29), "month", position=1)
    assert [r.as_json()["churn"] for r in rows] == ["0.00", "0.00"]


# Periods and the command line.


def test_movements_json_has_exactly_the_spec_keys_in_order(ledger: Ledger, db_url: str) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    figures = arr_json(db_url, "movements --from 2024-01-01 --to 2024-01-01")
    assert list(figures) == MOVEMENT_KEYS
    assert moved(figures) == ZEROS  # from = to: an empty period
    assert (figures["nrr"], figures["bookings"], figures["bookings_tcv"]) == ("1.0000", 0, "0.00")


def test_from_after_to_is_a_usage_error(ledger: Ledger, db_url: str) -> None:
    for command in ("movements", "series --every month"):
        result = arr(db_url, f"{command} --from 2024-02-01 --to 2024-01-31")
        assert result.exit_code == 2
        assert "--from 2024-02-01 is after --to 2024-01-31" in result.stderr
    assert arr(db_url, "series --from 2024-01-01 --to 2024-01-31 --every fortnight").exit_code == 2


def test_series_rows_carry_report_and_movement_keys(ledger: Ledger, db_url: str) -> None:
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        event("upgrade", "acme", "2024-02-15", subscription_id="s1", amount="130"),
    )
    rows = arr_json(db_url, "series --from 2024-01-01 --to 2024-03-10 --every month")
    report_keys = list(ledger.report(date(2024, 1, 1)).as_json())
    trailing = ["nrr_12m", "grr_12m", "logo_churn_rate_12m"]
    assert list(rows[0]) == report_keys + MOVEMENT_KEYS[:2] + MOVEMENT_KEYS[5:] + trailing
    assert [(r["as_of"], r["from"], r["mrr"], r["new"], r["expansion"]) for r in rows] == [
        ("2024-01-31", "2023-12-31", "100.00", "100.00", "0.00"),
        ("2024-02-29", "2024-01-31", "130.00", "0.00", "30.00"),
        ("2024-03-10", "2024-02-29", "130.00", "0.00", "0.00"),
    ]
    csv = arr(
        db_url, "series --from 2024-01-01 --to 2024-03-10 --every month --format csv"
    ).stdout.splitlines()
    assert len(csv) == 4 and csv[0].startswith("as_of,position,currency,fx_policy,mrr,arr,")


def test_a_series_reads_the_read_model_and_replays_nothing(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "100"))
    replays, replay = [], Book.replay

    def counted(*args: Any) -> Book:
        replays.append(args)
        return replay(*args)

    monkeypatch.setattr(Book, "replay", counted)
    rows = ledger.series(date(2024, 1, 1), date(2028, 12, 31), "month")
    assert (len(rows), len(replays)) == (60, 0)
    assert rows[-1].as_json()["mrr"] == "100.00"


def test_period_ends_weeks_end_on_sunday_and_to_is_always_last() -> None:
    assert period_ends(date(2024, 11, 20), date(2024, 12, 4), "week") == [
        date(2024, 11, 24),
        date(2024, 12, 1),
        date(2024, 12, 4),
    ]
    assert period_ends(date(2024, 2, 29), date(2024, 4, 30), "month") == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]
    assert period_ends(date(2024, 5, 1), date(2025, 2, 1), "quarter") == [
        date(2024, 6, 30),
        date(2024, 9, 30),
        date(2024, 12, 31),
        date(2025, 2, 1),
    ]
    assert period_ends(date(2024, 1, 1), date(2024, 1, 1), "year") == [date(2024, 1, 1)]
    assert bounds(date(2024, 1, 31), date(2024, 3, 15), "month") == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 15),
    ]


# Random valid ledgers.


@pytest.fixture(params=[11, 29])
def sampled(request: pytest.FixtureRequest, ledger: Ledger) -> tuple[Ledger, list[dict[str, str]]]:
    rows = sample_events(customers=200, years=4, seed=request.param)
    import_all(ledger, rows)
    return ledger, rows


def test_bridge_closes_every_month_at_every_position(
    sampled: tuple[Ledger, list[dict[str, str]]],
) -> None:
    ledger, _ = sampled
    head = ledger.head()
    months = period_ends(date(2020, 12, 31), date(2025, 6, 30), "month")
    for position in (head // 4, head // 2, head):
        book = ledger.book(position=position)
        for found in movements_over(book, months):
            assert found.end_mrr - found.start_mrr == found.net_new
            assert found.end_mrr == sum((a.mrr_on(found.end) for a in book.accounts), Fraction(0))
    for row in ledger.series(date(2021, 1, 1), date(2025, 6, 30), "month"):
        assert row.movements.end_mrr - row.movements.start_mrr == row.movements.net_new
        assert row.movements.end_mrr == row.report.mrr


def test_a_period_split_in_two_moves_as_the_whole(
    sampled: tuple[Ledger, list[dict[str, str]]],
) -> None:
    ledger, _ = sampled
    book, rng = ledger.book(), random.Random(5)
    for _ in range(25):
        start = date(2021, 1, 1) + timedelta(days=rng.randrange(1400))
        middle = start + timedelta(days=rng.randrange(200))
        end = middle + timedelta(days=rng.randrange(200))
        whole = movements(book, start, end)
        first, second = movements_over(book, [start, middle, end])
        for kind in (*KINDS, "bookings", "bookings_tcv", "one_time_fees"):
            assert getattr(whole, kind) == getattr(first, kind) + getattr(second, kind)


def test_movements_and_series_agree_with_the_oracle(ledger: Ledger) -> None:
    rows = sample_events(customers=40, years=3, seed=3)
    import_all(ledger, rows)
    for position in (len(rows) // 2, ledger.head()):
        oracle = Oracle(rows, position, until=date(2024, 12, 31))
        book = ledger.book(position=position)
        for policy in ("recurring", "including_fees"):
            for start, end in (
                (date(2020, 12, 31), date(2024, 1, 1)),
                (date(2022, 2, 3), date(2022, 9, 30)),
            ):
                assert movements(book, start, end, policy).as_json() == oracle.movements(
                    start, end, policy
                )
        found = ledger.series(date(2021, 1, 10), date(2023, 12, 20), "quarter", position=position)
        assert [r.as_json() for r in found] == oracle.series(
            date(2021, 1, 10), date(2023, 12, 20), "quarter", "recurring"
        )
