"""History from elsewhere in other shapes (SPEC §14): subscription periods and invoice line
items, turned into the ledger's own input events (SPEC §3) for `Ledger.import_rows`.

`from_periods(rows)` and `from_invoices(rows)` take source rows (`read(name)` reads a CSV
of any columns, or JSON Lines) and give event rows, or the problems of the source, each
located at the source line that caused it. They read the whole source before giving
anything: a subscription's events depend on all of its rows.

What the contract leaves open, decided here:

* Periods: the first period of a subscription is a `new`; a period starting on the day
  the one before ended is an `upgrade` or `downgrade` when its MRR (amount / interval
  months) is higher or lower; a gap is a `churn` at the earlier end and a restart `new` at
  the later start; a last period with an `end_date` is a `churn` on it.
* Periods: a period starting where the one before ended at the same MRR but another
  amount, interval or plan is a `renewal` giving the new amount, interval and plan: it
  keeps MRR and records the change (and, as every renewal, a booking, SPEC §7).
* Periods: a period continuing the one before with the same amount, interval and plan is
  the same run of one price: no event.
* Periods: a period without `plan` keeps the plan in force (it does not make a change).
* Periods: periods of one subscription that overlap (or follow one without `end_date`)
  are refused, at the later one, naming the earlier one's line.
* Both: a subscription's rows naming two customers, or two currencies, are refused at
  each row differing from the subscription's first row, naming that row.
* Both: a row's problems are one message, its field problems joined by "; ", as the
  ledger words a row; an unknown column is a problem of each row that gives it a value,
  with the nearest column suggested.
* Both: derived events are located at their source line, so the ledger's own problems
  with them (an upgrade on a subscription it already holds under another customer) are
  too: a `new` at its period's line, a `churn` at the line of the period it ends, a
  change at the line of the period it starts.
* Both: an event id is `<shape>:<subscription_id>:<type>:<effective_date>`
  (`periods:s1:new:2024-01-01`), or `<shape>:` and the SHA-256 of that when it would be
  over 200 characters; re-importing the same source is a no-op, and a corrected source
  that changes an event already recorded is refused as a conflict (void it first).
* Both: each event's `note` is `from FILE:LINE` naming its source line(s) (a change names
  the line of the period before, then its own); `reason` is left empty.
* Both: a subscription with a problem gives no events (only its problems).
* Invoices: `service_period_end` is exclusive, as Stripe's period end is the start of the
  next period: a month's line runs from 2024-01-01 to 2024-02-01.
* Invoices: a recurring line (a `subscription_id`, not a proration) must cover a whole
  number of months, 1-120 (a period starting on a month's last day may end on any later
  day of the end month: Stripe's 2024-02-29 to 2024-03-31); its monthly amount is its
  amount / those months, so a yearly line of 1200 is 100 a month.
* Invoices: lines of one subscription covering the same days add up (a subscription of
  several items); a run of days at the same monthly amount, interval and plan is one
  period, whose events are derived as from periods.
* Invoices: a period's price is its monthly amount × the least common multiple of its
  lines' months (a yearly line alone gives amount 1200, interval 12); when that is over 120
  months, the fewest months 1-120 that give a price of at most 4 fraction digits.
* Invoices: the plans of several lines over the same days are joined, sorted, with " + ".
* Invoices: a month whose lines add up to 0 (a free month, a 100% coupon, a trial) has
  no MRR: the subscription churns before it and restarts after it.
* Invoices: proration lines (`proration` true, 1 or yes) are checked and left out: they
  are neither MRR nor fees. A price change takes effect at the first full-period line at
  the new price.
* Invoices: a negative amount (a credit, a refund) is refused on any line but a
  proration: MRR and fees are derived from what is charged.
* Invoices: a one-time line (no `subscription_id`) is a `one_time_fee` dated at its
  `service_period_start`, of its `description`, else its `plan`; its
  `service_period_end` is optional and may equal the start; a one-time line of 0 is left
  out (nothing to record).
* Invoices: a fee's id is `invoices:fee:<invoice_id>:<line_id>` when `line_id` is given
  (a `line_id` given twice on one invoice is refused); else `invoices:fee:` the SHA-256 of
  the line's content and its occurrence among identical lines (a second identical line is
  a second fee).
* Invoices: without `as_of` every subscription churns where its last invoiced service
  ends; with `as_of` (the day the export was taken) one whose service ends after it is
  still running (no churn), so the next export, imported, appends only what changed.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from math import lcm
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from ledger.domain.dates import add_months, months_end
from ledger.domain.errors import Problem
from ledger.domain.money import canonical, money, parse_amount
from ledger.domain.text import inert, shown
from ledger.intake import rows as input_rows
from ledger.intake.fields import (
    MAX_ID,
    Amount,
    Currency,
    Day,
    Identifier,
    Interval,
    Text,
    nearest,
)
from ledger.intake.rows import Row

Converter = Callable[[Iterable[Row | Problem]], Iterator[Row | Problem]]


class Dated(Protocol):
    """A converter of a billing export, told the day the export was taken."""

    def __call__(
        self, rows: Iterable[Row | Problem], *, as_of: date | None = None
    ) -> Iterator[Row | Problem]: ...


M = TypeVar("M", bound=BaseModel)
K = TypeVar("K")
Found = list[tuple[int, Problem]]
"""Problems with the order of the source row that caused them."""
MAX_MONTHS = 120

PERIOD_COLUMNS = {
    "subscription_id": "the subscription's id, at most 200 characters",
    "customer_id": "the customer's id, at most 200 characters",
    "start_date": "the period's first day, YYYY-MM-DD",
    "end_date": "the first day after the period, YYYY-MM-DD (empty while it runs)",
    "amount": "the charge per interval: a decimal > 0, at most 4 fraction digits",
    "interval": "month, quarter, year or 1-120 months (default month)",
    "currency": "an ISO 4217 code (EUR); empty: the ledger's",
    "plan": "any text: the plan of the period",
}
"""The columns of a periods file, and what each takes."""
INVOICE_COLUMNS = {
    "customer_id": "the customer's id, at most 200 characters",
    "subscription_id": "the subscription's id (empty for a one-time charge)",
    "amount": "the line's amount: a decimal, at most 4 fraction digits",
    "currency": "an ISO 4217 code (EUR)",
    "service_period_start": "the first day of service, YYYY-MM-DD",
    "service_period_end": "the first day after the service, YYYY-MM-DD (exclusive)",
    "invoice_id": "the invoice's id",
    "line_id": "the line's id on its invoice",
    "proration": "true or false (default false): a proration is left out of MRR",
    "plan": "any text: the plan billed",
    "description": "any text: what a one-time charge is for",
}
"""The columns of an invoices file, and what each takes."""


# Reading any columns.


def read(name: str) -> Iterator[Row | Problem]:
    """The rows of a source file: CSV whose header names any columns, else as
    `rows.read` reads it (JSON Lines, `-` for standard input)."""
    if name == "-" or Path(name).suffix.lower() != ".csv":
        yield from input_rows.read(name)
        return
    try:
        with Path(name).open("rb") as stream:
            yield from input_rows._guarded(name, stream, _table)
    except OSError as exc:  # opening it (reading it is guarded)
        yield Problem(name, f"cannot read: {exc.strerror or exc}")


def _table(name: str, lines: Iterator[str]) -> Iterator[Row | Problem]:
    """A CSV file's rows, located and read as `rows` reads an events file."""
    reader = csv.reader(input_rows._csv_lines(lines), strict=True)
    try:
        header = [cell.strip() for cell in next(reader, [])]
        twice = [column for column, count in Counter(header).items() if count > 1]
        if twice:
            named = ", ".join(inert(column) or "(empty)" for column in twice)
            yield Problem(f"{name}:1", f"the header row names {named} more than once")
            return
        for cells in reader:
            if "".join(cells).strip():
                yield _cells(f"{name}:{reader.line_num}", header, cells)
    except csv.Error as exc:
        yield Problem(f"{name}:{reader.line_num}", f"malformed CSV: {exc}")


def _cells(location: str, header: list[str], cells: list[str]) -> Row | Problem:
    if len(cells) != len(header):
        return Problem(location, f"{len(cells)} cells, but the header names {len(header)}")
    return Row(location, {k: v for k, v in zip(header, cells, strict=True) if v != ""})


# The source rows, validated with the ledger's own field rules.


def _signed(value: object) -> Decimal:
    """An amount as the ledger takes one (`parse_amount`), or one of those negated."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_amount(value.strip()[1:])
    if type(value) is int and value < 0:
        return -parse_amount(-value)
    return parse_amount(value)


def _flag(value: object) -> bool:
    text = str(value).strip().lower() if isinstance(value, (str, bool, int)) else ""
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"{shown(value)} is not true or false")


Signed = Annotated[Decimal, BeforeValidator(_signed)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodRow(_Source):
    """One row of a periods file: a run of one price, `[start_date, end_date)`."""

    subscription_id: Identifier
    customer_id: Identifier
    start_date: Day
    end_date: Day | None = None
    amount: Amount
    interval: Interval = 1
    currency: Currency | None = None
    plan: Text | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> PeriodRow:
        if self.end_date is not None and self.end_date <= self.start_date:
            raise ValueError(
                f"end_date: {self.end_date} is not after start_date {self.start_date}: give "
                "the first day after the period (exclusive), or leave it empty while it runs"
            )
        return self


class InvoiceLine(_Source):
    """One line item of an invoices file."""

    customer_id: Identifier
    subscription_id: Identifier | None = None
    amount: Signed
    currency: Currency
    service_period_start: Day
    service_period_end: Day | None = None
    invoice_id: Identifier | None = None
    line_id: Identifier | None = None
    proration: Flag = False
    plan: Text | None = None
    description: Text | None = None

    @property
    def recurring(self) -> bool:
        return self.subscription_id is not None and not self.proration

    @model_validator(mode="after")
    def _consistent(self) -> InvoiceLine:
        problem = _credit(self) or _span(self) or _whole(self)
        if problem:
            raise ValueError(problem)
        return self


def _credit(line: InvoiceLine) -> str | None:
    if line.amount >= 0 or line.proration:
        return None
    return (
        f"amount: '{line.amount}' is negative: credits and refunds are not derived into MRR "
        "or fees; leave credit notes out of the file (mark a proration's credit proration=true)"
    )


def _span(line: InvoiceLine) -> str | None:
    start, end = line.service_period_start, line.service_period_end
    if end is None and line.recurring:
        return (
            "service_period_end: missing: a recurring line gives the first day after its "
            "service (exclusive: the next period's start)"
        )
    if end is not None and (end < start or (end == start and line.recurring)):
        said = "before" if end < start else "not after"
        return f"service_period_end: {end} is {said} service_period_start {start}"
    return None


def _whole(line: InvoiceLine) -> str | None:
    start, end = line.service_period_start, line.service_period_end
    if not line.recurring or end is None or end <= start:
        return None
    months = months_between(start, end)
    if months is None:
        return (
            f"service_period_end: {end} is not a whole number of months after "
            f"service_period_start {start}: a recurring line's amount is per month of "
            "service; mark a part-period charge proration=true (it is left out of MRR)"
        )
    if months > MAX_MONTHS:
        return f"the service period covers {months} months, more than {MAX_MONTHS}"
    return None


def months_between(start: date, end: date) -> int | None:
    """The whole months from `start` to `end`, if it is a whole number of them: month
    arithmetic clamping as the ledger's, and a period from a month's last day may end on
    any later day of the end month (2024-02-29 to 2024-03-31, anchored on the 31st)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months < 1:
        return None
    if add_months(start, months) == end or (start == months_end(start) and end.day > start.day):
        return months
    return None


def _parsed(
    rows: Iterable[Row | Problem],
    model: type[M],
    columns: Mapping[str, str],
    shape: str,
    kept: Callable[[int, str, M], K],
) -> tuple[list[K], Found]:
    """The valid rows, each as `kept` makes it of its order, location and model, and the
    problems, in order."""
    valid: list[K] = []
    problems: Found = []
    for order, row in enumerate(rows):
        if isinstance(row, Problem):
            problems.append((order, row))
            continue
        fields = {k: v for k, v in row.fields.items() if v is not None and v != ""}
        try:
            valid.append(kept(order, row.location, model.model_validate(fields)))
        except ValidationError as exc:
            errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")
            said = "; ".join(_described(error, columns, shape) for error in errors)
            problems.append((order, Problem(row.location, said)))
    return valid, problems


def _described(error: Any, columns: Mapping[str, str], shape: str) -> str:
    """One field's problem, named by its column, with what to give."""
    field = inert(".".join(str(part) for part in error["loc"]))
    field = field if len(field) <= 40 else f"{field[:20]}… ({len(field):,} characters)"
    kind = error["type"]
    if kind == "missing":
        return f"{field}: missing: give {columns.get(field, 'a value')}"
    if kind == "extra_forbidden":
        said = f"{field}: not a column of {shape} (value {shown(error.get('input'))})"
        hint = nearest(str(error["loc"][-1]), columns)
        return said + (
            f"; did you mean {hint}?" if hint else f"; the columns are {', '.join(columns)}"
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


# Periods of one price, and the events they make.


@dataclass(frozen=True, slots=True)  # a source holds hundreds of thousands
class Period:
    """A subscription's run of one price, `[start, end)` (`end` None: still running),
    from the source lines `first` (where it starts) to `last` (where it ends)."""

    subscription_id: str
    customer_id: str
    start: date
    end: date | None
    amount: Decimal
    interval: int
    currency: str | None
    plan: str | None
    first: str
    last: str
    order: int

    @property
    def mrr(self) -> Fraction:
        return Fraction(self.amount) / self.interval

    def changes(self, before: Period) -> bool:
        """Whether this period, following `before`, gives another price or plan."""
        moved = (self.amount, self.interval) != (before.amount, before.interval)
        return moved or (self.plan is not None and self.plan != before.plan)


def _period(order: int, location: str, row: PeriodRow) -> Period:
    return Period(
        row.subscription_id,
        row.customer_id,
        row.start_date,
        row.end_date,
        row.amount,
        row.interval,
        row.currency,
        row.plan,
        location,
        location,
        order,
    )


def from_periods(rows: Iterable[Row | Problem]) -> Iterator[Row | Problem]:
    """The events of subscription periods (SPEC §14), or the problems of the source.
    Each row is kept as its `Period` only, and the events are made as the import reads
    them: a source of 500k periods held as parsed rows and events took 2 GiB."""
    valid, problems = _parsed(rows, PeriodRow, PERIOD_COLUMNS, "periods", _period)
    runs = by_subscription(valid)
    del valid
    checked = [(run, _ownership(run) + _overlaps(run)) for run in runs]
    problems.extend(problem for _, found in checked for problem in found)
    clean = (run for run, found in checked if not found)
    yield from _reported(problems, (e for run in clean for e in events_of("periods", run)))


def by_subscription(periods: Iterable[Period]) -> list[list[Period]]:
    """Each subscription's periods by start date, subscriptions as first seen."""
    groups: dict[str, list[Period]] = {}
    for period in periods:
        groups.setdefault(period.subscription_id, []).append(period)
    return [sorted(run, key=lambda p: (p.start, p.order)) for run in groups.values()]


def _ownership(run: Sequence[Period]) -> Found:
    """Rows of one subscription naming another customer, or currency, than its first."""
    first = min(run, key=lambda p: p.order)
    money = next((p for p in sorted(run, key=lambda p: p.order) if p.currency), first)
    found: Found = []
    for period in run:
        for column, mine, theirs in (
            ("customer_id", period.customer_id, first.customer_id),
            ("currency", period.currency, money.currency),
        ):
            if mine is not None and theirs is not None and mine != theirs:
                owner = first if column == "customer_id" else money
                found.append((period.order, _differs(period, column, mine, theirs, owner)))
    return found


def _differs(period: Period, column: str, mine: str, theirs: str, owner: Period) -> Problem:
    return Problem(
        period.first,
        f"{column}: {shown(mine)}, but subscription {shown(period.subscription_id)} is "
        f"{shown(theirs)} at {owner.first}: a subscription has one {column}; give this "
        "one another subscription_id",
    )


def _overlaps(run: Sequence[Period]) -> Found:
    """Periods starting before the latest-ending period before them ends."""
    found: Found = []
    reach: Period | None = None
    for period in run:
        if reach is not None and (reach.end is None or period.start < reach.end):
            found.append((period.order, _overlap(period, reach)))
        if _ends_later(period, reach):
            reach = period
    return found


def _ends_later(period: Period, reach: Period | None) -> bool:
    if reach is None or period.end is None:
        return True
    return reach.end is not None and period.end > reach.end


def _overlap(period: Period, earlier: Period) -> Problem:
    ends = f"to {earlier.end}" if earlier.end else "with no end_date"
    return Problem(
        period.first,
        f"start_date: {period.start} is inside the period of subscription "
        f"{shown(period.subscription_id)} at {earlier.first} (from {earlier.start} {ends}): "
        "a subscription has one price at a time; end that period on or before "
        f"{period.start}",
    )


def events_of(shape: str, run: Sequence[Period]) -> Iterator[Row]:
    """The events of one subscription's periods, in effective order (they overlap none)."""
    before: Period | None = None
    for period in run:
        yield from _step(shape, before, period)
        before = period
    if before is not None and before.end is not None:
        yield _churn(shape, before)


def _step(shape: str, before: Period | None, period: Period) -> list[Row]:
    if before is None:
        return [_event(shape, "new", period, period.start, [period.first])]
    if before.end is None or before.end < period.start:
        return [_churn(shape, before), _event(shape, "new", period, period.start, [period.first])]
    kind = _change(before, period)
    sources = [before.last, period.first]
    return [] if kind is None else [_event(shape, kind, period, period.start, sources)]


def _change(before: Period, after: Period) -> str | None:
    if after.mrr != before.mrr:
        return "upgrade" if after.mrr > before.mrr else "downgrade"
    return "renewal" if after.changes(before) else None


def _churn(shape: str, period: Period) -> Row:
    assert period.end is not None
    return _event(shape, "churn", period, period.end, [period.last])


def _event(shape: str, kind: str, period: Period, day: date, sources: list[str]) -> Row:
    """An event row, located at its last source line, noting them all."""
    fields: dict[str, Any] = {
        "event_id": event_id(shape, period.subscription_id, kind, day.isoformat()),
        "type": kind,
        "customer_id": period.customer_id,
        "subscription_id": period.subscription_id,
        "effective_date": day.isoformat(),
    }
    if kind != "churn":
        fields |= _price(period)
    fields["note"] = "from " + ", ".join(sources)
    return Row(sources[-1], fields)


def _price(period: Period) -> dict[str, str]:
    price = {"amount": canonical(period.amount), "interval": str(period.interval)}
    extra = {"currency": period.currency, "plan": period.plan}
    return price | {k: v for k, v in extra.items() if v is not None}


def event_id(shape: str, *parts: str) -> str:
    """A derived event's stable id: its parts, or when that is too long, their digest."""
    text = ":".join((shape, *parts))
    if len(text) <= MAX_ID:
        return text
    return f"{shape}:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _reported(problems: Found, events: Iterable[Row]) -> Iterator[Row | Problem]:
    """The problems in source order, then the events."""
    yield from (problem for _, problem in sorted(problems, key=lambda found: found[0]))
    yield from events


# Invoice lines: periods from the recurring lines' amounts per month of service.


def from_invoices(
    rows: Iterable[Row | Problem], *, as_of: date | None = None
) -> Iterator[Row | Problem]:
    """The events of invoice line items (SPEC §14), or the problems of the source.
    `as_of`: the day the export was taken; service ending after it is still running."""
    valid, problems = _parsed(rows, InvoiceLine, INVOICE_COLUMNS, "invoices", _sourced)
    problems.extend(_duplicates(valid))
    events = list(_fees(valid))
    lines = (_line(*source) for source in valid if source[2].recurring)
    for run in by_subscription(lines):
        found = _ownership(run)
        periods = _billed(run, found, as_of) if not found else []
        problems.extend(found)
        if not found:
            events.extend(events_of("invoices", periods))
    yield from _reported(problems, events)


def _sourced(order: int, location: str, line: InvoiceLine) -> tuple[int, str, InvoiceLine]:
    return order, location, line


def _line(order: int, location: str, line: InvoiceLine) -> Period:
    """A recurring line as a period of its own: its amount over its months."""
    start, end = line.service_period_start, line.service_period_end
    assert line.subscription_id is not None and end is not None
    months = months_between(start, end) or 1
    return Period(
        line.subscription_id,
        line.customer_id,
        start,
        end,
        line.amount,
        months,
        line.currency,
        line.plan,
        location,
        location,
        order,
    )


def _billed(lines: Sequence[Period], found: Found, as_of: date | None) -> list[Period]:
    """One subscription's periods of one monthly amount, from its lines (`found` hears
    a run of days whose amount no interval gives as a price)."""
    periods: list[Period] = []
    for start, end, covering in _days(lines):
        piece = _piece(start, end, covering, found)
        if piece is None:
            continue
        if periods and periods[-1].end == start and not piece.changes(periods[-1]):
            periods[-1] = replace(periods[-1], end=end, last=piece.last)
        else:
            periods.append(piece)
    if as_of is not None and periods and (periods[-1].end or as_of) > as_of:
        periods[-1] = replace(periods[-1], end=None)
    return periods


def _days(lines: Sequence[Period]) -> Iterator[tuple[date, date, list[Period]]]:
    """Each run of days `[start, end)` between the lines' starts and ends, and the
    lines covering it, in source order."""
    starting: defaultdict[date, list[Period]] = defaultdict(list)
    ending: defaultdict[date, list[Period]] = defaultdict(list)
    for line in lines:
        assert line.end is not None
        starting[line.start].append(line)
        ending[line.end].append(line)
    active: dict[int, Period] = {}
    for day, following in pairwise(sorted(starting.keys() | ending.keys())):
        for line in ending.get(day, []):
            del active[line.order]
        active.update((line.order, line) for line in starting.get(day, []))
        if active:
            yield day, following, sorted(active.values(), key=lambda p: p.order)


def _piece(start: date, end: date, lines: list[Period], found: Found) -> Period | None:
    """The lines covering `[start, end)` as one period, None when they add up to 0."""
    mrr = sum((line.mrr for line in lines), Fraction(0))
    if mrr == 0:
        return None
    interval = interval_of(mrr, [line.interval for line in lines])
    if interval is None:
        found.append((lines[0].order, _unpriced(start, end, lines[0], mrr)))
        return None
    plan = " + ".join(sorted({line.plan for line in lines if line.plan})) or None
    price = mrr * interval
    amount = Decimal(price.numerator) / Decimal(price.denominator)
    first, last = lines[0], lines[-1].last
    return replace(
        first, start=start, end=end, amount=amount, interval=interval, plan=plan, last=last
    )


def interval_of(mrr: Fraction, months: Sequence[int]) -> int | None:
    """The interval a monthly amount is priced over: the lines' least common multiple of
    months, else the fewest months 1-120 giving a price of at most 4 fraction digits."""
    common = lcm(*months)
    if common <= MAX_MONTHS:
        return common
    exact = (k for k in range(1, MAX_MONTHS + 1) if (mrr * k * 10_000).denominator == 1)
    return next(exact, None)


def _unpriced(start: date, end: date, line: Period, mrr: Fraction) -> Problem:
    return Problem(
        line.first,
        f"the lines of subscription {shown(line.subscription_id)} from {start} to {end} add "
        f"up to {money(mrr)} a month, which no interval of 1-{MAX_MONTHS} months gives "
        "as a price of at most 4 fraction digits: bill them over a common number of months",
    )


def _duplicates(valid: Sequence[tuple[int, str, InvoiceLine]]) -> Found:
    """Lines giving a `line_id` already given on the same invoice."""
    seen: dict[tuple[str | None, str], str] = {}
    found: Found = []
    for order, location, line in valid:
        if line.line_id is None:
            continue
        key = (line.invoice_id, line.line_id)
        if key in seen:
            of = f" of invoice {shown(line.invoice_id)}" if line.invoice_id else ""
            said = f"line_id: {shown(line.line_id)}{of} is given twice, here and at {seen[key]}"
            found.append((order, Problem(location, said + ": give each invoice line once")))
        seen.setdefault(key, location)
    return found


def _fees(valid: Sequence[tuple[int, str, InvoiceLine]]) -> Iterator[Row]:
    """The one-time lines' fees, in source order."""
    seen: Counter[str] = Counter()
    for _, location, line in valid:
        if line.subscription_id is None and not line.proration and line.amount > 0:
            yield Row(location, _fee(location, line, seen))


def _fee(location: str, line: InvoiceLine, seen: Counter[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event_id": _fee_id(line, seen),
        "type": "one_time_fee",
        "customer_id": line.customer_id,
        "effective_date": line.service_period_start.isoformat(),
        "amount": canonical(line.amount),
        "currency": line.currency,
    }
    if description := line.description or line.plan:
        fields["description"] = description
    return fields | {"note": f"from {location}"}


def _fee_id(line: InvoiceLine, seen: Counter[str]) -> str:
    """From the invoice's and line's ids, else from the content and its occurrence."""
    if line.line_id is not None:
        return event_id("invoices", "fee", line.invoice_id or "", line.line_id)
    content = repr(sorted(line.model_dump(mode="json").items()))
    digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    seen[digest] += 1
    return event_id("invoices", "fee", digest, str(seen[digest]))


def _from_stripe(
    rows: Iterable[Row | Problem], *, as_of: date | None = None
) -> Iterator[Row | Problem]:
    """Stripe's invoice line items, through the preset in front of the invoices shape."""
    from ledger.intake.stripe import from_stripe  # it builds on this module

    return from_stripe(rows, as_of=as_of)


SHAPES: dict[str, Converter] = {
    "periods": from_periods,
    "invoices": from_invoices,
    "stripe": _from_stripe,
}
"""Each shape an import takes besides the ledger's own events, and its converter."""
DATED: dict[str, Dated] = {"invoices": from_invoices, "stripe": _from_stripe}
"""The shapes of billing exports, which take the day the export was taken (`as_of`)."""
