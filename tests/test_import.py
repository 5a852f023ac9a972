"""Import at scale (issue 5): one write transaction per import, filled in chunks that are
each checked against the ledger as that transaction sees it; stored events built without
the library's per-event machinery yet readable by it; the chain sealed in one pass."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from hashlib import sha256
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError

from ledger import Ledger
from ledger.app import ledger as application
from ledger.domain.errors import Refused, StoreUnavailable
from ledger.domain.events import Event
from ledger.intake.admission import Written
from ledger.intake.fields import parse_event
from ledger.intake.rows import Row
from ledger.store import Customer, domain_event, stream_id
from ledger.store.chain import GENESIS, Content, content_digest, seal
from ledger.store.location import Location
from ledger.store.recorders import IndexRow, sealed_rows
from tests.conftest import event, new


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Imports in chunks of 3 rows, so a few rows span several chunks."""
    monkeypatch.setattr(application, "CHUNK", 3)
    yield


def rows(*events: dict[str, Any]) -> list[Row]:
    return [Row(f"in.csv:{n}", e) for n, e in enumerate(events, start=2)]


def refusal(ledger: Ledger, *events: dict[str, Any]) -> list[str]:
    with pytest.raises(Refused) as refused:
        ledger.import_rows(rows(*events))
    return [str(p) for p in refused.value.problems]


# Stored events: built directly, read by the library as its own.

ODD = 'Ü "quoted" \\ back\tslash \u2028 🚀'


def test_stored_events_decode_with_the_librarys_mapper_as_its_own_would(ledger: Ledger) -> None:
    events = [
        Event("e1", "new", ODD, ODD, datetime(2024, 1, 31).date(), Decimal("1000.5"), 12, 24),
        Event("e2", "one_time_fee", ODD, None, datetime(2024, 2, 1).date(), Decimal("7")),
        Event("e3", "void", ODD, target_event_id="e2"),
    ]
    moment = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # no microseconds: isoformat omits them
    mapper = ledger.store.app.mapper

    stored = ledger.store.stored_events.build(events, {ODD: 4}, moment)

    assert [s.originator_version for s in stored] == [5, 6, 7]
    for event_, version, built in zip(events, (5, 6, 7), stored, strict=True):
        by_library = mapper.to_stored_event(domain_event(event_, version, moment))
        assert (built.topic, built.state) == (by_library.topic, by_library.state)
        assert built.originator_id == by_library.originator_id == stream_id(ODD)
        decoded = mapper.to_domain_event(built)
        assert vars(decoded) == vars(domain_event(event_, version, moment))
    first = ledger.store.stored_events.build(events[:1], {}, moment)[0]
    assert first.topic.endswith("Customer.Opened") and first.originator_version == 1


def test_the_library_reads_imported_events_as_aggregates_and_notifications(
    ledger: Ledger,
) -> None:
    ledger.import_rows(
        rows(
            new("acme", "s1", "2024-01-01", "100"),
            new("beta", "s2", "2024-01-01", "50"),
            event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="150"),
        )
    )
    app = ledger.store.app

    acme: Any = app.repository.get(stream_id("acme"))

    assert isinstance(acme, Customer) and acme.version == 2
    assert [e["amount"] for e in acme.entries] == ["100", "150"]
    notes = app.recorder.select_notifications(start=1, limit=10)
    assert [n.id for n in notes] == [1, 2, 3]
    assert [n.originator_version for n in notes] == [1, 1, 2]
    assert [n.topic.rsplit(".", 1)[1] for n in notes] == ["Opened", "Opened", "EventRecorded"]


def test_the_library_cannot_save_an_event_past_the_index(ledger: Ledger) -> None:
    stored = ledger.store.stored_events.build([Event("e1", "churn", "a", "s")], {}, _now())
    with pytest.raises(NotImplementedError):
        ledger.store.recorder.insert_events(stored)


def _now() -> datetime:
    return datetime.now(UTC)


# The seal: spelled out, equal to its definition.


@pytest.mark.parametrize("text", ["plain", ODD, "\x00\x1f\x7f", "ünïcödé", '"', ""])
def test_the_content_digest_is_the_sha256_of_the_canonical_json(text: str) -> None:
    fields: dict[str, Any] = {
        "position": 12,
        "prev_position": 11,
        "stream_prev": 3,
        "recorded_at": "2024-01-01T00:00:00.000001+00:00",
        "event_id": text,
        "customer_id": text + "c",
        "stream_id": str(stream_id(text)),
        "version": 4,
        "topic": "ledger.store:Customer.EventRecorded",
        "state": sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    }
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    state = text.encode("utf-8", "surrogatepass")
    content = Content(**{**fields, "state": state})

    assert content.digest() == sha256(canonical.encode()).hexdigest()
    fields_but_state = (getattr(content, f) for f in Content.__slots__[:-1])
    assert content_digest(*fields_but_state, sha256(state).hexdigest()) == content.digest()


def test_sealed_rows_chain_each_event_to_its_stream_and_the_ledger(ledger: Ledger) -> None:
    events = [Event(f"e{n}", "churn", c, "s") for n, c in enumerate("abab", start=1)]
    stored = ledger.store.stored_events.build(events, {"b": 1}, _now())
    index = [IndexRow(e.event_id, e.customer_id, None) for e in events]
    streams = {"b": (7, "ab" * 32)}

    out = sealed_rows([8, 9, 10, 11], index, stored, "T", (7, "cd" * 32), dict(streams))

    previous, heads = (7, "cd" * 32), {"a": (0, GENESIS), **streams}
    for row, built, sealed in zip(index, stored, out, strict=True):
        position = sealed[0]
        content = Content(
            position, previous[0], heads[row.customer_id][0], "T", row.event_id,
            row.customer_id, str(built.originator_id), built.originator_version, built.topic,
            built.state,
        )  # fmt: skip
        done = seal(content, heads[row.customer_id][1], previous[1])
        assert sealed == (
            position, row.event_id, row.customer_id, "T", previous[0],
            heads[row.customer_id][0], done.content_hash, done.stream_hash, done.digest,
        )  # fmt: skip
        previous, heads[row.customer_id] = (position, done.digest), (position, done.stream_hash)


# Chunks: one transaction, checked as one batch.


def test_a_chunked_import_records_in_file_order_with_consecutive_stream_versions(
    ledger: Ledger, small_chunks: None
) -> None:
    ledger.append(new("acme", "s0", "2023-01-01", "10") | {"event_id": "before"})
    events = [
        new("acme", "s1", "2024-01-01", "100"),
        new("beta", "s2", "2024-01-01", "50"),
        event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="150"),
        new("beta", "s3", "2024-01-05", "20"),
        event("churn", "beta", "2024-03-01", subscription_id="s2"),
        event("downgrade", "acme", "2024-04-01", subscription_id="s1", amount="120"),
        new("gamma", "s4", "2024-01-01", "5"),
    ]
    seen: list[int] = []

    done = ledger.import_rows(rows(*events, events[1], events[4]), recorded=seen.append)

    assert (done.appended, done.skipped, done.positions) == (7, 2, (2, 3, 4, 5, 6, 7, 8))
    assert seen == [3, 6, 7]  # events recorded after each chunk
    recorded = [(r.position, r.event.event_id) for r in ledger.entries()]
    assert recorded == [
        (1, "before"),
        *((p, e["event_id"]) for p, e in zip(done.positions, events, strict=True)),
    ]
    versions = ledger.store.recorder.select(
        "SELECT originator_id, originator_version FROM {events} ORDER BY {pos}"
    )
    by_stream: dict[str, list[int]] = {}
    for stream, version in versions:
        by_stream.setdefault(str(stream), []).append(int(version))
    assert sorted(by_stream.values()) == [[1], [1, 2, 3], [1, 2, 3, 4]]
    assert ledger.verify().ok


def test_a_row_that_invalidates_an_event_of_an_earlier_chunk_is_blamed_as_in_one_batch(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.append(new("acme", "s0", "2023-01-01", "10") | {"event_id": "before"})
    ledger.append(event("upgrade", "acme", "2023-06-01", subscription_id="s0", amount="20"))
    raised = ledger.customer_log("acme").history[-1].event.event_id
    events = (
        new("acme", "s1", "2024-01-01", "100"),
        event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="150"),
        event("one_time_fee", "acme", "2023-02-01", subscription_id="s0", amount="5"),
        new("gamma", "s3", "2024-01-01", "50"),
        event("churn", "acme", "2024-02-01", subscription_id="s1"),  # before row 3's upgrade
        event("churn", "acme", "2023-03-01", subscription_id="s0"),  # before the recorded one
    )
    whole = refusal(ledger, *events)
    monkeypatch.setattr(application, "CHUNK", 2)  # rows 3 and 4 are written before row 7

    chunked = refusal(ledger, *events)

    assert (
        chunked
        == whole
        == [
            f"in.csv:4: would make recorded event {raised!r} invalid: upgrade on 2023-06-01: "
            "subscription 's0' is not active on 2023-06-01",
            "in.csv:3: upgrade on 2024-03-01: subscription 's1' is not active on 2024-03-01",
        ]
    )
    assert ledger.head() == 2


def test_a_later_chunk_reusing_an_event_id_with_other_content_is_a_conflict(
    ledger: Ledger, small_chunks: None
) -> None:
    first = new("acme", "s1", "2024-01-01", "100")
    fillers = [new(c, f"s-{c}", "2024-01-01", "5") for c in "xyz"]
    assert refusal(ledger, first, *fillers, first | {"amount": "99"}) == [
        f"in.csv:6: event_id {first['event_id']!r} appears on lines 2 and 6 with other "
        "content: amount '100' there, '99' here"
    ]
    assert ledger.head() == 0


def test_owners_and_voids_count_what_earlier_chunks_wrote(
    ledger: Ledger, small_chunks: None
) -> None:
    start = new("acme", "s1", "2024-01-01", "100")
    fillers = [new(c, f"s-{c}", "2024-01-01", "5") for c in "xy"]
    void = {"event_id": "v1", "type": "void", "customer_id": "acme"}
    assert refusal(
        ledger,
        start,
        *fillers,
        new("rival", "s1", "2024-02-01", "100"),
        void | {"target_event_id": start["event_id"]},
        void | {"event_id": "v2", "target_event_id": start["event_id"]},
    ) == [
        "in.csv:5: subscription_id 's1' belongs to customer 'acme'",
        f"in.csv:7: target_event_id {start['event_id']!r} is already voided",
    ]
    assert ledger.head() == 0


def test_after_a_problem_later_chunks_are_still_parsed_and_nothing_is_written(
    ledger: Ledger, small_chunks: None
) -> None:
    good = [new(c, f"s-{c}", "2024-01-01", "5") for c in "abcd"]
    bad_date = new("e", "s-e", "2024-02-30", "5")
    bad_amount = new("f", "s-f", "2024-01-01", "-5")
    assert refusal(ledger, *good, bad_date, *good[:1], bad_amount) == [
        "in.csv:6: effective_date: '2024-02-30' is not a calendar date",
        "in.csv:8: amount: '-5' is negative",
    ]
    assert ledger.head() == 0


def test_an_import_is_stamped_when_it_commits_not_when_it_began(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "WRITE", 1)
    ledger.append(new("before", "s0", "2024-01-01", "10"))
    moments: list[str] = []

    def slowly(done: int) -> None:  # each batch written: time passes before the next
        time.sleep(0.01)
        moments.append(datetime.now(UTC).isoformat(timespec="microseconds"))

    ledger.import_rows(rows(*(new(c, f"s-{c}", "2024-01-01", "5") for c in "abc")), slowly)

    stamps = ledger.store.select("SELECT recorded_at FROM {entries} ORDER BY position")
    assert stamps[0][0] < moments[0]
    assert {s for (s,) in stamps[1:]} == {stamps[-1][0]} and stamps[-1][0] > moments[-1]
    assert ledger.verify().ok


def test_where_events_came_from_is_kept_compactly() -> None:
    written = Written()
    written.add([4, 5, 9, 12], ["a.csv:2", "event", "b.jsonl:0017", "a.csv:310"])
    assert [written.location(p) for p in (4, 5, 9, 12, 6, 13)] == [
        "a.csv:2", "event", "b.jsonl:0017", "a.csv:310", None, None,
    ]  # fmt: skip
    assert written.named == ["a.csv", "event", "b.jsonl:0017"]


# The write lock is taken first: a writer's checks see a still ledger.


def test_a_second_writer_waits_for_the_first_and_is_checked_against_what_it_wrote(
    db_url: str,
) -> None:
    Ledger.init(db_url).close()
    upgrade = event("upgrade", "acme", "2024-02-01", subscription_id="s1", amount="150")
    outcome: dict[str, Any] = {}

    def second() -> None:
        with Ledger.open(db_url) as other:
            outcome["done"] = other.append(upgrade)

    with Ledger.open(db_url) as first, first.store.writing() as transaction:
        transaction.append([parse_event(new("acme", "s1", "2024-01-01", "100"), "USD")], {})
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive()  # blocked on the write lock, not checking yet
    waiting.join(timeout=30)

    assert outcome["done"].appended == 1  # it saw the `new` committed while it waited
    with Ledger.open(db_url) as ledger:
        assert [r.event.type for r in ledger.entries()] == ["new", "upgrade"]


def test_an_import_waiting_for_its_input_keeps_its_transaction(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", "1")
    monkeypatch.setattr(application, "CHUNK", 1)
    Ledger.init(db_url).close()

    def slow_input() -> Iterator[Row]:
        yield Row("in:1", new("acme", "s1", "2024-01-01", "100"))
        time.sleep(1.5)  # the transaction is open and idle meanwhile
        yield Row("in:2", new("beta", "s2", "2024-01-01", "100"))

    with Ledger.open(db_url) as ledger:
        assert ledger.import_rows(slow_input()).appended == 2


def test_a_lock_not_granted_in_time_is_too_busy_and_other_failures_name_their_step() -> None:
    where = Location.parse("sqlite:///busy.db")
    locked = OperationalError("database is locked")

    assert str(application._unavailable(where, locked, began=False, wrote=False)) == (
        "sqlite:///busy.db is too busy: database is locked (another writer holds its lock)"
    )
    full = OperationalError("database or disk is full")
    assert str(application._unavailable(where, full, began=True, wrote=True)) == (
        "cannot write to sqlite:///busy.db: database or disk is full"
    )
    assert isinstance(application._unavailable(where, full, False, False), StoreUnavailable)
