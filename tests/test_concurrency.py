"""Several OS processes append to one ledger at once (SPEC §9: PostgreSQL is the shared,
multi-process store; SQLite must cope too).

Writers share customers and retry one another's event ids; a reader catches up beside
them. Every event must be recorded exactly once, every refusal must be a real one, and
the final figures must equal those of importing the same events in one process.
"""

from __future__ import annotations

import multiprocessing
from datetime import date
from typing import Any

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.domain.errors import Refused
from ledger.intake.rows import Row
from projections.figures.report import report

WRITERS = 4
CUSTOMERS = 24
AS_OF = ("2021-06-30", "2022-12-31", "2023-07-31", "2024-12-31")
_spawn = multiprocessing.get_context("spawn")


def _events() -> list[dict[str, str]]:
    return sample_events(customers=CUSTOMERS, years=4, seed=11)


def _share(writer: int, events: list[dict[str, str]]) -> list[dict[str, str]]:
    """Writer k appends customers k and k+1 (mod WRITERS): every customer has two writers,
    which append its events in the same order, so each retries the other's ids."""
    mine = {writer, (writer + 1) % WRITERS}
    return [e for e in events if int(e["customer_id"][1:]) % WRITERS in mine]


def _write(url: str, writer: int, results: Any) -> None:
    """One writer process: small batches of its share, then a subscription claimed by
    every writer for a different customer, and one event that is plainly invalid."""
    outcome: dict[str, Any] = {"writer": writer, "appended": 0, "skipped": 0, "refused": []}
    try:
        with Ledger.open(url) as ledger:
            share = _share(writer, _events())
            size = 1 + writer  # batches of different sizes interleave differently
            for start in range(0, len(share), size):
                batch = share[start : start + size]
                rows = [Row(f"w{writer}:{start + i}", e) for i, e in enumerate(batch)]
                done = ledger.import_rows(rows)
                outcome["appended"] += done.appended
                outcome["skipped"] += done.skipped
            for fields in (_contested(writer), _invalid(writer)):
                try:
                    outcome["appended"] += ledger.append(fields, location=f"w{writer}").appended
                except Refused as refused:
                    outcome["refused"].extend(str(p) for p in refused.problems)
    except Exception as exc:  # any other error is what this test exists to catch
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    results.put(outcome)


def _contested(writer: int) -> dict[str, str]:
    return {
        "event_id": f"claim-{writer}",
        "type": "new",
        "customer_id": f"rival-{writer}",
        "subscription_id": "contested",
        "effective_date": "2024-01-01",
        "amount": "100",
    }


def _invalid(writer: int) -> dict[str, str]:
    return {
        "event_id": f"bad-{writer}",
        "type": "churn",
        "customer_id": f"rival-{writer}",
        "subscription_id": "never-started",
        "effective_date": "2024-01-01",
    }


def _catch_up(url: str, stop: Any, results: Any) -> None:
    """A reader that, beside the writers, keeps reading what was recorded after the last
    position it saw, as a projection catching up does."""
    seen: list[tuple[int, str]] = []
    try:
        with Ledger.open(url) as ledger:
            while True:
                finished = stop.is_set()
                last = seen[-1][0] if seen else 0
                seen.extend(
                    (r.position, r.event.event_id) for r in ledger.store.entries(start=last)
                )
                if finished:
                    break
        results.put({"seen": seen})
    except Exception as exc:
        results.put({"seen": seen, "error": f"{type(exc).__name__}: {exc}"})


def _maintain(url: str, stop: Any, results: Any) -> None:
    """The persistent read model catching up, again and again, beside the writers."""
    try:
        with Ledger.open(url) as ledger:
            rounds = 0
            while not stop.is_set():
                ledger.read_model().catch_up()
                rounds += 1
        results.put({"rounds": rounds})
    except Exception as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def _run_together(url: str) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    results, seen, maintained, stop = (
        _spawn.Queue(),
        _spawn.Queue(),
        _spawn.Queue(),
        _spawn.Event(),
    )
    readers = [
        _spawn.Process(target=_catch_up, args=(url, stop, seen)),
        _spawn.Process(target=_maintain, args=(url, stop, maintained)),
    ]
    writers = [_spawn.Process(target=_write, args=(url, k, results)) for k in range(WRITERS)]
    for process in readers + writers:
        process.start()
    outcomes = [results.get(timeout=120) for _ in writers]
    for process in writers:
        process.join(timeout=30)
    stop.set()
    caught_up, model = seen.get(timeout=60), maintained.get(timeout=60)
    for process in readers:
        process.join(timeout=30)
    return outcomes, caught_up, model


def _rows(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row of the read model: what a rebuild must reproduce."""
    return ledger.read_model().rows()


def _figures(ledger: Ledger) -> list[dict[str, Any]]:
    """Reports on a few dates and the movements over the whole span, minus `position`."""
    book = ledger.book()
    reports = [report(book, date.fromisoformat(day)).as_json() for day in AS_OF]
    moved = ledger.movements(date(2021, 1, 1), date(2024, 12, 31)).as_json()
    return [{k: v for k, v in f.items() if k != "position"} for f in [*reports, moved]]


def test_concurrent_writers_record_every_event_exactly_once(db_url: str, tmp_path: Any) -> None:
    Ledger.init(db_url).close()
    outcomes, caught_up, model = _run_together(db_url)
    events = _events()

    assert [o.get("error") for o in outcomes] == [None] * WRITERS
    with Ledger.open(db_url) as ledger:
        recorded = [(r.position, r.event.event_id) for r in ledger.entries()]
        positions = [p for p, _ in recorded]
        assert positions == sorted(set(positions))  # strictly increasing
        ids = [i for _, i in recorded]
        claims = [i for i in ids if i.startswith("claim-")]
        assert len(ids) == len(set(ids)) == len(events) + 1
        assert set(ids) == {e["event_id"] for e in events} | set(claims)
        # each event was appended by exactly one writer; the other skipped it as a retry
        assert sum(o["appended"] for o in outcomes) == len(events) + 1
        assert sum(o["skipped"] for o in outcomes) == len(events)

        # the contested subscription went to exactly one customer; the others were told
        (winner,) = claims
        for outcome in outcomes:
            refused = outcome["refused"]
            expected = 1 if f"claim-{outcome['writer']}" == winner else 2
            assert len(refused) == expected, refused
            assert any("'never-started'" in p and p.startswith("w") for p in refused)
            if expected == 2:
                assert any("'contested' belongs to customer 'rival-" in p for p in refused)

        # the reader beside the writers saw every position once, in order, none skipped
        assert caught_up.get("error") is None
        assert caught_up["seen"] == recorded

        # the read model maintained beside them applied each event once: a rebuild agrees
        assert model.get("error") is None and model["rounds"] > 0
        read_model = ledger.read_model()
        assert read_model.catch_up() == positions[-1]
        maintained = _rows(ledger)
        assert read_model.rebuild() == positions[-1]
        assert maintained == _rows(ledger)

        together = _figures(ledger)

    alone_url = f"sqlite:///{tmp_path / 'alone.db'}"
    with Ledger.init(alone_url) as alone:
        alone.import_rows(Row(f"all:{i}", e) for i, e in enumerate(events, 1))
        alone.append(next(_contested(k) for k in range(WRITERS) if f"claim-{k}" == winner))
        assert _figures(alone) == together
