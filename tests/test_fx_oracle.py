"""Currencies and exchange rates (SPEC §10): the ledger agrees with the naive oracle.

First the oracle alone gives the SPEC's worked examples 10-12 (§8) and keeps §10's
identities on random ledgers, so that agreement means something. Then random valid
multi-currency ledgers (`tests.fx_ledgers`: EUR and GBP customers, daily rates, rates
recorded late, voided and replaced, GBP's first months backfilled late) are imported, and
`report`, `report --by currency`, `movements` and `series` are compared key by key with the
oracle under `spot`, `booked` and `fixed` at two days, at the head and at earlier
positions. Where a needed rate is missing at a position, both must say so (`MissingRate`).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from fractions import Fraction
from functools import cache, partial
from itertools import pairwise
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.domain.errors import MissingRate as LedgerMissingRate
from ledger.intake.rows import Row
from projections.figures.contract_value import AcvPolicy
from projections.figures.series import Every
from tests.conftest import POSTGRES, _drop_schema, _postgres_dsn, rate
from tests.fx_ledgers import fx_events
from tests.oracle import ZERO, MissingRate, Oracle, add_months

UNTIL = date(2025, 3, 31)
FIXED = ("fixed:2022-06-15", "fixed:2024-02-29")
POLICIES = ("spot", "booked", *FIXED)
ACV_POLICIES: tuple[AcvPolicy, ...] = ("recurring", "including_fees")
BATCH = 600
LAST = 7
"""The last rows, the last rates recorded late, come in an import of their own."""


# The oracle alone: SPEC §8 examples 10-12.


def _event(kind: str, sub: str, day: str, **fields: str) -> dict[str, str]:
    base = {"event_id": f"{kind}-{sub}-{day}", "type": kind, "customer_id": "acme"}
    return base | {"subscription_id": sub, "effective_date": day, **fields}


EXAMPLE_10 = [
    rate("EUR", "2024-01-01", "1.10"),
    rate("EUR", "2024-02-01", "1.20"),
    _event("new", "s1", "2024-01-01", amount="1000", currency="EUR"),
]
EXAMPLE_11 = [*EXAMPLE_10, _event("upgrade", "s1", "2024-02-01", amount="1500")]
EXAMPLE_12 = [
    _event("new", "s1", "2024-01-01", amount="1000", currency="GBP"),
    rate("GBP", "2024-01-15", "1.25"),
]
JAN, FEB = date(2024, 1, 31), date(2024, 2, 29)
QUIET = ("new", "expansion", "contraction", "churn", "reactivation")


def test_the_oracle_gives_worked_example_10() -> None:
    oracle = Oracle(EXAMPLE_10, until=date(2024, 12, 31))
    for fx, mrrs, moved in (
        ("spot", ("1100.00", "1200.00"), "100.00"),
        ("booked", ("1100.00", "1100.00"), "0.00"),
        ("fixed:2024-02-01", ("1200.00", "1200.00"), "0.00"),
    ):
        assert (oracle.report(JAN, fx=fx)["mrr"], oracle.report(FEB, fx=fx)["mrr"]) == mrrs
        figures = oracle.movements(JAN, FEB, fx=fx)
        assert figures["fx"] == moved, fx
        assert [figures[k] for k in QUIET] == ["0.00"] * 5, fx
        assert figures["net_new"] == moved and figures["fx_policy"] == fx
    assert oracle.report(FEB, fx="spot")["fx_policy"] == "spot"


def test_the_oracle_gives_worked_example_11() -> None:
    oracle = Oracle(EXAMPLE_11, until=date(2024, 12, 31))
    for fx in ("booked", "spot"):
        assert oracle.report(FEB, fx=fx)["mrr"] == "1800.00"
        day = oracle.movements(JAN, date(2024, 2, 1), fx=fx)
        assert (day["expansion"], day["fx"]) == ("600.00", "100.00"), fx
        assert [day[k] for k in ("new", "contraction", "churn", "reactivation")] == ["0.00"] * 4
        assert day["net_new"] == "700.00"


def test_the_oracle_gives_worked_example_12() -> None:
    oracle = Oracle(EXAMPLE_12, until=date(2024, 12, 31))
    with pytest.raises(MissingRate) as raised:
        oracle.report(date(2024, 1, 10))
    assert (raised.value.currency, raised.value.day) == ("GBP", date(2024, 1, 10))
    assert oracle.report(date(2024, 1, 15))["mrr"] == "1250.00"
    with pytest.raises(MissingRate) as raised:
        oracle.report(date(2024, 1, 20), fx="booked")  # priced on 2024-01-01
    assert (raised.value.currency, raised.value.day) == ("GBP", date(2024, 1, 1))
    with pytest.raises(MissingRate):
        oracle.movements(date(2024, 1, 10), date(2024, 1, 20))


def test_the_oracle_converts_fees_bookings_and_retention() -> None:
    """Fees and bookings at their own dates (a fee before go-live: the booking's), at D0
    under `fixed`; retention on converted MRR; counts whatever the rates."""
    rows = [
        *EXAMPLE_10,
        rate("EUR", "2024-03-01", "1.50"),
        _event("one_time_fee", "s1", "2023-12-20", amount="100", description="setup"),
        _event("one_time_fee", "s1", "2024-02-10", amount="100", description="training"),
        {
            "event_id": "lone-fee",
            "type": "one_time_fee",
            "customer_id": "other",
            "effective_date": "2024-03-05",
            "amount": "10",
            "currency": "EUR",
        },
    ]
    oracle = Oracle(rows, until=date(2024, 12, 31))
    whole = oracle.movements(date(2023, 12, 1), date(2024, 3, 31), "including_fees")
    # the setup fee at the booking date's 1.10, the training fee at 1.20, the lone fee 1.50
    assert whole["one_time_fees"] == "245.00"
    assert whole["bookings_tcv"] == "1330.00"  # one month, 1,100, and the fees, 230
    assert whole["bookings_acv"] == "13430.00"  # 12,000 × 1.10 + 230 (evergreen)
    fixed = oracle.movements(date(2023, 12, 1), date(2024, 3, 31), fx="fixed:2024-03-01")
    assert fixed["one_time_fees"] == "315.00"
    spring = oracle.movements(JAN, date(2024, 3, 31), fx="spot")
    assert (spring["nrr"], spring["grr"], spring["net_expansion"]) == ("1.3636", "1.0000", "400.00")
    assert oracle.movements(JAN, date(2024, 3, 31), fx="booked")["nrr"] == "1.0000"
    report = oracle.report(date(2024, 3, 31), "including_fees", fx="spot")
    assert (report["active_customers"], report["acv"]) == (1, "18230.00")  # 18,000 + 230
    assert oracle.by_currency(date(2024, 3, 31)) == [
        {
            "as_of": "2024-03-31",
            "position": 7,
            "fx_policy": "spot",
            "currency": "EUR",
            "local_mrr": "1000.00",
            "rate": "1.5",
            "mrr": "1500.00",
        }
    ]
    assert oracle.by_currency(date(2024, 3, 31), "booked")[0]["rate"] is None


def test_the_oracle_uses_the_rate_known_at_the_position_and_the_live_one() -> None:
    rows = [
        *EXAMPLE_10,
        {"event_id": "void-feb", "type": "void", "target_event_id": "fx-EUR-2024-02-01"},
        rate("EUR", "2024-02-01", "1.30") | {"event_id": "fx-EUR-2024-02-01-fixed"},
    ]
    assert Oracle(rows, 3).report(FEB)["mrr"] == "1200.00"
    assert Oracle(rows, 4).report(FEB)["mrr"] == "1100.00"  # voided: January's rate holds
    assert Oracle(rows).report(FEB)["mrr"] == "1300.00"
    assert Oracle(rows, 3).report(FEB, fx="fixed:2024-02-01")["mrr"] == "1200.00"


def test_the_oracle_booked_rate_of_a_subscription_that_ends_is_the_day_befores() -> None:
    """s1 (EUR) churns on 2024-03-01, s2 (USD) goes on: a contraction of s1's MRR at the
    day's rate, `prev'`; under `booked` that is its rate for the day before."""
    rows = [
        *EXAMPLE_11,
        rate("EUR", "2024-03-01", "1.50"),
        _event("churn", "s1", "2024-03-01"),
        _event("new", "s2", "2024-02-15", amount="100"),
    ]
    oracle = Oracle(rows, until=date(2024, 12, 31))
    day = oracle.movements(FEB, date(2024, 3, 1), fx="booked")
    assert (day["contraction"], day["fx"], day["net_new"]) == ("1800.00", "0.00", "-1800.00")
    day = oracle.movements(FEB, date(2024, 3, 1), fx="spot")
    assert (day["contraction"], day["fx"], day["net_new"]) == ("2250.00", "450.00", "-1800.00")


@pytest.mark.parametrize(("kind", "seed"), [("sample", 11), ("edge", 12)])
def test_the_oracle_keeps_the_bridge_under_every_policy(kind: str, seed: int) -> None:
    """§10's bridge exactly; `fx` 0 under `fixed`; counts never depend on rates; the
    subscriptions' converted MRR and the `--by currency` lines add up to the report."""
    rows = fx_events(60 if kind == "sample" else 30, seed=seed, kind=kind)
    oracle = Oracle(rows, until=UNTIL)
    rng = random.Random(seed)
    for _ in range(12):
        start, end = sorted(rng.sample(oracle.days[:-1], 2))
        for fx in POLICIES:
            assert oracle.bridge(start, end, fx) == oracle.mrr(end, fx) - oracle.mrr(start, fx)
            if fx.startswith("fixed"):
                assert oracle.movements(start, end, fx=fx)["fx"] == "0.00"
        counts = {
            (r["active_customers"], r["active_contracts"])
            for fx in POLICIES
            for r in [oracle.report(end, fx=fx)]
        }
        assert len(counts) == 1
        n = oracle._at(end)
        active = [s for s in oracle.sub_mrr if oracle.active_on(s, end)]
        for fx in POLICIES:
            mrr = oracle.mrr(end, fx)
            assert sum((oracle.converted(s, n, fx) for s in active), ZERO) == mrr
            lines = oracle.by_currency(end, fx)
            assert {line["currency"] for line in lines} == {oracle.currency_of[s] for s in active}
            rounded = sum((Fraction(line["mrr"]) for line in lines), ZERO)
            assert abs(rounded - mrr) <= Fraction(len(lines), 200)
    foreign = {s for s, c in oracle.currency_of.items() if c != "USD"}
    one_currency = Oracle(
        [
            r
            for r in rows
            if r["type"] != "fx_rate"
            and r.get("subscription_id") not in foreign
            and r.get("currency") in (None, "USD")
        ],
        until=UNTIL,
    )
    for fx in POLICIES:  # no foreign subscription: every policy gives the same figures
        figures = one_currency.movements(date(2021, 12, 31), date(2023, 6, 30), fx=fx)
        same = one_currency.movements(date(2021, 12, 31), date(2023, 6, 30))
        assert figures["fx"] == "0.00"
        assert figures | {"fx_policy": "spot"} == same


# The ledger agrees with the oracle: the worked examples first.


def _record(ledger: Ledger, rows: list[dict[str, str]]) -> None:
    ledger.import_rows(Row(f"example:{n}", dict(r)) for n, r in enumerate(rows, 1))


def test_the_ledger_gives_worked_examples_10_and_11(ledger: Ledger) -> None:
    _record(ledger, EXAMPLE_10)
    oracle = Oracle(EXAMPLE_10, until=date(2024, 12, 31))
    for fx in ("spot", "booked", "fixed:2024-02-01"):
        for day in (JAN, FEB):
            assert ledger.report(day, fx=fx).as_json() == oracle.report(day, fx=fx), (fx, day)
        assert ledger.movements(JAN, FEB, fx=fx).as_json() == oracle.movements(JAN, FEB, fx=fx)
    ledger.append(EXAMPLE_11[-1])
    oracle = Oracle(EXAMPLE_11, until=date(2024, 12, 31))
    for fx in ("spot", "booked", "fixed:2024-02-01"):
        assert ledger.report(FEB, fx=fx).as_json() == oracle.report(FEB, fx=fx), fx
        got = ledger.movements(JAN, date(2024, 2, 1), fx=fx).as_json()
        assert got == oracle.movements(JAN, date(2024, 2, 1), fx=fx), fx


def test_the_ledger_gives_worked_example_12(ledger: Ledger, db_url: str) -> None:
    _record(ledger, EXAMPLE_12)
    with pytest.raises(LedgerMissingRate) as raised:
        ledger.report(date(2024, 1, 10))
    assert (raised.value.currency, raised.value.day) == ("GBP", date(2024, 1, 10))
    result = CliRunner().invoke(app, ["report", "--as-of", "2024-01-10", "--db", db_url])
    assert result.exit_code == 1, result.output
    assert "GBP" in result.output and "2024-01-10" in result.output


NEEDED_ONLY = [
    {
        "event_id": "usd-new",
        "type": "new",
        "customer_id": "a",
        "subscription_id": "a1",
        "effective_date": "2024-01-01",
        "amount": "100",
    },
    {
        "event_id": "gbp-new",
        "type": "new",
        "customer_id": "b",
        "subscription_id": "b1",
        "effective_date": "2024-03-01",
        "amount": "100",
        "currency": "GBP",
    },
    {
        "event_id": "gbp-fee",
        "type": "one_time_fee",
        "customer_id": "b",
        "subscription_id": "b1",
        "effective_date": "2024-03-01",
        "amount": "500",
    },
    rate("GBP", "2024-06-01", "1.25"),
]


def test_a_figure_needs_only_the_rates_of_the_amounts_it_counts(ledger: Ledger) -> None:
    """SPEC §10: "A rate is needed only where an amount is non-zero". GBP has no rate before
    2024-06-01: January's movements (the GBP subscription starts in March), and a report in
    the evergreen contract's second year (its fee, of 2024-03-01, counts only in the first)
    need none; a report in March and the movements over it do."""
    _record(ledger, NEEDED_ONLY)
    oracle = Oracle(NEEDED_ONLY, until=date(2026, 12, 31))
    for fx in ("spot", "booked", "fixed:2024-07-01"):
        for start, end in ((date(2023, 12, 31), date(2024, 1, 31)), (JAN, date(2024, 3, 31))):
            _agree(
                partial(_json, ledger.movements, start, end, acv_policy="including_fees", fx=fx),
                partial(oracle.movements, start, end, "including_fees", fx),
                (start, end, fx),
            )
            _agree(
                partial(_json, ledger.series, start, end, "month", fx=fx),
                partial(oracle.series, start, end, "month", "recurring", fx),
                (start, end, fx),
            )
        for day in (date(2024, 3, 31), date(2025, 3, 1), date(2025, 6, 1)):
            for policy in ACV_POLICIES:
                _agree(
                    partial(_json, ledger.report, day, acv_policy=policy, fx=fx),
                    partial(oracle.report, day, policy, fx),
                    (day, policy, fx),
                )
    assert oracle.movements(date(2023, 12, 31), JAN)["new"] == "100.00"
    # the USD contract's 1,200 and the GBP one's 12 × 100 × 1.25, its fee a year before
    assert oracle.report(date(2025, 6, 1), "including_fees")["acv"] == "1350.00"
    with pytest.raises(MissingRate):
        oracle.report(date(2024, 3, 31))
    with pytest.raises(MissingRate):
        oracle.report(date(2025, 6, 1), fx="booked")  # priced on 2024-03-01


def test_another_reporting_currency(db_url: str) -> None:
    """A ledger in EUR: its own currency's rate is 1, a USD subscription is converted."""
    rows = [
        rate("USD", "2024-01-01", "0.9"),
        rate("USD", "2024-02-01", "0.8"),
        _event("new", "s1", "2024-01-01", amount="1000", currency="USD"),
        _event("new", "s2", "2024-01-15", amount="100"),
        _event("upgrade", "s1", "2024-02-10", amount="1200"),
    ]
    oracle = Oracle(rows, until=date(2024, 12, 31), currency="EUR")
    assert oracle.report(FEB)["mrr"] == "1060.00"  # 1,200 × 0.8 + 100
    assert oracle.movements(JAN, FEB, fx="booked")["fx"] == "-100.00"  # priced at 0.9, then 0.8
    with Ledger.init(db_url, currency="EUR") as ledger:
        _record(ledger, rows)
        for fx in ("spot", "booked", "fixed:2024-01-20"):
            for day in (JAN, FEB):
                got = ledger.report(day, acv_policy="including_fees", fx=fx).as_json()
                _compare(got, oracle.report(day, "including_fees", fx), (day, fx))
            got = ledger.movements(date(2023, 12, 31), FEB, fx=fx).as_json()
            _compare(got, oracle.movements(date(2023, 12, 31), FEB, fx=fx), fx)
            lines = [line.as_json() for line in ledger.by_currency(FEB, fx=fx)]
            _compare(lines, oracle.by_currency(FEB, fx), fx)


def _corners() -> list[dict[str, str]]:
    """One EUR customer through `booked`'s corners, with a USD subscription beside."""
    day, rates = date(2023, 12, 25), []
    while day <= date(2024, 7, 10):
        value = f"1.{(day - date(2023, 12, 25)).days * 37 % 1000:03d}1234567"
        rates.append(rate("EUR", day.isoformat(), value))
        day += timedelta(days=1)
    e, u = partial(_event, currency="EUR"), _event
    return [
        *rates,
        e("new", "e1", "2024-01-05", amount="300", interval="quarter", term_months="1"),
        e("upgrade", "e1", "2024-01-05", amount="450"),  # the same day as its new
        u("new", "u1", "2024-01-10", amount="99.99"),
        e("renewal", "e1", "2024-02-05"),  # its term's end, no price: still priced 01-05
        e("renewal", "e1", "2024-03-05", amount="450", term_months="2"),  # the same price
        u("upgrade", "u1", "2024-03-05", amount="120"),
        e("one_time_fee", "e1", "2024-03-20", amount="250"),
        e("renewal", "e1", "2024-05-05", interval="month") | {"event_id": "interval-only"},
        e("churn", "e1", "2024-05-20"),
        e("one_time_fee", "e1", "2024-05-25", amount="80"),  # between churn and restart
        e("new", "e1", "2024-06-01", amount="500") | {"event_id": "restart", "currency": ""},
        e("downgrade", "e1", "2024-06-15", amount="400"),
        u("churn", "u1", "2024-06-15"),
        e("churn", "e1", "2024-06-20") | {"event_id": "last-churn"},
        e("one_time_fee", "e1", "2024-06-25", amount="40"),  # after the last churn
    ]


def test_booked_corners_day_by_day(ledger: Ledger) -> None:
    """A price set by a new and an upgrade the same day, a renewal at term end without a
    price, one at the same price, one giving only an interval, a churn, fees before a
    restart and after the last churn: every day's report and movements, under each policy."""
    rows = _corners()
    _record(ledger, [{k: v for k, v in r.items() if v != ""} for r in rows])
    oracle = Oracle([dict(r) for r in rows], until=date(2024, 12, 31))
    start, end = date(2024, 1, 1), date(2024, 7, 5)
    for fx, policy in zip(("spot", "booked", "fixed:2024-04-01"), ACV_POLICIES * 2, strict=False):
        found = ledger.series(start, end, "day", acv_policy=policy, fx=fx)
        got = [row.as_json() for row in found]
        _compare(got, oracle.series(start, end, "day", policy, fx), (policy, fx))
    moved = oracle.movements(date(2024, 3, 4), date(2024, 3, 5), fx="booked")
    assert moved["fx"] != "0.00" and moved["expansion"] == "20.01"


# Random multi-currency ledgers, imported once per database.


@cache
def _rows(customers: int, seed: int) -> tuple[dict[str, str], ...]:
    return tuple(fx_events(customers, seed=seed, kind="mixed", until=UNTIL))


@cache
def _oracle(customers: int, seed: int, cutoff: int | None) -> Oracle:
    return Oracle([dict(r) for r in _rows(customers, seed)], cutoff, until=UNTIL)


CUSTOMERS = {"sqlite": 64, "postgres": 64}
"""Realistic customers per ledger (and half as many awkward ones). The same ledger on both
databases: its oracles are made once."""
SEED = 7


class Imported:
    """A generated ledger, imported in batches, and its oracle at any position."""

    def __init__(self, ledger: Ledger, url: str, customers: int) -> None:
        self.ledger, self.url, self.customers = ledger, url, customers
        self.rows = _rows(customers, SEED)

    def oracle(self, cutoff: int | None) -> Oracle:
        return _oracle(self.customers, SEED, cutoff)

    def expected(self, cutoff: int | None, figure: str, *args: Any) -> Callable[[], Any]:
        """The oracle's `figure(*args)` at `cutoff`, worked out once for both databases."""
        return partial(_expected, self.customers, cutoff, figure, *args)

    def positions(self) -> list[int]:
        """The head; the commit end before the last rates recorded late (the read model
        both); inside an import (a replay): in the middle, just after GBP's first rate
        (its backfilled days before it are missing) and before any GBP rate (missing
        wherever a GBP amount is)."""
        head = len(self.rows)
        gbp = next(
            n for n, r in enumerate(self.rows) if r["type"] == "fx_rate" and r["currency"] == "GBP"
        )
        return [head, head - LAST, head // 2 + 13, gbp + 1, gbp - 40]


@cache
def _figure(customers: int, cutoff: int | None, figure: str, *args: Any) -> Any:
    try:
        return getattr(_oracle(customers, SEED, cutoff), figure)(*args)
    except MissingRate as missing:
        return missing


def _expected(customers: int, cutoff: int | None, figure: str, *args: Any) -> Any:
    found = _figure(customers, cutoff, figure, *args)
    if isinstance(found, MissingRate):
        raise MissingRate(found.currency, found.day)
    return found


@pytest.fixture(scope="module", params=list(CUSTOMERS))
def imported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Imported]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fx') / 'ledger.db'}"
    else:
        try:
            psycopg.connect(_postgres_dsn(), connect_timeout=5).close()
        except psycopg.Error as exc:
            pytest.fail(f"PostgreSQL is unreachable at {POSTGRES}: {exc}")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        url = f"{POSTGRES}?schema={schema}"
    customers = CUSTOMERS[request.param]
    rows = _rows(customers, SEED)
    try:
        with Ledger.init(url) as ledger:
            ends = [*range(BATCH, len(rows) - LAST, BATCH), len(rows) - LAST, len(rows)]
            for begin, end in pairwise([0, *ends]):
                batch = rows[begin:end]
                ledger.import_rows(Row(f"fx:{begin + n}", dict(r)) for n, r in enumerate(batch, 1))
            assert ledger.head() == len(rows)
            yield Imported(ledger, url, customers)
    finally:
        if schema is not None:
            _drop_schema(schema)


def _differences(got: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """Each key whose values differ: (the ledger's, the oracle's)."""
    keys = sorted(set(got) | set(expected))
    return {
        k: (got.get(k, "<absent>"), expected.get(k, "<absent>"))
        for k in keys
        if got.get(k, "<absent>") != expected.get(k, "<absent>")
    }


def _json(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A ledger figure's JSON form: one object, or a list for rows."""
    found = method(*args, **kwargs)
    if hasattr(found, "as_json"):
        return found.as_json()
    return [row.as_json() for row in found]


def _compare(got: Any, want: Any, context: object) -> None:
    if isinstance(want, list):
        assert len(got) == len(want), (context, got, want)
        for line, (mine, theirs) in enumerate(zip(got, want, strict=True)):
            assert mine == theirs, (context, line, _differences(mine, theirs))
    else:
        assert got == want, (context, _differences(got, want))


def _agree(asked: Callable[[], Any], expected: Callable[[], Any], context: object) -> bool:
    """The ledger's JSON equals the oracle's on every key, or both miss a rate (SPEC §10:
    an error, never a silent 0). True when figures were compared."""
    try:
        want = expected()
    except MissingRate as missing:
        with pytest.raises(LedgerMissingRate):
            got = asked()
            pytest.fail(f"{context}: the oracle misses {missing}, the ledger gives {got}")
        return False
    try:
        got = asked()
    except LedgerMissingRate as error:
        pytest.fail(f"{context}: the ledger misses a rate the oracle has: {error}")
    _compare(got, want, context)
    return True


def _each(
    asked_for: Callable[[list[int]], list[Any]],
    expected: list[Callable[[], Any]],
    context: object,
) -> tuple[int, int]:
    """Many figures asked at once (`reports`, `movements_over`): those the oracle gives in
    runs of neighbours, each run in one call (`asked_for(indices)`); a few of those it
    misses a rate for, alone, where the ledger must miss one too. (compared, missing)."""
    wants: list[Any] = []
    for want in expected:
        try:
            wants.append(want())
        except MissingRate as missing:
            wants.append(missing)
    lacking = [n for n, want in enumerate(wants) if isinstance(want, MissingRate)]
    runs: list[list[int]] = []
    for n, want in enumerate(wants):
        if isinstance(want, MissingRate):
            continue
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    for run in runs:
        try:
            found = asked_for(run)
        except LedgerMissingRate as error:
            pytest.fail(f"{context} {run}: the ledger misses a rate the oracle has: {error}")
        for n, got in zip(run, found, strict=True):
            _compare(got.as_json(), wants[n], (context, n))
    for n in sorted({*lacking[:1], *lacking[len(lacking) // 2 :][:1], *lacking[-1:]}):
        with pytest.raises(LedgerMissingRate):
            got = asked_for([n])
            pytest.fail(f"{context} {n}: the oracle misses {wants[n]}, the ledger gives {got}")
    return len(wants) - len(lacking), len(lacking)


def _reports(ledger: Ledger, days: list[date], asked: dict[str, Any], run: list[int]) -> Any:
    """The reports of the days numbered `run`, in one call."""
    return ledger.reports([days[n] for n in run], **asked)


def _movements(ledger: Ledger, bounds: list[date], asked: dict[str, Any], run: list[int]) -> Any:
    """The movements of the consecutive periods numbered `run`, in one call."""
    return ledger.movements_over(bounds[run[0] : run[-1] + 2], **asked)


def _rate_days(rows: tuple[dict[str, str], ...]) -> list[date]:
    """Days whose rate was voided, replaced or recorded late (at the end of the file)."""
    voided = {r["target_event_id"] for r in rows if r["type"] == "void"}
    return sorted(
        {
            date.fromisoformat(row["effective_date"])
            for row in rows
            if row["type"] == "fx_rate"
            and (row["event_id"] in voided or row["event_id"].endswith(("-fixed", "-late")))
            and row["effective_date"] <= UNTIL.isoformat()
        }
    )


def _days(oracle: Oracle, rows: tuple[dict[str, str], ...], rng: random.Random) -> list[date]:
    """Month ends, days of special rates (late, voided, replaced) and the day after, days a
    foreign customer's MRR changed, the fixed days, GBP's first rate's day."""
    month_ends = [add_months(date(2021, 2, 1), n) - timedelta(days=1) for n in range(0, 50, 7)]
    foreign = {oracle.customer_of[s] for s, c in oracle.currency_of.items() if c != "USD"}
    changes = sorted({d for c in foreign for d in oracle.changes.get(c, [])})
    special = rng.sample(_rate_days(rows), 5)
    picked = special + [d + timedelta(days=1) for d in special[:2]]
    picked += [*rng.sample(changes, min(6, len(changes))), rng.choice(oracle.days)]
    picked += [date.fromisoformat(fx.partition(":")[2]) for fx in FIXED]
    picked += [rates[0][0] for rates in oracle.rates.values()]
    return sorted({d for d in month_ends + picked if oracle.first < d <= UNTIL})


def test_report_agrees_with_the_oracle(imported: Imported) -> None:
    rng, ledger, compared, missing = random.Random(SEED), imported.ledger, 0, 0
    for position in imported.positions():
        oracle = imported.oracle(position)
        days = _days(oracle, imported.rows, rng)
        for n, fx in enumerate(POLICIES):
            policy = ACV_POLICIES[(n + position) % 2]
            asked: dict[str, Any] = {"position": position, "acv_policy": policy, "fx": fx}
            found = _each(
                partial(_reports, ledger, days, asked),
                [imported.expected(position, "report", day, policy, fx) for day in days],
                (position, policy, fx),
            )
            compared, missing = compared + found[0], missing + found[1]
            assert position < len(imported.rows) or not found[1]  # the head has every rate
            day = rng.choice(days)  # and one by one, as `arr report` asks
            _agree(
                partial(_json, ledger.report, day, **asked),
                imported.expected(position, "report", day, policy, fx),
                (position, day, policy, fx),
            )
    assert compared > 200 and missing > 10, (compared, missing)


def test_report_by_currency_agrees_with_the_oracle(imported: Imported) -> None:
    rng, ledger = random.Random(SEED + 3), imported.ledger
    for position in imported.positions()[::3]:
        oracle = imported.oracle(position)
        for day in _days(oracle, imported.rows, rng)[::7]:
            for fx in POLICIES:
                _agree(
                    partial(_json, ledger.by_currency, day, position=position, fx=fx),
                    imported.expected(position, "by_currency", day, fx),
                    (position, day, fx),
                )


def test_movements_agree_with_the_oracle(imported: Imported) -> None:
    """Consecutive periods between the chosen days (single days among them) at once, and
    a few long periods one by one."""
    rng, ledger, compared, missing = random.Random(SEED + 1), imported.ledger, 0, 0
    head, late, _, after_gbp, before_gbp = imported.positions()
    for position in (head, late, after_gbp, before_gbp):
        oracle = imported.oracle(position)
        chosen = _days(oracle, imported.rows, rng)
        bounds = sorted({date(2020, 12, 1), *chosen, *(d - timedelta(days=1) for d in chosen)})
        periods = list(pairwise(bounds))
        start, end = sorted(rng.sample(oracle.days[:-1], 2))
        long = [(date(2020, 12, 1), date(2025, 1, 31)), (start, end)]
        long += [(date(2022, 12, 31), date(2023, 12, 31)), (bounds[3], bounds[3])]
        long = long[: 2 if position == late else 4]
        for n, fx in enumerate(POLICIES):
            policy = ACV_POLICIES[(n + position) % 2]
            asked: dict[str, Any] = {"position": position, "acv_policy": policy, "fx": fx}
            found = _each(
                partial(_movements, ledger, bounds, asked),
                [
                    imported.expected(position, "movements", start, end, policy, fx)
                    for start, end in periods
                ],
                (position, policy, fx),
            )
            compared, missing = compared + found[0], missing + found[1]
            for period in long:
                _agree(
                    partial(_json, ledger.movements, *period, **asked),
                    imported.expected(position, "movements", *period, policy, fx),
                    (position, period, policy, fx),
                )
    assert compared > 200 and missing > 10, (compared, missing)


@pytest.mark.parametrize(
    ("every", "start", "end", "policies"),
    [
        ("month", date(2021, 1, 1), date(2024, 12, 31), ("spot", "booked")),
        ("quarter", date(2021, 2, 10), date(2025, 1, 15), ("booked", *FIXED)),
        ("week", date(2023, 1, 4), date(2023, 3, 31), (FIXED[0], "spot")),
    ],
)
def test_series_agree_with_the_oracle(
    imported: Imported, every: Every, start: date, end: date, policies: tuple[str, ...]
) -> None:
    ledger = imported.ledger
    for position, policy in zip(imported.positions()[::2][:2], ACV_POLICIES, strict=True):
        for fx in policies:
            _agree(
                partial(
                    _json,
                    ledger.series,
                    start,
                    end,
                    every,
                    position=position,
                    acv_policy=policy,
                    fx=fx,
                ),
                imported.expected(position, "series", start, end, every, policy, fx),
                (position, every, policy, fx),
            )


def test_a_fixed_day_without_rates_misses_them_wherever_a_foreign_amount_is(
    imported: Imported,
) -> None:
    """`fixed:D0` before every rate: an error for every figure with a foreign amount, the
    figures of days before any foreign subscription as usual."""
    oracle, ledger = imported.oracle(None), imported.ledger
    for day in (date(2020, 12, 15), date(2021, 1, 31), date(2023, 6, 30)):
        _agree(
            partial(_json, ledger.report, day, fx="fixed:2020-01-01"),
            partial(oracle.report, day, fx="fixed:2020-01-01"),
            day,
        )
    with pytest.raises(LedgerMissingRate):
        ledger.movements(date(2022, 12, 31), date(2023, 12, 31), fx="fixed:2020-01-01")


def test_the_cli_json_agrees_with_the_oracle(imported: Imported) -> None:
    """`arr report|movements|series --fx ... --format json`, `report --by currency`."""
    oracle = imported.oracle(None)

    def arr(*args: str) -> Any:
        result = CliRunner().invoke(app, [*args, "--db", imported.url, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    for fx in ("booked", FIXED[1]):
        got = arr("report", "--as-of", "2023-06-30", "--fx", fx)
        assert got == oracle.report(date(2023, 6, 30), fx=fx), fx
        got = arr("movements", "--from", "2022-12-31", "--to", "2023-12-31", "--fx", fx)
        assert got == oracle.movements(date(2022, 12, 31), date(2023, 12, 31), fx=fx), fx
    got = arr("report", "--as-of", "2024-02-29", "--by", "currency")
    assert got == oracle.by_currency(date(2024, 2, 29))
    got = arr("series", "--from", "2023-01-01", "--to", "2023-12-15", "--every", "quarter")
    assert got == oracle.series(date(2023, 1, 1), date(2023, 12, 15), "quarter", "recurring")
