"""The read model written by an import, in the import's own transaction: an *inline*
projection.

An import folds the whole timeline of every customer it touches, once, to validate it
(`Import.finish`). When the read model had caught up with the ledger before the import
began, those timelines are all it needs: each customer's rows are derived from its
timeline (`follow`, as a catch-up derives them at the end of a commit), written with
the events, and the tracked position moves to the import's last position in the same
commit. The first query after an import then has nothing to catch up, and no event is
decoded or folded twice. A read model behind the ledger is left to catch up as before
(`read_model_model`), and so is a rebuild.

The tracking row is read, and on PostgreSQL locked, inside the import's transaction,
which already holds the ledger's write lock: no catch-up or rebuild can move it until
the import commits or rolls back, and then it finds the rows the import left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.schema import CreateIndex

from ledger.domain.timeline import Timeline
from projections.read_model import parallel, snapshots
from projections.read_model.derive import Writes, believed_rows, follow, no_beliefs
from projections.read_model.kinds import KINDS
from projections.read_model.model import indexes, write
from projections.read_model.sql import CursorRaw
from projections.read_model.tables import LAYOUT, LAYOUT_KEY, PASS, TRACK, shape

HANDED = 2_000
"""New customers in one folded chunk from which an import derives their rows in worker
processes: below, starting them (half a second) costs more than it saves."""
_EXISTS_SQLITE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'arr_rm_tracking'"
_EXISTS_POSTGRES = "SELECT to_regclass('arr_rm_tracking') IS NOT NULL"
_LAYOUT = "SELECT position, customer FROM arr_rm_tracking WHERE name = ?"
_STATE = "SELECT name, position FROM arr_rm_tracking WHERE name IN (?, ?)"
_MOVE = "UPDATE arr_rm_tracking SET position = ? WHERE name = ? AND position = ?"


def _ready(raw: CursorRaw, sqlite: bool) -> bool:
    """Whether the read model's tables of this layout are there."""
    if not raw.scalar(_EXISTS_SQLITE if sqlite else _EXISTS_POSTGRES):
        return False
    found = raw.rows(_LAYOUT, (LAYOUT_KEY,))
    return bool(found) and tuple(found[0]) == (LAYOUT, shape())


class Inline:
    """The read model of one import, written through its transaction's cursor."""

    def __init__(self, raw: CursorRaw, since: int, url: URL) -> None:
        self.raw, self.since, self.url = raw, since, url
        self.expected: int | None = None  # the last position, as foreseen by the fold
        self.wrote = False
        self.helpers: parallel.Helpers | None = None

    @classmethod
    def begin(cls, cursor: Any, url: URL, since: int) -> Inline | None:
        """An inline projection of the import that follows position `since`, when the
        read model stands exactly there with no pass running; None otherwise."""
        sqlite, schema = url.get_backend_name() == "sqlite", url.query.get("schema")
        raw = CursorRaw(cursor, sqlite)
        if isinstance(schema, str) and schema and not sqlite:  # the store's own name theirs
            quoted = '"' + schema.replace('"', '""') + '"'
            cursor.execute(f"SET LOCAL search_path TO {quoted}, public")
        if not _ready(raw, sqlite):  # made by `init`, or by the first query: never here
            return None
        lock = "" if sqlite else " FOR UPDATE"
        found = dict(raw.rows(_STATE + lock, (TRACK, PASS)))
        if PASS in found or found.get(TRACK) != since:
            return None
        if since == 0:  # the first import: faster to index the rows once they are all in
            for index in indexes():
                cursor.execute(f"DROP INDEX IF EXISTS {index.name}")
        return cls(raw, since, url)

    def folded(self, timelines: Sequence[tuple[str, Timeline, bool]], stop: int) -> None:
        """Writes the rows of these customers' timelines, believed from `stop` (the
        import's last position); each says whether the customer had events before."""
        self.expected, self.wrote = stop, True
        if self._handed(timelines, stop):
            return
        known = [customer for customer, _, existed in timelines if existed]
        believed = no_beliefs(c for c, _, _ in timelines)
        believed.update(believed_rows(self.raw, known) if known else {})
        writes = Writes()
        for customer, timeline, _ in timelines:
            follow(customer, timeline, believed[customer], stop, writes, self.raw)
        write(self.raw, writes)

    def _handed(self, timelines: Sequence[tuple[str, Timeline, bool]], stop: int) -> bool:
        """Hands a full chunk of new customers to worker processes, which derive its rows
        while the import folds on (the fold is the import's; the rows' derivation the
        workers'); writes what they have sent back. False: derive them here."""
        if any(existed for _, _, existed in timelines):
            return False  # their believed rows are read here, in the import's transaction
        if self.helpers is None:
            # as many workers as a catch-up over this many positions would start
            count = parallel.workers(self.url, parallel.PARALLEL) if len(timelines) >= HANDED else 0
            if not count:
                return False
            self.helpers = parallel.Helpers(self.url, count)
        # One job per worker at a time: the worker next in turn hands its result back
        # first, so it never blocks writing it while being sent the next.
        while self.helpers.waiting >= len(self.helpers.processes):
            write(self.raw, self.helpers.receive())
        self.helpers.send(parallel.Folded([(c, t) for c, t, _ in timelines], stop, self.raw.sqlite))
        return True

    def close(self) -> None:
        """Stops the worker processes, if any (the import ended, well or not)."""
        if self.helpers is not None:
            self.helpers.close()

    def finish(self, stop: int) -> None:
        """The snapshots up to `stop`, and the tracked position moved there."""
        while self.helpers is not None and self.helpers.waiting:
            write(self.raw, self.helpers.receive())
        if self.expected is not None and self.expected != stop:
            self._moved(self.expected, stop)
        if self.since == 0:
            dialect = sqlite.dialect() if self.raw.sqlite else postgresql.dialect()  # type: ignore[no-untyped-call]
            for index in indexes():
                self.raw.transaction.execute(str(CreateIndex(index).compile(dialect=dialect)))
        snapshots.take(self.raw, self.since, stop, [stop])  # one commit
        if self.raw.count(_MOVE, (stop, TRACK, self.since)) != 1:
            raise RuntimeError("the read model's tracked position moved during an import")

    def _moved(self, expected: int, stop: int) -> None:
        """The rows were written believed from the position the import's last event was
        foreseen to take, before it was written: on PostgreSQL positions come from a
        sequence, which skips the numbers a rolled-back transaction drew."""
        for kind in KINDS:
            for column in ("recorded_from", "recorded_to"):
                moved = f"UPDATE {kind.table.name} SET {column} = ? WHERE {column} = ?"
                self.raw.count(moved, (stop, expected))
