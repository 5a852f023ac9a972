"""Deciding what a batch of new events may append: SPEC §3, checked on whole timelines.

A batch is admitted all or nothing. Each row is parsed; rows already recorded with
identical content are skipped; then every customer the batch touches has its whole
history re-folded with the new events inserted at their effective dates. Any problem,
anywhere, refuses the whole batch with every problem located.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.errors import Problem
from ledger.events import Event, parse_event
from ledger.rows import Row
from ledger.store import EventStore
from ledger.timeline import Invalid, Recorded, fold

_PENDING = datetime.max.replace(tzinfo=UTC)


@dataclass
class Admission:
    """The outcome of checking a batch: what to append, what was skipped, what is wrong."""

    events: list[Event] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)


def parse_rows(
    rows: Iterable[Row | Problem], currency: str
) -> tuple[list[Row], list[Event], list[Problem]]:
    kept_rows, events, problems = [], [], []
    for row in rows:
        if isinstance(row, Problem):
            problems.append(row)
            continue
        try:
            events.append(parse_event(row.fields, currency))
            kept_rows.append(row)
        except ValueError as exc:
            problems.append(Problem(row.location, str(exc)))
    return kept_rows, events, problems


def admit(store: EventStore, rows: Sequence[Row], events: Sequence[Event]) -> Admission:
    """Checks parsed events against each other and against the stored ledger."""
    result = Admission()
    fresh = _drop_repeats(store, rows, events, result)
    histories = store.histories({e.customer_id for _, e in fresh})
    result.versions = {c: len(h) for c, h in histories.items()}
    _check_owners(store, fresh, result)
    _check_voids(store, fresh, histories, result)
    _check_timelines(store.head(), fresh, histories, result)
    for location, event in fresh:
        result.locations.append(location)
        result.events.append(event)
    return result


def _drop_repeats(
    store: EventStore, rows: Sequence[Row], events: Sequence[Event], result: Admission
) -> list[tuple[str, Event]]:
    """Idempotent retries are skipped; an id reused with other content is a conflict."""
    recorded = _recorded_events(store, [e.event_id for e in events])
    seen: dict[str, Event] = {}
    fresh = []
    for row, event in zip(rows, events, strict=True):
        earlier = recorded.get(event.event_id) or seen.get(event.event_id)
        if earlier is None:
            seen[event.event_id] = event
            fresh.append((row.location, event))
        elif earlier == event:
            result.skipped += 1
        else:
            result.problems.append(
                Problem(
                    row.location,
                    f"event_id {event.event_id!r} is already recorded with other content",
                )
            )
    return fresh


def _recorded_events(store: EventStore, event_ids: list[str]) -> dict[str, Event]:
    owners = store.customers_of(event_ids)
    histories = store.histories(set(owners.values()))
    wanted = set(owners)
    return {
        r.event.event_id: r.event
        for history in histories.values()
        for r in history
        if r.event.event_id in wanted
    }


def _check_owners(store: EventStore, fresh: list[tuple[str, Event]], result: Admission) -> None:
    """A subscription belongs to the customer that first started it."""
    starts = [(loc, e) for loc, e in fresh if e.type == "new" and e.subscription_id]
    owners = store.owners(e.subscription_id for _, e in starts if e.subscription_id)
    for location, event in starts:
        assert event.subscription_id is not None
        owner = owners.setdefault(event.subscription_id, event.customer_id)
        if owner != event.customer_id:
            message = f"subscription_id {event.subscription_id!r} belongs to customer {owner!r}"
            result.problems.append(Problem(location, message))


def _check_voids(
    store: EventStore,
    fresh: list[tuple[str, Event]],
    histories: dict[str, list[Recorded]],
    result: Admission,
) -> None:
    known = {r.event.event_id: r.event for h in histories.values() for r in h}
    voided = {e.target_event_id for e in known.values() if e.type == "void"}
    elsewhere = store.customers_of(
        e.target_event_id for _, e in fresh if e.type == "void" and e.target_event_id
    )
    for location, event in fresh:
        if event.type == "void":
            problem = _void_problem(event, known, voided, elsewhere)
            if problem:
                result.problems.append(Problem(location, problem))
            voided.add(event.target_event_id)
        known[event.event_id] = event


def _void_problem(
    void: Event, known: dict[str, Event], voided: set[str | None], elsewhere: dict[str, str]
) -> str | None:
    target_id = void.target_event_id
    target = known.get(target_id or "")
    if target is None or target.customer_id != void.customer_id:
        if target_id in elsewhere:
            return f"target_event_id {target_id!r} belongs to customer {elsewhere[target_id]!r}"
        return f"target_event_id {target_id!r} is not a recorded event of this customer"
    if target.type == "void":
        return f"target_event_id {target_id!r} is itself a void; append the event again instead"
    if target_id in voided:
        return f"target_event_id {target_id!r} is already voided"
    return None


def _check_timelines(
    head: int,
    fresh: list[tuple[str, Event]],
    histories: dict[str, list[Recorded]],
    result: Admission,
) -> None:
    """Every touched customer's whole timeline must stay valid with the batch in it."""
    pending: dict[str, list[tuple[str, Recorded]]] = {}
    for offset, (location, event) in enumerate(fresh, start=1):
        item = Recorded(head + offset, _PENDING, event)
        pending.setdefault(event.customer_id, []).append((location, item))
    for customer_id, new in pending.items():
        _, invalid = fold(customer_id, [*histories[customer_id], *(r for _, r in new)])
        located = {r.event.event_id: loc for loc, r in new}
        for problem in invalid:
            result.problems.append(_blame(problem, located, new))


def _blame(problem: Invalid, located: dict[str, str], new: list[tuple[str, Recorded]]) -> Problem:
    """A problem found in an already recorded event is caused by the batch's events."""
    event = problem.recorded.event
    if event.event_id in located:
        return Problem(located[event.event_id], problem.message)
    culprits = [loc for loc, r in new if r.event.subscription_id == event.subscription_id]
    location = (culprits or [loc for loc, _ in new])[0]
    return Problem(
        location, f"would make recorded event {event.event_id!r} invalid: {problem.message}"
    )
