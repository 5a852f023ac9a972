"""The persistent bitemporal read model: same figures as a replay, same rows however built."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import projections.read_model.derive as read_model_derive
import projections.read_model.model as read_model
import projections.read_model.parallel as read_model_parallel
import projections.read_model.snapshots as read_model_snapshots
import projections.read_model.unit_customers as unit_customers
from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.cli.main import app
from ledger.domain.errors import StoreUnavailable
from ledger.intake.rows import Row
from projections.figures.movements import movements_over
from projections.figures.report import report
from projections.read_model.inline import Inline
from projections.read_model.kinds import KINDS
from projections.read_model.tables import BELIEVED
from tests.conftest import accept, event, new, rate, record
from tests.edge_ledger import edge_events

OPEN = date.max
SEGMENTS, SPANS, FEES = "arr_rm_segments", "arr_rm_customer_spans", "arr_rm_fee_spans"


def rows(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    return ledger.read_model().rows()


def import_events(ledger: Ledger, events: list[dict[str, str]], pieces: int = 1) -> None:
    size = -(-len(events) // pieces)
    for first in range(0, len(events), size):
        chunk = events[first : first + size]
        ledger.import_rows(Row(f"sample:{first + n}", e) for n, e in enumerate(chunk))


def import_sample(ledger: Ledger, customers: int, pieces: int = 1) -> None:
    import_events(ledger, sample_events(customers=customers, years=3), pieces)


def crash_on_write(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """The read model's `number`-th write fails after writing, as a power cut would:
    its transaction must then leave nothing behind."""
    written, calls = read_model.write, []

    def crashing(conn: Any, writes: Any) -> None:
        written(conn, writes)
        calls.append(True)
        if len(calls) == number:
            raise RuntimeError("power cut")

    monkeypatch.setattr(read_model, "write", crashing)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots every 16 positions, so that a small ledger crosses many of them."""
    monkeypatch.setattr(read_model_snapshots, "BLOCK", 16)


def test_backdated_churn_closes_the_believed_rows(ledger: Ledger) -> None:
    # SPEC §8.9: the churn recorded at position 2 ends the segment believed since 1.
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "1000"),
        event("churn", "acme", "2024-02-01", subscription_id="s1"),
    )
    ledger.read_model().catch_up()
    found = rows(ledger)
    assert found[SEGMENTS] == [
        ("acme", "s1", date(2024, 1, 1), date(2024, 2, 1), 1000, 1, 2, BELIEVED),
        ("acme", "s1", date(2024, 1, 1), OPEN, 1000, 1, 1, 2),
    ]
    assert found[SPANS] == [
        ("acme", "", date(2024, 1, 1), date(2024, 2, 1), 1, 1, 2, BELIEVED),
        ("acme", "", date(2024, 1, 1), OPEN, 1, 1, 1, 2),
    ]
    assert ledger.report(date(2024, 2, 15), position=1).as_json()["mrr"] == "1000.00"
    assert ledger.report(date(2024, 2, 15), position=2).as_json()["mrr"] == "0.00"


def test_a_customer_span_joins_the_customers_subscriptions(ledger: Ledger) -> None:
    # Active from March to the end of June without a gap, though on two subscriptions.
    record(
        ledger,
        new("acme", "s1", "2024-03-01", "100"),
        new("acme", "s2", "2024-04-10", "50"),
        event("churn", "acme", "2024-05-01", subscription_id="s1"),
        event("churn", "acme", "2024-07-01", subscription_id="s2"),
    )
    ledger.read_model().catch_up()
    believed = [r[:6] for r in rows(ledger)[SPANS] if r[7] == BELIEVED]
    assert believed == [("acme", "", date(2024, 3, 1), date(2024, 7, 1), 1, 1)]
    figures = ledger.report(date(2024, 4, 20)).as_json()
    assert (figures["active_customers"], figures["active_contracts"]) == (1, 2)
    assert ledger.report(date(2024, 7, 1)).as_json()["active_customers"] == 0


def test_fee_span_gives_acv_including_fees(ledger: Ledger) -> None:
    # SPEC §8.4: $40,000 a year for 12 months plus a $10,000 fee: ACV 50,000, ratio 1.25.
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "40000", interval="year", term_months="12"),
        event("one_time_fee", "acme", "2024-01-01", subscription_id="s1", amount="10000"),
    )
    figures = ledger.report(date(2024, 6, 30), acv_policy="including_fees").as_json()
    assert (figures["arr"], figures["acv"], figures["acv_arr_ratio"]) == (
        "40000.00",
        "50000.00",
        "1.2500",
    )
    # The span ends where the contract lapses, on the term end.
    spans = rows(ledger)[FEES]
    assert spans == [("acme", "s1", date(2024, 1, 1), date(2025, 1, 1), 10000, 1, 2, BELIEVED)]


def test_a_fee_span_is_clipped_to_the_days_the_subscription_is_active(ledger: Ledger) -> None:
    # A 12-month term with a $1,200 fee, churned after two months: the fee counts in ACV
    # only while the subscription is active.
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100", term_months="12"),
        event("one_time_fee", "acme", "2024-01-01", subscription_id="s1", amount="1200"),
        event("churn", "acme", "2024-03-01", subscription_id="s1"),
    )
    spans = [r[2:6] for r in rows_after_catch_up(ledger)[FEES] if r[7] == BELIEVED]
    assert spans == [(date(2024, 1, 1), date(2024, 3, 1), 1200, 1)]
    acv = {
        day: ledger.report(date.fromisoformat(day), acv_policy="including_fees").as_json()["acv"]
        for day in ("2024-02-29", "2024-03-01")
    }
    assert acv == {"2024-02-29": "2400.00", "2024-03-01": None}


def rows_after_catch_up(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    ledger.read_model().catch_up()
    return rows(ledger)


def test_evergreen_fee_counts_in_its_anchor_year_only(ledger: Ledger) -> None:
    # A fee in the second year of an evergreen $100/month contract: 1,200 + 600 that year.
    record(
        ledger,
        new("acme", "s1", "2024-03-15", "100"),
        event("one_time_fee", "acme", "2025-05-01", subscription_id="s1", amount="600"),
    )
    acv = {
        day: ledger.report(date.fromisoformat(day), acv_policy="including_fees").as_json()["acv"]
        for day in ("2025-03-14", "2025-03-15", "2026-03-14", "2026-03-15")
    }
    assert acv == {
        "2025-03-14": "1200.00",
        "2025-03-15": "1800.00",
        "2026-03-14": "1800.00",
        "2026-03-15": "1200.00",
    }


def test_snapshot_figures_on_both_sides_of_a_snapshot(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Snapshots at positions 2 and 4: each position reads one and adds what came after.
    monkeypatch.setattr(read_model_snapshots, "BLOCK", 2)
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        new("beta", "s2", "2024-01-01", "30", interval="quarter"),
        event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="250"),
        event("churn", "beta", "2024-01-15", subscription_id="s2"),
        new("beta", "s3", "2024-03-01", "40"),
    )
    snapshots = rows_after_catch_up(ledger)["arr_rm_snapshots"]
    taken = {(r[0], r[1]) for r in snapshots if r[2] == date.min}
    assert taken == {(k.name, at) for k in KINDS if k.measured for at in (2, 4)}
    at_four = [r[2:] for r in snapshots if r[:2] == ("segment", 4)]
    assert at_four == [
        (date.min, 0, "0"),
        (date(2024, 1, 1), 2, "110"),
        (date(2024, 1, 15), 1, "100"),
        (date(2024, 2, 1), 1, "250"),
    ]
    mrr = {p: ledger.report(date(2024, 3, 1), position=p).as_json()["mrr"] for p in range(1, 6)}
    assert mrr == {1: "100.00", 2: "110.00", 3: "260.00", 4: "250.00", 5: "290.00"}


def test_amounts_too_large_for_a_64_bit_sum_stay_exact(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read_model_snapshots, "BLOCK", 3)
    huge = "987654321098.1234"  # its numerator over 3 months is beyond SMALL: stored as text
    record(
        ledger,
        new("acme", "s1", "2024-01-01", huge, interval="quarter"),
        new("beta", "s2", "2024-01-15", "100"),
        event("one_time_fee", "acme", "2024-01-01", subscription_id="s1", amount=huge),
        event("upgrade", "beta", "2024-02-01", subscription_id="s2", amount=huge),
        event("churn", "acme", "2024-03-01", subscription_id="s1"),
    )
    figures = ledger.report(date(2024, 2, 15), position=4, acv_policy="including_fees")
    assert figures.as_json()["mrr"] == "1316872428130.83"  # huge / 3 + huge
    for position in range(1, 6):
        book = ledger.book(position=position)
        for day in (date(2024, 1, 20), date(2024, 2, 15), date(2024, 3, 1)):
            expected = report(book, day, "including_fees")
            assert ledger.report(day, position=position, acv_policy="including_fees") == expected
        for bounds in (
            [date(2023, 12, 31), date(2024, 1, 20), date(2024, 2, 15), date(2024, 3, 1)],
            [date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)],
        ):
            moved = ledger.movements_over(bounds, position=position, acv_policy="including_fees")
            assert moved == movements_over(book, bounds, "including_fees")
    # SPEC §13's queries keep them exact too: acme huge/3 a month from January, churned in
    # March; beta 100 from 15 January, huge from February (both of the 2024-01 cohort).
    third, whole = Fraction(huge) / 3, Fraction(huge)
    cells = [c.as_json() for c in ledger.cohorts(date(2024, 1, 1), date(2024, 3, 31))]
    assert [(c["as_of"], c["customers"], c["mrr"], c["nrr"]) for c in cells] == [
        ("2024-01-31", 2, _cents(third + 100), "1.0000"),
        ("2024-02-29", 2, _cents(third + whole), _ratio((third + whole) / (third + 100))),
        ("2024-03-31", 1, _cents(whole), _ratio(whole / (third + 100))),
    ]
    lines = [(line.key, line.mrr) for line in ledger.by_customer(date(2024, 2, 15))]
    assert lines == [("beta", whole), ("acme", third)]
    # over (2024-02-29, 2025-02-28]: acme huge/3 -> 0 (churned), beta huge -> huge
    year = ledger.series(date(2025, 2, 1), date(2025, 2, 28))[0].as_json()
    assert (year["nrr_12m"], year["grr_12m"], year["logo_churn_rate_12m"]) == (
        "0.7500",
        "0.7500",
        "0.5000",
    )


def test_foreign_amounts_too_large_for_a_64_bit_sum_stay_exact(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The foreign customers' paths of `report --by customer` (sums by unit, converted in
    integers) and of cohorts (local values summed by cohort and unit, converted per
    period end), with snapshots taken between the events."""
    monkeypatch.setattr(read_model_snapshots, "BLOCK", 2)
    huge = "987654321098.1234"
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.1"),
        rate("EUR", "2024-02-01", "1.2"),
        new("acme", "s1", "2024-01-01", huge, currency="EUR"),
        new("acme", "s2", "2024-01-10", huge, currency="EUR"),
        new("beta", "s3", "2024-01-15", "100"),
        event("churn", "acme", "2024-03-01", subscription_id="s1"),
    )
    whole = Fraction(huge)
    lines = [(line.key, line.mrr) for line in ledger.by_customer(date(2024, 2, 15))]
    assert lines == [("acme", 2 * whole * Fraction("1.2")), ("beta", Fraction(100))]
    booked = [(line.key, line.mrr) for line in ledger.by_customer(date(2024, 2, 15), fx="booked")]
    assert booked == [("acme", 2 * whole * Fraction("1.1")), ("beta", Fraction(100))]
    cells = [c.as_json() for c in ledger.cohorts(date(2024, 1, 1), date(2024, 3, 31))]
    january = 2 * whole * Fraction("1.1") + 100
    assert [(c["as_of"], c["customers"], c["mrr"], c["nrr"]) for c in cells] == [
        ("2024-01-31", 2, _cents(january), "1.0000"),
        (
            "2024-02-29",
            2,
            _cents(2 * whole * Fraction("1.2") + 100),
            _ratio((2 * whole * Fraction("1.2") + 100) / january),
        ),
        (
            "2024-03-31",
            2,
            _cents(whole * Fraction("1.2") + 100),
            _ratio((whole * Fraction("1.2") + 100) / january),
        ),
    ]


def test_foreign_sums_beyond_64_bits_in_the_database_stay_exact(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The foreign customers' flows are summed by the database by unit and day: with
    every numerator kept as a 64-bit integer, a thousand new customers of the largest
    amount on one day sum beyond 64 bits (SQLite's sum then overflows and the halves are
    summed instead)."""
    monkeypatch.setattr(read_model_derive, "SMALL", 2**63)
    amount = "999999999999.9999"  # 9,999,999,999,999,999 / 10,000 a month
    customers = [f"c{n}" for n in range(1000)]
    accept(
        ledger,
        rate("EUR", "2024-01-01", "1.1"),
        *(new(c, f"{c}-s", "2024-01-05", amount, currency="EUR") for c in customers),
    )
    bounds = [date(2023, 12, 31), date(2024, 1, 31)]
    moved = ledger.movements_over(bounds)[0]
    assert moved.new == 1000 * Fraction(amount) * Fraction("1.1")
    assert moved == movements_over(ledger.book(), bounds)[0]


def test_an_answer_reads_the_foreign_customers_once(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month-netted series asks the foreign customers' segments for its periods, its
    trailing retention and its netting: one read, let go when the answer is done."""
    reads: list[int] = []
    read = unit_customers.UnitCustomers._read.__func__  # type: ignore[attr-defined]

    def counted(cls: type, raw: Any, position: int, rates: Any) -> Any:
        reads.append(position)
        return read(cls, raw, position, rates)

    monkeypatch.setattr(unit_customers.UnitCustomers, "_read", classmethod(counted))
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.1"),
        new("acme", "s1", "2024-01-05", "100", currency="EUR"),
        new("beta", "s2", "2024-02-01", "50"),
    )
    rows = ledger.series(date(2024, 1, 1), date(2024, 3, 31), netting="month")
    assert [r.as_json()["mrr"] for r in rows] == ["110.00", "160.00", "160.00"]
    assert reads == [3]
    assert not unit_customers._LAST
    ledger.series(date(2024, 1, 1), date(2024, 3, 31))
    assert reads == [3, 3]


def _cents(value: Fraction) -> str:
    return str((Decimal(value.numerator) / value.denominator).quantize(Decimal("0.01")))


def _ratio(value: Fraction) -> str:
    return str((Decimal(value.numerator) / value.denominator).quantize(Decimal("0.0001")))


@pytest.mark.parametrize("kind", ["sample", "edge"])
def test_read_model_figures_equal_replay_figures(
    ledger: Ledger, small_blocks: None, kind: str
) -> None:
    events = sample_events(customers=30, years=3) if kind == "sample" else edge_events(12, 5)
    for first in range(0, len(events), 41):  # the model follows each import
        import_events(ledger, events[first : first + 41])
        ledger.read_model().catch_up()
    head = ledger.head()
    days = [date(2021, 1, 1) + timedelta(days=n) for n in range(0, 1500, 97)]
    positions = {1, 15, 16, 17, 32, 33, head - 1, head, *range(7, head, head // 10)}
    for position in sorted(positions):
        book = ledger.book(position=position)
        for day in days:
            for policy in ("recurring", "including_fees"):
                expected = report(book, day, policy)
                assert ledger.report(day, position=position, acv_policy=policy) == expected


def month_ends(first: date, count: int) -> list[date]:
    return [
        date(first.year + (first.month + n) // 12, (first.month + n) % 12 + 1, 1)
        - timedelta(days=1)
        for n in range(count)
    ]


@pytest.mark.parametrize("kind", ["sample", "edge"])
@pytest.mark.parametrize("periods", ["61 days", "calendar months"])
def test_read_model_movements_equal_replay_movements(
    ledger: Ledger, kind: str, periods: str
) -> None:
    # Movements, retention and bookings come from the running totals at the bounds and,
    # for retention, from the month's rows or the customers' MRR pieces: never from a
    # replay. They must agree exactly with one.
    events = sample_events(customers=30, years=3) if kind == "sample" else edge_events(12, 5)
    for first in range(0, len(events), 53):
        import_events(ledger, events[first : first + 53])
        ledger.read_model().catch_up()
    head = ledger.head()
    if periods == "61 days":
        bounds = [date(2020, 12, 31) + timedelta(days=n) for n in range(0, 1500, 61)]
    else:
        bounds = month_ends(date(2020, 12, 1), 50)
        assert bounds[:3] == [date(2020, 12, 31), date(2021, 1, 31), date(2021, 2, 28)]
    bounds.insert(5, bounds[5])  # an empty period too
    for position in sorted({1, 9, head // 3, head // 2, head - 1, head}):
        book = ledger.book(position=position)
        for policy in ("recurring", "including_fees"):
            expected = movements_over(book, bounds, policy)
            assert ledger.movements_over(bounds, position=position, acv_policy=policy) == expected


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "caught-up"])
def test_incremental_rows_equal_rebuilt_rows(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, small_blocks: None, inline: bool
) -> None:
    """Rows written by each import, or caught up with after it, are a rebuild's."""
    if not inline:
        monkeypatch.setattr(Inline, "begin", classmethod(lambda *_: None))
    monkeypatch.setattr(read_model, "BATCH", 7)
    import_sample(ledger, customers=15, pieces=2)
    ledger.read_model().catch_up()
    import_sample(ledger, customers=25, pieces=1)  # the first 15 again (skipped), 10 new
    monkeypatch.setattr(read_model, "BATCH", 23)
    ledger.read_model().catch_up()
    edges = edge_events(6, 9)
    for first in range(0, len(edges), 11):  # catch up after each of a few small imports
        import_events(ledger, edges[first : first + 11])
        ledger.read_model().catch_up()
    incremental = rows(ledger)
    assert ledger.read_model().rebuild() == ledger.head()
    assert rows(ledger) == incremental
    assert len(incremental["arr_rm_segments"]) > ledger.head() // 2
    # a snapshot at the end of the commit holding each 16th position
    ends = ledger.store.commit_ends(0, ledger.head())
    holding = {next(e for e in ends if e >= m) for m in range(16, ledger.head() + 1, 16)}
    assert {r[1] for r in incremental["arr_rm_snapshots"]} == holding


def test_worker_processes_derive_the_rows_derived_in_process(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    monkeypatch.setattr(read_model, "CUSTOMERS", 4)  # many chunks: several per worker
    import_sample(ledger, customers=25, pieces=1)
    model = ledger.read_model()
    model.catch_up()
    in_process = rows(ledger)
    monkeypatch.setattr(read_model_parallel, "PARALLEL", 1)
    assert model.rebuild() == ledger.head()
    assert rows(ledger) == in_process
    import_events(ledger, edge_events(8, 4))
    model.catch_up()  # workers read the rows believed so far
    by_workers = rows(ledger)
    monkeypatch.setattr(read_model_parallel, "PARALLEL", 10**9)
    model.rebuild()
    assert rows(ledger) == by_workers


def test_a_failing_worker_is_one_clear_error(tmp_path: Any) -> None:
    empty = make_url(f"sqlite:///{tmp_path / 'empty.db'}")  # no ledger tables at all
    sql = read_model_derive.EventSql(
        touched="", commits="", commit_end="", histories="SELECT * FROM arr_entries", currency="USD"
    )
    with pytest.raises(StoreUnavailable, match="cannot read the ledger: no such table"):
        list(read_model_parallel.derived(empty, sql, [["c1"], ["c2"], ["c3"]], 0, [9], 2))


def test_catch_up_twice_changes_nothing(ledger: Ledger) -> None:
    import_sample(ledger, customers=10)
    model = ledger.read_model()
    assert model.catch_up() == ledger.head()
    first = rows(ledger)
    assert model.catch_up() == ledger.head()
    assert rows(ledger) == first
    assert model.status().as_json() == {"tracked": ledger.head(), "head": ledger.head(), "lag": 0}


def test_a_failed_batch_leaves_nothing_and_is_applied_later(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, lagging: None
) -> None:
    events = sample_events(customers=10, years=3)
    for first in range(0, len(events), 10):  # commits of 10 events: a step ends at one
        import_events(ledger, events[first : first + 10])
    monkeypatch.setattr(read_model, "BATCH", 20)
    crash_on_write(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        ledger.read_model().catch_up()
    assert ledger.read_model().tracked() == 20  # the second batch was rolled back whole
    ledger.read_model().catch_up()
    after_crash = rows(ledger)
    ledger.read_model().rebuild()
    assert rows(ledger) == after_crash


def test_an_interrupted_pass_resumes_and_keeps_earlier_figures_exact(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, small_blocks: None, lagging: None
) -> None:
    edges = edge_events(14, 8)
    import_sample(ledger, customers=8)
    import_events(ledger, edges[: len(edges) // 2])
    model = ledger.read_model()
    done = model.catch_up()
    import_events(ledger, edges[len(edges) // 2 :])  # later events of the same customers
    monkeypatch.setattr(read_model, "CUSTOMERS", 3)  # a pass of several chunks
    written = read_model.write
    crash_on_write(monkeypatch, 3)
    with pytest.raises(RuntimeError):
        model.catch_up()
    assert model.status().as_json() == {
        "tracked": done,
        "head": ledger.head(),
        "lag": ledger.head() - done,
    }
    book = ledger.book(position=done)  # two chunks are written: figures at `done` hold
    for day in (date(2022, 6, 30), date(2023, 12, 31)):
        assert ledger.report(day, position=done) == report(book, day)
    monkeypatch.setattr(read_model, "write", written)
    assert ledger.report(date(2023, 12, 31)) == report(ledger.book(), date(2023, 12, 31))
    assert model.tracked() == ledger.head()
    resumed = rows(ledger)
    model.rebuild()
    assert rows(ledger) == resumed


def test_a_batch_applied_elsewhere_is_not_applied_again(ledger: Ledger) -> None:
    import_sample(ledger, customers=5)
    ledger.read_model().catch_up()
    before = rows(ledger)
    with pytest.raises(read_model.Contended):
        ledger.read_model()._apply(0, ledger.head())
    assert rows(ledger) == before


def test_tables_of_another_layout_are_rebuilt(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Ledger.init(url) as ledger:
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    old = create_engine(url)
    with old.begin() as conn:  # the first layout: no layout row, rows with an index node
        made = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        for (name,) in list(made):
            if name.startswith("arr_rm_"):
                conn.execute(text(f"DROP TABLE {name}"))
        conn.execute(text("CREATE TABLE arr_rm_tracking (name TEXT PRIMARY KEY, position INT)"))
        conn.execute(text("INSERT INTO arr_rm_tracking VALUES ('figures', 1)"))
        conn.execute(text("CREATE TABLE arr_rm_segments (id INTEGER PRIMARY KEY, node INT)"))
    old.dispose()
    with Ledger.open(url) as ledger:
        assert ledger.read_model().status().as_json() == {"tracked": 0, "head": 1, "lag": 1}
        assert ledger.report(date(2024, 1, 1)).as_json()["mrr"] == "1000.00"


def test_projections_commands(db_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    one = json.dumps(new("acme", "s1", "2024-01-01", "1000"))
    assert runner.invoke(app, ["append", one, "--db", db_url]).exit_code == 0
    status = runner.invoke(app, ["projections", "status", "--db", db_url, "--format", "json"])
    assert json.loads(status.stdout) == {"tracked": 1, "head": 1, "lag": 0}  # written inline
    rebuilt = runner.invoke(app, ["projections", "rebuild", "--db", db_url])
    assert rebuilt.stdout.strip() == "read model rebuilt up to position 1"
    status = runner.invoke(app, ["projections", "status", "--db", db_url, "--format", "json"])
    assert json.loads(status.stdout) == {"tracked": 1, "head": 1, "lag": 0}


@pytest.mark.parametrize("end", [date(2024, 2, 29), date(2024, 2, 28)])
def test_retention_of_a_month_and_of_any_period(ledger: Ledger, end: date) -> None:
    # February 2024 is a calendar month (its retention is read from the month's rows);
    # (31 Jan, 28 Feb] is not (read from the customers' MRR pieces): the same figures.
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "100"),
        new("beta", "s2", "2024-01-01", "50"),
        event("upgrade", "acme", "2024-02-10", subscription_id="s1", amount="150"),
        event("downgrade", "acme", "2024-02-20", subscription_id="s1", amount="120"),
        event("churn", "beta", "2024-02-15", subscription_id="s2"),
        new("gamma", "s3", "2024-02-05", "30"),
    )
    moved = ledger.movements(date(2024, 1, 31), end)
    assert (moved.start_mrr, moved.end_mrr) == (150, 150)
    assert (moved.new, moved.expansion, moved.contraction, moved.churn) == (30, 50, 30, 50)
    assert moved.nrr == Fraction(120, 150)  # acme 120 + beta 0, over 150 at the start
    assert moved.grr == Fraction(100, 150)  # min(120, 100) + min(0, 50)
    assert moved.logo_churn_rate == Fraction(1, 2)
    assert moved.net_expansion == 20  # acme only: beta is not active at the end
