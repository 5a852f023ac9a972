"""`timelines` is the fold of every prefix of a history, computed without re-folding
when an event lands after every live one: the read model relies on it being exact."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from fractions import Fraction

from ledger.app.sample import sample_events
from ledger.domain.timeline import Recorded, Timeline, fold, timelines
from ledger.intake.fields import parse_event
from tests.conftest import event, new
from tests.edge_ledger import edge_events

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def histories(rows: list[dict[str, str]]) -> dict[str, list[Recorded]]:
    found: dict[str, list[Recorded]] = defaultdict(list)
    for position, fields in enumerate(rows, start=1):
        recorded = Recorded(position, NOW, parse_event(fields, "USD"))
        found[recorded.event.customer_id].append(recorded)
    return found


def test_every_prefix_of_random_ledgers_folds_alike() -> None:
    rows = [*sample_events(customers=300, years=4, seed=7), *edge_events(customers=60, seed=3)]
    compared = 0
    for customer, history in histories(rows).items():
        for count, (position, timeline) in enumerate(timelines(customer, history, "USD"), start=1):
            assert position == history[count - 1].position
            assert timeline == fold(customer, history[:count], "USD")[0]
            compared += 1
    assert compared == len(rows)


def test_a_backdated_downgrade_and_a_void_fold_again() -> None:
    rows = [
        new("acme", "s1", "2024-01-01", "1000"),
        event("upgrade", "acme", "2024-03-01", subscription_id="s1", amount="1500", event_id="up"),
        event("churn", "acme", "2024-06-01", subscription_id="s1"),
        event("downgrade", "acme", "2024-02-01", subscription_id="s1", amount="800"),
        {"event_id": "v", "type": "void", "customer_id": "acme", "target_event_id": "up"},
    ]
    found = [timeline for _, timeline in timelines("acme", histories(rows)["acme"], "USD")]
    assert [mrr_on(t, date(2024, 2, 15)) for t in found] == [1000, 1000, 1000, 800, 800]
    assert [mrr_on(t, date(2024, 3, 15)) for t in found] == [1000, 1500, 1500, 1500, 800]
    assert [mrr_on(t, date(2024, 6, 1)) for t in found] == [1000, 1500, 0, 0, 0]


def mrr_on(timeline: Timeline, day: date) -> Fraction:
    return sum((s.mrr for s in timeline.segments if s.covers(day)), Fraction(0))
