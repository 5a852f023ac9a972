"""Edits behind the ledger's back, outside the event store: `arr audit verify` finds each.

The settings are sealed, each subscription's owner is what the events say, and the read
model is what the events imply: verify checks all three, and a read-model position the
ledger cannot have reached is refused at every query, never trusted.
"""

from __future__ import annotations

import re
from datetime import date

import psycopg
import pytest
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from projections.read_model import snapshots as read_model_snapshots
from tests.conftest import event, new, rate, record
from tests.test_audit import tamper

runner = CliRunner()
BELIEVED = 2**62


@pytest.fixture
def queried(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """Four events, the read model caught up, with snapshots at every second position."""
    monkeypatch.setattr(read_model_snapshots, "BLOCK", 2)
    record(
        ledger,
        {**new("acme", "s1", "2024-01-01", "1000"), "event_id": "e1"},
        {**new("beta", "s2", "2024-01-01", "500"), "event_id": "e2"},
        {**event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="1500")},
        {**event("churn", "beta", "2024-04-01", subscription_id="s2")},
    )
    assert ledger.report(date(2024, 3, 31)).as_json()["mrr"] == "2000.00"
    assert ledger.verify().ok
    return ledger


def verify(db_url: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["audit", "verify", "--db", db_url])
    return result.exit_code, result.stdout.splitlines()


def test_a_relabelled_currency_breaks_the_settings_seal(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_settings SET value = 'EUR' WHERE key = 'currency'")
    assert verify(db_url) == (
        1,
        [
            "settings: altered: the ledger's settings (currency='EUR', layout='3') do not "
            "match their seal",
            "FAILED: 1 problem in 4 events checked",
        ],
    )


def test_a_relabelled_owner_is_found(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_subscriptions SET customer_id = 'beta' WHERE subscription_id = 's1'")
    code, lines = verify(db_url)
    assert code == 1
    assert lines[0] == (
        "subscription 's1': altered: stored owner 'beta', but its first `new` (e1 at position "
        "1) is customer 'acme'"
    )


def test_an_inserted_and_a_deleted_owner_are_found(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "INSERT INTO arr_subscriptions VALUES ('s9', 'mallory')")
    tamper(db_url, "DELETE FROM arr_subscriptions WHERE subscription_id = 's2'")
    code, lines = verify(db_url)
    assert code == 1
    assert lines[:2] == [
        "subscription 's2': removed: its owner 'beta' (from e2 at position 2) is gone",
        "subscription 's9': inserted: owned by 'mallory', but no recorded `new` names it "
        "(its event was removed, or the row written outside the ledger)",
    ]


def test_a_read_model_value_multiplied_is_found(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_rm_segments SET num = num * 10 WHERE customer_id = 'beta'")
    code, lines = verify(db_url)
    assert code == 1
    # beta's segment: believed open-ended from position 2, cut at its churn from position 4.
    was = "customer 'beta' 's2' [2024-01-01, 9999-12-31) {}/1 believed from position 2 to 4"
    now = "customer 'beta' 's2' [2024-01-01, 2024-04-01) {}/1 believed from position 4 now"
    assert lines[0] == (
        "read model: altered: arr_rm_segments: rows differ from the events: 2 missing (e.g. "
        f"{now.format(500)}, {was.format(500)}); 2 not implied by the events (e.g. "
        f"{now.format(5000)}, {was.format(5000)})"
    )


def test_an_inserted_read_model_row_is_found(queried: Ledger, db_url: str) -> None:
    tamper(
        db_url,
        'INSERT INTO arr_rm_segments (customer_id, subscription_id, start, "end", num, big, '
        "den, recorded_from, recorded_to) VALUES ('acme', 's1', '2024-06-01', '2024-07-01', "
        f"7, NULL, 1, 3, {BELIEVED})",
    )
    tamper(
        db_url,
        'INSERT INTO arr_rm_customer_spans (customer_id, subscription_id, start, "end", num, '
        "big, den, recorded_from, recorded_to) VALUES ('zed', '', '2024-01-01', '2024-02-01', "
        f"1, NULL, 1, 1, {BELIEVED})",
    )
    code, lines = verify(db_url)
    assert code == 1
    assert (
        "read model: altered: rows of customer 'zed', who has no recorded events, in "
        "arr_rm_customer_spans"
    ) in lines
    assert any(
        line.startswith("read model: altered: arr_rm_segments: rows differ from the events: 1 not")
        for line in lines
    )


def test_a_deleted_read_model_row_is_found(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "DELETE FROM arr_rm_fee_spans")  # none: nothing to find
    tamper(db_url, "DELETE FROM arr_rm_churn WHERE customer_id = 'beta'")
    code, lines = verify(db_url)
    assert code == 1
    assert re.match(
        r"read model: altered: arr_rm_churn: rows differ from the events: 1 missing", lines[0]
    )


def test_an_altered_snapshot_is_found(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_rm_snapshots SET value = '123' WHERE at = 2 AND count > 0")
    code, lines = verify(db_url)
    assert code == 1
    assert lines[0].startswith("read model: altered: arr_rm_snapshots: ")
    assert "differ from the rows" in lines[0] and "at 2" in lines[0]


def test_an_altered_cohort_snapshot_is_found_and_not_believed_after_rebuild(
    queried: Ledger, db_url: str
) -> None:
    cohorts = [c.as_json() for c in queried.cohorts(date(2024, 1, 1), date(2024, 4, 30), "month")]
    assert [(c["as_of"], c["customers"], c["mrr"]) for c in cohorts] == [
        ("2024-01-31", 2, "1500.00"),
        ("2024-02-29", 2, "1500.00"),
        ("2024-03-31", 2, "2000.00"),
        ("2024-04-30", 1, "1500.00"),
    ]
    tamper(db_url, "UPDATE arr_rm_cohort_snapshots SET value = '99' WHERE at = 4")
    code, lines = verify(db_url)
    assert (code, lines[0]) == (
        1,
        "read model: altered: arr_rm_cohort_snapshots: 1 snapshots differ from the rows "
        "(2024-01 at 4)",
    )
    assert runner.invoke(app, ["projections", "rebuild", "--db", db_url]).exit_code == 0
    again = [c.as_json() for c in queried.cohorts(date(2024, 1, 1), date(2024, 4, 30), "month")]
    assert again == cohorts


def test_an_impossible_tracked_position_is_refused_everywhere(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_rm_tracking SET position = 1000000 WHERE name = 'figures'")
    message = (
        "error: the read model of {where} was altered: its tracked position 1000000 is not "
        "between 0 and the ledger's head 4; run `arr projections rebuild`"
    )
    where = queried.store.location
    for command in (
        ["report", "--as-of", "2024-03-31"],
        ["movements", "--from", "2024-01-31", "--to", "2024-03-31"],
        ["series", "--from", "2024-01-01", "--to", "2024-03-31", "--every", "month"],
        ["projections", "status"],
    ):
        result = runner.invoke(app, [*command, "--db", db_url])
        assert (result.exit_code, result.stderr.strip()) == (1, message.format(where=where))
    assert verify(db_url) == (
        1,
        [
            "read model: altered: its tracked position 1000000 is not between 0 and the "
            "ledger's head 4",
            "FAILED: 1 problem in 4 events checked",
        ],
    )
    rebuilt = runner.invoke(app, ["projections", "rebuild", "--db", db_url])
    assert rebuilt.exit_code == 0
    assert verify(db_url) == (0, [f"ok: 4 events checked, head {queried.checkpoint()}"])


def test_a_lowered_tracked_position_is_found(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_rm_tracking SET position = 2 WHERE name = 'figures'")
    code, lines = verify(db_url)
    assert code == 1
    assert any("not implied by the events" in line for line in lines)


def test_a_stored_state_rewritten_as_text_is_a_finding(queried: Ledger, db_url: str) -> None:
    if db_url.startswith("postgresql"):  # a bytea column holds no text: nothing to find
        with pytest.raises(psycopg.errors.DatatypeMismatch):
            tamper(db_url, "UPDATE {events} SET state = CAST(state AS TEXT) WHERE {pos} = 2")
        return
    tamper(db_url, "UPDATE {events} SET state = CAST(state AS TEXT) WHERE {pos} = 2")
    code, lines = verify(db_url)
    assert code == 1
    assert lines[0] == (
        "position 2 (event e2): altered: its stored state is text, not the bytes the ledger wrote"
    )


def test_events_only_skips_the_read_model(queried: Ledger, db_url: str) -> None:
    tamper(db_url, "UPDATE arr_rm_segments SET num = num * 10")
    result = runner.invoke(app, ["audit", "verify", "--events-only", "--db", db_url])
    assert (result.exit_code, result.stdout) == (
        0,
        f"ok: 4 events checked, head {queried.checkpoint()}\n",
    )


@pytest.mark.parametrize(
    ("edit", "sqlite_only"),
    [
        ("UPDATE arr_rm_unit_moves SET den = 0", False),
        ("UPDATE arr_rm_unit_segments SET den = 0", False),
        ("UPDATE arr_rm_unit_bookings SET num = 'many'", True),  # PostgreSQL refuses it
    ],
)
def test_a_foreign_value_no_figure_can_be_made_of_is_named(
    ledger: Ledger, db_url: str, edit: str, sqlite_only: bool
) -> None:
    """The foreign customers' rows are summed by the database and read by Python: a
    denominator 0, or a text SQLite would sum as 0, is one clear refusal naming what to
    run, never a traceback or a figure quietly wrong."""
    record(
        ledger,
        rate("EUR", "2024-01-01", "1.1"),
        new("a", "s1", "2024-01-05", "100", currency="EUR"),
    )
    assert ledger.series(date(2024, 1, 1), date(2024, 3, 31))[0].as_json()["mrr"] == "110.00"
    if sqlite_only and not db_url.startswith("sqlite"):
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            tamper(db_url, edit)  # PostgreSQL's integer columns refuse a text
        return
    tamper(db_url, edit)
    asked = ["--from", "2024-01-01", "--to", "2024-03-31", "--every", "month"]
    result = runner.invoke(app, ["series", *asked, "--netting", "month", "--db", db_url])
    assert result.exit_code == 1
    assert "holds a value no figure can be made of" in result.output
    assert "run `arr audit verify` to see where, `arr projections rebuild`" in result.output
    assert "unexpected" not in result.output
