"""The read model's tracked position, moved exactly once by compare-and-set.

`arr_rm_tracking` holds `figures`: the position `done` up to which every row and
snapshot is written. A short catch-up moves it in the transaction that writes the rows.
A long one (many customers: a rebuild, the first query after a large import) is a
*pass*: a `pass` row records its target `stop` and the last customer written, and the
rows are committed customer by customer, so that SQLite's single write lock is held a
moment at a time and an interrupted pass resumes where it stopped. Figures at positions
up to `done` stay exact during a pass: a row it writes was opened, or closed, after
`done`. At the end one transaction writes the snapshots and moves `done` to `stop`.

Every step first updates the `figures` row, which takes its lock (SQLite's write lock,
a row lock on PostgreSQL), then checks the pass: two processes never apply the same step.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from projections.read_model.tables import PASS, TRACK, tracking


class Contended(Exception):
    """Another process applied the same step first."""


@dataclass(frozen=True)
class State:
    done: int
    stop: int | None = None  # the target of a pass in progress
    after: str = ""  # the last customer the pass has written ("" before the first)


def state(conn: Connection) -> State:
    rows = dict(
        (name, (position, customer))
        for name, position, customer in conn.execute(select(tracking)).tuples()
    )
    done = int(rows[TRACK][0])
    if PASS not in rows:
        return State(done)
    stop, after = rows[PASS]
    return State(done, int(stop), str(after or ""))


def advance(conn: Connection, done: int, stop: int) -> None:
    """`done` → `stop` in one step, when no pass is running."""
    _lock(conn, done, stop)
    if _pass(conn) is not None:
        raise Contended


def begin_pass(conn: Connection, done: int, stop: int) -> None:
    _lock(conn, done, done)
    if _pass(conn) is not None:
        raise Contended
    conn.execute(insert(tracking).values(name=PASS, position=stop, customer=""))


def claim(conn: Connection, stop: int, after: str, last: str) -> None:
    """The pass to `stop` has written its customers up to `last` (from `after`)."""
    moved = conn.execute(
        update(tracking)
        .where(tracking.c.name == PASS, tracking.c.position == stop, tracking.c.customer == after)
        .values(customer=last)
    )
    if moved.rowcount != 1:
        raise Contended


def finish(conn: Connection, done: int, stop: int, last: str) -> None:
    _lock(conn, done, stop)
    ended = conn.execute(
        delete(tracking).where(
            tracking.c.name == PASS, tracking.c.position == stop, tracking.c.customer == last
        )
    )
    if ended.rowcount != 1:
        raise Contended


def reset(conn: Connection) -> None:
    """Back to position 0, ending any pass (a rebuild)."""
    conn.execute(update(tracking).where(tracking.c.name == TRACK).values(position=0))
    conn.execute(delete(tracking).where(tracking.c.name == PASS))


def _lock(conn: Connection, done: int, stop: int) -> None:
    moved = conn.execute(
        update(tracking)
        .where(tracking.c.name == TRACK, tracking.c.position == done)
        .values(position=stop)
    )
    if moved.rowcount != 1:
        raise Contended


def _pass(conn: Connection) -> int | None:
    found = conn.execute(select(tracking.c.position).where(tracking.c.name == PASS))
    return found.scalar()
