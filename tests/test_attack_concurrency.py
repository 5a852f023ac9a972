"""Attack: readers ask "as known now" while writers commit, on both databases.

The promise: the same `(as_of, known_at)` or `(as_of, position)` always gives the same
answer, whatever runs concurrently or is appended later. A writer stamps its events with
one recorded time as it seals them, then commits a moment later. A reader whose
`known_at` falls in that gap must not be answered from the committed rows alone: once the
writer commits, rows recorded at or before that `known_at` exist that the reader did not
count, and the same question would get another answer.

Each test records the question asked (the `known_at` or position) and the answer
(`Report.as_json()` as sorted JSON) while writers run, then asks every question again
once they have finished, through a fresh `Ledger` (and, for a sample of the `known_at`
questions, through the CLI): byte for byte the same, or the test fails naming the
question and both answers (position and MRR).

`test_random_*`: reader threads beside writer threads on real timing: large imports (whose
sealing takes a noticeable time), single appends and voids. Bounded: every loop has a
cap and a deadline, every thread is joined.

`test_known_at_*` / `test_position_*`: the gap made wide and certain. The concrete
recorders' `seal` is wrapped, for the writer thread only: after the recorded time is
stamped (the original `seal` returned) and before the commit, it signals and sleeps a
second. A reader asks during that second, in a thread joined with a timeout: a correct
ledger may make it wait for the writer's commit before answering.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger import Ledger, cli
from ledger.intake.rows import Row
from ledger.store.postgres import PostgresLedgerRecorder
from ledger.store.recorders import SQLiteLedgerRecorder
from projections.figures.report import Report
from tests.conftest import new, rate

AS_OF = date(2024, 12, 31)
JOIN = 30.0
"""The longest any thread is waited for."""

# The random attack: sizes, counts, caps.
SEED = 500
"""Events recorded before the attack: the appender voids some of them."""
IMPORTS = (3_000, 5_000, 3_000, 4_000)
"""Events per import. Sealing 5,000 takes a tenth of a second or more on either database."""
APPENDS = 24
"""Single appends (each a `new`, half of them voided right after)."""
READERS = 2
QUESTIONS = 400
"""The most questions a reader records (then it stops): each is asked again afterwards."""
ATTACK = 18.0
"""Seconds after which every attacking thread stops, finished or not."""
AFTER = 3
"""Rounds of questions each reader still asks once the writers are done."""
PAUSE = 0.005
"""Seconds a reader sleeps between rounds, leaving the writers their share of the GIL."""
CLI_SAMPLE = 12
"""How many recorded `known_at` questions are asked again through the CLI."""

# The deterministic gap.
GAP = 1.0
"""Seconds the writer sleeps between stamping its events and committing them."""
GAP_SEED = 100
GAP_IMPORT = 3_000
WRITER = "gap-writer"


def _new(prefix: str, n: int) -> dict[str, str]:
    """A valid `new` event for the fresh customer `{prefix}-c{n}`."""
    return {
        "event_id": f"{prefix}-n{n}",
        "type": "new",
        "customer_id": f"{prefix}-c{n}",
        "subscription_id": f"{prefix}-s{n}",
        "effective_date": "2024-01-01",
        "amount": "100",
    }


def _new_rows(prefix: str, count: int) -> list[Row]:
    """`count` valid `new` events, each for a fresh customer."""
    return [Row(f"{prefix}:{n}", _new(prefix, n)) for n in range(count)]


def _void(prefix: str, n: int, tag: str) -> dict[str, str]:
    """A void of the `new` `_new(prefix, n)`."""
    return {
        "event_id": f"{tag}-v-{prefix}-{n}",
        "type": "void",
        "customer_id": f"{prefix}-c{n}",
        "target_event_id": f"{prefix}-n{n}",
    }


def _rendered(answer: Report) -> str:
    return json.dumps(answer.as_json(), sort_keys=True)


def _summary(rendered: str) -> str:
    figures = json.loads(rendered)
    return f"position {figures['position']}, MRR {figures['mrr']}"


def _cli_report(db_url: str, known_at: str) -> str:
    asked = ["--as-of", AS_OF.isoformat(), "--known-at", known_at, "--format", "json"]
    result = CliRunner().invoke(cli.app, ["report", *asked, "--db", db_url])
    assert result.exit_code == 0, f"arr report --known-at {known_at}: {result.output}"
    return json.dumps(json.loads(result.stdout), sort_keys=True)


@dataclass
class Threads:
    """Threads that record their failures instead of dying silently."""

    errors: list[str] = field(default_factory=list)
    started: list[threading.Thread] = field(default_factory=list)

    def start(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # the failure is what the test reports
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")

        thread = threading.Thread(target=run, name=name, daemon=True)
        self.started.append(thread)
        thread.start()
        return thread

    def join(self, *threads: threading.Thread) -> None:
        for thread in threads or tuple(self.started):
            thread.join(timeout=JOIN)
            assert not thread.is_alive(), f"{thread.name} still running after {JOIN} s"

    def check(self) -> None:
        assert not self.errors, "\n".join(self.errors)


# The random attack.


@dataclass(frozen=True)
class Question:
    kind: str  # "known_at" or "position"
    value: str  # the known_at's ISO text, or the position


def _ask(ledger: Ledger, question: Question) -> str:
    if question.kind == "known_at":
        known_at = datetime.fromisoformat(question.value)
        return _rendered(ledger.report(AS_OF, known_at=known_at))
    return _rendered(ledger.report(AS_OF, position=int(question.value)))


@dataclass(frozen=True)
class Writers:
    """What the writer threads share. Both databases let one writer in at a time (SQLite's
    write lock, PostgreSQL's table lock); `turn` lets one in at a time already here, for
    a write and the read-model catch-up after it. Without it, a writer's catch-up, queued
    behind the next import, left the read model behind for the whole import: every reader
    then waited to catch up through the very seal it should have been asking across."""

    url: str
    start: threading.Barrier
    stop: float
    turn: threading.Lock = field(default_factory=threading.Lock)


def _importer(writers: Writers) -> Callable[[], None]:
    def run() -> None:
        with Ledger.open(writers.url) as ledger:
            writers.start.wait(timeout=JOIN)
            for number, count in enumerate(IMPORTS):
                if time.monotonic() > writers.stop:
                    return
                rows = _new_rows(f"imp{number}", count)
                with writers.turn:
                    ledger.import_rows(rows)
                    # Caught up at once: readers answer without catching up themselves,
                    # fast, when the next import seals.
                    ledger.read_model().catch_up()
                time.sleep(0.2)  # the readers' turn to ask at the new head

    return run


def _appender(writers: Writers) -> Callable[[], None]:
    def run() -> None:
        with Ledger.open(writers.url) as ledger:
            writers.start.wait(timeout=JOIN)
            for n in range(APPENDS):
                if time.monotonic() > writers.stop:
                    return
                with writers.turn:
                    ledger.append(_new("app", n))
                    if n % 2:
                        ledger.append(_void("app", n, "own"))
                    if n % 4 == 0:
                        ledger.append(_void("seed", n, "app"))
                    ledger.read_model().catch_up()
                time.sleep(0.02)

    return run


def _reader(
    db_url: str,
    start: threading.Barrier,
    done: threading.Event,
    stop: float,
    asked: list[tuple[Question, str]],
) -> Callable[[], None]:
    def run() -> None:
        with Ledger.open(db_url) as ledger:
            start.wait(timeout=JOIN)
            after = 0
            while len(asked) < QUESTIONS and time.monotonic() < stop:
                if done.is_set():
                    after += 1
                    if after > AFTER:
                        return
                known_at = datetime.now(UTC)
                answer = _rendered(ledger.report(AS_OF, known_at=known_at))
                asked.append((Question("known_at", known_at.isoformat()), answer))
                head = ledger.head()
                answer = _rendered(ledger.report(AS_OF, position=head))
                asked.append((Question("position", str(head)), answer))
                time.sleep(PAUSE)

    return run


def _changed(db_url: str, asked: list[tuple[Question, str]]) -> list[str]:
    """Every recorded question asked again: the ones whose answer is not the same."""
    changed, again = [], {}
    with Ledger.open(db_url) as ledger:
        for question, answer in asked:
            if question not in again:
                again[question] = _ask(ledger, question)
            if again[question] != answer:
                changed.append(
                    f"{question.kind}={question.value}: {_summary(answer)} while the writers "
                    f"ran; {_summary(again[question])} afterwards"
                )
    return changed


def _cli_sample(asked: list[tuple[Question, str]]) -> Iterator[tuple[Question, str]]:
    known = [(q, a) for q, a in asked if q.kind == "known_at"]
    step = max(1, len(known) // CLI_SAMPLE)
    yield from known[::step][:CLI_SAMPLE]


def test_random_concurrent_reports_are_answered_once(db_url: str) -> None:
    """Readers ask `known_at=now` and `position=head` in a loop while one thread imports
    large batches and another appends and voids: every answer, asked again afterwards
    (in process and through the CLI), is byte for byte the one first given."""
    with Ledger.init(db_url) as ledger:
        ledger.import_rows(_new_rows("seed", SEED))
        ledger.report(AS_OF)  # the read model caught up before the attack
    threads, done = Threads(), threading.Event()
    start = threading.Barrier(READERS + 2, timeout=JOIN)
    stop = time.monotonic() + ATTACK
    asked: list[list[tuple[Question, str]]] = [[] for _ in range(READERS)]
    readers = [
        threads.start(f"reader-{k}", _reader(db_url, start, done, stop, asked[k]))
        for k in range(READERS)
    ]
    shared = Writers(db_url, start, stop)
    writers = [
        threads.start("importer", _importer(shared)),
        threads.start("appender", _appender(shared)),
    ]
    try:
        threads.join(*writers)
    finally:
        done.set()
        threads.join(*readers)
    threads.check()

    recorded = [item for answers in asked for item in answers]
    known_at = sum(q.kind == "known_at" for q, _ in recorded)
    assert known_at >= 10, f"the readers asked only {known_at} known_at questions"
    with Ledger.open(db_url) as ledger:  # the writers may stop early on a slow machine
        recorded_events = int(ledger.store.select("SELECT COUNT(*) FROM {entries}")[0][0])
    assert recorded_events >= SEED + IMPORTS[0], "no import committed while the readers asked"
    changed = _changed(db_url, recorded)
    assert not changed, (
        f"{len(changed)} of {len(recorded)} answers changed once the writers were done:\n"
        + "\n".join(changed[:10])
    )
    for question, answer in _cli_sample(recorded):
        through_cli = _cli_report(db_url, question.value)
        assert through_cli == answer, (
            f"arr report --known-at {question.value}: {_summary(answer)} while the writers "
            f"ran; {_summary(through_cli)} through the CLI afterwards"
        )


# The deterministic gap.


@dataclass
class Gap:
    """Signals from the writer's wrapped `seal`."""

    stamped: threading.Event = field(default_factory=threading.Event)
    committing: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def gap(monkeypatch: pytest.MonkeyPatch) -> Gap:
    """The writer thread (named `WRITER`) sleeps `GAP` seconds after its recorded time is
    stamped and its events sealed, before its transaction commits."""
    signals = Gap()
    for recorder in (SQLiteLedgerRecorder, PostgresLedgerRecorder):
        monkeypatch.setattr(recorder, "seal", _widened(recorder.seal, signals))
    return signals


def _widened(seal: Callable[..., Any], signals: Gap) -> Callable[..., Any]:
    def widened(*args: Any, **kwargs: Any) -> Any:
        sealed = seal(*args, **kwargs)
        if threading.current_thread().name == WRITER:
            signals.stamped.set()
            time.sleep(GAP)
            signals.committing.set()
        return sealed

    return widened


@dataclass
class Asked:
    """What the reader asked during the gap, and whether the writer was still in it."""

    value: str = ""
    answer: str = ""
    in_gap: bool = False


def _seeded(db_url: str) -> int:
    """A ledger of `GAP_SEED` events, its read model caught up; returns its head."""
    with Ledger.init(db_url) as ledger:
        ledger.import_rows(_new_rows("seed", GAP_SEED))
        ledger.report(AS_OF)
        return ledger.head()


def _during_gap(
    db_url: str, gap: Gap, question: Callable[[Ledger, Asked], None]
) -> tuple[Asked, int]:
    """Runs an import in the writer thread and `question` in a reader thread once the
    import is stamped (it may block); both joined. Returns what was asked, and the head
    once the import committed."""
    threads, ready, asked = Threads(), threading.Event(), Asked()

    def reader() -> None:
        with Ledger.open(db_url) as ledger:
            ready.set()
            assert gap.stamped.wait(timeout=JOIN), "the import was never stamped"
            question(ledger, asked)

    def writer() -> None:
        with Ledger.open(db_url) as ledger:
            ledger.import_rows(_new_rows("late", GAP_IMPORT))

    reading = threads.start("gap-reader", reader)
    assert ready.wait(timeout=JOIN)
    writing = threads.start(WRITER, writer)
    threads.join(reading, writing)
    threads.check()
    assert asked.in_gap, "the reader asked after the writer's gap: no attack was made"
    with Ledger.open(db_url) as ledger:
        return asked, ledger.head()


def test_known_at_during_the_commit_gap_is_answered_once(db_url: str, gap: Gap) -> None:
    """`known_at=now`, asked after an import took its recorded time and before it
    committed, is answered the same once it has committed (in process and by the CLI)."""
    seeded = _seeded(db_url)

    def question(ledger: Ledger, asked: Asked) -> None:
        known_at = datetime.now(UTC)
        asked.value, asked.in_gap = known_at.isoformat(), not gap.committing.is_set()
        asked.answer = _rendered(ledger.report(AS_OF, known_at=known_at))

    asked, head = _during_gap(db_url, gap, question)
    assert head == seeded + GAP_IMPORT
    with Ledger.open(db_url) as ledger:
        again = _rendered(ledger.report(AS_OF, known_at=datetime.fromisoformat(asked.value)))
    assert again == asked.answer, (
        f"known_at={asked.value}: {_summary(asked.answer)} when asked during the import's "
        f"commit; {_summary(again)} when asked again after it committed"
    )
    through_cli = _cli_report(db_url, asked.value)
    assert through_cli == asked.answer, (
        f"arr report --known-at {asked.value}: {_summary(asked.answer)} during the import's "
        f"commit; {_summary(through_cli)} through the CLI after it committed"
    )


def test_position_head_during_the_commit_gap_is_answered_once(db_url: str, gap: Gap) -> None:
    """`position` = the head a reader saw while an import was stamped but uncommitted is
    answered the same once the import has committed."""
    seeded = _seeded(db_url)

    def question(ledger: Ledger, asked: Asked) -> None:
        head = ledger.head()
        asked.value, asked.in_gap = str(head), not gap.committing.is_set()
        asked.answer = _rendered(ledger.report(AS_OF, position=head))

    asked, head = _during_gap(db_url, gap, question)
    assert head == seeded + GAP_IMPORT
    assert int(asked.value) == seeded, "the head read during the gap saw the uncommitted import"
    with Ledger.open(db_url) as ledger:
        again = _rendered(ledger.report(AS_OF, position=int(asked.value)))
    assert again == asked.answer, (
        f"position={asked.value}: {_summary(asked.answer)} when asked during the import's "
        f"commit; {_summary(again)} when asked again after it committed"
    )


# Customers in other currencies: an answer of several read-model queries.


def _foreign_rows(batch: int) -> list[Row]:
    """30 customers in EUR or GBP starting in 2024 (backdated), and a rate of each on a
    new day: figures already answered would move if a reader mixed two states."""
    day = "2023-12-01" if batch == 0 else f"2024-{batch % 12 + 1:02d}-15"
    rows = [Row(f"fx{batch}:r{c}", rate(c, day, f"1.{batch + 1}")) for c in ("EUR", "GBP")]
    for n in range(30):
        day = f"2024-{n % 12 + 1:02d}-{n % 27 + 1:02d}"
        event = new(
            f"fx{batch}-c{n}", f"fx{batch}-s{n}", day, str(100 + n), currency=("EUR", "GBP")[n % 2]
        )
        rows.append(Row(f"fx{batch}:{n}", event))
    return rows


def _series(ledger: Ledger, position: int) -> str:
    rows = ledger.series(date(2024, 1, 1), date(2024, 12, 31), netting="month", position=position)
    return json.dumps([r.as_json() for r in rows], sort_keys=True)


def test_foreign_series_are_answered_once_while_writers_commit(db_url: str) -> None:
    """Readers sharing one `Ledger` ask month-netted series (their periods, trailing
    retention and netting read the foreign customers once per answer, `_one_answer`)
    while a writer imports foreign customers and rates: each answer, asked again
    afterwards through a fresh ledger, is byte for byte the same."""
    with Ledger.init(db_url) as ledger:
        ledger.import_rows(_foreign_rows(0))
    threads, asked = Threads(), list[tuple[int, str]]()
    start, stop = threading.Barrier(3), time.monotonic() + ATTACK / 2

    def write() -> None:
        with Ledger.open(db_url) as ledger:
            start.wait(timeout=JOIN)
            for batch in range(1, 7):
                if time.monotonic() > stop:
                    return
                ledger.import_rows(_foreign_rows(batch))
                time.sleep(0.1)

    with Ledger.open(db_url) as shared:

        def read() -> None:
            start.wait(timeout=JOIN)
            while len(asked) < 40 and time.monotonic() < stop:
                head = shared.head()
                asked.append((head, _series(shared, head)))

        threads.start("writer", write)
        threads.start("reader-1", read)
        threads.start("reader-2", read)
        threads.join()
    threads.check()
    assert len({head for head, _ in asked}) > 1, "the readers saw only one state"
    with Ledger.open(db_url) as fresh:
        changed = [head for head, answer in asked if _series(fresh, head) != answer]
    assert not changed, f"answers at positions {changed} changed"
