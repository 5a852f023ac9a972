"""The persistent bitemporal read model: same figures as a replay, same rows however built."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

import projections.read_model as read_model
from ledger import Ledger
from ledger.cli import app
from ledger.rows import Row
from ledger.sample import sample_events
from projections.read_model_nodes import fork_node, path_to
from projections.read_model_tables import BELIEVED
from projections.report import report
from tests.conftest import event, new, record

OPEN = date.max


def rows(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    return ledger.read_model().rows()


def import_sample(ledger: Ledger, customers: int, pieces: int = 1) -> None:
    events = sample_events(customers=customers, years=3)
    size = -(-len(events) // pieces)
    for first in range(0, len(events), size):
        chunk = events[first : first + size]
        ledger.import_rows(Row(f"sample:{first + n}", e) for n, e in enumerate(chunk))


def test_backdated_churn_closes_the_believed_segment(ledger: Ledger) -> None:
    # SPEC §8.9: the churn recorded at position 2 ends the segment believed since 1.
    record(
        ledger,
        new("acme", "s1", "2024-01-01", "1000"),
        event("churn", "acme", "2024-02-01", subscription_id="s1"),
    )
    ledger.read_model().catch_up()
    assert rows(ledger)["arr_rm_segments"] == [
        ("acme", "s1", date(2024, 1, 1), date(2024, 2, 1), 1000, 1, 2, BELIEVED),
        ("acme", "s1", date(2024, 1, 1), OPEN, 1000, 1, 1, 2),
    ]
    assert ledger.report(date(2024, 2, 15), position=1).as_json()["mrr"] == "1000.00"
    assert ledger.report(date(2024, 2, 15), position=2).as_json()["mrr"] == "0.00"


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
    spans = rows(ledger)["arr_rm_fee_spans"]
    assert spans == [("acme", "s1", date(2024, 1, 1), OPEN, 10000, 1, 2, BELIEVED)]


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


def test_read_model_figures_equal_replay_figures(ledger: Ledger) -> None:
    import_sample(ledger, customers=40, pieces=3)
    head = ledger.head()
    for position in (1, head // 3, head // 2, head):
        book = ledger.book(position=position)
        for day in (date(2021, 3, 31), date(2022, 6, 30), date(2023, 12, 31)):
            for policy in ("recurring", "including_fees"):
                expected = report(book, day, policy)
                assert ledger.report(day, position=position, acv_policy=policy) == expected


def test_incremental_rows_equal_rebuilt_rows(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read_model, "BATCH", 7)
    import_sample(ledger, customers=15, pieces=2)
    ledger.read_model().catch_up()
    import_sample(ledger, customers=25, pieces=1)  # the first 15 again (skipped), 10 new
    ledger.read_model().catch_up()
    incremental = rows(ledger)
    assert ledger.read_model().rebuild() == ledger.head()
    assert rows(ledger) == incremental
    assert len(incremental["arr_rm_segments"]) > ledger.head() // 2


def test_catch_up_twice_changes_nothing(ledger: Ledger) -> None:
    import_sample(ledger, customers=10)
    model = ledger.read_model()
    assert model.catch_up() == ledger.head()
    first = rows(ledger)
    assert model.catch_up() == ledger.head()
    assert rows(ledger) == first
    assert model.status().as_json() == {"tracked": ledger.head(), "head": ledger.head(), "lag": 0}


def test_a_failed_batch_leaves_nothing_and_is_applied_later(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_sample(ledger, customers=10)
    monkeypatch.setattr(read_model, "BATCH", 20)
    written, calls = read_model._write, []

    def crash_on_second_batch(conn: Any, changes: Any) -> None:
        written(conn, changes)
        calls.append(True)
        if len(calls) == 2:
            raise RuntimeError("power cut")

    monkeypatch.setattr(read_model, "_write", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        ledger.read_model().catch_up()
    assert ledger.read_model().tracked() == 20  # the second batch was rolled back whole
    ledger.read_model().catch_up()
    after_crash = rows(ledger)
    ledger.read_model().rebuild()
    assert rows(ledger) == after_crash


def test_a_batch_applied_elsewhere_is_not_applied_again(ledger: Ledger) -> None:
    import_sample(ledger, customers=5)
    ledger.read_model().catch_up()
    before = rows(ledger)
    with pytest.raises(read_model.Contended):
        ledger.read_model()._apply(0, ledger.head())
    assert rows(ledger) == before


def test_projections_commands(db_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    one = json.dumps(new("acme", "s1", "2024-01-01", "1000"))
    assert runner.invoke(app, ["append", one, "--db", db_url]).exit_code == 0
    status = runner.invoke(app, ["projections", "status", "--db", db_url, "--format", "json"])
    assert json.loads(status.stdout) == {"tracked": 0, "head": 1, "lag": 1}
    rebuilt = runner.invoke(app, ["projections", "rebuild", "--db", db_url])
    assert rebuilt.stdout.strip() == "read model rebuilt up to position 1"
    status = runner.invoke(app, ["projections", "status", "--db", db_url, "--format", "json"])
    assert json.loads(status.stdout) == {"tracked": 1, "head": 1, "lag": 0}


def test_the_path_to_a_day_finds_exactly_the_rows_that_cover_it() -> None:
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(0, 800, 7)]
    spans = [(a, b) for a in days[::5] for b in [*days[::9], OPEN] if a < b]
    for day in days:
        path = path_to(day)
        for start, end in spans:
            node = fork_node(start, end)
            found = (
                (node in path.right and start <= day)
                or (node in path.left and end > day)
                or node == path.day
            )
            assert found == (start <= day < end), (start, end, day)
