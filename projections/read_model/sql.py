"""Plain SQL on one connection of the read model, for the paths where SQLAlchemy's
per-row work would cost more than the database's: `?` placeholders and dates are
adapted to the driver (SQLite keeps SQLAlchemy's `Date` as ISO text)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


class Raw:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.day = _day_as(self.sqlite)

    def sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    @staticmethod
    def to_day(value: Any) -> date:
        return value if isinstance(value, date) else _iso_day(value)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """The driver's own cursor, in the connection's transaction (SQLAlchemy's result
        rows cost more than the read itself on the bulk paths); its errors are raised as
        SQLAlchemy's, which every caller handles."""
        driver = self.conn.connection.driver_connection
        errors = self.conn.dialect.loaded_dbapi.Error
        assert driver is not None
        cursor = driver.cursor()
        try:
            yield cursor
        except errors as exc:
            raise DBAPIError.instance(None, None, exc, errors) from exc
        finally:
            cursor.close()

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.cursor() as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return list(cursor.fetchall())

    def scalar(self, statement: str, params: Sequence[Any] = ()) -> Any:
        found = self.rows(statement, params)
        return found[0][0] if found else None

    def count(self, statement: str, params: Sequence[Any] = ()) -> int:
        """The number of rows a write changed."""
        with self.cursor() as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return int(cursor.rowcount)

    def many(self, statement: str, params: list[tuple[Any, ...]]) -> None:
        if params:
            with self.cursor() as cursor:
                cursor.executemany(self.sql(statement), params)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Appends rows: PostgreSQL's COPY, many times faster there than `executemany`."""
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        if self.sqlite:
            marks_ = ", ".join("?" * len(columns))
            self.many(f"INSERT INTO {table} ({names}) VALUES ({marks_})", rows)
            return
        with self.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class CursorRaw(Raw):
    """The same plain SQL on the DBAPI cursor of a write transaction of the event store:
    an import writes the read model in its own transaction (`read_model_inline`)."""

    def __init__(self, cursor: Any, sqlite: bool) -> None:  # no SQLAlchemy connection
        self.transaction, self.sqlite = cursor, sqlite
        self.day = _day_as(sqlite)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        yield self.transaction  # its errors are the store's transaction's to say


def _day_as(sqlite: bool) -> Callable[[date], Any]:
    """A day as the driver takes it: a function, not a method, as rows are written by the
    million (`read_model_derive`)."""
    return _iso if sqlite else _same


def _same(day: date) -> date:
    return day


def marks(count: int) -> str:
    return ",".join("?" * count)


@lru_cache(maxsize=1 << 14)  # a ledger has a few thousand distinct days, written many times
def _iso(day: date) -> str:
    return day.isoformat()


@lru_cache(maxsize=1 << 14)  # a ledger has a few thousand distinct days, read many times
def _iso_day(text: str) -> date:
    return date.fromisoformat(text)
