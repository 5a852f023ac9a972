"""Trials, pauses, discounts (SPEC §11) and reasons (§12): the ledger agrees with the oracle.

First the generator (`tests.lifecycle_ledgers`) and the oracle are checked alone: every
prefix of every generated ledger is valid (SPEC §3, §11), the ledgers exercise each corner
they are meant to, the generator's simulator and the oracle give every subscription the same
status and MRR on every day, and the oracle's bridge closes on every period with churn and
contraction split exactly by reason. Then each ledger is imported in batches on SQLite and
PostgreSQL, and `report`, `movements`, `series` and `movements --by reason` are compared key
by key with `Oracle(..., lifecycle_keys=True)` at the head and at earlier commit ends, over
months, a quarter, a year, odd spans and single days where something starts or ends by
itself; and a smaller ledger with EUR customers is compared under `spot`, `booked` and
`fixed`. Each of these tests gathers every difference before it fails, so that its message
lists them all (seed, figure, position, period, key, the ledger's value and the oracle's).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger import Ledger
from ledger.intake.rows import Row
from projections.figures.contract_value import AcvPolicy
from tests.conftest import POSTGRES, _drop_schema, _postgres_dsn
from tests.lifecycle_ledgers import (
    ACTIVE,
    ENDED,
    PAUSED,
    TRIALING,
    Sim,
    features,
    lifecycle_events,
    problems,
)
from tests.lifecycle_ledgers import Row as Fields
from tests.oracle import ZERO, Oracle, add_months

UNTIL = date(2025, 3, 31)
SEEDS = (1, 2)
CUSTOMERS = 150
BATCH = 400
ACV_POLICIES: tuple[AcvPolicy, ...] = ("recurring", "including_fees")
REPORT_KEYS = ("trialing_contracts", "paused_customers", "discounts")
MOVEMENT_KEYS = ("paused", "resumed", "trials_started", "trials_converted")
REASON_KEYS = ("reason", "churn", "contraction")
ONE_DAY = timedelta(days=1)
EURO = 3
"""The seed of a smaller ledger with a share of EUR customers and daily EUR rates (§10)."""
FX_POLICIES = ("spot", "booked", "fixed:2023-06-15")


@cache
def _rows(seed: int) -> tuple[Fields, ...]:
    if seed == EURO:
        return tuple(lifecycle_events(seed, 50, foreign=0.35))
    return tuple(lifecycle_events(seed, CUSTOMERS))


@cache
def _oracle(seed: int, cutoff: int | None) -> Oracle:
    rows = [dict(r) for r in _rows(seed)]
    return Oracle(rows, cutoff, until=UNTIL, lifecycle_keys=True)


def _unique(rows: tuple[Fields, ...] | list[Fields]) -> int:
    """The positions `rows` take: a repeated event_id is an idempotent retry."""
    return len({r["event_id"] for r in rows})


def _batches(rows: tuple[Fields, ...]) -> list[tuple[int, int]]:
    """The imports, as (first row, end row) pairs."""
    ends = [*range(BATCH, len(rows), BATCH), len(rows)]
    return list(pairwise([0, *ends]))


def _commit_ends(seed: int) -> list[int]:
    """The head and two earlier positions where an import ended (the read model's)."""
    rows = _rows(seed)
    ends = [_unique(rows[:end]) for _, end in _batches(rows)]
    return [ends[-1], ends[len(ends) * 2 // 3 - 1], ends[len(ends) // 3 - 1]]


def _periods(seed: int) -> list[tuple[date, date]]:
    """Months, a quarter, a year, odd spans, all of history; single days where something
    ends or starts by itself (a trial's end, a resume_date, a discount's end, a term's end)
    and where the customers' MRR changed."""
    oracle = _oracle(seed, None)
    rng = random.Random(seed)
    periods = [
        (date(2022, 12, 31), date(2023, 1, 31)),
        (date(2023, 5, 31), date(2023, 6, 30)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 10, 31), date(2024, 11, 30)),
        (date(2023, 6, 30), date(2023, 9, 30)),
        (date(2022, 12, 31), date(2023, 12, 31)),
        (date(2022, 3, 17), date(2024, 8, 5)),
        (date(2023, 2, 14), date(2023, 2, 27)),
        (date(2021, 12, 1), UNTIL),
        (date(2024, 6, 30), date(2024, 6, 30)),
    ]
    periods += [(d - ONE_DAY, d) for d in rng.sample(_special_days(seed), 7)]
    changes = sorted({d for days in oracle.changes.values() for d in days if d <= UNTIL})
    periods += [(d - ONE_DAY, d) for d in rng.sample(changes, 2)]
    return periods


@cache
def _special_days(seed: int) -> list[date]:
    """Days that something of SPEC §11 or §4 happens on by itself."""
    rows, oracle = _rows(seed), _oracle(seed, None)
    found: set[date] = set()
    for r in rows:
        for name in ("trial_end", "resume_date"):
            if r.get(name):
                found.add(date.fromisoformat(r[name]))
        if r.get("duration_months"):
            found.add(
                add_months(date.fromisoformat(r["effective_date"]), int(r["duration_months"]))
            )
    for bookings in oracle.bookings.values():
        found.update(add_months(b.day, b.term_months) for b in bookings if b.term_months)
    return sorted(d for d in found if d <= UNTIL)


def _report_days(seed: int) -> list[date]:
    rng = random.Random(seed + 100)
    month_ends = [add_months(date(2022, 2, 1), n) - ONE_DAY for n in range(0, 40, 8)]
    special = rng.sample(_special_days(seed), 8)
    return sorted({*month_ends, *special, *(d - ONE_DAY for d in special[:4])})


# The generator and the oracle alone.


@pytest.mark.parametrize("seed", SEEDS)
def test_every_prefix_of_a_generated_ledger_is_valid(seed: int) -> None:
    rows = list(_rows(seed))
    assert problems(rows) == []
    assert 1000 < len(rows) < 6000
    euro = list(_rows(EURO))
    assert problems(euro) == []
    assert any(r.get("currency") == "EUR" and r["type"] == "pause" for r in euro)
    found = features(rows)
    for corner in (
        "trial_with_end", "trial_without_end", "converted_while_trialing",
        "converted_on_trial_end", "trial_expired", "churned_trialing", "churned_paused",
        "churned_active", "restarted", "pause_with_resume_date", "pause_open", "resume",
        "resume_with_amount", "resume_on_resume_date", "renewal_active", "renewal_paused",
        "renewal_on_lapse_day", "renewal_with_amount", "lapsed_while_active",
        "lapsed_while_paused", "discount_percent", "discount_amount", "discount_with_duration",
        "discount_ended", "discount_replaced", "discount_through_pause", "upgrade_discounted",
        "downgrade_discounted", "interval_changed", "fee", "fee_without_subscription",
        "voided_fee", "voided_event", "retried", "backdated", "same_day",
        "churned_on_resume_date", "paused_on_resume_date",
        "churned_the_day_it_lapsed_and_restarted",
    ):  # fmt: skip
        assert found.get(corner, 0) > 0, (corner, found)
    live = len(rows) - found["retried"]
    assert found["reason"] > live // 4 and found["note"] > live // 6, found


def _event(kind: str, day: str, sub: str = "s1", **fields: str) -> Fields:
    base = {"event_id": f"{kind}-{sub}-{day}-{len(fields)}", "type": kind, "customer_id": "c"}
    return base | {"subscription_id": sub, "effective_date": day, **fields}


START = _event("new", "2024-01-01", amount="100")
INVALID = {
    "an upgrade while paused": [
        START,
        _event("pause", "2024-02-01"),
        _event("upgrade", "2024-03-01", amount="200"),
    ],
    "a resume of an active one": [START, _event("resume", "2024-02-01")],
    "a trial of an active one": [START, _event("trial", "2024-02-01")],
    "a pause while trialing": [_event("trial", "2024-01-01"), _event("pause", "2024-01-05")],
    "a new on a paused one": [
        START,
        _event("pause", "2024-02-01"),
        _event("new", "2024-03-01", amount="5"),
    ],
    "a trial_end not after its day": [_event("trial", "2024-01-01", trial_end="2024-01-01")],
    "a discount to zero": [START, _event("discount", "2024-02-01", amount_off="100")],
    "an upgrade that lowers net MRR": [
        START,
        _event("discount", "2024-02-01", amount_off="60"),
        _event("upgrade", "2024-03-01", amount="50", interval="quarter"),
    ],
    "a downgrade that raises net MRR": [
        _event("new", "2024-01-01", amount="300", interval="quarter"),
        _event("downgrade", "2024-02-01", amount="150", interval="month"),
    ],
    "a churn after a lapse": [
        _event("new", "2024-01-01", amount="100", term_months="1"),
        _event("churn", "2024-02-01"),
    ],
    "a resume after the trial expired": [
        _event("trial", "2024-01-01", trial_end="2024-01-10"),
        _event("resume", "2024-01-12"),
    ],
    "a void of the only new of a fee": [
        START,
        _event("one_time_fee", "2024-01-01", amount="10"),
        {"event_id": "v", "type": "void", "customer_id": "c", "target_event_id": START["event_id"]},
    ],
    "a backdated pause before an upgrade": [
        START,
        _event("upgrade", "2024-03-01", amount="200"),
        _event("pause", "2024-02-01", resume_date="2024-04-01"),
    ],
    "a subscription under two customers": [
        START,
        _event("churn", "2024-02-01") | {"customer_id": "d"},
    ],
    "a reserved reason": [START | {"reason": "lapsed"}],
}
VALID = {
    "a new on a trialing one": [
        _event("trial", "2024-01-01"),
        _event("new", "2024-01-05", amount="9"),
    ],
    "a new on the trial_end day": [
        _event("trial", "2024-01-01", trial_end="2024-01-10"),
        _event("new", "2024-01-10", amount="9"),
    ],
    "a renewal on the lapse day while paused": [
        _event("new", "2024-01-01", amount="100", term_months="3"),
        _event("pause", "2024-02-01"),
        _event("renewal", "2024-04-01"),
        _event("resume", "2024-05-01"),
    ],
    "a resume on its own resume_date": [
        START,
        _event("pause", "2024-02-01", resume_date="2024-03-01"),
        _event("resume", "2024-03-01", amount="120"),
    ],
    "a churn of a trial": [_event("trial", "2024-01-01"), _event("churn", "2024-01-02")],
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_the_self_check_refuses_what_the_ledger_must_refuse(case: str) -> None:
    assert problems(INVALID[case]) != []


@pytest.mark.parametrize("case", sorted(VALID))
def test_the_self_check_takes_what_the_ledger_must_take(case: str) -> None:
    assert problems(VALID[case]) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_the_generator_and_the_oracle_give_the_same_days(seed: int) -> None:
    """Every subscription's status and net MRR at the end of every day, from the
    generator's `Sim` and from the oracle, at the head and at an earlier position."""
    rows = list(_rows(seed))
    for cutoff in (None, _commit_ends(seed)[2]):
        oracle = _oracle(seed, cutoff)
        seen: dict[str, int] = {}
        for n, r in enumerate(rows):
            seen.setdefault(r["event_id"], n)
        recorded = [rows[n] for n in sorted(seen.values())][:cutoff]
        voided = {r["target_event_id"] for r in recorded if r["type"] == "void"}
        live = [
            (r["effective_date"], n, r)
            for n, r in enumerate(recorded)
            if r["type"] not in ("void", "one_time_fee") and r["event_id"] not in voided
        ]
        of_sub: dict[str, list[Fields]] = {}
        for *_, r in sorted(live, key=lambda item: (item[0], item[1])):
            of_sub.setdefault(r["subscription_id"], []).append(r)
        assert set(of_sub) == set(oracle.sub_status)
        statuses: set[str] = set()
        for sub, events in of_sub.items():
            sim, next_event = Sim(), 0
            for n, day in enumerate(oracle.days):
                sim.advance(day)
                while next_event < len(events) and events[next_event]["effective_date"] == str(day):
                    assert sim.apply(events[next_event]) is None
                    next_event += 1
                mine = (sim.status, sim.mrr())
                theirs = (oracle.sub_status[sub][n], oracle.sub_mrr[sub][n])
                assert mine == theirs, (seed, cutoff, sub, day)
                statuses.add(sim.status)
        assert statuses == {"", TRIALING, ACTIVE, PAUSED, ENDED}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_oracle_bridge_closes_on_every_period(seed: int) -> None:
    """SPEC §10-§11's bridge exactly; `net_new` is `end_mrr − start_mrr`; the by-reason
    lines add up to churn and contraction exactly; the §11 keys move."""
    rng = random.Random(seed)
    for cutoff in _commit_ends(seed):
        oracle = _oracle(seed, cutoff)
        periods = _periods(seed)
        for _ in range(10):
            first, second = sorted(rng.sample(oracle.days[:-1], 2))
            periods.append((first, second))
        for start, end in periods:
            assert oracle.bridge(start, end) == oracle.mrr(end) - oracle.mrr(start), (start, end)
            moved = oracle._classified(start, end)
            exact = oracle.by_reason_exact(start, end)
            assert sum((r["churn"] for r in exact.values()), ZERO) == moved["churn"]
            assert sum((r["contraction"] for r in exact.values()), ZERO) == moved["contraction"]
            figures = oracle.movements(start, end)
            net = Fraction(figures["end_mrr"]) - Fraction(figures["start_mrr"])
            assert abs(Fraction(figures["net_new"]) - net) <= Fraction(1, 100)
    oracle = _oracle(seed, None)
    whole = oracle.movements(date(2021, 12, 1), UNTIL)
    assert Fraction(whole["paused"]) > 0 and Fraction(whole["resumed"]) > 0, whole
    assert whole["trials_started"] > whole["trials_converted"] > 0, whole
    reasons = {line["reason"] for line in oracle.by_reason(date(2021, 12, 1), UNTIL)}
    assert {"lapsed", "unspecified"} < reasons and len(reasons) > 8, reasons
    reports = [oracle.report(d) for d in oracle.days[::7] if d <= UNTIL]
    assert max(r["trialing_contracts"] for r in reports) > 0
    assert max(r["paused_customers"] for r in reports) > 0
    assert max(Fraction(r["discounts"]) for r in reports) > 0


@pytest.mark.parametrize("seed", SEEDS)
def test_the_oracle_gives_no_empty_reason_lines(seed: int) -> None:
    """The oracle's own Decision for `movements --by reason`: "only reasons with a non-zero
    amount". (A paused subscription that never billed, ending, adds a line of zeros.)"""
    for cutoff in _commit_ends(seed):
        oracle = _oracle(seed, cutoff)
        for start, end in _periods(seed):
            empty = [
                line
                for line in oracle.by_reason(start, end)
                if line["churn"] == line["contraction"] == "0.00"
            ]
            assert not empty, (cutoff, start, end, empty)


# The ledger against the oracle, on both databases.


@dataclass
class Imported:
    ledger: Ledger
    database: str
    seed: int

    @property
    def positions(self) -> list[int]:
        return _commit_ends(self.seed)

    def oracle(self, position: int) -> Oracle:
        return _oracle(self.seed, position)


@pytest.fixture(
    scope="module",
    params=[(db, seed) for db in ("sqlite", "postgres") for seed in SEEDS],
    ids=lambda p: f"{p[0]}-seed{p[1]}",
)
def imported(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Imported]:
    """A generated ledger imported once per database, in batches of `BATCH` rows: each
    import's end is a commit end, a position the read model answers at."""
    database, seed = request.param
    schema = None
    if database == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('lifecycle')) / 'ledger.db'}"
    else:
        try:
            psycopg.connect(_postgres_dsn(), connect_timeout=5).close()
        except psycopg.Error as exc:
            pytest.fail(f"PostgreSQL is unreachable at {POSTGRES}: {exc}")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        url = f"{POSTGRES}?schema={schema}"
    rows = _rows(seed)
    try:
        with Ledger.init(url) as ledger:
            for begin, end in _batches(rows):
                batch = rows[begin:end]
                ledger.import_rows(
                    Row(f"life:{begin + n}", dict(r)) for n, r in enumerate(batch, 1)
                )
                assert ledger.head() == _unique(rows[:end])
            yield Imported(ledger, database, seed)
    finally:
        if schema is not None:
            _drop_schema(schema)


class Disagreements:
    """Every difference found, worded for a report, before the test fails."""

    def __init__(self, imported: Imported, figure: str) -> None:
        self.where = f"{imported.database} seed={imported.seed} {figure}"
        self.found: list[str] = []

    def count(self, context: str, got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
        """`movements --by reason` lines: reason, churn and contraction, reason by reason."""
        mine = {line["reason"]: {k: line.get(k) for k in REASON_KEYS} for line in got}
        theirs = {line["reason"]: line for line in want}
        for reason in sorted(set(mine) | set(theirs)):
            if mine.get(reason) != theirs.get(reason):
                self.found.append(
                    f"{self.where} {context} reason={reason}: "
                    f"ledger {mine.get(reason)} oracle {theirs.get(reason)}"
                )
        order = [line["reason"] for line in got]
        if order != sorted(order):
            self.found.append(f"{self.where} {context}: lines not by reason: {order}")

    def compare(self, context: str, got: dict[str, Any], want: dict[str, Any]) -> None:
        for key in sorted(set(got) | set(want), key=lambda k: (k not in want, k)):
            if key not in got:
                self.found.append(f"{self.where} {context}: {key} absent from the ledger")
            elif key not in want:
                self.found.append(f"{self.where} {context}: {key} only in the ledger")
            elif got[key] != want[key]:
                self.found.append(
                    f"{self.where} {context}: {key} ledger {got[key]!r} oracle {want[key]!r}"
                )

    def asked(self, context: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The ledger's `method(*args, **kwargs)` in JSON form (a list for lines and rows),
        or None when it raised (a disagreement of its own)."""
        try:
            found = method(*args, **kwargs)
        except Exception as error:
            self.found.append(f"{self.where} {context}: the ledger raised {error!r}")
            return None
        if hasattr(found, "as_json"):
            return found.as_json()
        return [line.as_json() for line in found]

    def check(self) -> None:
        shown = "\n".join(self.found[:80])
        assert not self.found, f"{len(self.found)} disagreements:\n{shown}"


def test_report_agrees_with_the_oracle(imported: Imported) -> None:
    found = Disagreements(imported, "report")
    for position in imported.positions:
        oracle = imported.oracle(position)
        for n, day in enumerate(_report_days(imported.seed)):
            policy = ACV_POLICIES[n % 2]
            context = f"position={position} as_of={day} acv_policy={policy}"
            ledger = imported.ledger
            got = found.asked(
                context, ledger.report, day, position=position, acv_policy=policy, fx="spot"
            )
            if got is not None:
                found.compare(context, got, oracle.report(day, policy))
    found.check()


def test_movements_agree_with_the_oracle(imported: Imported) -> None:
    found = Disagreements(imported, "movements")
    for position in imported.positions:
        oracle = imported.oracle(position)
        for n, (start, end) in enumerate(_periods(imported.seed)):
            policy = ACV_POLICIES[n % 2]
            context = f"position={position} ({start}, {end}] acv_policy={policy}"
            ledger = imported.ledger
            got = found.asked(
                context, ledger.movements, start, end, position=position, acv_policy=policy
            )
            if got is not None:
                found.compare(context, got, oracle.movements(start, end, policy))
    found.check()


SERIES = (
    ("month", date(2022, 1, 1), date(2024, 12, 31)),
    ("quarter", date(2022, 2, 10), date(2025, 3, 15)),
)


def test_series_rows_agree_with_the_oracle(imported: Imported) -> None:
    found = Disagreements(imported, "series")
    for position, (every, start, end), policy in zip(
        imported.positions, [*SERIES, SERIES[0]], ACV_POLICIES * 2, strict=False
    ):
        oracle = imported.oracle(position)
        context = f"position={position} every={every} from={start} to={end} acv_policy={policy}"
        ledger = imported.ledger
        got = found.asked(
            context, ledger.series, start, end, every, position=position, acv_policy=policy
        )
        want = oracle.series(start, end, every, policy)
        if got is None:
            continue
        if [r.get("as_of") for r in got] != [r["as_of"] for r in want]:
            found.found.append(
                f"{found.where} {context}: other rows {[r.get('as_of') for r in got]}"
            )
            continue
        for mine, theirs in zip(got, want, strict=True):
            found.compare(f"{context} row={theirs['as_of']}", mine, theirs)
    found.check()


def test_movements_by_reason_agree_with_the_oracle(imported: Imported) -> None:
    """`movements --by reason`: the lines' reason, churn and contraction."""
    found = Disagreements(imported, "by_reason")
    for position in imported.positions:
        oracle = imported.oracle(position)
        for start, end in _periods(imported.seed):
            context = f"position={position} ({start}, {end}]"
            lines = found.asked(context, imported.ledger.by_reason, start, end, position=position)
            if lines is not None:
                found.count(context, lines, oracle.by_reason(start, end))
    found.check()


def test_the_new_keys_are_there(imported: Imported) -> None:
    """SPEC §9: `report` gains trialing_contracts, paused_customers, discounts; `movements`
    gains paused, resumed, trials_started, trials_converted (and `series` rows both)."""
    ledger = imported.ledger
    report = ledger.report(date(2023, 6, 30)).as_json()
    moved = ledger.movements(date(2022, 12, 31), date(2023, 12, 31)).as_json()
    assert set(REPORT_KEYS) <= set(report), sorted(report)
    assert set(MOVEMENT_KEYS) <= set(moved), sorted(moved)
    row = ledger.series(date(2023, 1, 1), date(2023, 1, 31), "month")[0].as_json()
    assert set(REPORT_KEYS) | set(MOVEMENT_KEYS) <= set(row), sorted(row)


def test_a_euro_slice_agrees_with_the_oracle(db_url: str) -> None:
    """A smaller ledger where a share of the customers bills in EUR (daily EUR rates recorded
    first): `report`, `movements` and `movements --by reason` under `spot`, `booked` and
    `fixed` in turn, at the head and at the first commit end after the rates."""
    rows = _rows(EURO)
    rates = sum(1 for r in rows if r["type"] == "fx_rate")
    with Ledger.init(db_url) as ledger:
        ends = []
        for first, last in _batches(rows):
            batch = rows[first:last]
            ledger.import_rows(Row(f"eur:{first + n}", dict(r)) for n, r in enumerate(batch, 1))
            ends.append(_unique(rows[:last]))
        database = "sqlite" if db_url.startswith("sqlite") else "postgres"
        imported = Imported(ledger, database, EURO)
        found = Disagreements(imported, "euro")
        positions = [ends[-1], next(e for e in ends if e > rates + BATCH // 2)]
        for position in positions:
            oracle = imported.oracle(position)
            for n, day in enumerate(_report_days(EURO)[::3]):
                fx, policy = FX_POLICIES[n % 3], ACV_POLICIES[n % 2]
                context = f"report position={position} as_of={day} {policy} fx={fx}"
                got = found.asked(
                    context, ledger.report, day, position=position, acv_policy=policy, fx=fx
                )
                if got is not None:
                    found.compare(context, got, oracle.report(day, policy, fx))
            for n, (start, end) in enumerate(_periods(EURO)[:12]):
                fx, policy = FX_POLICIES[n % 3], ACV_POLICIES[n % 2]
                context = f"movements position={position} ({start}, {end}] {policy} fx={fx}"
                moves = ledger.movements
                got = found.asked(
                    context, moves, start, end, position=position, acv_policy=policy, fx=fx
                )
                if got is not None:
                    found.compare(context, got, oracle.movements(start, end, policy, fx))
                if n % 2 == 0:
                    fx = FX_POLICIES[n // 2 % 2]
                    context = f"by_reason position={position} ({start}, {end}] fx={fx}"
                    split = ledger.by_reason
                    lines = found.asked(context, split, start, end, position=position, fx=fx)
                    if lines is not None:
                        found.count(context, lines, oracle.by_reason(start, end, fx))
    found.check()
