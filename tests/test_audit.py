"""Tamper evidence: rows edited, deleted and inserted with SQL behind the ledger's back are
found by `verify`, on SQLite and PostgreSQL; checkpoints prove history up to them."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ledger import Ledger
from ledger.cli.main import app
from ledger.store.chain import Checkpoint, link
from tests.conftest import event, new, record

runner = CliRunner()


def tamper(db_url: str, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Runs SQL on the ledger's database directly, the way an intruder would.
    `{events}` and `{pos}` name the library's event table and its position column."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        sql = statement.format(events="stored_events", pos="rowid")
        with sqlite3.connect(str(url.database)) as conn:
            conn.execute(sql, params)
        return
    sql = statement.format(events="arr_events", pos="notification_id").replace("?", "%s")
    dsn = f"postgresql://{url.username}@{url.host}:{url.port}/{url.database}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{url.query["schema"]}"')
        conn.execute(sql, params)


def copy_stored_event(db_url: str, position: int) -> None:
    """Inserts, out of band, a copy of the stored event at `position` as a new event."""
    tamper(
        db_url,
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version + 10, topic, state FROM {events} "
        f"WHERE {{pos}} = {position}",
    )


def three_events(ledger: Ledger) -> list[str]:
    events = [
        new("acme", "s1", "2024-01-01", "1000"),
        new("beta", "s2", "2024-01-01", "500"),
        event("churn", "acme", "2024-02-01", subscription_id="s1"),
    ]
    record(ledger, *events)
    return [e["event_id"] for e in events]


def findings(ledger: Ledger, checkpoint: Checkpoint | None = None) -> list[tuple[int, str, str]]:
    """The findings about stored events (those about settings, subscription owners and the
    read model are in tests/test_tamper.py)."""
    found = ledger.verify(checkpoint).findings
    return [(f.position, f.event_id, f.kind) for f in found if not f.subject]


def test_an_untouched_ledger_verifies(ledger: Ledger) -> None:
    three_events(ledger)
    result = ledger.verify()
    assert result.ok and result.checked == 3
    assert result.head == ledger.checkpoint() and result.head.position == 3
    assert result.summary() == f"ok: 3 events checked, head {result.head}"


def test_an_empty_ledger_verifies_at_position_zero(ledger: Ledger) -> None:
    assert str(ledger.checkpoint()) == "0" * 64 + "@0"
    assert ledger.verify().ok


def test_altered_event_content_is_found(ledger: Ledger, db_url: str) -> None:
    ids = three_events(ledger)
    if "postgresql" in db_url:
        edit = "convert_to(replace(convert_from(state, 'UTF8'), '\"500\"', '\"900\"'), 'UTF8')"
    else:
        edit = "CAST(REPLACE(CAST(state AS TEXT), '\"500\"', '\"900\"') AS BLOB)"
    tamper(db_url, f"UPDATE {{events}} SET state = {edit} WHERE {{pos}} = 2")
    # The read model was written with the events: it keeps what was recorded ...
    assert ledger.report(date(2024, 1, 31)).as_json()["mrr"] == "1500.00"
    assert findings(ledger) == [(2, ids[1], "altered")]
    assert any(f.subject == "read model" for f in ledger.verify().findings)
    ledger.read_model().rebuild()  # ... until it is derived again from the altered event
    assert ledger.report(date(2024, 1, 31)).as_json()["mrr"] == "1900.00"
    assert findings(ledger) == [(2, ids[1], "altered")]


def test_altered_recorded_time_is_found(ledger: Ledger, db_url: str) -> None:
    ids = three_events(ledger)
    tamper(db_url, "UPDATE arr_entries SET recorded_at = ? WHERE position = 3", ("2020-01-01",))
    assert findings(ledger) == [(3, ids[2], "altered")]


def test_altered_index_customer_is_found(ledger: Ledger, db_url: str) -> None:
    ids = three_events(ledger)
    tamper(db_url, "UPDATE arr_entries SET customer_id = 'beta' WHERE position = 1")
    assert (1, ids[0], "altered") in findings(ledger)


def test_a_removed_event_is_a_gap_in_the_chain(ledger: Ledger, db_url: str) -> None:
    three_events(ledger)
    tamper(db_url, "DELETE FROM {events} WHERE {pos} = 2")
    tamper(db_url, "DELETE FROM arr_entries WHERE position = 2")
    assert findings(ledger) == [(2, "unknown", "removed")]


def test_a_removed_first_event_is_named_by_the_chain_that_links_to_it(
    ledger: Ledger, db_url: str
) -> None:
    ids = three_events(ledger)
    tamper(db_url, "DELETE FROM {events} WHERE {pos} = 1")
    tamper(db_url, "DELETE FROM arr_entries WHERE position = 1")
    found = [f for f in ledger.verify().findings if not f.subject]
    assert [(f.position, f.kind) for f in found] == [(1, "removed")]
    assert found[0].message == f"gone, yet the ledger chain at position 2 ({ids[1]}) links to it"


def test_a_stream_hash_forged_under_a_consistent_digest_breaks_the_stream(
    ledger: Ledger, db_url: str
) -> None:
    ids = three_events(ledger)
    with_digest = ledger.store.recorder.select("SELECT digest FROM {entries} WHERE position = 2")
    forged = "cd" * 32
    tamper(
        db_url,
        "UPDATE arr_entries SET stream_hash = ?, digest = ? WHERE position = 3",
        (forged, link(with_digest[0][0], forged)),
    )
    found = [f for f in ledger.verify().findings if not f.subject]
    assert [(f.position, f.event_id, f.kind) for f in found] == [(3, ids[2], "broken chain")]
    assert "customer 'acme'" in found[0].message


def test_a_stored_event_deleted_under_its_index_row_is_found(ledger: Ledger, db_url: str) -> None:
    ids = three_events(ledger)
    tamper(db_url, "DELETE FROM {events} WHERE {pos} = 2")
    assert findings(ledger) == [(2, ids[1], "removed")]


def test_an_index_row_deleted_is_found(ledger: Ledger, db_url: str) -> None:
    ids = three_events(ledger)
    tamper(db_url, "DELETE FROM arr_entries WHERE position = 2")
    assert (2, ids[1], "inserted") in findings(ledger)
    assert not ledger.verify().ok


def test_a_stored_event_inserted_out_of_band_is_found(ledger: Ledger, db_url: str) -> None:
    ids = three_events(ledger)
    copy_stored_event(db_url, 1)
    assert findings(ledger) == [(4, ids[0], "inserted")]


def test_a_forged_row_in_both_tables_is_found(ledger: Ledger, db_url: str) -> None:
    three_events(ledger)
    copy_stored_event(db_url, 1)
    tamper(
        db_url,
        "INSERT INTO arr_entries SELECT 4, 'forged', customer_id, recorded_at, prev_position, "
        "stream_prev, content_hash, stream_hash, digest FROM arr_entries WHERE position = 3",
    )
    assert (4, "forged", "inserted") in findings(ledger)
    assert all(position == 4 for position, _, _ in findings(ledger))


def test_an_unsealed_row_is_found(ledger: Ledger, db_url: str) -> None:
    three_events(ledger)
    copy_stored_event(db_url, 1)
    tamper(
        db_url,
        "INSERT INTO arr_entries (position, event_id, customer_id, recorded_at) "
        "VALUES (4, 'x', 'acme', '2030-01-01')",
    )
    assert findings(ledger) == [(4, "x", "inserted")]


def test_a_checkpoint_holds_while_events_are_appended(ledger: Ledger) -> None:
    three_events(ledger)
    point = ledger.checkpoint()
    record(ledger, new("gamma", "s3", "2024-01-01", "300"))
    assert ledger.verify(point).ok
    assert ledger.checkpoint().position == 4


def test_a_truncated_tail_is_found_only_with_a_checkpoint(ledger: Ledger, db_url: str) -> None:
    three_events(ledger)
    point = ledger.checkpoint()
    for table, column in (("{events}", "{pos}"), ("arr_entries", "position")):
        tamper(db_url, f"DELETE FROM {table} WHERE {column} = 3")
    # what is left is a consistent, shorter history; only the read model remembers more
    assert ledger.verify(read_model=False).ok
    assert [f.message for f in ledger.verify().findings] == [
        "its tracked position 3 is not between 0 and the ledger's head 2"
    ]
    assert findings(ledger, point) == [(3, "unknown", "truncated")]
    # SQLite reuses the freed position: a new event there does not match the checkpoint.
    record(ledger, new("gamma", "s3", "2024-01-01", "300"))
    assert not ledger.verify(point).ok


def test_a_rewritten_history_does_not_match_its_checkpoint(ledger: Ledger, db_url: str) -> None:
    three_events(ledger)
    point = ledger.checkpoint()
    tamper(db_url, "UPDATE arr_entries SET digest = ? WHERE position = 3", ("ab" * 32,))
    assert (3, "unknown", "altered") in findings(ledger, point)


def test_cli_verify_and_checkpoint(ledger: Ledger, db_url: str) -> None:
    three_events(ledger)
    printed = runner.invoke(app, ["audit", "checkpoint", "--db", db_url])
    assert printed.exit_code == 0
    assert re.fullmatch(r"[0-9a-f]{64}@3\n", printed.stdout)
    point = printed.stdout.strip()
    ok = runner.invoke(app, ["audit", "verify", "--db", db_url, "--checkpoint", point])
    assert (ok.exit_code, ok.stdout) == (0, f"ok: 3 events checked, head {point}\n")
    tamper(db_url, "DELETE FROM arr_entries WHERE position = 2")
    tamper(db_url, "DELETE FROM {events} WHERE {pos} = 2")
    failed = runner.invoke(app, ["audit", "verify", "--db", db_url, "--checkpoint", point])
    assert failed.exit_code == 1
    assert failed.stdout.splitlines() == [
        "position 2 (event unknown): removed: gone, yet the ledger chain at position 3 "
        f"({ledger.customer_log('acme').history[-1].event.event_id}) links to it",
        "subscription 's2': inserted: owned by 'beta', but no recorded `new` names it "
        "(its event was removed, or the row written outside the ledger)",
        # the read model was written with the events: it still holds what was removed
        "read model: altered: rows of customer 'beta', who has no recorded events, in "
        "arr_rm_segments, arr_rm_customer_spans, arr_rm_new and 6 more",
        "FAILED: 3 problems in 2 events checked",
    ]


def test_cli_verify_rejects_a_malformed_checkpoint(ledger: Ledger, db_url: str) -> None:
    result = runner.invoke(app, ["audit", "verify", "--db", db_url, "--checkpoint", "abc@1"])
    assert result.exit_code == 2


def test_customer_log_shows_voids_and_mrr_in_effective_order(ledger: Ledger, db_url: str) -> None:
    start = new("acme", "s1", "2024-01-01", "1000")
    later = event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="1500")
    backdated = event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="1200")
    void = {"event_id": "v1", "type": "void", "customer_id": "acme"}
    record(ledger, start, later, backdated, void | {"target_event_id": backdated["event_id"]})
    log = ledger.customer_log("acme").as_json()
    rows = log["events"]
    assert [r["event_id"] for r in rows] == [
        start["event_id"],
        later["event_id"],
        backdated["event_id"],
        "v1",
    ]
    assert rows[2]["voided_by"] == "v1" and rows[2]["voided_at"] == rows[3]["recorded_at"]
    assert [r["voided_by"] for r in rows[:2]] == [None, None]
    assert [(s["effective_date"], s["mrr"]) for s in log["mrr_after"]] == [
        ("2024-01-01", "1000.00"),
        ("2024-03-01", "1500.00"),
    ]
    shown = runner.invoke(app, ["audit", "log", "--db", db_url, "--customer", "acme"])
    assert shown.exit_code == 0 and "upgrade" in shown.stdout
    csv = runner.invoke(
        app, ["audit", "log", "--db", db_url, "--customer", "acme", "--format", "csv"]
    )
    lines = csv.stdout.splitlines()
    assert lines[3].startswith("event,3,") and lines[3].endswith(f",v1,{rows[3]['recorded_at']},")
    assert lines[5:] == [
        f"mrr,1,,{start['event_id']},new,2024-01-01,s1,,,,,,,,,,,,,,,1000.00",
        f"mrr,2,,{later['event_id']},upgrade,2024-03-01,s1,,,,,,,,,,,,,,,1500.00",
    ]
    missing = runner.invoke(app, ["audit", "log", "--db", db_url, "--customer", "nobody"])
    assert missing.exit_code == 1


def test_customer_log_mrr_before_the_void(ledger: Ledger) -> None:
    start = new("acme", "s1", "2024-01-01", "1000")
    later = event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="1500")
    backdated = event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="1200")
    record(ledger, start, later, backdated)
    steps = ledger.customer_log("acme").as_json()["mrr_after"]
    assert [(s["event_id"], s["mrr"]) for s in steps] == [
        (start["event_id"], "1000.00"),
        (backdated["event_id"], "1200.00"),
        (later["event_id"], "1500.00"),
    ]


def burn_position(db_url: str) -> Callable[[], None]:
    """Makes the next position be skipped, as a rolled-back insert does on PostgreSQL.
    Returns what to run after the next recording (SQLite: drop the placeholder row)."""
    if "postgresql" in db_url:
        tamper(db_url, "SELECT nextval(pg_get_serial_sequence('arr_events', 'notification_id'))")
        return lambda: None
    tamper(
        db_url,
        "INSERT INTO {events} (originator_id, originator_version, topic, state) "
        "VALUES ('placeholder', 1, 'x', x'00')",
    )
    return lambda: tamper(db_url, "DELETE FROM {events} WHERE originator_id = 'placeholder'")


def test_a_skipped_position_is_no_gap_but_a_row_forged_into_it_is(
    ledger: Ledger, db_url: str
) -> None:
    record(ledger, new("acme", "s1", "2024-01-01", "1000"), new("beta", "s2", "2024-01-01", "5"))
    after = burn_position(db_url)
    record(ledger, new("gamma", "s3", "2024-01-01", "300"))
    after()
    assert [r.position for r in ledger.entries()] == [1, 2, 4]
    assert ledger.verify().ok and ledger.verify().checked == 3
    copy_stored_event(db_url, 2)
    tamper(db_url, "UPDATE {events} SET {pos} = 3 WHERE {pos} = 5")
    tamper(
        db_url,
        "INSERT INTO arr_entries SELECT 3, 'forged', customer_id, recorded_at, prev_position, "
        "stream_prev, content_hash, stream_hash, digest FROM arr_entries WHERE position = 2",
    )
    assert findings(ledger) == [(3, "forged", "altered"), (3, "forged", "inserted")]


def _write(url: str, writer: int) -> None:
    with Ledger.open(url) as ledger:
        for n in range(6):
            customer = f"w{writer}-{n % 3}"
            started = new(customer, f"s{writer}-{n}", "2024-01-01", str(100 + n))
            ledger.append(started | {"event_id": f"w{writer}-e{n}"})


def test_concurrent_writers_keep_the_chains_intact(db_url: str) -> None:
    Ledger.init(db_url).close()
    spawn = multiprocessing.get_context("spawn")
    writers = [spawn.Process(target=_write, args=(db_url, w)) for w in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
    assert [p.exitcode for p in writers] == [0, 0, 0]
    with Ledger.open(db_url) as ledger:
        result = ledger.verify()
        assert (result.ok, result.checked) == (True, 18), result.findings
