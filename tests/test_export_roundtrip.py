"""An export imported as history gives the same figures, on random ledgers (SPEC §14).

A random valid ledger — trials, pauses, discounts, reasons, backdated and scheduled events,
voids and their corrections (`tests.lifecycle_ledgers`, with EUR customers and daily
rates), or awkward customers in EUR and GBP whose rates come late, are voided and replaced
(`tests.fx_ledgers`) — is recorded over several commits, each at its own frozen moment
(a few in the same instant, a few single appends). Its export (`Ledger.export()`, `arr
export --format csv` and `--format jsonl`) is imported with `historical` into an empty
ledger, which then gives byte for byte the same `report`, `movements` and `series` as the
original at every state of knowledge asked: before, at and just after each commit's
moment, between commits, at each commit's last position and at positions inside commits;
for `as_of` days across the whole history. The copy's audit verifies, exports the same
rows, and logs each customer's events as the original does, but for the historical mark.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from ledger import Ledger, LedgerError
from ledger.cli.main import app
from ledger.intake.rows import Row
from tests.conftest import POSTGRES, _drop_schema
from tests.fx_ledgers import fx_events
from tests.lifecycle_ledgers import features, lifecycle_events

runner = CliRunner()
Fields = dict[str, str]
COMMITS = 7  # imports, each at its own moment; then a few single appends
SINGLES = 4
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Grown:
    """How a ledger was recorded: each commit's moment and its last position."""

    moments: tuple[datetime, ...]
    ends: tuple[int, ...]


@dataclass(frozen=True)
class Knowledge:
    """One state of knowledge asked about: a moment or a position."""

    known_at: datetime | None = None
    position: int | None = None


def _rows(kind: str) -> list[Fields]:
    if kind == "lifecycle":
        return _weekly_rates(lifecycle_events(11, 24, foreign=0.35))
    return _weekly_rates(fx_events(customers=6, seed=4, kind="edge", years=2))


def _weekly_rates(rows: list[Fields]) -> list[Fields]:
    """The rows with a rate on Mondays and first days of months only, and the late ones,
    the replacements and the voids of those kept: still a valid ledger (a day's rate is
    the latest on or before it), with a few hundred rates rather than thousands."""

    def kept(row: Fields) -> bool:
        day = date.fromisoformat(row["effective_date"])
        return day.weekday() == 0 or day.day == 1 or row["event_id"].endswith(("-late", "-fixed"))

    dropped = {r["event_id"] for r in rows if r["type"] == "fx_rate" and not kept(r)}
    return [
        r for r in rows if r["event_id"] not in dropped and r.get("target_event_id") not in dropped
    ]


def _cuts(rng: random.Random, rows: list[Fields]) -> list[int]:
    """Where the commits end: the first after the leading run of rates (a ledger's rates
    loaded first, in one go), the others at random."""
    first = next(n for n, r in enumerate(rows) if r["type"] != "fx_rate") + 1
    return [*sorted(rng.sample(range(first, len(rows) - SINGLES), COMMITS - 1)), len(rows)]


def grow(ledger: Ledger, rows: list[Fields], rng: random.Random) -> Grown:
    """Records `rows` in order over several commits at frozen moments, some gaps months
    long, some none (two commits in the same instant); the last rows one append each."""
    moments, ends, begin = [], [], 0
    moment = datetime(2023, 2, 1, 9, 30, 0, 123456, tzinfo=UTC)
    for n, end in enumerate(_cuts(rng, rows)):
        if n and rng.random() > 0.2:  # else the same instant as the commit before
            moment += timedelta(days=rng.randint(1, 150), microseconds=rng.randrange(10**6))
        batch = rows[begin:end]
        with freeze_time(moment):
            if n < COMMITS - 1:
                ledger.import_rows(Row(f"r{begin + k}", dict(r)) for k, r in enumerate(batch))
            else:
                ledger.import_rows(
                    Row(f"r{begin + k}", dict(r)) for k, r in enumerate(batch[:-SINGLES])
                )
                for k, row in enumerate(batch[-SINGLES:]):
                    ledger.append(dict(row), f"single{k}")
        moments.append(moment)
        ends.append(ledger.head())
        begin = end
    return Grown(tuple(moments), tuple(ends))


def moments(ledger: Ledger, grown: Grown) -> list[datetime]:
    """Moments before, at and just after each time the ledger recorded at (two commits in
    one frozen instant are a microsecond apart), between commits, and long after."""
    times = sorted({e.recorded_at for e in ledger.entries()})
    asked = [grown.moments[0] - timedelta(days=30), datetime.now(UTC) - timedelta(minutes=1)]
    asked += [t + d for t in times for d in (-MICROSECOND, timedelta(0), MICROSECOND)]
    asked += [m + (n - m) / 2 for m, n in pairwise(grown.moments)]
    return sorted(asked)


def knowledges(ledger: Ledger, grown: Grown, rng: random.Random) -> list[Knowledge]:
    """The states of knowledge whose figures are compared: one moment for each position the
    moments reach (the figures at a moment are those of its position, read from the read
    model), and the positions where commits end and a few inside them (replayed)."""
    reached = {ledger.position(known_at=m): m for m in reversed(moments(ledger, grown))}
    asked = [Knowledge(known_at=m) for _, m in sorted(reached.items())]
    inside = {rng.randint(1, grown.ends[-1]) for _ in range(3)}
    return asked + [Knowledge(position=p) for p in sorted({0, *grown.ends, *inside})]


def days(rows: list[Fields], rng: random.Random) -> list[date]:
    """`as_of` days across the history: before it starts, every seventh month's end, days
    where events take effect, and after it ends."""
    dated = sorted(
        {
            date.fromisoformat(r[k])
            for r in rows
            for k in ("effective_date", "trial_end", "resume_date")
            if r.get(k) and r["type"] != "fx_rate"
        }
    )
    first, last = dated[0], dated[-1]
    month_ends = [d for d in _month_ends(first, last)][::7]
    return sorted(
        {first - timedelta(days=1), *month_ends, *rng.sample(dated, 5), last + timedelta(days=40)}
    )


def _month_ends(first: date, last: date) -> Iterator[date]:
    day = first.replace(day=1)
    while day <= last:
        following = (day + timedelta(days=32)).replace(day=1)
        yield following - timedelta(days=1)
        day = following


def _said(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """What a query answers, as JSON text, or the error it raises (the same rate missing
    on the same day, say)."""
    try:
        found = call(*args, **kwargs)
    except LedgerError as exc:
        return f"{type(exc).__name__}: {exc}"
    shown = [r.as_json() for r in found] if isinstance(found, list) else found.as_json()
    return json.dumps(shown)


def answers(ledger: Ledger, asked: list[Knowledge], on: list[date]) -> list[str]:
    """Every figure asked, in order: the reports of `on` and the movements between them,
    the movements between the first and last month ends among them netted by month, and
    (for every other state) a monthly series over the span; the policies vary with the
    state of knowledge, so that each is asked now and then."""
    ends = [d for d in on if (d + timedelta(days=1)).day == 1]
    begin, last = on[0].replace(day=1), on[-1]
    said = []
    for n, k in enumerate(asked):
        at: dict[str, Any] = {"known_at": k.known_at, "position": k.position}
        at |= {"acv_policy": ("recurring", "including_fees")[n % 2]}
        at |= {"fx": ("spot", "booked", "spot")[n % 3]}
        said.append(_said(ledger.reports, on, **at))
        said.append(_said(ledger.movements_over, on, **at))
        said.append(_said(ledger.movements, ends[0], ends[-1], **at, netting="month"))
        if n % 2 == 0:
            netting = ("day", "month")[n // 2 % 2]
            said.append(_said(ledger.series, begin, last, "month", **at, netting=netting))
    return said


def _other(db_url: str, tmp_path: Path, name: str) -> tuple[str, str | None]:
    """A URL for an empty ledger on the same database as `db_url`, and its schema (to drop
    afterwards) on PostgreSQL."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'{name}.db'}", None
    schema = f"{db_url.rpartition('=')[2]}_{name}"
    return f"{POSTGRES}?schema={schema}", schema


@pytest.fixture
def copies(db_url: str, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Gives URLs for empty ledgers beside the test's own; drops their schemas after."""
    schemas: list[str] = []

    def other(name: str) -> str:
        url, schema = _other(db_url, tmp_path, name)
        if schema is not None:
            schemas.append(schema)
        return url

    yield other
    for schema in schemas:
        _drop_schema(schema)


def _same_logs(ledger: Ledger, copy: Ledger, rows: list[Fields]) -> None:
    """Each customer's log is the original's but for the historical mark: in the copy
    each event is marked with the time it was recorded at, as exported."""
    customers = sorted({r["customer_id"] for r in rows if r.get("customer_id")})
    for customer in customers:
        mine = ledger.customer_log(customer).as_json()
        theirs = copy.customer_log(customer).as_json()
        events = theirs.pop("events")
        assert {e["historical"] for e in mine["events"]} == {None}
        assert [e["historical"] for e in events] == [
            datetime.fromisoformat(e["recorded_at"]).isoformat(timespec="microseconds")
            for e in events
        ]
        assert [e | {"historical": None} for e in events] == mine.pop("events")
        assert theirs == mine


@pytest.mark.parametrize(("kind", "seed"), [("lifecycle", 3), ("fx", 5)])
def test_an_export_imported_as_history_gives_the_same_figures(
    ledger: Ledger, db_url: str, copies: Callable[[str], str], kind: str, seed: int
) -> None:
    rows = _rows(kind)
    rng = random.Random(seed)
    grown = grow(ledger, rows, rng)
    exported = list(ledger.export())
    assert len(exported) == ledger.head()
    with Ledger.init(copies("copy")) as copy:
        copy.import_rows((Row(f"x:{n}", r) for n, r in enumerate(exported, 1)), historical=True)
        every = moments(ledger, grown)
        assert [copy.position(known_at=m) for m in every] == [
            ledger.position(known_at=m) for m in every
        ]
        asked, on = knowledges(ledger, grown, rng), days(rows, rng)
        if not db_url.startswith(
            "sqlite"
        ):  # every other state on the server: its queries are slower
            asked = asked[::2]
        assert answers(copy, asked, on) == answers(ledger, asked, on)
        assert copy.verify().ok
        assert list(copy.export()) == exported
        _same_logs(ledger, copy, rows)


def test_an_export_round_trips_through_the_cli(
    ledger: Ledger, db_url: str, copies: Callable[[str], str], tmp_path: Path
) -> None:
    """Each format, imported with `arr import --historical` (the CSV into SQLite, the JSON
    Lines into the test's database), exports again byte for byte and gives the same
    figures as of every commit's moment."""
    rows = _rows("lifecycle")
    rng = random.Random(8)
    grown = grow(ledger, rows, rng)
    on = days(rows, rng)[::2]
    asked = [Knowledge(known_at=m) for m in grown.moments[::2]] + [Knowledge()]
    for fmt, url in (("csv", f"sqlite:///{tmp_path / 'csv-copy.db'}"), ("jsonl", copies("cli"))):
        shown = runner.invoke(app, ["export", "--format", fmt, "--db", db_url])
        assert shown.exit_code == 0, shown.stderr
        path = tmp_path / f"history.{fmt}"
        path.write_text(shown.stdout)
        assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
        done = runner.invoke(app, ["import", "--historical", str(path), "--db", url])
        head = ledger.head()
        assert (
            done.stdout
            == f"imported {head} events, skipped 0 already recorded (positions 1-{head})\n"
        )
        again = runner.invoke(app, ["export", "--format", fmt, "--db", url])
        assert again.stdout == shown.stdout
        with Ledger.open(url) as copy:
            assert answers(copy, asked, on) == answers(ledger, asked, on)
            assert copy.verify().ok


def _what(row: Fields) -> tuple[str | None, ...]:
    """What an event does, whatever its id."""
    fields = ("type", "subscription_id", "currency", "effective_date")
    return tuple(row.get(k) for k in fields)


def _corrected(rows: list[Fields]) -> int:
    """How many voided events were appended again under another id (a correction)."""
    by_id = {r["event_id"]: r for r in rows}
    voided = [by_id[r["target_event_id"]] for r in rows if r["type"] == "void"]
    return sum(
        any(_what(r) == _what(v) and r["event_id"] != v["event_id"] for r in rows) for v in voided
    )


def test_the_ledgers_hold_what_the_round_trip_is_meant_to_carry() -> None:
    """A self-check of the random ledgers above: backdated events, voids and corrections,
    retries, trials, pauses, discounts, notes CSV must quote, rates voided and replaced."""
    rows = _rows("lifecycle")
    found = features(rows)
    assert {k: found[k] for k in ("backdated", "voided_event", "voided_fee", "retried")} == {
        "backdated": 19,
        "voided_event": 8,
        "voided_fee": 4,
        "retried": 6,
    }
    assert (
        found["trial_with_end"],
        found["pause_with_resume_date"],
        found["discount_percent"],
    ) == (
        10,
        8,
        8,
    )
    assert (len(rows), _corrected(rows), sum("\n" in r.get("note", "") for r in rows)) == (
        403,
        4,
        4,
    )
    assert sum(r.get("note", "").startswith(" ") for r in rows) == 5
    fx = _rows("fx")
    rates = {r["event_id"] for r in fx if r["type"] == "fx_rate"}
    assert (len(fx), len(rates), _corrected(fx)) == (679, 575, 8)
    assert sum(r["type"] == "void" and r["target_event_id"] in rates for r in fx) == 8
    assert sum(r.get("currency") in ("EUR", "GBP") for r in fx if r["type"] != "fx_rate") == 11
