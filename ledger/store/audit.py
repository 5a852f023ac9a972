"""`arr audit verify`: re-reads the whole store and checks every seal and chain link.

Both tables are read in position order and matched both ways: every stored event must
have its index row and every index row its stored event. Each row's content hash must
recompute from what is stored, and its stream and ledger links must reach the rows it
names as predecessors. Removal is found by those links, never by numeric gaps: a
PostgreSQL sequence legitimately skips numbers when an insert rolls back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import ClauseElement, ColumnElement, Select, select

from ledger.store import closes, layout
from ledger.store.chain import GENESIS, Checkpoint, Content, link
from ledger.store.codec import entry_of

if TYPE_CHECKING:
    from ledger.store.recorders import Recorder

PAGE = 5_000
RECENT = 10_000
"""How many accepted rows are remembered to name the ones a later link skips over."""


@dataclass(frozen=True, slots=True)
class StoredRow:
    position: int
    stream_id: str
    version: int
    topic: str
    state: bytes
    textual: bool = False  # the state was stored as text, never as the ledger writes it

    @property
    def entry(self) -> dict[str, Any]:
        """The ledger event's fields as stored ({} when they cannot be read)."""
        try:
            return entry_of(self.state)
        except ValueError:
            return {}

    @property
    def event_id(self) -> str:
        return str(self.entry.get("event_id", "?"))


@dataclass(frozen=True, slots=True)
class IndexEntry:
    position: int
    event_id: str
    customer_id: str
    recorded_at: str
    prev_position: int | None
    stream_prev: int | None
    content_hash: str | None
    stream_hash: str | None
    digest: str | None

    def content(self, stored: StoredRow) -> Content:
        return Content(
            position=self.position,
            prev_position=self.prev_position or 0,
            stream_prev=self.stream_prev or 0,
            recorded_at=self.recorded_at,
            event_id=self.event_id,
            customer_id=self.customer_id,
            stream_id=stored.stream_id,
            version=stored.version,
            topic=stored.topic,
            state=stored.state,
        )

    @property
    def sealed(self) -> bool:
        return None not in (self.prev_position, self.stream_prev, self.content_hash)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with the store, located by position and event id."""

    position: int
    event_id: str
    kind: str  # altered | removed | inserted | broken chain | truncated
    message: str
    subject: str = ""  # what is wrong when it is not one event: settings, owners, read model

    def __str__(self) -> str:
        where = self.subject or f"position {self.position} (event {self.event_id})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Verification:
    """What `verify` found: the events checked, the head, every finding."""

    checked: int = 0
    head: Checkpoint = field(default_factory=lambda: Checkpoint(GENESIS, 0))
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        if self.ok:
            return f"ok: {self.checked} events checked, head {self.head}"
        count = len(self.findings)
        return f"FAILED: {count} problem{'s' * (count != 1)} in {self.checked} events checked"


def _stored_rows(recorder: Recorder) -> Iterator[StoredRow]:
    e = recorder.tables.events.c
    query = select(e.position, e.originator_id, e.originator_version, e.topic, e.state)
    for row in _pages(recorder, query, e.position):
        position, stream, version, topic, state = row
        textual = isinstance(state, str)
        data = state.encode("utf-8", "surrogatepass") if textual else bytes(state)
        yield StoredRow(int(position), str(UUID(str(stream))), int(version), topic, data, textual)


def _index_entries(recorder: Recorder) -> Iterator[IndexEntry]:
    entries = recorder.tables.entries
    for row in _pages(recorder, select(entries), entries.c.position):
        position, *rest = row
        yield IndexEntry(int(position), *rest)


def _pages(
    recorder: Recorder, query: Select[Any], position: ColumnElement[int]
) -> Iterator[tuple[Any, ...]]:
    last = -1
    while True:
        page = query.where(position > last).order_by(position).limit(PAGE)
        rows = _rows(recorder, page)
        yield from rows
        if len(rows) < PAGE:
            return
        last = int(rows[-1][0])


def _rows(recorder: Recorder, query: ClauseElement) -> list[tuple[Any, ...]]:
    return recorder.run(*recorder.tables.compiled(query))


def _paired(recorder: Recorder) -> Iterator[tuple[int, StoredRow | None, IndexEntry | None]]:
    """Both tables merged by position: (position, stored event, index row)."""
    stored, index = _stored_rows(recorder), _index_entries(recorder)
    s, i = next(stored, None), next(index, None)
    while s is not None or i is not None:
        if i is None or (s is not None and s.position < i.position):
            assert s is not None
            yield s.position, s, None
            s = next(stored, None)
        elif s is None or i.position < s.position:
            yield i.position, None, i
            i = next(index, None)
        else:
            yield s.position, s, i
            s, i = next(stored, None), next(index, None)


class _Walk:
    """The forward walk over both chains, remembering just enough to check each link."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.result = Verification()
        self.seen: set[tuple[int, str]] = set()
        self.last = (0, GENESIS)
        self.streams: dict[str, tuple[int, str]] = {}
        self.recent: deque[tuple[int, str]] = deque(maxlen=RECENT)

    def report(self, position: int, event_id: str, kind: str, message: str) -> None:
        if (position, kind) not in self.seen:
            self.seen.add((position, kind))
            self.result.findings.append(Finding(position, event_id, kind, message))

    def visit(self, position: int, stored: StoredRow | None, entry: IndexEntry | None) -> None:
        self.result.checked += 1
        if entry is None:
            assert stored is not None
            message = "stored event has no index row: written outside the ledger"
            self.report(position, stored.event_id, "inserted", message)
            return
        if not entry.sealed:
            self.report(position, entry.event_id, "inserted", "index row was never sealed")
            return
        if stored is None:
            message = "its stored event was deleted (the index row remains)"
            self.report(position, entry.event_id, "removed", message)
        elif stored.textual:
            message = "its stored state is text, not the bytes the ledger wrote"
            self.report(position, entry.event_id, "altered", message)
        elif entry.content(stored).digest() != entry.content_hash:
            message = "stored content does not match its hash"
            self.report(position, entry.event_id, "altered", message)
            if (entry.prev_position or 0) != self.last[0]:
                # A forged row, not an altered one: the chain goes on from its true head.
                message = f"does not link to the event before it (position {self.last[0]})"
                self.report(position, entry.event_id, "inserted", message)
                return
        self.ledger_link(entry)
        self.stream_link(entry)
        self.accept(entry)

    def ledger_link(self, entry: IndexEntry) -> None:
        prev = entry.prev_position or 0
        last_position, last_digest = self.last
        if prev > last_position:
            self.missing(prev, entry, "the ledger chain")
        elif prev < last_position:
            self.skipped(prev, entry)
        previous = last_digest if prev == last_position else self.digest_at(prev)
        expected = None if previous is None else link(previous, entry.stream_hash or "")
        if expected is not None and entry.digest != expected:
            message = "ledger digest does not follow from the previous event's"
            self.report(entry.position, entry.event_id, "broken chain", message)

    def stream_link(self, entry: IndexEntry) -> None:
        prev = entry.stream_prev or 0
        last_position, last_hash = self.streams.get(entry.customer_id, (0, GENESIS))
        if prev > last_position:
            self.missing(prev, entry, f"customer {entry.customer_id!r}'s stream")
        previous = last_hash if prev == last_position else self.stream_hash_at(prev)
        expected = None if previous is None else link(previous, entry.content_hash or "")
        if expected is not None and entry.stream_hash != expected:
            message = f"stream hash does not follow from customer {entry.customer_id!r}'s previous"
            self.report(entry.position, entry.event_id, "broken chain", message)

    def missing(self, prev: int, entry: IndexEntry, chain: str) -> None:
        message = f"gone, yet {chain} at position {entry.position} ({entry.event_id}) links to it"
        self.report(prev, "unknown", "removed", message)

    def skipped(self, prev: int, entry: IndexEntry) -> None:
        """Rows after `prev` that `entry` does not link to were put there out of band."""
        for position, event_id in self.recent:
            if prev < position:
                message = f"not in the chain: position {entry.position} links back to {prev}"
                self.report(position, event_id, "inserted", message)

    def accept(self, entry: IndexEntry) -> None:
        self.last = (entry.position, entry.digest or "")
        self.streams[entry.customer_id] = (entry.position, entry.stream_hash or "")
        self.recent.append((entry.position, entry.event_id))
        self.result.head = Checkpoint(entry.digest or "", entry.position)

    def digest_at(self, position: int) -> str | None:
        return GENESIS if position == 0 else self._column("digest", position)

    def stream_hash_at(self, position: int) -> str | None:
        return GENESIS if position == 0 else self._column("stream_hash", position)

    def _column(self, column: str, position: int) -> str | None:
        entries = self.recorder.tables.entries
        query = select(entries.c[column]).where(entries.c.position == position)
        rows = _rows(self.recorder, query)
        return str(rows[0][0]) if rows and rows[0][0] is not None else None


def verify(recorder: Recorder, checkpoint: Checkpoint | None = None) -> Verification:
    """Every altered, removed or inserted event, and every broken link, in the store."""
    walk, owners = _Walk(recorder), Owners()
    for position, stored, entry in _paired(recorder):
        walk.visit(position, stored, entry)
        if stored is not None:
            owners.see(stored)
    if checkpoint is not None:
        _check_point(walk, checkpoint)
    walk.result.findings.extend(_settings(recorder))
    for problem in closes.mismatched(recorder, walk.digest_at):
        walk.result.findings.append(Finding(0, "", "altered", problem, "closes"))
    walk.result.findings.extend(owners.check(recorder))
    # The events first, by position; then what is not one event.
    walk.result.findings.sort(key=lambda f: (1, 0, "") if f.subject else (0, f.position, f.kind))
    return walk.result


def _check_point(walk: _Walk, checkpoint: Checkpoint) -> None:
    """History up to the checkpoint must be exactly what it was: its digest is still there."""
    if checkpoint.position == 0:
        return
    found = walk.digest_at(checkpoint.position)
    if found is None:
        message = f"the checkpoint's event is gone: history was truncated or removed ({checkpoint})"
        walk.report(checkpoint.position, "unknown", "truncated", message)
    elif found != checkpoint.digest:
        message = f"history up to here differs from the checkpoint: digest {found}"
        walk.report(checkpoint.position, "unknown", "altered", message)


def checkpoint(recorder: Recorder) -> Checkpoint:
    """The current head as `DIGEST@POSITION`."""
    c = recorder.tables.entries.c
    rows = _rows(recorder, select(c.position, c.digest).order_by(c.position.desc()).limit(1))
    if not rows:
        return Checkpoint(GENESIS, 0)
    return Checkpoint(str(rows[0][1]), int(rows[0][0]))


def _settings(recorder: Recorder) -> Iterator[Finding]:
    """The settings (the currency every figure is in, the layout) against their seal."""
    found = layout.settings(recorder)
    if found.get(layout.SEAL_KEY) != layout.settings_seal(found):
        shown = ", ".join(f"{k}={v!r}" for k, v in sorted(found.items()) if k != layout.SEAL_KEY)
        message = f"the ledger's settings ({shown}) do not match their seal"
        yield Finding(0, "", "altered", message, "settings")


class Owners:
    """Each subscription's owner as the events say it: the customer of the first `new`
    naming it, voided or not (the ledger claims it when that `new` is recorded)."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[str, int, str]] = {}

    def see(self, stored: StoredRow) -> None:
        entry = stored.entry
        sid = entry.get("subscription_id")
        if entry.get("type") == "new" and isinstance(sid, str) and sid not in self.first:
            self.first[sid] = (str(entry.get("customer_id")), stored.position, stored.event_id)

    def check(self, recorder: Recorder) -> Iterator[Finding]:
        stored = {str(s): str(c) for s, c in _rows(recorder, select(recorder.tables.subscriptions))}
        for sid in sorted(self.first.keys() | stored.keys()):
            yield from self._one(sid, stored.get(sid))

    def _one(self, sid: str, owner: str | None) -> Iterator[Finding]:
        subject = f"subscription {sid!r}"
        if sid not in self.first:
            message = (
                f"owned by {owner!r}, but no recorded `new` names it (its event was removed, "
                "or the row written outside the ledger)"
            )
            yield Finding(0, "", "inserted", message, subject)
            return
        customer, position, event_id = self.first[sid]
        if owner is None:
            message = f"its owner {customer!r} (from {event_id} at position {position}) is gone"
            yield Finding(position, event_id, "removed", message, subject)
        elif owner != customer:
            message = (
                f"stored owner {owner!r}, but its first `new` ({event_id} at position "
                f"{position}) is customer {customer!r}"
            )
            yield Finding(position, event_id, "altered", message, subject)
