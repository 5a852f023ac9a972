"""The ledger application: open a ledger, append and import events, ask for figures."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError, PersistenceError

from ledger import rows as input_rows
from ledger.admission import admit, parse_rows
from ledger.errors import LedgerError, Problem, Refused, StoreUnavailable, UsageError
from ledger.rows import Row
from ledger.store import EventStore, Location
from projections.book import Book
from projections.contract_value import AcvPolicy
from projections.report import Report, report

T = TypeVar("T")
DEFAULT_CURRENCY = "USD"
RETRIES = 20


@dataclass(frozen=True)
class Appended:
    """What an append or import did: positions taken and identical repeats skipped."""

    appended: int
    skipped: int
    positions: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "appended": self.appended,
            "skipped": self.skipped,
            "positions": list(self.positions),
        }


class Ledger:
    """An arr-ledger on SQLite or PostgreSQL, named by a SQLAlchemy URL."""

    def __init__(self, store: EventStore, currency: str) -> None:
        self.store = store
        self.currency = currency

    @classmethod
    def open(cls, url: str | None = None) -> Ledger:
        """Opens an existing ledger (`url` defaults to $ARR_DB, then sqlite:///arr.db)."""
        store = EventStore(Location.parse(url))
        currency = _guard(lambda: store.setting("currency"), store.location)
        if currency is None:
            store.close()
            raise LedgerError(f"no ledger at {store.location}: run `arr init` first")
        return cls(store, currency)

    @classmethod
    def init(cls, url: str | None = None, currency: str = DEFAULT_CURRENCY) -> Ledger:
        """Creates the ledger if it does not exist; harmless when it does."""
        if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
            raise UsageError(f"--currency: {currency!r} is not a three-letter currency code")
        store = EventStore(Location.parse(url), create=True)
        _guard(lambda: store.set_setting("currency", currency), store.location)
        existing = store.setting("currency") or currency
        if existing != currency:
            store.close()
            raise LedgerError(f"the ledger at {store.location} already exists in {existing}")
        return cls(store, existing)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()

    # Writing.

    def append(self, fields: dict[str, Any], location: str = "event") -> Appended:
        """Appends one event given as a mapping of SPEC §3 fields."""
        return self.import_rows([Row(location, fields)])

    def import_files(self, names: Iterable[str]) -> Appended:
        """Appends every row of the files (CSV or JSON Lines), all or nothing."""
        return self.import_rows(row for name in names for row in input_rows.read(name))

    def import_rows(self, rows: Iterable[Row | Problem]) -> Appended:
        kept, events, problems = parse_rows(rows, self.currency)
        if problems:
            raise Refused(problems)
        for _attempt in range(RETRIES):
            admission = _guard(lambda: admit(self.store, kept, events), self.store.location)
            if admission.problems:
                raise Refused(admission.problems)
            if not admission.events:
                return Appended(0, admission.skipped, ())
            try:
                positions = self.store.append(admission.events, admission.versions)
            except IntegrityError:
                continue  # another writer got there first: check again against what it wrote
            except PersistenceError as exc:
                raise StoreUnavailable(f"cannot write to {self.store.location}: {exc}") from None
            return Appended(len(positions), admission.skipped, tuple(positions))
        raise StoreUnavailable(f"{self.store.location} is too busy: gave up after {RETRIES} tries")

    # Reading.

    def head(self) -> int:
        return _guard(self.store.head, self.store.location)

    def position(self, known_at: datetime | None = None, position: int | None = None) -> int:
        """The position a query sees: as known at a moment, at a position, or now."""
        if known_at is not None and position is not None:
            raise UsageError("give --known-at or --position, not both")
        head = self.head()
        if position is not None:
            if position < 0:
                raise UsageError(f"--position: {position} is negative")
            return min(position, head)
        if known_at is not None:
            return _guard(lambda: self.store.position_at(known_at), self.store.location)
        return head

    def book(self, known_at: datetime | None = None, position: int | None = None) -> Book:
        """Every customer's timeline as the ledger knew it."""
        at = self.position(known_at, position)
        entries = _guard(lambda: list(self.store.entries(stop=at)), self.store.location)
        return Book.replay(entries, at, self.currency)

    def entries(self, stop: int | None = None) -> Iterator[Any]:
        return self.store.entries(stop=stop)

    def report(
        self,
        as_of: date,
        *,
        known_at: datetime | None = None,
        position: int | None = None,
        acv_policy: AcvPolicy = "recurring",
    ) -> Report:
        """Point-in-time figures as of the end of `as_of` (SPEC §4, §7)."""
        return report(self.book(known_at, position), as_of, acv_policy)


def _guard(action: Callable[[], T], location: Location) -> T:
    """Database failures become one clear message naming the ledger, never a traceback."""
    try:
        result = action()
    except PersistenceError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailable(f"cannot use the ledger at {location}: {first}") from None
    return result
