"""`arr init`, `upgrade`, `import` and `append`: making a ledger and recording events."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated, Any

import typer

from ledger.app.ledger import Ledger
from ledger.cli.options import Db, choice, err, out, run
from ledger.cli.progress import counter, steps
from ledger.domain.errors import Refused, UsageError

commands = typer.Typer()
Shape = Annotated[
    str,
    typer.Option(
        "--from",
        help="events (the ledger's own rows), periods (subscription periods), invoices "
        "(invoice line items, as billing systems export them) or stripe (Stripe's invoice "
        "line items export: amounts in cents, Unix timestamps).",
        metavar="SHAPE",
    ),
]
AsOfExport = Annotated[
    str | None,
    typer.Option(
        "--export-date",
        help="With --from invoices or stripe: the day the export was taken (YYYY-MM-DD); a service "
        "period running past it is still running.",
        metavar="DATE",
    ),
]


Mapping = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Your columns' names for the shape's: 'customer_id=Customer ID,amount=Amount'.",
        metavar="OURS=YOURS,...",
    ),
]


def column_map(text: str | None) -> dict[str, str]:
    """`ours=yours,...` as {yours: ours}."""
    found: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        ours, sign, yours = part.partition("=")
        if not sign or not ours.strip() or not yours.strip():
            raise UsageError(f"--map: {part.strip()!r} is not OURS=YOURS (customer_id=Customer ID)")
        found[yours.strip()] = ours.strip()
    return found


def _renamed(rows: Any, names: dict[str, str]) -> Any:
    from ledger.intake.rows import Row

    for row in rows:
        if isinstance(row, Row):
            yield Row(row.location, {names.get(k, k): v for k, v in row.fields.items()})
        else:
            yield row


def source_rows(files: list[str], shape: str, taken: str | None, mapped: str | None = None) -> Any:
    """The rows of the files, in the ledger's own shape or converted from another (its
    columns named as `mapped` says)."""
    from ledger.cli.parse import parse_day
    from ledger.intake import shapes  # the input's edge: only here
    from ledger.intake.rows import read as read_rows

    chosen = choice(shape, ("events", *shapes.SHAPES), "--from")
    if taken is not None and chosen not in shapes.DATED:
        raise UsageError("--export-date: only with --from invoices or stripe")
    names = column_map(mapped)
    if chosen == "events":
        return _renamed((row for name in files for row in read_rows(name)), names)
    source = _renamed((row for name in files for row in shapes.read(name)), names)
    if chosen in shapes.DATED:
        day = parse_day(taken, "--export-date") if taken is not None else None
        return shapes.DATED[chosen](source, as_of=day)
    return shapes.SHAPES[chosen](source)


@commands.command()
def init(
    db: Db = None,
    currency: Annotated[
        str, typer.Option(help="The ledger's one currency (ISO 4217: USD, EUR).", metavar="CODE")
    ] = "USD",
) -> None:
    """Create the ledger (tables and currency); running it twice is harmless.

    Example: arr init --db sqlite:///arr.db --currency USD
    """

    def action() -> None:
        with Ledger.init(db, currency.strip().upper()) as ledger:  # codes are capitals
            out.print(
                f"ledger ready at {ledger.store.location} ({ledger.currency})",
                highlight=False,
                soft_wrap=True,
            )

    run(action)


@commands.command()
def upgrade(db: Db = None) -> None:
    """Bring a ledger made by an earlier version of arr to this version's layout.

    One transaction: it adds what the new layout keeps (the hash chains, the sealed
    settings) and never changes a recorded event. Harmless on a ledger already current.

    Example: arr upgrade --db sqlite:///arr.db
    """

    def action() -> None:
        found, now = Ledger.upgrade(db)
        said = "already at" if found == now else f"upgraded from layout {found} to"
        out.print(f"ledger {said} layout {now}", highlight=False, soft_wrap=True)

    run(action)


@commands.command(name="import")
def import_(
    files: Annotated[
        list[str],
        typer.Argument(
            help=".csv or .jsonl files, or - for JSON Lines on stdin.", metavar="FILE..."
        ),
    ],
    db: Db = None,
    historical: Annotated[
        bool,
        typer.Option(
            "--historical",
            help="History from another system: every row gives recorded_at (ISO 8601 with "
            "an offset), in order, and is recorded at it, so --known-at reproduces what "
            "that system knew.",
        ),
    ] = False,
    shape: Shape = "events",
    taken: AsOfExport = None,
    mapped: Mapping = None,
) -> None:
    """Append events from files; every row is checked before any is written.

    FILE is a .csv file with a header row naming the fields (see `arr fields`, and
    `arr template` for one to fill in), a .jsonl file of one JSON object per line, or -
    for JSON Lines on standard input. All files are one transaction: all or nothing.

    Example: arr import events.csv more.jsonl
    """

    def action() -> None:
        rows = source_rows(files, shape, taken, mapped)
        with Ledger.open(db) as ledger:
            with steps(err) as progress:
                recorded = counter(progress, "recording events")
                result = ledger.import_rows(
                    progress.track(rows, "reading rows"), recorded, historical=historical
                )
            out.print(
                f"imported {result.appended} events, skipped {result.skipped} already recorded"
                + (
                    f" (positions {result.positions[0]}-{result.positions[-1]})"
                    if result.positions
                    else ""
                ),
                highlight=False,
                soft_wrap=True,
            )

    run(action)


@commands.command()
def append(
    event: Annotated[str, typer.Argument(help="One event as a JSON object.", metavar="JSON")],
    db: Db = None,
) -> None:
    """Append one event given as a JSON object (its fields: `arr fields`).

    Example: arr append '{"event_id":"e1","type":"new","customer_id":"acme",
    "subscription_id":"s1","effective_date":"2024-01-01","amount":"1000"}'
    """

    def action() -> None:
        from ledger.intake.rows import json_object  # (parsed as a JSON Lines row is)

        try:
            fields = json_object(event)
        except ValueError as exc:
            raise Refused([_problem(str(exc))]) from None
        with Ledger.open(db) as ledger:
            result = ledger.append(fields, location="event")
            if result.appended:
                out.print(
                    f"recorded at position {result.positions[0]}", highlight=False, soft_wrap=True
                )
            else:
                out.print(
                    "already recorded with identical content: nothing to do",
                    highlight=False,
                    soft_wrap=True,
                )

    run(action)


def _problem(message: str) -> Any:
    from ledger.domain.errors import Problem

    return Problem("event", message)


@commands.command()
def check(
    files: Annotated[
        list[str],
        typer.Argument(
            help=".csv or .jsonl files, or - for JSON Lines on stdin.", metavar="FILE..."
        ),
    ],
    db: Db = None,
    historical: Annotated[
        bool, typer.Option("--historical", help="Check them as history (see arr import).")
    ] = False,
    shape: Shape = "events",
    taken: AsOfExport = None,
    mapped: Mapping = None,
) -> None:
    """Check files as `arr import` would, and write nothing: the same problems and exit
    code, and what an import would record.

    Example: arr check events.csv
    """

    def action() -> None:
        rows = source_rows(files, shape, taken, mapped)
        with Ledger.open(db) as ledger:
            result = ledger.import_rows(rows, historical=historical, check=True)
        where = (
            f" (positions {result.positions[0]}-{result.positions[-1]})" if result.positions else ""
        )
        out.print(
            f"ok: would import {result.appended} events{where}, skip {result.skipped} already "
            "recorded; nothing was written",
            highlight=False,
            soft_wrap=True,
        )
        if result.summary is not None and result.appended:
            out.print(f"would record: {result.summary.said()}", highlight=False, soft_wrap=True)

    run(action)


@commands.command()
def export(
    db: Db = None,
    format: Annotated[
        str, typer.Option("--format", help="jsonl | csv", metavar="FORMAT")
    ] = "jsonl",
) -> None:
    """Write every recorded event in position order, with its recorded time, in the input
    format: `arr import --historical` of it into an empty ledger gives the same figures at
    every (as_of, known_at).

    Example: arr export --format csv > history.csv
    """

    def action() -> None:
        from ledger.intake.fields import FIELD_ORDER  # the input's edge: only here

        chosen = choice(format, ("jsonl", "csv"), "--format")
        with Ledger.open(db) as ledger:
            rows = ledger.export()
            if chosen == "jsonl":
                for row in rows:
                    sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
                return
            writer = csv.DictWriter(
                sys.stdout, fieldnames=[*FIELD_ORDER, "recorded_at"], lineterminator="\n"
            )
            writer.writeheader()
            for row in rows:
                writer.writerow(row)

    run(action)
