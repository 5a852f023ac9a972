"""Where a ledger lives: a SQLAlchemy URL, and the checks made before anything is opened."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from eventsourcing.utils import get_topic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ledger.domain.errors import LedgerError, StoreUnavailable, first_line
from ledger.store.recorders import (
    SQLiteLedgerRecorder,
)

DEFAULT_URL = "sqlite:///arr.db"


@dataclass(frozen=True)
class Location:
    """Where a ledger lives, parsed from a SQLAlchemy URL."""

    url: URL

    @classmethod
    def parse(cls, text: str | None) -> Location:
        raw = text or os.environ.get("ARR_DB") or DEFAULT_URL
        try:
            url = make_url(raw)
        except ArgumentError:
            hint = f" (for a SQLite file: sqlite:///{raw})" if "://" not in raw else ""
            message = f"url: {raw!r} is not a database URL{hint}"
            raise LedgerError(message, "url") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise LedgerError(
                f"url: {url.get_backend_name()!r} is not supported (sqlite or postgresql)", "url"
            )
        return cls(url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def __str__(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def sqlite_path(self) -> str:
        return self.url.database or ":memory:"

    def env(self, *, create: bool) -> dict[str, str]:
        common = {"CREATE_TABLE": "yes" if create else "no", "ORIGINATOR_ID_TYPE": "uuid"}
        if self.is_sqlite:
            recorder = get_topic(SQLiteLedgerRecorder)
            return common | {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.sqlite_path(),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": recorder,
            }
        url = self.url
        return common | {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.database or "postgres",
            "POSTGRES_HOST": url.host or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": str(url.query.get("schema", "")),
            "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC": "ledger.store.postgres:PostgresLedgerRecorder",
        }


def check_sqlite(location: Location) -> None:
    """Refuses, before anything is written, a file that is not a SQLite database, or a
    database whose event table belongs to something else."""
    path = location.sqlite_path()
    if ":memory:" in path or "mode=memory" in path or not Path(path).exists():
        return
    try:
        with closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as db:
            tables = {str(name) for (name,) in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error as exc:
        raise LedgerError(f"{location} is not a SQLite database: {first_line(exc)}") from None
    if "stored_events" in tables and "arr_entries" not in tables:
        raise LedgerError(
            f"the database at {location} is not a ledger: it has a table stored_events of "
            "something else; give another file"
        )


def sqlite_exists(location: Location) -> bool:
    path = location.sqlite_path()
    return ":memory:" in path or "mode=memory" in path or Path(path).exists()


def prepare_postgres(location: Location, *, create: bool) -> None:
    """Creates the ledger's schema when asked to, and refuses, before anything is
    written, a schema whose event table belongs to something else."""
    import psycopg

    url, schema = location.url, str(location.url.query.get("schema") or "public")
    try:
        with psycopg.connect(
            host=url.host or "127.0.0.1",
            port=url.port or 5432,
            user=url.username or "postgres",
            password=url.password or "",
            dbname=url.database or "postgres",
            connect_timeout=10,
            autocommit=True,
        ) as conn:
            if create and schema != "public":
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            found = conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'arr_events'",
                (schema,),
            ).fetchall()
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot open the ledger at {location}: {first_line(exc)}") from None
    names = sorted(str(name) for (name,) in found)
    if names and not {"notification_id", "originator_id", "state"} <= set(names):
        raise LedgerError(
            f"the database at {location} is not a ledger: its table arr_events "
            f"({', '.join(names)}) is not an arr ledger's"
        )
