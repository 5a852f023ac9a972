"""Properties of random valid ledgers (SPEC §5): the bridge closes exactly, and a period
split in two has the movements of the whole.

The ledgers are `ledger.app.sample` ledgers (valid by construction: upgrades, downgrades,
renewals, lapses, churns and restarts, backdated churns, voids) from a random seed. Each
example adds its own customers to the test's ledger, so the later examples also check
the properties over a growing, mixed ledger.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.app.sample import sample_events
from ledger.intake.rows import Row

KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
FIRST, LAST = date(2020, 6, 1), date(2025, 6, 30)
PROPERTY = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_prefixes = (f"x{n}-" for n in itertools.count())
Fields = dict[str, str]
Steps = list[tuple[int, str, int]]
Subscription = tuple[date, int, Steps]


def _add_random_ledger(ledger: Ledger, seed: int, customers: int) -> None:
    prefix = next(_prefixes)
    rows = []
    for n, fields in enumerate(sample_events(customers, years=3, seed=seed), start=1):
        renamed = {
            key: prefix + value if key in ("event_id", "customer_id", "target_event_id") else value
            for key, value in fields.items()
        }
        if "subscription_id" in renamed:
            renamed["subscription_id"] = prefix + renamed["subscription_id"]
        rows.append(Row(f"sample:{n}", renamed))
    ledger.import_rows(rows)


DAYS = st.integers(min_value=0, max_value=(LAST - FIRST).days).map(
    lambda n: FIRST + timedelta(days=n)
)


@PROPERTY
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    customers=st.integers(min_value=1, max_value=12),
    days=st.lists(DAYS, min_size=2, max_size=2).map(sorted),
)
def test_the_bridge_closes_exactly(
    ledger: Ledger, seed: int, customers: int, days: list[date]
) -> None:
    _add_random_ledger(ledger, seed, customers)
    start, end = days
    moved = ledger.movements(start, end)
    assert moved.start_mrr == ledger.report(start).mrr
    assert moved.end_mrr == ledger.report(end).mrr
    gained = moved.new + moved.reactivation + moved.expansion
    lost = moved.contraction + moved.churn
    assert moved.end_mrr - moved.start_mrr == gained - lost
    assert moved.net_new == gained - lost
    assert all(getattr(moved, kind) >= 0 for kind in KINDS)


@PROPERTY
@given(
    seed=st.integers(min_value=0, max_value=10**6),
    customers=st.integers(min_value=1, max_value=12),
    days=st.lists(DAYS, min_size=3, max_size=3).map(sorted),
)
def test_a_split_period_has_the_movements_of_the_whole(
    ledger: Ledger, seed: int, customers: int, days: list[date]
) -> None:
    _add_random_ledger(ledger, seed, customers)
    start, middle, end = days
    whole = ledger.movements(start, end)
    first, second = ledger.movements(start, middle), ledger.movements(middle, end)
    for kind in (*KINDS, "bookings", "bookings_tcv", "one_time_fees"):
        assert getattr(whole, kind) == getattr(first, kind) + getattr(second, kind), kind
    assert (first.start_mrr, first.end_mrr) == (whole.start_mrr, second.start_mrr)
    assert second.end_mrr == whole.end_mrr
    assert whole.net_new == first.net_new + second.net_new


# Generated histories: shrinkable, with same-day changes (netted per customer and day),
# restarts on the day of a churn, and customers' events interleaved in recording order.

STEPS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60),
        st.sampled_from(("up", "down", "churn")),
        st.integers(min_value=1, max_value=500_000),
    ),
    max_size=6,
)
SUBSCRIPTION = st.tuples(DAYS, st.integers(min_value=1, max_value=500_000), STEPS)
CUSTOMERS = st.lists(st.lists(SUBSCRIPTION, min_size=1, max_size=2), min_size=1, max_size=4)


def _cents(value: int) -> str:
    return str(Decimal(value).scaleb(-2))


def _history(customer: str, sub: str, start: date, first: int, steps: Steps) -> list[Fields]:
    """One subscription's events, valid by construction, in effective order."""
    base = {"customer_id": customer, "subscription_id": sub}
    out = [base | {"type": "new", "effective_date": str(start), "amount": _cents(first)}]
    day, amount, active = start, first, True
    for gap, kind, value in steps:
        day += timedelta(days=gap)
        if not active:
            change, amount, active = {"type": "new", "amount": _cents(value)}, value, True
        elif kind == "up":
            amount += value
            change = {"type": "upgrade", "amount": _cents(amount)}
        elif kind == "down" and amount > 1:
            amount = max(1, amount - value)
            change = {"type": "downgrade", "amount": _cents(amount)}
        else:
            change, active = {"type": "churn"}, False
        out.append(base | change | {"effective_date": str(day)})
    return out


def _record_generated(ledger: Ledger, customers: list[list[Subscription]], order: Any) -> None:
    prefix = next(_prefixes)
    histories = [
        _history(f"{prefix}c{c}", f"{prefix}c{c}s{s}", *subscription)
        for c, subscriptions in enumerate(customers)
        for s, subscription in enumerate(subscriptions)
    ]
    rows: list[Fields] = []
    while any(histories):  # interleave, keeping each subscription's own order
        rows.append(order.draw(st.sampled_from([h for h in histories if h])).pop(0))
    ledger.import_rows(
        Row(f"gen:{n}", row | {"event_id": f"{prefix}e{n}"}) for n, row in enumerate(rows, 1)
    )


@PROPERTY
@given(
    customers=CUSTOMERS, days=st.lists(DAYS, min_size=3, max_size=3).map(sorted), order=st.data()
)
def test_generated_histories_bridge_and_split_exactly(
    ledger: Ledger, customers: list[list[Subscription]], days: list[date], order: Any
) -> None:
    _record_generated(ledger, customers, order)
    start, middle, end = days
    whole = ledger.movements(start, end)
    first, second = ledger.movements(start, middle), ledger.movements(middle, end)
    for moved in (whole, first, second):
        gained = moved.new + moved.reactivation + moved.expansion
        assert moved.end_mrr - moved.start_mrr == gained - moved.contraction - moved.churn
    for kind in KINDS:
        assert getattr(whole, kind) == getattr(first, kind) + getattr(second, kind), kind
    assert whole.end_mrr == ledger.report(end).mrr


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=10**6), day=DAYS)
def test_an_empty_period_moves_nothing(ledger: Ledger, seed: int, day: date) -> None:
    _add_random_ledger(ledger, seed, 4)
    moved = ledger.movements(day, day)
    assert [getattr(moved, kind) for kind in KINDS] == [Fraction(0)] * len(KINDS)
    assert moved.start_mrr == moved.end_mrr == ledger.report(day).mrr
