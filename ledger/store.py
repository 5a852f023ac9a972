"""The event store: the `eventsourcing` library, one stream (aggregate) per customer.

The customer stream is the consistency boundary (movements are per customer): appends
to it are guarded by the library's optimistic concurrency on (stream, version). The
ledger-wide position is the library's notification id; the recorders of
`ledger.recorders` index every event with its recorded time in the same transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, PersistenceError
from eventsourcing.utils import get_topic
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ledger.errors import LedgerError, StoreUnavailable, first_line
from ledger.events import Event
from ledger.recorders import IndexRow, PostgresLedgerRecorder, SQLiteLedgerRecorder, chunks
from ledger.timeline import Recorded

STREAMS = UUID("8f5d2d1e-3c0a-4c55-9a51-2f4a7b0f3e11")
DEFAULT_URL = "sqlite:///arr.db"
PAGE = 20_000


def stream_id(customer_id: str) -> UUID:
    """Each customer's stream has a stable id derived from the customer id."""
    return uuid5(STREAMS, customer_id)


class Customer(Aggregate):
    """A customer's stream of ledger events. Its state is the timeline fold, not here."""

    class Opened(Aggregate.Created):
        entry: dict[str, str]

    class EventRecorded(Aggregate.Event):
        entry: dict[str, str]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Customer)
            aggregate.entries.append(self.entry)

    def __init__(self, entry: dict[str, str]) -> None:
        self.entries = [entry]


def domain_event(event: Event, version: int) -> Any:
    """The library event that records `event` as `version` of its customer's stream."""
    kind = Customer.Opened if version == 1 else Customer.EventRecorded
    extra = {"originator_topic": get_topic(Customer)} if version == 1 else {}
    return kind(  # type: ignore[call-arg]  # the library makes events dataclasses
        originator_id=stream_id(event.customer_id),
        originator_version=version,
        timestamp=kind.create_timestamp(),
        entry=event.entry(),
        **extra,
    )


class _Transcoder(JSONTranscoder):
    def _encode_obj(self, o: Any) -> dict[str, Any]:
        if type(o) not in self.types and isinstance(o, datetime):
            return {"_type_": "datetime_iso", "_data_": o.isoformat()}
        return super()._encode_obj(o)


class LedgerApplication(Application[UUID]):
    name = "arr"

    def construct_transcoder(self) -> JSONTranscoder:
        transcoder = _Transcoder()
        self.register_transcodings(transcoder)
        return transcoder


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
            raise LedgerError(f"--db: {raw!r} is not a database URL") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise LedgerError(
                f"--db: {url.get_backend_name()!r} is not supported (sqlite or postgresql)"
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
            "APPLICATION_RECORDER_TOPIC": get_topic(PostgresLedgerRecorder),
        }


def _decode(row: Sequence[Any]) -> Recorded:
    position, recorded_at, state = row
    entry = json.loads(bytes(state))["entry"]
    return Recorded(int(position), datetime.fromisoformat(recorded_at), Event.from_entry(entry))


class EventStore:
    """The ledger's events with both clocks, on SQLite or PostgreSQL."""

    def __init__(self, location: Location, *, create: bool = False) -> None:
        self.location = location
        if location.is_sqlite and not create and not _sqlite_exists(location):
            raise LedgerError(f"no ledger at {location}: run `arr init` first")
        if create and not location.is_sqlite:
            _create_schema(location)
        try:
            self.app = LedgerApplication(env=location.env(create=create))
        except PersistenceError as exc:
            raise StoreUnavailable(
                f"cannot open the ledger at {location}: {first_line(exc)}"
            ) from None
        recorder = self.app.recorder
        assert isinstance(recorder, (SQLiteLedgerRecorder, PostgresLedgerRecorder))
        self.recorder = recorder

    def close(self) -> None:
        self.app.close()

    def setting(self, key: str) -> str | None:
        rows = self.recorder.select("SELECT value FROM {settings} WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        self.recorder.execute(
            "INSERT INTO {settings} VALUES (?, ?) ON CONFLICT DO NOTHING", (key, value)
        )

    def head(self) -> int:
        rows = self.recorder.select("SELECT MAX(position) FROM {entries}")
        return int(rows[0][0] or 0)

    def position_at(self, moment: datetime) -> int:
        """The last position recorded at or before `moment` (0 before the first)."""
        stamp = moment.isoformat(timespec="microseconds")
        rows = self.recorder.select(
            "SELECT MAX(position) FROM {entries} WHERE recorded_at <= ?", (stamp,)
        )
        return int(rows[0][0] or 0)

    def entries(self, stop: int | None = None, start: int = 0) -> Iterator[Recorded]:
        """Every recorded event with start < position <= stop, in position order."""
        last = start
        while True:
            where = "a.position > ?" + (" AND a.position <= ?" if stop is not None else "")
            params = [last, stop] if stop is not None else [last]
            rows = self.recorder.select(self.recorder.entries_sql(where) + f" LIMIT {PAGE}", params)
            yield from map(_decode, rows)
            if len(rows) < PAGE:
                return
            last = int(rows[-1][0])

    def histories(self, customer_ids: Iterable[str]) -> dict[str, list[Recorded]]:
        """The recorded events of each customer, in position order."""
        found: dict[str, list[Recorded]] = {c: [] for c in customer_ids}
        for chunk in chunks(sorted(found)):
            marks = ",".join("?" * len(chunk))
            sql = self.recorder.entries_sql(f"a.customer_id IN ({marks})")
            for item in map(_decode, self.recorder.select(sql, chunk)):
                found[item.event.customer_id].append(item)
        return found

    def customers_of(self, event_ids: Iterable[str]) -> dict[str, str]:
        """The customer each recorded event id belongs to."""
        return self._lookup("SELECT event_id, customer_id FROM {entries} WHERE event_id", event_ids)

    def owners(self, subscription_ids: Iterable[str]) -> dict[str, str]:
        """The customer that owns each known subscription id."""
        sql = "SELECT subscription_id, customer_id FROM {subscriptions} WHERE subscription_id"
        return self._lookup(sql, subscription_ids)

    def _lookup(self, sql: str, keys: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(keys))):
            marks = ",".join("?" * len(chunk))
            found.update(self.recorder.select(f"{sql} IN ({marks})", chunk))
        return found

    def append(self, events: Sequence[Event], versions: dict[str, int]) -> list[int]:
        """Appends `events` in one transaction, in order; `versions` are the streams' seen
        versions (optimistic concurrency). Returns their positions."""
        seen = dict(versions)
        stored = []
        for event in events:
            seen[event.customer_id] = version = seen.get(event.customer_id, 0) + 1
            stored.append(domain_event(event, version))
        index = [IndexRow(e.event_id, e.customer_id, _new_subscription(e)) for e in events]
        recordings = self.app.save(*stored, index=index)
        return [r.notification.id for r in recordings]


def _new_subscription(event: Event) -> str | None:
    return event.subscription_id if event.type == "new" else None


def _sqlite_exists(location: Location) -> bool:
    path = location.sqlite_path()
    return ":memory:" in path or "mode=memory" in path or Path(path).exists()


def _create_schema(location: Location) -> None:
    schema = location.url.query.get("schema")
    if not schema:
        return
    import psycopg

    url = location.url
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
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot open the ledger at {location}: {first_line(exc)}") from None
