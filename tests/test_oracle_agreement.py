"""The ledger agrees with an independent, naive reading of the SPEC (`tests/oracle.py`).

Random valid ledgers — realistic ones from `ledger.app.sample.sample_events`, awkward ones from
`tests.edge_ledger.edge_events` — are imported, then `report`,
`movements` and `series` are compared key by key with the oracle, at the latest position
and at earlier ones, for dates chosen where figures change: month ends, term ends (the
first day after a lapse), churns, restarts. The SQLite side runs more and larger ledgers
than the PostgreSQL side; both run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.intake.rows import Row
from tests.conftest import _drop_schema
from tests.edge_ledger import edge_events
from tests.oracle import Oracle, add_months, period_ends

UNTIL = date(2025, 3, 31)  # past the sample's 4-year horizon (2021-01-01 .. 2025-01-01)
POLICIES = ("recurring", "including_fees")
REPORT_KEYS = [
    "as_of", "position", "currency", "fx_policy", "mrr", "arr", "active_customers",
    "active_contracts", "arpa", "acv", "acv_policy", "acv_arr_ratio",
    "trialing_contracts", "paused_customers", "discounts",
]  # fmt: skip
MOVEMENTS_KEYS = [
    "from", "to", "position", "currency", "fx_policy", "start_mrr", "end_mrr", "new",
    "expansion", "contraction", "churn", "reactivation", "paused", "resumed", "fx", "net_new",
    "net_expansion", "nrr", "grr", "logo_churn_rate", "bookings", "bookings_acv",
    "bookings_tcv", "one_time_fees", "trials_started", "trials_converted",
]  # fmt: skip


def _size(db_url: str, kind: str) -> int:
    """Customers per ledger: larger on the embedded database, smaller on the server."""
    customers = 300 if db_url.startswith("sqlite") else 120
    return customers if kind == "sample" else customers // 3


@cache
def _rows(kind: str, customers: int, seed: int) -> tuple[dict[str, str], ...]:
    if kind == "sample":
        return tuple(sample_events(customers, years=4, seed=seed))
    return tuple(edge_events(customers, seed=seed))


@cache
def _oracle(kind: str, customers: int, seed: int, cutoff: int | None) -> Oracle:
    return Oracle([dict(r) for r in _rows(kind, customers, seed)], cutoff, until=UNTIL)


def _import(ledger: Ledger, rows: tuple[dict[str, str], ...] | list[dict[str, str]]) -> None:
    """Imports in a few batches, as a ledger grows: positions follow the rows."""
    for begin in range(0, len(rows), 600):
        batch = rows[begin : begin + 600]
        ledger.import_rows(Row(f"sample:{begin + n}", dict(r)) for n, r in enumerate(batch, 1))
    assert ledger.head() == len(rows)


def _positions(head: int) -> list[int]:
    """The latest position, the middle, and an early one."""
    return [head, head // 2, head // 6]


def _days(oracle: Oracle, rng: random.Random, count: int) -> list[date]:
    """Days where figures change: month ends, term ends, days a customer's MRR changed."""
    month_ends = [add_months(date(2021, 2, 1), n) - timedelta(days=1) for n in range(0, 48, 7)]
    term_ends = [
        add_months(b.day, b.term_months)
        for bookings in oracle.bookings.values()
        for b in bookings
        if b.term_months
    ]
    changes = sorted({day for days in oracle.changes.values() for day in days})
    picked = rng.sample(term_ends, min(count, len(term_ends)))
    picked += rng.sample(changes, min(count, len(changes)))
    picked += [rng.choice(oracle.days) for _ in range(3)]
    return sorted({d for d in month_ends + picked if d <= UNTIL})


def _periods(oracle: Oracle, rng: random.Random) -> list[tuple[date, date]]:
    """Whole history, years, quarters, random spans, single days at changes, empty ones."""
    days = _days(oracle, rng, 4)
    periods = [(date(2020, 12, 1), date(2025, 1, 31)), (date(2022, 12, 31), date(2023, 12, 31))]
    periods += [(date(2023, 3, 31), date(2023, 6, 30)), (date(2021, 12, 31), date(2024, 3, 31))]
    periods += [(d - timedelta(days=1), d) for d in days[::3]]
    periods += [(d, d) for d in days[:2]]
    for _ in range(4):
        start, end = sorted(rng.sample(oracle.days[:-1], 2))
        periods.append((start, min(end, UNTIL)))
    return periods


@pytest.mark.parametrize(("kind", "seed"), [("sample", 7), ("edge", 1)])
def test_report_agrees_with_the_oracle(ledger: Ledger, db_url: str, kind: str, seed: int) -> None:
    customers = _size(db_url, kind)
    rows = _rows(kind, customers, seed)
    _import(ledger, rows)
    rng = random.Random(seed)
    for position in _positions(len(rows)):
        oracle = _oracle(kind, customers, seed, position)
        for day in _days(oracle, rng, 4):
            for policy in POLICIES:
                got = ledger.report(day, position=position, acv_policy=policy).as_json()  # type: ignore[arg-type]
                assert list(got) == REPORT_KEYS
                assert got == oracle.report(day, policy), (position, day, policy)


@pytest.mark.parametrize(("kind", "seed"), [("sample", 2024), ("edge", 2)])
def test_movements_agree_with_the_oracle(ledger: Ledger, db_url: str, kind: str, seed: int) -> None:
    customers = _size(db_url, kind)
    rows = _rows(kind, customers, seed)
    _import(ledger, rows)
    rng = random.Random(seed + 1)
    for position in _positions(len(rows)):
        oracle = _oracle(kind, customers, seed, position)
        for start, end in _periods(oracle, rng):
            policy = rng.choice(POLICIES)
            got = ledger.movements(start, end, position=position, acv_policy=policy).as_json()  # type: ignore[arg-type]
            assert list(got) == MOVEMENTS_KEYS
            assert got == oracle.movements(start, end, policy), (position, start, end, policy)


@pytest.mark.parametrize(("kind", "seed"), [("edge", 6)])
def test_figures_agree_with_the_oracle_while_the_ledger_grows(
    ledger: Ledger, db_url: str, kind: str, seed: int
) -> None:
    """Queries between imports: late and backdated events reach figures already asked for."""
    customers = _size(db_url, kind) // 2
    rows = _rows(kind, customers, seed)
    rng = random.Random(seed)
    cuts = [len(rows) // 4, len(rows) // 2, len(rows) * 3 // 4, len(rows)]
    for begin, end in zip([0, *cuts], cuts, strict=False):
        ledger.import_rows(Row(f"row{n}", dict(r)) for n, r in enumerate(rows[begin:end], 1))
        now, before = _oracle(kind, customers, seed, end), _oracle(kind, customers, seed, begin)
        for day in _days(now, rng, 2):
            policy = rng.choice(POLICIES)
            assert ledger.report(day, acv_policy=policy).as_json() == now.report(day, policy)  # type: ignore[arg-type]
            earlier = ledger.report(day, position=begin, acv_policy=policy).as_json()  # type: ignore[arg-type]
            assert earlier == before.report(day, policy), (begin, day, policy)
        start, stop = sorted(rng.sample(now.days[:-1], 2))
        assert ledger.movements(start, stop).as_json() == now.movements(start, stop)


@pytest.mark.parametrize(
    ("every", "start", "end"),
    [
        ("month", date(2021, 1, 1), date(2024, 12, 31)),
        ("quarter", date(2021, 2, 10), date(2025, 1, 15)),
        ("year", date(2020, 12, 31), date(2025, 3, 1)),
        ("week", date(2023, 1, 4), date(2023, 6, 30)),
        ("day", date(2024, 1, 1), date(2024, 1, 20)),
    ],
)
def test_series_rows_agree_with_the_oracle(
    ledger: Ledger, db_url: str, every: str, start: date, end: date
) -> None:
    customers = _size(db_url, "edge")
    rows = _rows("edge", customers, 3)
    _import(ledger, rows)
    for position, policy in ((len(rows), "including_fees"), (len(rows) // 3, "recurring")):
        oracle = _oracle("edge", customers, 3, position)
        got = [
            row.as_json()
            for row in ledger.series(start, end, every, position=position, acv_policy=policy)  # type: ignore[arg-type]
        ]
        assert [r["as_of"] for r in got] == [d.isoformat() for d in period_ends(start, end, every)]
        assert got == oracle.series(start, end, every, policy)


def test_the_cli_json_agrees_with_the_oracle(ledger: Ledger, db_url: str) -> None:
    """`arr report`, `arr movements`, `arr series --format json`: the SPEC §9 outputs."""
    customers = _size(db_url, "edge") // 2
    rows = _rows("edge", customers, 8)
    _import(ledger, rows)
    position = len(rows) // 2
    oracle, early = _oracle("edge", customers, 8, None), _oracle("edge", customers, 8, position)

    def arr(*args: str) -> Any:
        result = CliRunner().invoke(app, [*args, "--db", db_url, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert arr("report", "--as-of", "2023-06-30") == oracle.report(date(2023, 6, 30))
    got = arr("report", "--as-of", "2024-02-29", "--acv-policy", "including_fees")
    assert got == oracle.report(date(2024, 2, 29), "including_fees")
    got = arr(
        "movements", "--from", "2022-12-31", "--to", "2023-12-31", "--position", str(position)
    )
    assert got == early.movements(date(2022, 12, 31), date(2023, 12, 31))
    got = arr("series", "--from", "2023-01-01", "--to", "2023-12-15", "--every", "quarter")
    assert got == oracle.series(date(2023, 1, 1), date(2023, 12, 15), "quarter", "recurring")


@pytest.fixture
def second_url(db_url: str) -> Iterator[str]:
    """Another empty ledger on the same database as `db_url`."""
    if db_url.startswith("sqlite"):
        yield db_url.replace("ledger.db", "prefix.db")
        return
    base, _, schema = db_url.rpartition("?schema=")
    yield f"{base}?schema={schema}_prefix"
    _drop_schema(f"{schema}_prefix")


@pytest.mark.parametrize(("kind", "seed"), [("sample", 5), ("edge", 4)])
def test_figures_at_a_position_are_those_of_a_ledger_that_only_had_those_events(
    ledger: Ledger, db_url: str, second_url: str, kind: str, seed: int
) -> None:
    customers = _size(db_url, kind) // 2
    rows = _rows(kind, customers, seed)
    _import(ledger, rows)
    rng = random.Random(seed)
    oracle = _oracle(kind, customers, seed, None)
    for position in (len(rows) * 2 // 3, len(rows) // 4):
        with Ledger.init(second_url) as partial:
            _import(partial, rows[:position])
            for day in _days(oracle, rng, 3):
                policy = rng.choice(POLICIES)
                earlier = ledger.report(day, position=position, acv_policy=policy)  # type: ignore[arg-type]
                alone = partial.report(day, acv_policy=policy)  # type: ignore[arg-type]
                assert earlier.as_json() == alone.as_json(), (position, day, policy)
            for start, end in _periods(oracle, rng)[:6]:
                earlier_moves = ledger.movements(start, end, position=position)
                assert earlier_moves.as_json() == partial.movements(start, end).as_json()
        _forget(second_url)


def _forget(url: str) -> None:
    """Empties the second ledger before it receives another prefix."""
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink()
    else:
        _drop_schema(url.rpartition("?schema=")[2])


# The oracle itself reproduces the SPEC's worked examples (§8), so agreement means something.


def _event(kind: str, sub: str, day: str, **fields: str) -> dict[str, str]:
    base = {"event_id": f"{kind}-{sub}-{day}", "type": kind, "customer_id": "acme"}
    return base | {"subscription_id": sub, "effective_date": day, **fields}


def test_the_oracle_gives_the_worked_examples_1_2_4_5() -> None:
    monthly = Oracle([_event("new", "s1", "2024-01-01", amount="1000")])
    assert (monthly.report(date(2024, 1, 31))["arr"]) == "12000.00"
    annual = Oracle([_event("new", "s1", "2024-01-01", amount="12000", interval="year")])
    assert (annual.report(date(2024, 1, 31))["mrr"]) == "1000.00"
    contract = Oracle(
        [
            _event("new", "s1", "2024-01-01", amount="40000", interval="year", term_months="12"),
            _event("one_time_fee", "s1", "2024-01-01", amount="10000"),
        ]
    )
    with_fees = contract.report(date(2024, 6, 30), "including_fees")
    assert (with_fees["arr"], with_fees["acv"], with_fees["acv_arr_ratio"]) == (
        "40000.00",
        "50000.00",
        "1.2500",
    )
    assert contract.movements(date(2023, 12, 31), date(2024, 1, 1))["bookings_tcv"] == "50000.00"
    once = Oracle(
        [_event("new", "s1", "2024-01-01", amount="30000", interval="36", term_months="36")]
    )
    figures = once.report(date(2025, 1, 1))
    assert (figures["acv"], figures["arr"]) == ("10000.00", "10000.00")


def test_the_oracle_gives_the_worked_examples_6_7_8() -> None:
    rows = [
        _event("new", f"s{n}", "2024-01-01", amount=yearly, interval="year", term_months=term)
        | {"customer_id": f"c{n}"}
        for n, (yearly, term) in enumerate(
            [("30000", "36")] * 30 + [("40000", "24")] * 30 + [("50000", "12")] * 40
        )
    ]
    hundred = Oracle(rows)
    assert [hundred.report(date(y, 6, 30))["acv"] for y in (2024, 2025, 2026)] == [
        "41000.00",
        "35000.00",
        "30000.00",
    ]
    assert hundred.movements(date(2024, 12, 31), date(2025, 1, 1))["churn"] == "166666.67"
    story = Oracle(
        [
            _event("new", "s1", "2024-01-01", amount="100"),
            _event("upgrade", "s1", "2024-03-10", amount="150"),
            _event("new", "s2", "2024-03-10", amount="50"),
            _event("churn", "s1", "2024-05-01"),
            _event("churn", "s2", "2024-05-01"),
            _event("new", "s1", "2024-08-01", amount="100"),
        ]
    )
    day = story.movements(date(2024, 3, 9), date(2024, 3, 10))
    assert (day["expansion"], day["new"]) == ("100.00", "0.00")
    year = story.movements(date(2024, 1, 1), date(2024, 12, 31))
    assert (year["churn"], year["reactivation"], year["new"]) == ("200.00", "100.00", "0.00")
