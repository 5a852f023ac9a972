"""The persistent, bitemporal read model: maintained by following the ledger's positions.

Catching up from the tracked position `done` to `stop` derives, for the customers with
events in between, the rows each new prefix of their history implies
(`read_model_derive`), writes them, then the snapshots in that range
(`read_model_snapshots`), and moves the tracked position by compare-and-set, so that a
step is applied exactly once even when several processes catch up at the same time
(`read_model_passes`). A few customers' worth is one transaction; more is a pass,
committed customer chunk by customer chunk and resumable.

A rebuild empties the tables and catches up from 0 along the same path, so it yields the
same rows. From 0 nothing believed needs reading, the secondary indexes are dropped and
built again after the rows, and far behind the derivation runs in worker processes
(`read_model_parallel`): the first query after a large import is as fast as a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Index, select
from sqlalchemy.exc import DBAPIError

from ledger.domain.errors import LedgerError, StoreUnavailable
from ledger.domain.rates import Rates
from ledger.store.event_store import EventStore
from ledger.store.recorders import chunks
from projections.figures.cohorts import CohortSums
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import Converter
from projections.figures.movements import Known, Movements
from projections.figures.netting import Sums
from projections.figures.netting import added as added_sums
from projections.figures.report import CurrencyLine, Report, SegmentLine
from projections.figures.series import SeriesRow
from projections.figures.trailing import Windows
from projections.read_model import cohorts as model_cohorts
from projections.read_model import (
    netting,
    parallel,
    passes,
    periods,
    rates,
    unit_customers,
    verify,
)
from projections.read_model import snapshots as read_model_snapshots
from projections.read_model import trailing as read_model_trailing
from projections.read_model.bulk import collector_paused
from projections.read_model.derive import EventSql, Writes, commit_ends, derive, touched
from projections.read_model.kinds import KINDS
from projections.read_model.passes import Contended
from projections.read_model.periods import Foreign
from projections.read_model.report import by_currency, by_customer, reports
from projections.read_model.rows import LIFECYCLE
from projections.read_model.sql import Raw
from projections.read_model.tables import SNAPSHOTS, TRACK, connect, tracking

BATCH = 1 << 40
"""Positions applied per catch-up step. The whole lag by default: each customer's
history is then read and folded once, however far behind the model is."""
CUSTOMERS = 2_000
"""Customers derived and written at a time (a step with more is a pass), so that memory
stays bounded and SQLite's write lock is held a moment at a time."""

Progress = Callable[[int, int], None]
P = ParamSpec("P")
T = TypeVar("T")


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    """A database failure becomes one clear message naming the ledger, never a traceback;
    so does a value no figure can be made of (a text, a denominator 0), which only an
    edit behind the ledger's back leaves in its rows."""

    @wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except DBAPIError as exc:
            where = _location(args)
            first = str(exc.orig).strip().splitlines()[:1] or [type(exc.orig).__name__]
            raise StoreUnavailable(f"cannot use the read model of {where}: {first[0]}") from None
        except LedgerError:
            raise
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise ReadModelDamaged(
                f"the read model of {_location(args)} holds a value no figure can be made "
                f"of ({exc}): run `arr audit verify` to see where, `arr projections "
                "rebuild` to make it again from the events"
            ) from None

    return guarded


def _location(args: tuple[Any, ...]) -> Any:
    """The ledger a guarded method works on (its store is set once `__init__` is past)."""
    store = next((a for a in args if isinstance(a, EventStore)), None)
    return (store or args[0].store).location


class ReadModelDamaged(LedgerError):
    """The read model's own bookkeeping is impossible: it was edited behind the ledger."""


@dataclass(frozen=True)
class Status:
    tracked: int
    head: int

    @property
    def lag(self) -> int:
        return self.head - self.tracked

    def as_json(self) -> dict[str, Any]:
        return {"tracked": self.tracked, "head": self.head, "lag": self.lag}


class ReadModel:
    """The read model of one ledger, in the ledger's own database."""

    @_guarded
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.engine = connect(store.location.url)

    def close(self) -> None:
        self.engine.dispose()

    @_guarded
    def tracked(self) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(select(tracking.c.position).where(tracking.c.name == TRACK))
            return int(found.scalar() or 0)

    @_guarded
    def status(self) -> Status:
        with self.engine.connect() as conn:
            now = passes.state(conn)
        head = self.store.head()
        self._trust(now, head)
        return Status(now.done, head)

    @_guarded
    def verify(self) -> list[str]:
        """Every difference between the read model and what the events imply."""
        return list(verify.problems(self.engine, self._event_sql(), self.store.head()))

    @_guarded
    def catch_up(self, progress: Progress | None = None) -> int:
        """Applies every event recorded after the tracked position; the position reached."""
        head = self.store.head()
        while True:
            with self.engine.connect() as conn:
                now = passes.state(conn)
            self._trust(now, head)
            if now.stop is None and now.done >= head:
                return now.done
            try:
                if now.stop is None:
                    self._apply(now.done, self._commit_end(min(head, now.done + BATCH)), progress)
                else:
                    self._continue(now, progress)
            except Contended:
                continue  # another process moved first: look again

    @_guarded
    def rebuild(self, progress: Progress | None = None) -> int:
        """Drops every derived row and catches up from 0."""
        with self.engine.begin() as conn:
            passes.reset(conn)  # first: it takes the lock, so no catch-up interleaves
            for table in (*(k.table for k in KINDS), *SNAPSHOTS):
                conn.execute(table.delete())
        return self.catch_up(progress)

    def answered(self) -> None:
        """An answer made of several queries is done: what they shared can go."""
        unit_customers.forget()

    @_guarded
    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every derived row, as (customer, subscription, start, end, num, den,
        recorded_from, recorded_to), and every snapshot row: what a rebuild reproduces."""
        found = {}
        with self.engine.connect() as conn:
            for kind in KINDS:
                c = kind.table.c
                columns = (c.customer_id, c.subscription_id, c.start, c.end, c.num, c.big)
                query = select(*columns, c.den, c.recorded_from, c.recorded_to)
                found[kind.table.name] = sorted(
                    (*r[:4], int(r.big) if r.big is not None else r.num, *r[6:])
                    for r in conn.execute(query)
                )
            for table in SNAPSHOTS:
                found[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
        return found

    @_guarded
    def reports(
        self,
        days: Sequence[date],
        known: Known,
        policy: AcvPolicy,
        foreign: Foreign = None,
    ) -> list[Report]:
        """The figures on each day at `known[0]`, catching up first when the model lags;
        given `foreign`, those of the customers it holds out too."""
        self._reach(known[0])
        with self.engine.connect() as conn:
            return reports(conn, days, known, policy, foreign)

    @_guarded
    def by_currency(self, day: date, known: Known, rates: Converter | None) -> list[CurrencyLine]:
        """MRR on `day` by currency at `known[0]` (`report.by_currency`)."""
        self._reach(known[0])
        with self.engine.connect() as conn:
            return by_currency(conn, day, known, rates)

    @_guarded
    def by_customer(self, day: date, known: Known, rates: Converter | None) -> list[SegmentLine]:
        """MRR on `day` by customer at `known[0]` (`report.by_customer`)."""
        self._reach(known[0])
        with self.engine.connect() as conn:
            return by_customer(conn, day, known, rates)

    @_guarded
    def movements_over(
        self,
        bounds: Sequence[date],
        known: Known,
        policy: AcvPolicy,
        foreign: Foreign = None,
    ) -> list[Movements]:
        """Movements, retention and bookings over each period `(bounds[i], bounds[i+1]]`."""
        self._reach(known[0])
        with self.engine.connect() as conn:
            return periods.movements_over(conn, bounds, known, policy, foreign)

    @_guarded
    def series(
        self,
        start: date,
        days: Sequence[date],
        known: Known,
        policy: AcvPolicy,
        foreign: Foreign = None,
    ) -> list[SeriesRow]:
        """A report on each of `days`, with the movements since the previous (or `start`)."""
        self._reach(known[0])
        with self.engine.connect() as conn:
            return periods.series(conn, start, days, known, policy, foreign)

    @_guarded
    def netted(self, bounds: Sequence[date], position: int, foreign: Foreign = None) -> Sums:
        """Movements netted by month over each period between `bounds` (month ends);
        given `foreign`, of the customers it holds out too."""
        self._reach(position)
        with self.engine.connect() as conn:
            sums = netting.netted(conn, bounds, position)
            if (theirs := periods.held_out(conn, position, foreign)) is not None:
                sums = added_sums(sums, theirs.netted(bounds))
            return sums

    @_guarded
    def trailing(self, windows: Windows, position: int, foreign: Foreign = None) -> None:
        """Adds the model's customers to `windows` (SPEC §13 trailing retention); given
        `foreign`, those it holds out too."""
        self._reach(position)
        with self.engine.connect() as conn:
            read_model_trailing.add_model(conn, windows, position)
            if (theirs := periods.held_out(conn, position, foreign)) is not None:
                theirs.trailing(windows)

    @_guarded
    def cohorts(self, sums: CohortSums, position: int, foreign: Foreign = None) -> CohortSums:
        """Adds the customers the model holds to `sums` (`figures.cohorts`); given
        `foreign`, and those it holds out."""
        self._reach(position)
        with self.engine.connect() as conn:
            model_cohorts.add_model(conn, sums, position)
            if (theirs := periods.held_out(conn, position, foreign)) is not None:
                theirs.add_cohorts(sums)
            return sums

    @_guarded
    def rates(self, position: int) -> Rates:
        """The live rates believed at `position`."""
        self._reach(position)
        with self.engine.connect() as conn:
            return rates.believed(conn, position)

    @_guarded
    def any_foreign(self, position: int) -> bool:
        """Whether a customer is believed at `position` to have anything in another
        currency (`foreign`): only then does a query need the rates."""
        self._reach(position)
        c = next(k for k in KINDS if k.foreign).table.c
        believed = (c.recorded_from <= position) & (c.recorded_to > position)
        with self.engine.connect() as conn:
            return conn.execute(select(c.id).where(believed).limit(1)).first() is not None

    @_guarded
    def any_lifecycle(self, position: int) -> bool:
        """Whether a customer is believed at `position` to have a trial, a pause or a
        discount (SPEC §11): the model holds no rows of its figures, a query replays it."""
        self._reach(position)
        c = next(k for k in KINDS if k.foreign).table.c
        believed = (c.recorded_from <= position) & (c.recorded_to > position)
        held = believed & (c.num == LIFECYCLE)
        with self.engine.connect() as conn:
            return conn.execute(select(c.id).where(held).limit(1)).first() is not None

    @_guarded
    def foreign(self, position: int) -> list[str]:
        """The customers believed at `position` to have anything in another currency than
        the ledger's: their figures need rates, which the model does not hold."""
        self._reach(position)
        c = next(k for k in KINDS if k.foreign).table.c
        believed = (c.recorded_from <= position) & (c.recorded_to > position)
        with self.engine.connect() as conn:
            found = conn.execute(select(c.customer_id).where(believed).order_by(c.customer_id))
            return [str(customer) for (customer,) in found]

    def _reach(self, position: int) -> None:
        if self.tracked() < position:
            self.catch_up()
            return
        with self.engine.connect() as conn:
            self._trust(passes.state(conn), self.store.head())

    def _trust(self, now: passes.State, head: int) -> None:
        """A tracked position the ledger cannot have reached is an error, never trusted.
        The head read before the state may be stale (another process appended and caught
        up in between): the head is read again before the model is called damaged."""
        wrong = verify.impossible(now, head) and verify.impossible(now, self.store.head())
        if wrong is not None:
            raise ReadModelDamaged(
                f"the read model of {self.store.location} was altered: {wrong}; "
                "run `arr projections rebuild`"
            )

    def _apply(self, done: int, stop: int, progress: Progress | None = None) -> None:
        """Brings the rows from `done` to `stop`: in one transaction, or in a pass when
        the events touch many customers."""
        sql = self._event_sql()
        with self.engine.connect() as conn:
            customers = touched(Raw(conn), sql, done, stop)
        if len(customers) > CUSTOMERS:
            with self.engine.begin() as conn:
                passes.begin_pass(conn, done, stop)
                if done == 0:  # nothing to keep indexed until the pass ends
                    _drop_indexes(conn)
            self._continue(passes.State(done, stop), progress, customers)
            return
        with self.engine.begin() as conn:
            passes.advance(conn, done, stop)
            raw = Raw(conn)
            ends = commit_ends(raw, sql, done, stop)
            write(raw, derive(raw, sql, customers, done, ends))
            read_model_snapshots.take(raw, done, stop, ends)
        if progress is not None:
            progress(stop, stop)

    def _continue(
        self, now: passes.State, progress: Progress | None, customers: list[str] | None = None
    ) -> None:
        """Continues the pass `now`: its customers after the last written, a chunk per
        transaction, derived in worker processes when there are many; then its end."""
        assert now.stop is not None
        done, stop, last, sql = now.done, now.stop, now.after, self._event_sql()
        with self.engine.connect() as conn:
            if customers is None:
                customers = touched(Raw(conn), sql, done, stop)
            ends = commit_ends(Raw(conn), sql, done, stop)
        # "" before the first chunk; the rates' stream, also "" (`RATES`), is in the first
        parts = list(chunks([c for c in customers if not last or c > last], CUSTOMERS))
        url = self.store.location.url
        count = parallel.workers(url, stop - done)
        pending = parallel.derived(url, sql, parts, done, ends, count) if count else None
        applied = done
        try:
            # the collector would scan the workers' rows again and again, finding no cycle
            with collector_paused():
                for chunk in parts:
                    with self.engine.begin() as conn:
                        passes.claim(conn, stop, last, chunk[-1])
                        raw = Raw(conn)
                        writes = next(pending) if pending else derive(raw, sql, chunk, done, ends)
                        write(raw, writes)
                    last, applied = chunk[-1], applied + writes.events
                    if progress is not None:
                        progress(applied, stop)
        finally:
            if pending is not None:
                pending.close()  # stops the workers, even when the pass failed
        with self.engine.begin() as conn:
            passes.finish(conn, done, stop, last)
            _create_indexes(conn)  # dropped when the pass began at 0
            read_model_snapshots.take(Raw(conn), done, stop, ends)

    def _commit_end(self, position: int) -> int:
        """The end of the commit that wrote `position`: a step never stops inside one."""
        with self.engine.connect() as conn:
            found = Raw(conn).scalar(self._event_sql().commit_end, (position,))
        return int(found or position)

    def _event_sql(self) -> EventSql:
        q = self.store.recorder.q
        return EventSql(
            touched=q(  # and the rates' stream (`RATES`): its rows are the live rates
                "SELECT DISTINCT customer_id FROM {entries} WHERE position > ? AND position <= ?"
            ),
            commit_end=q(
                "SELECT MAX(position) FROM {entries} WHERE recorded_at = "
                "(SELECT recorded_at FROM {entries} WHERE position = ?)"
            ),
            commits=q(
                "SELECT MAX(position) FROM {entries} WHERE position > ? AND position <= ? "
                "GROUP BY recorded_at"
            ),
            histories=q(
                "SELECT a.customer_id, a.position, e.state FROM {entries} a "
                "JOIN {events} e ON e.{pos} = a.position "
                "WHERE a.customer_id IN ({{keys}}) AND a.position <= ? "
                "ORDER BY a.customer_id, a.position"
            ),
            currency=self.store.setting("currency") or "",
        )


def write(raw: Raw, writes: Writes) -> None:
    """Closes and opens the rows of `writes`."""
    for kind, opened, closed in zip(KINDS, writes.opened, writes.closed, strict=True):
        raw.many(f"UPDATE {kind.table.name} SET recorded_to = ? WHERE id = ?", closed)
        raw.insert(kind.table.name, _OPENED, opened)


_OPENED = (
    *("customer_id", "subscription_id", "start", "end", "num", "big", "den"),
    *("recorded_from", "recorded_to"),
)


def indexes() -> list[Index]:
    return [index for kind in KINDS for index in kind.table.indexes]


def _drop_indexes(conn: Connection) -> None:
    for index in indexes():
        index.drop(conn, checkfirst=True)


def _create_indexes(conn: Connection) -> None:
    for index in indexes():
        index.create(conn, checkfirst=True)
