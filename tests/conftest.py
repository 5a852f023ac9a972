"""Every ledger test runs twice: on the embedded SQLite default and on PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (override with ARR_TEST_POSTGRES); each test
gets its own schema, dropped afterwards. An unreachable server fails the suite: the
PostgreSQL tests are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger import Ledger
from ledger.domain.errors import Refused
from ledger.intake.rows import Row

POSTGRES = os.environ.get("ARR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_dsn() -> str:
    return POSTGRES.replace("postgresql+psycopg://", "postgresql://")


def _drop_schema(schema: str) -> None:
    with psycopg.connect(_postgres_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for a fresh, empty ledger on each database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        psycopg.connect(_postgres_dsn(), connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES}: {exc}")
    yield f"{POSTGRES}?schema={schema}"
    _drop_schema(schema)


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    with Ledger.init(db_url) as opened:
        yield opened


def record(ledger: Ledger, *events: dict[str, Any]) -> None:
    """Appends events one by one, as separate recordings."""
    for event in events:
        ledger.append(event)


def accept(ledger: Ledger, *rows: dict[str, Any], source: str = "row", first: int = 1) -> None:
    """Imports `rows` in one batch, located `row1`, `row2`, ... (or `{source}{first}` on)."""
    ledger.import_rows(Row(f"{source}{n}", r) for n, r in enumerate(rows, first))


def refused(
    ledger: Ledger, *rows: dict[str, Any], source: str = "row", first: int = 1
) -> list[str]:
    """The problems of a refused import of `rows` (located as `accept` does); the ledger
    did not move."""
    head = ledger.head()
    with pytest.raises(Refused) as caught:
        accept(ledger, *rows, source=source, first=first)
    assert ledger.head() == head
    return [str(problem) for problem in caught.value.problems]


_counter = iter(range(1, 10**9))


def new(customer: str, sub: str, day: str, amount: str, **extra: str) -> dict[str, Any]:
    return {
        "event_id": f"n{next(_counter)}",
        "type": "new",
        "customer_id": customer,
        "subscription_id": sub,
        "effective_date": day,
        "amount": amount,
        **extra,
    }


def rate(currency: str, day: str, value: str, event_id: str | None = None) -> dict[str, Any]:
    """An `fx_rate` (SPEC §10); its id, unless given, names its currency and day."""
    return {
        "event_id": event_id or f"fx-{currency}-{day}",
        "type": "fx_rate",
        "currency": currency,
        "effective_date": day,
        "rate": value,
    }


def event(kind: str, customer: str, day: str, **extra: str) -> dict[str, Any]:
    return {
        "event_id": f"{kind[0]}{next(_counter)}",
        "type": kind,
        "customer_id": customer,
        "effective_date": day,
        **extra,
    }


@pytest.fixture
def lagging(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports leave the read model behind, as imports of an earlier version did, or
    those made while it lagged: what is left to test is how it catches up."""
    from projections.read_model.inline import Inline

    monkeypatch.setattr(Inline, "begin", classmethod(lambda *_: None))
