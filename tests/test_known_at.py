"""Replay as known at K: an answer for an earlier `known_at` or `position` never changes,
whatever is appended later, backdated or not (SPEC §1, the audit promise).

Only the recording runs under freezegun: the queries run on the real clock, as they would
days later (and PostgreSQL's driver crawls when its own clock is frozen)."""

from __future__ import annotations

import json

from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from tests.conftest import event, new, record

runner = CliRunner()
QUERIES = [
    ["report", "--as-of", "2024-02-15"],
    ["movements", "--from", "2024-01-31", "--to", "2024-02-29"],
    ["series", "--from", "2024-01-01", "--to", "2024-03-31", "--every", "month"],
]
FORMATS = ["table", "json", "csv"]


def answers(db_url: str, *knowledge: str) -> dict[str, str]:
    """Every query in every format, as printed by the CLI."""
    out = {}
    for query in QUERIES:
        for fmt in FORMATS:
            result = runner.invoke(
                app, [*query, "--db", db_url, "--format", fmt, *knowledge], catch_exceptions=False
            )
            assert result.exit_code == 0, result.output
            out[f"{query[0]} {fmt}"] = result.stdout
    return out


def test_answers_at_an_old_known_at_are_byte_identical_after_later_appends(
    ledger: Ledger, db_url: str
) -> None:
    beta = new("beta", "s2", "2024-01-01", "500")
    with freeze_time("2024-03-01 10:00:00"):
        record(ledger, new("acme", "s1", "2024-01-01", "1000"), beta)
    early = answers(db_url, "--known-at", "2024-03-01")
    by_position = answers(db_url, "--position", "2")
    with freeze_time("2024-03-05 12:00:00"):
        record(
            ledger,
            event("churn", "acme", "2024-02-01", subscription_id="s1"),
            {"event_id": "v1", "type": "void", "customer_id": "beta"}
            | {"target_event_id": beta["event_id"]},
            new("gamma", "s3", "2024-01-15", "200"),
        )
    assert answers(db_url, "--known-at", "2024-03-01") == early
    assert answers(db_url, "--known-at", "2024-03-01T23:59:59+00:00") == early
    assert answers(db_url, "--position", "2") == by_position
    now = json.loads(answers(db_url)["report json"])
    then = json.loads(early["report json"])
    # SPEC §8 example 9, by hand: known at 2024-03-01 acme (1000) and beta (500) count;
    # known now acme churned on 2024-02-01, beta's start is voided, gamma started 2024-01-15.
    assert (then["mrr"], then["position"]) == ("1500.00", 2)
    assert (now["mrr"], now["position"]) == ("200.00", 5)


def test_known_at_before_anything_was_recorded_sees_an_empty_ledger(
    ledger: Ledger, db_url: str
) -> None:
    with freeze_time("2024-03-01 10:00:00"):
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    figures = json.loads(answers(db_url, "--known-at", "2024-02-29")["report json"])
    assert (figures["mrr"], figures["position"]) == ("0.00", 0)


def test_known_at_is_exact_to_the_microsecond(ledger: Ledger, db_url: str) -> None:
    with freeze_time("2024-03-01 10:00:00"):
        record(ledger, new("acme", "s1", "2024-01-01", "1000"))
    with freeze_time("2024-03-01 10:00:00.000001"):
        record(ledger, new("beta", "s2", "2024-01-01", "500"))
    at_first = answers(db_url, "--known-at", "2024-03-01T10:00:00+00:00")
    at_second = answers(db_url, "--known-at", "2024-03-01T10:00:00.000001+00:00")
    assert json.loads(at_first["report json"])["mrr"] == "1000.00"
    assert json.loads(at_second["report json"])["mrr"] == "1500.00"
