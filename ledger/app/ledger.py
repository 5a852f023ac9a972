"""The ledger application: open a ledger, append and import events, ask for figures."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import wraps
from itertools import chain, islice, pairwise
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from eventsourcing.persistence import PersistenceError

from ledger.app.knowledge import Knowledge
from ledger.domain.dates import DAY, year_before
from ledger.domain.errors import (
    LedgerError,
    MissingRate,
    Problem,
    Refused,
    StoreUnavailable,
    UsageError,
    first_line,
)
from ledger.domain.events import RATES, Event
from ledger.domain.periods import movements_span, series_days
from ledger.domain.text import shown
from ledger.domain.timeline import Recorded
from ledger.store import audit, closes, layout
from ledger.store.audit import Verification
from ledger.store.chain import Checkpoint
from ledger.store.closes import Close
from ledger.store.event_store import EventStore, Transaction
from ledger.store.location import Location
from projections.figures.book import Book
from projections.figures.cohorts import CohortCell, CohortSums, account_members, cohorts
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import SPOT, Converter, FxPolicy
from projections.figures.customer_log import CustomerLog, customer_log
from projections.figures.lifecycle import ReasonLine, by_reason
from projections.figures.movements import Known, Movements, check_day, check_period
from projections.figures.movements import movements_over as replayed_movements
from projections.figures.netting import NETTINGS, check_month_ends, netted_accounts, restated
from projections.figures.parts import BookPart
from projections.figures.report import (
    CurrencyLine,
    Report,
    SegmentLine,
    by_currency,
    by_customer,
    by_plan,
    report,
)
from projections.figures.restatement import Restatement, restatement
from projections.figures.results import Rows
from projections.figures.series import Every, SeriesRow, period_ends
from projections.figures.series import series as replayed_series
from projections.figures.trailing import Windows
from projections.read_model.bulk import collector_paused
from projections.read_model.inline import Inline
from projections.read_model.model import ReadModel
from projections.read_model.periods import Foreign

if TYPE_CHECKING:  # the input's edge (pydantic) is loaded by the commands that write only
    from ledger.intake.admission import Admission, Import
    from ledger.intake.rows import Row

T = TypeVar("T")
P = ParamSpec("P")
L = TypeVar("L")
DEFAULT_CURRENCY = "USD"
CHUNK = 250_000
"""Rows checked at once, and the most held in memory: about 300 bytes a row once parsed.
Larger chunks mean fewer statements; the last chunk is folded without being read back."""
WRITE = 20_000
"""Events written at once: the stored events and index rows built for a batch are about
1 KiB an event, so a chunk is written a slice at a time."""


@dataclass(frozen=True)
class Appended:
    """What an append or import did: positions taken and identical repeats skipped."""

    appended: int
    skipped: int
    positions: tuple[int, ...]
    summary: Summary | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "appended": self.appended,
            "skipped": self.skipped,
            "positions": list(self.positions),
        }


@dataclass
class Summary:
    """What an import recorded (or a check would): events by type, customers, dates."""

    by_type: dict[str, int] = field(default_factory=dict)
    customers: set[str] = field(default_factory=set)
    first: date | None = None
    last: date | None = None

    def add(self, events: Sequence[Event]) -> None:
        for event in events:
            self.by_type[event.type] = self.by_type.get(event.type, 0) + 1
            if event.customer_id != RATES:
                self.customers.add(event.customer_id)
            day = event.effective_date
            if day is not None:
                self.first = day if self.first is None else min(self.first, day)
                self.last = day if self.last is None else max(self.last, day)

    def said(self) -> str:
        """One line for people: `3 new, 1 churn; 2 customers; effective 2024-01-01 to …`."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.by_type.items()))
        dated = f"; effective {self.first} to {self.last}" if self.first else ""
        return f"{kinds or 'no events'}; {len(self.customers)} customers{dated}"


def _one_answer(method: Callable[Concatenate[Ledger, P], T]) -> Callable[Concatenate[Ledger, P], T]:
    """An answer made of several read-model queries (a series, its trailing retention
    and its month netting): they share the held-out customers' rates, so the read model
    reads those customers' rows once (`UnitCustomers.read` remembers them by rates,
    until the answer is done)."""

    @wraps(method)
    def answering(ledger: Ledger, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if ledger._held is not None:
            return method(ledger, *args, **kwargs)
        ledger._held = {}
        try:
            return method(ledger, *args, **kwargs)
        finally:
            ledger._held = None
            if ledger._read_model is not None:
                ledger._read_model.answered()

    return answering


class Ledger:
    """An arr-ledger on SQLite or PostgreSQL, named by a SQLAlchemy URL."""

    def __init__(self, store: EventStore, currency: str) -> None:
        self.store = store
        self.currency = currency
        self._read_model: ReadModel | None = None
        self._held: dict[tuple[int, FxPolicy], Foreign] | None = None  # `_one_answer`

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """Opens an existing ledger (`url` defaults to $ARR_DB, then sqlite:///arr.db)."""
        store = EventStore(Location.parse(url))
        try:
            currency = _guard(lambda: _existing(store), store.location)
            if currency is None:
                raise LedgerError(f"no ledger at {store.location}: run `arr init` first")
        except LedgerError:
            store.close()
            raise
        return cls(store, currency)

    @classmethod
    def init(cls, url: str | None = None, currency: str = DEFAULT_CURRENCY) -> Ledger:
        """Creates the ledger if it does not exist; harmless when it does."""
        if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
            hint = (
                f": did you mean {currency.upper()!r}?"
                if len(currency) == 3 and currency.isalpha()
                else ""
            )
            message = f"currency: {currency!r} is not a three-letter currency code{hint}"
            raise UsageError(message, "currency")
        store = EventStore(Location.parse(url), create=True)
        try:
            existing = _guard(lambda: _existing(store) or _create(store, currency), store.location)
            if existing != currency:
                raise LedgerError(f"the ledger at {store.location} already exists in {existing}")
        except LedgerError:
            store.close()
            raise
        made = cls(store, existing)
        made.read_model()  # its tables, ready for the first import to write its rows inline
        return made

    @staticmethod
    def upgrade(url: str | None = None) -> tuple[int, int]:
        """Brings a ledger made by an earlier version to this version's layout, in one
        transaction; returns (the layout found, the layout now)."""
        store = EventStore(Location.parse(url))
        try:
            problem = _guard(lambda: layout.foreign(store.recorder), store.location)
            if problem is not None:
                raise LedgerError(f"the database at {store.location} is not a ledger: {problem}")
            found = _guard(lambda: layout.upgrade(store.recorder), store.location)
        finally:
            store.close()
        return found, max(found, layout.LAYOUT)

    def close(self) -> None:
        if self._read_model is not None:
            self._read_model.close()
        self.store.close()

    def read_model(self) -> ReadModel:
        """The persistent read model in the ledger's database, opened on first use."""
        if self._read_model is None:
            self._read_model = ReadModel(self.store)
        return self._read_model

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()

    # Writing.

    def append(self, fields: dict[str, Any], location: str = "event") -> Appended:
        """Appends one event given as a mapping of SPEC §3 fields."""
        from ledger.intake.rows import Row

        return self.import_rows([Row(location, fields)])

    def import_files(self, names: Iterable[str]) -> Appended:
        """Appends every row of the files (CSV or JSON Lines), all or nothing."""
        from ledger.intake import rows as input_rows

        return self.import_rows(row for name in names for row in input_rows.read(name))

    def import_rows(
        self,
        rows: Iterable[Row | Problem],
        recorded: Callable[[int], None] | None = None,
        *,
        historical: bool = False,
        check: bool = False,
    ) -> Appended:
        """Appends the rows' events in order, all or nothing: one write transaction that
        holds the write lock from its start, filled chunk by chunk so an import of any
        size runs in bounded memory. `recorded` hears how many events are written so far.

        `historical` (SPEC §14): every row gives `recorded_at`, the time an earlier system
        recorded it, and is recorded at it (in order, after what the ledger knows); the
        read model then catches up from commit to commit, as those times make them.
        `check`: everything but the writing: the same problems, and what would be
        recorded, then rolled back."""
        transaction: Transaction | None = None
        inline: Inline | None = None
        try:
            # an import holds a chunk's worth of objects alive: the collector kept
            # re-scanning them (a fifth of its time) for cycles it does not make
            with collector_paused(), self.store.writing() as transaction:
                if not historical and not check:
                    inline = Inline.begin(
                        transaction.cursor, self.store.location.url, transaction.since
                    )
                history = _latest(transaction) if historical else None
                done = _import(transaction, rows, self.currency, recorded, inline, history)
                if check:
                    raise _Checked(done)
                return done
        except _Checked as checked:
            return checked.appended
        except PersistenceError as exc:
            wrote = transaction is not None and (transaction.wrote or bool(inline and inline.wrote))
            raise _unavailable(self.store.location, exc, transaction is not None, wrote) from None
        finally:
            if inline is not None:
                inline.close()

    # Reading.

    def head(self) -> int:
        return _guard(self.store.head, self.store.location)

    def position(
        self,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
    ) -> int:
        """The position a query sees: as known at a moment, at a position, at a named
        close (SPEC §13), or now."""
        return self._at(Knowledge(known_at, position, close))

    def _at(self, knowledge: Knowledge) -> int:
        if knowledge.close is not None:
            return self.close_named(knowledge.close).position
        head = self.head()
        if knowledge.position is not None:
            # Beyond the head, the answer could still change: the audit promise forbids it.
            if not 0 <= knowledge.position <= head:
                message = f"position: {knowledge.position} is not between 0 and the head, {head}"
                raise UsageError(message, "position")
            return knowledge.position
        moment = knowledge.known_at
        if moment is not None:
            if moment > datetime.now(UTC):
                raise UsageError(
                    f"known_at: {moment.isoformat()} is in the future; "
                    "what will be known then could still change",
                    "known_at",
                )
            return _guard(lambda: self.store.position_at(moment), self.store.location)
        return head

    def _seen(
        self, known_at: datetime | None, position: int | None, close: str | None = None
    ) -> tuple[int, Book | None]:
        """The position a query sees, and, when no reader ever saw the ledger there (a
        position inside one commit), the book replayed at it: the read model keeps only
        what readers could see, from commit to commit (`read_model_derive`)."""
        at = self.position(known_at, position, close)
        if position is None or _guard(lambda: self.store.observed(at), self.store.location):
            return at, None
        return at, self.book(position=at)

    def _rates(self, at: int, fx: FxPolicy) -> Converter:
        """The rates as known at `at`, applied under `fx`."""
        table = _guard(lambda: self.read_model().rates(at), self.store.location)
        return Converter(table, fx, self.currency, at)

    def _rates_if_foreign(self, at: int, fx: FxPolicy) -> Converter | None:
        """The rates, when a customer at `at` has anything in another currency."""
        foreign = _guard(lambda: self.read_model().any_foreign(at), self.store.location)
        return self._rates(at, fx) if foreign else None

    def _lifecycle(self, at: int) -> bool:
        """Whether a customer at `at` has a trial, a pause or a discount (SPEC §11)."""
        return _guard(lambda: self.read_model().any_lifecycle(at), self.store.location)

    def _held_out(self, at: int, fx: FxPolicy) -> Foreign:
        """The customers the model holds out of its rows in the ledger's currency: read
        from their unit rows, converted with the rates known at `at`; replayed when any
        has a trial, a pause or a discount (the model holds no rows of theirs). Within
        one answer (`_one_answer`), the same for each of its queries."""
        if self._held is None:
            return self._holding_out(at, fx)
        if (at, fx) not in self._held:
            self._held[(at, fx)] = self._holding_out(at, fx)
        return self._held[(at, fx)]

    def _holding_out(self, at: int, fx: FxPolicy) -> Foreign:
        return self._replayed(at, fx) if self._lifecycle(at) else self._rates_if_foreign(at, fx)

    def _converting(self, at: int, fx: FxPolicy, query: Callable[[Foreign], T]) -> T:
        """`query` with the customers the model holds out (`_held_out`). When a rate they
        need is missing they are replayed instead, so that the error names the first day a
        replay needs, whatever the path."""
        location = self.store.location
        try:
            return _guard(lambda: query(self._held_out(at, fx)), location)
        except MissingRate:
            return _guard(lambda: query(self._replayed(at, fx)), location)

    def _replayed(self, at: int, fx: FxPolicy) -> BookPart:
        """The foreign customers' figures, replayed with the rates: they add up with the
        model's."""
        location = self.store.location
        customers = _guard(lambda: self.read_model().foreign(at), location)
        found = _guard(lambda: self.store.histories([*customers, RATES], times=False), location)
        entries = [item for history in found.values() for item in history if item.position <= at]
        return BookPart(Book.replay(entries, at, self.currency), fx)

    def book(
        self,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
    ) -> Book:
        """Every customer's timeline as the ledger knew it."""
        at = self.position(known_at, position, close)
        entries = _guard(lambda: list(self.store.entries(stop=at)), self.store.location)
        return Book.replay(entries, at, self.currency)

    def export(self) -> Iterator[dict[str, str]]:
        """Every recorded event in position order in the input's own fields, with the time
        it was recorded (`recorded_at`): importing them as history into an empty ledger
        gives the same figures at every (as_of, known_at) (SPEC §14)."""
        for item in self.entries():
            fields = {k: v for k, v in item.event.entry().items() if k != "historical"}
            yield fields | {"recorded_at": item.recorded_at.isoformat(timespec="microseconds")}

    def entries(self, stop: int | None = None) -> Iterator[Recorded]:
        """Every recorded event with both clocks, in position order (up to `stop`)."""
        return self.store.entries(stop=stop)

    def report(
        self,
        as_of: date,
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        acv_policy: AcvPolicy = "recurring",
        fx: str | FxPolicy = SPOT,
    ) -> Report:
        """Point-in-time figures as of the end of `as_of` (SPEC §4, §7, §10), from the read
        model (equal by construction and by test to `report(self.book(...))`, the replay).
        `fx`: spot, booked or fixed:YYYY-MM-DD."""
        return self.reports(
            [as_of], known_at=known_at, position=position, close=close, acv_policy=acv_policy, fx=fx
        )[0]

    def reports(
        self,
        days: Sequence[date],
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        acv_policy: AcvPolicy = "recurring",
        fx: str | FxPolicy = SPOT,
    ) -> list[Report]:
        """The `report` of each of `days`, as known at one moment."""
        policy = FxPolicy.parse(fx)
        at, book = self._seen(known_at, position, close)
        if book is not None:
            for day in days:
                check_day(day, "as_of")
            return [report(book, day, acv_policy, policy) for day in days]
        model, known = self.read_model(), (at, self.currency, policy)
        held_out = self._held_out(at, policy)
        return _guard(lambda: model.reports(days, known, acv_policy, held_out), self.store.location)

    def by_currency(
        self,
        as_of: date,
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        fx: str | FxPolicy = SPOT,
    ) -> list[CurrencyLine]:
        """One line per currency with subscriptions active on `as_of`: local MRR, the
        rate used (none under `booked`) and MRR in the ledger's currency."""
        modelled = ReadModel.by_currency
        return self._lines(by_currency, modelled, as_of, Knowledge(known_at, position, close), fx)

    def by_customer(
        self,
        as_of: date,
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        fx: str | FxPolicy = SPOT,
    ) -> list[SegmentLine]:
        """One line per customer with a contract active on `as_of` (SPEC §13): MRR, ARR
        and active contracts, by ARR descending then `customer_id`."""
        modelled = ReadModel.by_customer
        return self._lines(by_customer, modelled, as_of, Knowledge(known_at, position, close), fx)

    def _lines(
        self,
        replayed: Callable[[Book, date, FxPolicy], list[L]],
        modelled: Callable[[ReadModel, date, Known, Converter | None], list[L]],
        as_of: date,
        knowledge: Knowledge,
        fx: str | FxPolicy,
    ) -> list[L]:
        """A report's lines by some group, from the read model at a commit's end, else
        (inside a commit, or a rate missing: as a replay words it) from a replay."""
        check_day(as_of, "as_of")
        policy = FxPolicy.parse(fx)
        at, book = self._seen(knowledge.known_at, knowledge.position, knowledge.close)
        if book is not None:
            return replayed(book, as_of, policy)
        if self._lifecycle(at):  # the model holds no rows of those customers' figures
            return replayed(self.book(position=at), as_of, policy)
        model, known = self.read_model(), (at, self.currency, policy)
        try:
            rates = self._rates_if_foreign(at, policy)
            return _guard(lambda: modelled(model, as_of, known, rates), self.store.location)
        except MissingRate:
            return replayed(self.book(position=at), as_of, policy)

    def by_plan(
        self,
        as_of: date,
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        fx: str | FxPolicy = SPOT,
    ) -> list[SegmentLine]:
        """One line per plan in force of the subscriptions active on `as_of` (SPEC §13;
        none given: `unspecified`), by ARR descending then plan."""
        return self._segments(by_plan, as_of, Knowledge(known_at, position, close), fx)

    def _segments(
        self,
        lines: Callable[[Book, date, FxPolicy], list[SegmentLine]],
        as_of: date,
        knowledge: Knowledge,
        fx: str | FxPolicy,
    ) -> list[SegmentLine]:
        """The lines from a replay at the position asked: the read model's rows carry no
        plan (decisions.md, "Segments")."""
        check_day(as_of, "as_of")
        policy = FxPolicy.parse(fx)
        at, book = self._seen(knowledge.known_at, knowledge.position, knowledge.close)
        return lines(book if book is not None else self.book(position=at), as_of, policy)

    def by_reason(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        period: str | None = None,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        fx: str | FxPolicy = SPOT,
    ) -> list[ReasonLine]:
        """The churn and contraction over `(start, end]` (or a `period`) by the reason of
        the events that caused them (SPEC §12), from a replay at the position asked."""
        low, high = movements_span(start, end, period)
        check_period(low, high)
        policy = FxPolicy.parse(fx)
        at, book = self._seen(known_at, position, close)
        return by_reason(book if book is not None else self.book(position=at), low, high, policy)

    def movements(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        period: str | None = None,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        acv_policy: AcvPolicy = "recurring",
        fx: str | FxPolicy = SPOT,
        netting: str = "day",
    ) -> Movements:
        """Movements, retention and bookings over `(start, end]` (SPEC §5-7, §10), or over
        a `period` instead of the dates: `2024`, `2024-Q4`, `2024-11` or `2024-W05`, read
        as `(the day before its first day, its last day]` (SPEC §13)."""
        bounds = list(movements_span(start, end, period))
        return self.movements_over(
            bounds,
            known_at=known_at,
            position=position,
            close=close,
            acv_policy=acv_policy,
            fx=fx,
            netting=netting,
        )[0]

    @_one_answer
    def movements_over(
        self,
        bounds: Sequence[date],
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        acv_policy: AcvPolicy = "recurring",
        fx: str | FxPolicy = SPOT,
        netting: str = "day",
    ) -> list[Movements]:
        """Movements over each period `(bounds[i], bounds[i + 1]]`, from the read model
        (equal by test to `projections.figures.movements.movements_over` of a replay);
        `netting` "month" compares each customer's MRR at consecutive month ends (SPEC
        §13: the bounds must be month ends)."""
        for start, end in pairwise(bounds):
            check_period(start, end)
        monthly = _monthly(netting, bounds)
        policy = FxPolicy.parse(fx)
        at, book = self._seen(known_at, position, close)
        if book is not None:
            found = replayed_movements(book, bounds, acv_policy, policy)
        else:
            model, known = self.read_model(), (at, self.currency, policy)
            found = self._converting(
                at,
                policy,
                lambda foreign: model.movements_over(bounds, known, acv_policy, foreign),
            )
        return self._netted(found, bounds, at, book, policy) if monthly else found

    def _netted(
        self,
        found: list[Movements],
        bounds: Sequence[date],
        at: int,
        book: Book | None,
        fx: FxPolicy,
    ) -> list[Movements]:
        """The figures with their movements netted by month: of a replayed book; or of
        the model's customers from their netted rows, and of those it holds out from
        their unit rows (replayed when one has a trial, a pause or a discount)."""
        if book is not None:
            sums = netted_accounts(book.accounts, bounds, book.converter(fx))
        else:
            model = self.read_model()
            sums = self._converting(at, fx, lambda foreign: model.netted(bounds, at, foreign))
        return restated(found, sums)

    @_one_answer
    def series(
        self,
        start: date | None = None,
        end: date | None = None,
        every: Every = "month",
        *,
        period: str | None = None,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        acv_policy: AcvPolicy = "recurring",
        fx: str | FxPolicy = SPOT,
        netting: str = "day",
    ) -> Rows[SeriesRow]:
        """One report row per period end, with the movements since the previous row, from
        the day `start` (counted) to `end`; or over a `period` (`2024`, `2024-Q4`,
        `2024-11`, `2024-W05`) instead of the dates, from its first day to its last."""
        first, last = series_days(start, end, period)
        days = period_ends(first, last, every)
        if netting == "month" and first.day != 1:
            raise UsageError(
                f"start: {first} is not a month's first day: give {first.replace(day=1)}, "
                "or netting day to net by day",
                "start",
                "netting",
            )
        monthly = _monthly(netting, [first - DAY, *days])
        policy = FxPolicy.parse(fx)
        at, book = self._seen(known_at, position, close)
        if book is not None:
            rows = replayed_series(book, first, last, every, acv_policy, policy)
        else:
            model, known = self.read_model(), (at, self.currency, policy)
            found = self._converting(
                at,
                policy,
                lambda foreign: model.series(first - DAY, days, known, acv_policy, foreign),
            )
            rows = self._with_trailing(found, at, policy)
        if monthly:
            moved = self._netted(
                [r.movements for r in rows], [first - DAY, *days], at, book, policy
            )
            rows = [SeriesRow(r.report, m, r.trailing) for r, m in zip(rows, moved, strict=True)]
        return Rows(rows)

    def _with_trailing(self, rows: list[SeriesRow], at: int, fx: FxPolicy) -> list[SeriesRow]:
        """The rows with their trailing 12 months' retention (SPEC §13): the model's
        customers from their year rows, the held-out ones from their unit rows (replayed
        when one has a trial, a pause or a discount)."""
        days, model = [r.report.as_of for r in rows], self.read_model()

        def tallied(foreign: Foreign) -> Windows:
            windows = Windows([year_before(day) for day in days], days)
            model.trailing(windows, at, foreign)
            return windows

        windows = self._converting(at, fx, tallied)
        trailing = windows.retentions()
        return [SeriesRow(r.report, r.movements, t) for r, t in zip(rows, trailing, strict=True)]

    @_one_answer
    def cohorts(
        self,
        start: date,
        end: date,
        every: Every = "month",
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        close: str | None = None,
        fx: str | FxPolicy = SPOT,
    ) -> Rows[CohortCell]:
        """Customers grouped by the period (from `start` to `end`, both counted) in which
        their MRR was first > 0, at every period end from their own on (SPEC §13)."""
        if every not in ("month", "quarter", "year"):
            raise UsageError(f"every: {every!r} is not one of month, quarter, year", "every")
        check_period(start, end)
        policy = FxPolicy.parse(fx)
        at, book = self._seen(known_at, position, close)
        known = (at, self.currency, policy)
        if book is not None:
            rates = book.converter(policy)
            members = account_members(book.accounts, lambda a, d: a.converted_on(d, rates))
            return Rows(cohorts(members, (start, end), every, known))
        model = self.read_model()
        found = self._converting(
            at, policy, lambda foreign: model.cohorts(CohortSums((start, end), every), at, foreign)
        )
        return Rows(found.cells(known))

    # Closes (SPEC §13): "what did we tell the board" names a position.

    def record_close(self, name: str, note: str | None = None) -> Close:
        """Records a named, sealed mark at the ledger's current position and time."""
        checked, said = _close_name(name), _close_note(note)
        return _guard(
            lambda: closes.record(self.store.recorder, checked, said), self.store.location
        )

    def closes(self) -> list[Close]:
        """Every close, by position."""
        return _guard(lambda: closes.every(self.store.recorder), self.store.location)

    def close_named(self, name: str) -> Close:
        return _guard(lambda: closes.named(self.store.recorder, name), self.store.location)

    # Auditing: the promise that a figure, once reported, can be reproduced and explained.

    def verify(self, checkpoint: Checkpoint | None = None, read_model: bool = True) -> Verification:
        """Re-reads the whole store and checks every event's seal and chain links, the
        settings' seal and the subscriptions' owners; with `read_model`, also that every
        row of the read model is what the events imply."""
        found = _guard(lambda: audit.verify(self.store.recorder, checkpoint), self.store.location)
        if read_model:
            problems = _guard(self.read_model().verify, self.store.location)
            found.findings.extend(
                audit.Finding(0, "", "altered", problem, "read model") for problem in problems
            )
        return found

    def checkpoint(self) -> Checkpoint:
        """The head of the ledger-wide chain, `DIGEST@POSITION`."""
        return _guard(lambda: audit.checkpoint(self.store.recorder), self.store.location)

    def restatement(
        self,
        as_of: date,
        known_at: datetime,
        known_at_2: datetime | None = None,
        start: date | None = None,
        acv_policy: AcvPolicy = "recurring",
        fx: str | FxPolicy = SPOT,
    ) -> Restatement:
        """How the figures as of `as_of` changed from K1 to K2 (default now), and why."""
        if start is not None:
            check_period(start, as_of, ("start", "as_of"))
        check_day(as_of, "as_of")
        first, second = self.position(known_at), self.position(known_at_2)
        moments = (known_at, known_at_2 or datetime.now(UTC))
        if moments[1] < moments[0]:
            raise UsageError("known_at_2 is before known_at", "known_at_2", "known_at")
        entries = _guard(lambda: list(self.store.entries(stop=second)), self.store.location)
        known = [e for e in entries if e.position <= first]
        later = [e for e in entries if e.position > first]
        return restatement(
            known,
            later,
            (first, second),
            moments,
            self.currency,
            as_of,
            start,
            acv_policy,
            FxPolicy.parse(fx),
        )

    def customer_log(self, customer_id: str) -> CustomerLog:
        """Every event of one customer with both clocks, and its MRR after each."""
        if customer_id == RATES:  # the rates' stream is no customer's
            raise LedgerError("customer_id: give a customer's id; an empty one names none")
        at = self.head()
        found = _guard(lambda: self.store.histories([customer_id]), self.store.location)
        history = [item for item in found[customer_id] if item.position <= at]
        if not history:
            raise LedgerError(f"customer {customer_id!r} has no recorded events")
        return customer_log(customer_id, history, at, self.currency)


def _monthly(
    netting: str, bounds: Sequence[date], names: tuple[str, str] = ("start", "end")
) -> bool:
    """Whether movements are netted by month (SPEC §13), whose bounds must be month ends."""
    if netting not in NETTINGS:
        raise UsageError(f"netting: {netting!r} is not one of {', '.join(NETTINGS)}", "netting")
    if netting == "month":
        check_month_ends(bounds, names)
    return netting == "month"


def _close_name(name: str) -> str:
    """A close's name: an identifier people type (`board-2025-07`, `2024-Q4 close`)."""
    if not name.strip() or len(name) > 200 or not name.isprintable():
        raise UsageError(
            f"name: {shown(name)} is not a close name: give 1-200 printable characters",
            "name",
        )
    return name


def _close_note(note: str | None) -> str | None:
    if note is not None and (len(note) > 1000 or "\x00" in note):
        raise UsageError("note: give at most 1,000 characters, no NUL", "note")
    return note


def _existing(store: EventStore) -> str | None:
    """The currency of the ledger in `store`, once its tables are known to be a ledger's
    of this layout; None when there is no ledger yet."""
    problem = layout.foreign(store.recorder)
    if problem is not None:
        raise LedgerError(f"the database at {store.location} is not a ledger: {problem}")
    currency = store.setting("currency")
    if currency is None:
        return None
    outdated = layout.outdated(layout.found_layout(store.recorder))
    if outdated is not None:
        raise LedgerError(f"the ledger at {store.location} {outdated}")
    return currency


def _create(store: EventStore, currency: str) -> str:
    """Records the new ledger's currency and layout, sealed, in one transaction."""
    with store.recorder.writing() as cursor:
        sql = "INSERT INTO {settings} VALUES (?, ?) ON CONFLICT DO NOTHING"
        cursor.execute(store.recorder.q(sql), ("currency", currency))
        layout.seal_settings(store.recorder, cursor)
    return store.setting("currency") or currency


class _Checked(Exception):
    """Rolls a checked import back, carrying what it would have recorded."""

    def __init__(self, appended: Appended) -> None:
        self.appended = appended


def _latest(transaction: Transaction) -> str:
    """The ledger's latest recorded time ("" when it is empty)."""
    last = transaction.recorder.last_recorded(transaction.cursor)
    return last[1] if last else ""


def _import(
    transaction: Transaction,
    rows: Iterable[Row | Problem],
    currency: str,
    recorded: Callable[[int], None] | None,
    inline: Inline | None,
    history: str | None = None,
) -> Appended:
    from ledger.intake.admission import Import

    check = Import(transaction, currency, inline.folded if inline else None, history)
    positions: list[int] = []
    summary = Summary()
    for chunk in _chunks(rows, CHUNK):
        _write(transaction, check, check.release(), positions, recorded, summary)
        check.admit(chunk)
    last = check.finish()
    if check.problems:
        raise Refused(check.problems)  # rolls the whole transaction back
    _write(transaction, check, last, positions, recorded, summary)
    if inline is not None and positions:
        inline.finish(positions[-1])
    return Appended(len(positions), check.skipped, tuple(positions), summary)


def _write(
    transaction: Transaction,
    check: Import,
    admitted: Admission,
    positions: list[int],
    recorded: Callable[[int], None] | None,
    summary: Summary,
) -> None:
    summary.add(admitted.events)
    for start in range(0, len(admitted.events), WRITE):
        events = admitted.events[start : start + WRITE]
        written = transaction.append(events, check.versions)
        check.wrote(written, admitted.locations[start : start + WRITE])
        positions.extend(written)
        if recorded is not None:
            recorded(len(positions))


def _chunks(rows: Iterable[Row | Problem], size: int) -> Iterator[Iterator[Row | Problem]]:
    """The rows, `size` at a time, never held together: each chunk is read as it is
    parsed (and must be, before the next)."""
    items = iter(rows)
    for first in items:
        yield chain((first,), islice(items, size - 1))


def _unavailable(
    location: Location, exc: PersistenceError, began: bool, wrote: bool
) -> StoreUnavailable:
    """A database failure during an import, said once: waiting for the lock, writing, or
    reading (a lost connection is found by the first statement)."""
    reason = first_line(exc)
    if not began and location.is_sqlite and "locked" in reason:
        return StoreUnavailable(f"{location} is too busy: {reason} (another writer holds its lock)")
    if wrote:
        return StoreUnavailable(f"cannot write to {location}: {reason}")
    return StoreUnavailable(f"cannot use the ledger at {location}: {reason}")


def _guard(action: Callable[[], T], location: Location) -> T:
    """Database failures become one clear message naming the ledger, never a traceback."""
    try:
        result = action()
    except PersistenceError as exc:
        raise StoreUnavailable(f"cannot use the ledger at {location}: {first_line(exc)}") from None
    return result
