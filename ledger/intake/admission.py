"""Deciding what an import may append: SPEC §3, checked on whole timelines.

An import is admitted all or nothing, inside its one write transaction, which reads a
still ledger and its own writes (`Import`). Rows come in chunks: each chunk's rows are
parsed; rows already recorded with identical content are skipped; event ids, subscription
owners and voids are checked against the ledger as the transaction holds it, earlier
chunks included. A chunk is written once the next one arrives; the last is held back
until every customer the import touched has had its whole timeline folded, once, with
the new events at their effective dates (`finish`). Any problem, anywhere, refuses the
whole import (the transaction rolls back) with every problem located, the same problems,
blamed on the same rows, as if the whole import were one batch.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ledger.domain.errors import Problem
from ledger.domain.events import RATES, Event
from ledger.domain.rates import rates_of
from ledger.domain.timeline import Invalid, Recorded, Timeline, fold
from ledger.intake.fields import parse_event
from ledger.intake.rows import Row
from ledger.store.event_store import Queries
from ledger.store.recorders import chunks

_PENDING = datetime.max.replace(tzinfo=UTC)
FOLDED = 2_000
"""Customers whose histories are read and folded at a time by `finish`."""


@dataclass
class Admission:
    """A checked chunk: what to append and from where, what was skipped, what is wrong."""

    events: list[Event] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


class Written:
    """Where each event an import wrote came from, by position. Compact (three numbers an
    event, `FILE:LINE` split into a shared file and a line) because a large import keeps
    it to the end: a later row can still invalidate an event it wrote early on."""

    def __init__(self) -> None:
        self.positions, self.sources, self.lines = array("q"), array("q"), array("q")
        self.names: dict[str, int] = {}
        self.named: list[str] = []

    def add(self, positions: Sequence[int], locations: Sequence[str]) -> None:
        for position, location in zip(positions, locations, strict=True):
            name, _, line = location.rpartition(":")
            if not (name and line.isdigit() and str(int(line)) == line):
                name, line = location, "-1"
            if name not in self.names:
                self.names[name] = len(self.named)
                self.named.append(name)
            self.positions.append(position)
            self.sources.append(self.names[name])
            self.lines.append(int(line))

    def location(self, position: int) -> str | None:
        at = bisect_left(self.positions, position)
        if at == len(self.positions) or self.positions[at] != position:
            return None
        name, line = self.named[self.sources[at]], self.lines[at]
        return name if line < 0 else f"{name}:{line}"


Folded = Callable[[list[tuple[str, Timeline, bool]], int], None]
"""Hears each chunk of the whole timelines an import folded, once all are valid so far:
(customer, timeline, whether it had events before) and the import's last position."""


class Import:
    """One import's admission, chunk by chunk, inside its write transaction (`view`).
    `folded`, when given, hears the timelines `finish` folds (an inline projection)."""

    def __init__(
        self,
        view: Queries,
        currency: str,
        folded: Folded | None = None,
        history: str | None = None,
    ) -> None:
        """`history`, of an import of history (SPEC §14): the ledger's latest recorded
        time (or "" for none), which every row's `recorded_at` must follow."""
        self.view, self.currency, self.folded = view, currency, folded
        self.history, self.latest = history is not None, history or ""
        self.since = view.head()  # events after this position were written by this import
        self.written = Written()
        self.versions: dict[str, int] = {}  # each touched stream's version, in touch order
        self.held = Admission()  # the last chunk admitted, not written yet
        self.problems: list[Problem] = []
        self.malformed = False
        self.skipped = 0

    def release(self) -> Admission:
        """The chunk held back, to be written now. Once anything is wrong nothing is
        written, and the chunk stays held for `finish` to fold."""
        if self.problems:
            return Admission()
        held, self.held = self.held, Admission()
        return held

    def admit(self, rows: Iterable[Row | Problem]) -> None:
        """Checks a chunk and holds it back. Write the previous one (`release`) first: it
        counts as recorded. Once anything is wrong, rows are only parsed, so every
        problem with a row is still reported."""
        locations, events, problems = parse_rows(rows, self.currency, self.history)
        self.malformed |= bool(problems)
        self.problems.extend(problems)
        if self.problems:
            return
        self.held = admit(self.view, locations, events, self.currency, self.written.location)
        self.skipped += self.held.skipped
        self.problems.extend(self.held.problems)
        if self.history:
            self.problems.extend(self._in_order(self.held))
        fresh = {e.customer_id for e in self.held.events} - self.versions.keys()
        found = self.view.versions(fresh)
        for customer in dict.fromkeys(e.customer_id for e in self.held.events):
            if customer in fresh:
                self.versions[customer] = found.get(customer, 0)

    def _in_order(self, held: Admission) -> Iterator[Problem]:
        """History is recorded in its own order, after what the ledger knows, never in the
        future (SPEC §14): each new event's time against the one before."""
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        for location, event in zip(held.locations, held.events, strict=True):
            moment = event.historical or ""
            if moment > now:
                yield Problem(location, f"recorded_at: {moment} is in the future")
            elif moment < self.latest:
                yield Problem(
                    location,
                    f"recorded_at: {moment} is before {self.latest}, the time of the event "
                    "recorded before it: history is recorded in order, after what the ledger "
                    "already knows",
                )
            self.latest = max(self.latest, moment)

    def wrote(self, positions: Sequence[int], locations: Sequence[str]) -> None:
        """Where the events just written at `positions` came from."""
        self.written.add(positions, locations)

    def finish(self) -> Admission:
        """Folds the whole timeline of every customer the import touched, once, with the
        chunk held back in it; returns that chunk, to be written if nothing is wrong."""
        if not self.malformed:  # as for one batch: no timelines with unparsed rows
            self.problems.extend(self._timelines())
        return self.release()

    def _timelines(self) -> Iterator[Problem]:
        head = self.view.head()
        pending: dict[str, list[tuple[str, Recorded]]] = {}
        for offset, (location, event) in enumerate(
            zip(self.held.locations, self.held.events, strict=True), start=1
        ):
            item = Recorded(head + offset, _PENDING, event)
            pending.setdefault(event.customer_id, []).append((location, item))
        stop, clean = head + len(self.held.events), not self.problems
        for customers in chunks(list(self.versions), FOLDED):
            histories = self.view.histories(customers, times=False)
            folded: list[tuple[str, Timeline, bool]] = []
            for customer in customers:
                history = histories[customer]
                fold_of = self._rates if customer == RATES else self._timeline
                timeline, problems = fold_of(customer, history, pending.get(customer))
                yield from problems
                clean = clean and not problems
                existed = bool(history) and history[0].position <= self.since
                folded.append((customer, timeline, existed))
            if self.folded is not None and clean:  # once refused, nothing more is written
                self.folded(folded, stop)

    def _timeline(
        self, customer: str, history: list[Recorded], new: list[tuple[str, Recorded]] | None
    ) -> tuple[Timeline, list[Problem]]:
        timeline, invalid = fold(customer, [*history, *(r for _, r in new or ())], self.currency)
        return timeline, list(self._problems(history, new, invalid))

    def _rates(
        self, customer: str, history: list[Recorded], new: list[tuple[str, Recorded]] | None
    ) -> tuple[Timeline, list[Problem]]:
        """The rates stream with the import's rates and voids of rates in it (SPEC §10)."""
        table, invalid = rates_of([*history, *(r for _, r in new or ())])
        return Timeline(customer, rates=table.every), list(self._problems(history, new, invalid))

    def _problems(
        self,
        history: list[Recorded],
        new: list[tuple[str, Recorded]] | None,
        invalid: list[Invalid],
    ) -> Iterator[Problem]:
        if invalid:
            # this import's events of the customer, in recording order
            batch = [(self._location(r.position), r) for r in history if r.position > self.since]
            batch += new or []
            located = {r.event.event_id: location for location, r in batch}
            for problem in invalid:
                yield _blame(problem, located, batch)

    def _location(self, position: int) -> str:
        return self.written.location(position) or f"position {position}"


def parse_rows(
    rows: Iterable[Row | Problem], currency: str, historical: bool = False
) -> tuple[list[str], list[Event], list[Problem]]:
    """The rows' events and locations; a row is dropped as soon as it is parsed."""
    locations, events, problems = [], [], []
    for row in rows:
        if isinstance(row, Problem):
            problems.append(row)
            continue
        try:
            events.append(parse_event(row.fields, currency, historical))
            locations.append(row.location)
        except ValueError as exc:
            problems.append(Problem(row.location, str(exc)))
    return locations, events, problems


def admit(
    view: Queries,
    locations: Sequence[str],
    events: Sequence[Event],
    currency: str,
    written: Callable[[int], str | None] = lambda _: None,
) -> Admission:
    """Checks parsed events against each other and against the ledger as `view` holds it:
    repeats, subscription owners, voids. (Timelines: `Import.finish`.) `written` says
    where an event this import already wrote came from."""
    result = Admission()
    recorded = {r.event.event_id: r for r in view.recorded(e.event_id for e in events)}
    fresh = _drop_repeats(locations, events, recorded, written, result, currency)
    _check_owners(view, fresh, result)
    _check_voids(view, fresh, result)
    for location, event in fresh:
        result.locations.append(location)
        result.events.append(event)
    return result


def _drop_repeats(
    locations: Sequence[str],
    events: Sequence[Event],
    recorded: dict[str, Recorded],
    written: Callable[[int], str | None],
    result: Admission,
    currency: str,
) -> list[tuple[str, Event]]:
    """Idempotent retries are skipped; an id reused with other content is a conflict,
    located at both of its places and naming the fields that differ."""
    seen: dict[str, tuple[str, Event]] = {}
    fresh = []
    for location, event in zip(locations, events, strict=True):
        stored, before = recorded.get(event.event_id), seen.get(event.event_id)
        if stored is not None and (source := written(stored.position)) is not None:
            before, stored = (source, stored.event), None  # this import's own, written
        earlier = stored.event if stored is not None else before[1] if before else None
        if earlier is None:
            seen[event.event_id] = (location, event)
            fresh.append((location, event))
        elif _same(earlier, event, currency):
            result.skipped += 1
        elif stored is not None:
            where = f"is already recorded (position {stored.position})"
            said = f"event_id {event.event_id!r} {where} with other content: "
            result.problems.append(Problem(location, said + _differ(earlier, event, "recorded")))
        else:
            assert before is not None
            said = f"event_id {event.event_id!r} {_twice(before[0], location)} with other content: "
            result.problems.append(Problem(location, said + _differ(earlier, event, "there")))
    return fresh


def _same(earlier: Event, event: Event, currency: str) -> bool:
    """The same content: naming the ledger's currency is naming none on a row that was
    recorded before events could name currencies (they were then left out)."""
    if earlier == event:
        return True
    explicit = [e.currency for e in (earlier, event)]
    if None not in explicit or currency not in explicit:
        return False
    return replace(earlier, currency=None) == replace(event, currency=None)


def _twice(first: str, second: str) -> str:
    """Where one id stands twice: on two lines of one file, or at two places."""
    name, _, line = first.rpartition(":")
    other, _, again = second.rpartition(":")
    if name and name == other and line.isdigit() and again.isdigit():
        return f"appears on lines {line} and {again}"
    return f"appears at {first} and {second}"


def _differ(earlier: Event, event: Event, then: str) -> str:
    """The fields that differ, with both values: `amount '100' there, '200' here`."""
    before, now = earlier.entry(), event.entry()
    keys = [
        k for k in (*before, *(k for k in now if k not in before)) if before.get(k) != now.get(k)
    ]
    return "; ".join(
        f"{key} {_shown(before.get(key))} {then}, {_shown(now.get(key))} here" for key in keys
    )


def _shown(value: str | None) -> str:
    return "absent" if value is None else repr(value)


def _check_owners(view: Queries, fresh: list[tuple[str, Event]], result: Admission) -> None:
    """A subscription belongs to the customer that first started it."""
    starts = [(loc, e) for loc, e in fresh if e.type == "new" and e.subscription_id]
    owners = view.owners(e.subscription_id for _, e in starts if e.subscription_id)
    for location, event in starts:
        assert event.subscription_id is not None
        owner = owners.setdefault(event.subscription_id, event.customer_id)
        if owner != event.customer_id:
            message = f"subscription_id {event.subscription_id!r} belongs to customer {owner!r}"
            result.problems.append(Problem(location, message))


def _check_voids(view: Queries, fresh: list[tuple[str, Event]], result: Admission) -> None:
    voiding = {e.customer_id for _, e in fresh if e.type == "void"}
    if not voiding:
        return
    # A target counts only among its void's customer's events: those histories suffice.
    histories = view.histories(voiding, times=False)
    known = {r.event.event_id: r.event for c in voiding for r in histories[c]}
    voided = {e.target_event_id for e in known.values() if e.type == "void"}
    elsewhere = view.customers_of(
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
        if elsewhere.get(target_id or "") == RATES:
            said = "a void of a rate names no customer_id"
            return f"target_event_id {target_id!r} is an fx_rate: {said}"
        if target_id in elsewhere:
            return f"target_event_id {target_id!r} belongs to customer {elsewhere[target_id]!r}"
        if void.customer_id == RATES:
            return (
                f"target_event_id {target_id!r} is not a recorded fx_rate (a void that names "
                "no customer_id voids a rate): give the customer_id of the event it voids"
            )
        return f"target_event_id {target_id!r} is not a recorded event of this customer"
    if target.type == "void":
        return f"target_event_id {target_id!r} is itself a void; append the event again instead"
    if target_id in voided:
        return f"target_event_id {target_id!r} is already voided"
    return None


def _blame(problem: Invalid, located: dict[str, str], new: list[tuple[str, Recorded]]) -> Problem:
    """A problem found in an event recorded before the import is caused by its events."""
    event = problem.recorded.event
    if event.event_id in located:
        return Problem(located[event.event_id], problem.message)
    culprits = [loc for loc, r in new if r.event.subscription_id == event.subscription_id]
    location = (culprits or [loc for loc, _ in new])[0]
    return Problem(
        location, f"would make recorded event {event.event_id!r} invalid: {problem.message}"
    )
