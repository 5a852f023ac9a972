"""The `arr` command: a thin shell over the ledger and its projections (SPEC §9)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ledger.application import Ledger
from ledger.clock import parse_day, parse_known_at
from ledger.errors import LedgerError, Refused, UsageError
from ledger.progress import Steps, steps
from ledger.rows import read as read_rows
from projections.contract_value import AcvPolicy
from projections.render import Format, emit

T = TypeVar("T")
app = typer.Typer(
    help="arr-ledger: an event-sourced ledger of subscription revenue. MRR, ARR, ACV,\n"
    "movements and retention as of any date, as the ledger knew them at any moment.\n\n"
    "\b\nStart with `arr demo`, which builds a sample ledger and prints what to try next.\n"
    "Example: arr init && arr import events.csv && arr report --as-of 2024-06-30",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console()
err = Console(stderr=True)

Db = Annotated[
    str | None,
    typer.Option(
        "--db", help="SQLAlchemy URL of the ledger (default: $ARR_DB, else sqlite:///arr.db)."
    ),
]
AsOf = Annotated[
    str, typer.Option("--as-of", help="Effective date YYYY-MM-DD (state at the end of that day).")
]
KnownAt = Annotated[
    str | None,
    typer.Option(
        "--known-at",
        help="Only what was recorded by then: ISO timestamp with offset, or a date "
        "(end of that day, UTC).",
    ),
]
Position = Annotated[
    int | None,
    typer.Option("--position", help="Only what was recorded up to this ledger position."),
]
Policy = Annotated[str, typer.Option("--acv-policy", help="recurring | including_fees")]
FormatOption = Annotated[str, typer.Option("--format", help="table | json | csv")]


def run(action: Callable[[], T]) -> T:
    """Errors become one located message and an exit code, never a traceback."""
    try:
        return action()
    except Refused as refused:
        for problem in refused.problems:
            _say(str(problem))
        _say("nothing was written")
        raise typer.Exit(1) from None
    except UsageError as exc:
        _say(f"usage: {exc}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(1) from None


def _say(message: str) -> None:
    """One message, one line: never wrapped to the terminal, no markup or emoji codes read
    into user data (ids may contain `[red]` or `:x:`)."""
    err.print(message, markup=False, highlight=False, emoji=False, soft_wrap=True)


def choice(value: str, options: tuple[str, ...], option: str) -> Any:
    if value not in options:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(options)}")
    return value


def policy(value: str) -> AcvPolicy:
    result: AcvPolicy = choice(value, ("recurring", "including_fees"), "--acv-policy")
    return result


def output_format(value: str) -> Format:
    result: Format = choice(value, ("table", "json", "csv"), "--format")
    return result


def knowledge(known_at: str | None, position: int | None) -> dict[str, Any]:
    if known_at is not None and position is not None:
        raise UsageError("give --known-at or --position, not both")
    return {"known_at": parse_known_at(known_at) if known_at else None, "position": position}


@app.command()
def init(
    db: Db = None,
    currency: Annotated[str, typer.Option(help="The ledger's one currency.")] = "USD",
) -> None:
    """Create the ledger (tables and currency); running it twice is harmless.

    Example: arr init --db sqlite:///arr.db --currency USD
    """

    def action() -> None:
        with Ledger.init(db, currency) as ledger:
            out.print(
                f"ledger ready at {ledger.store.location} ({ledger.currency})", highlight=False
            )

    run(action)


@app.command()
def upgrade(db: Db = None) -> None:
    """Bring a ledger made by an earlier version of arr to this version's layout.

    One transaction: it adds what the new layout keeps (the hash chains, the sealed
    settings) and never changes a recorded event. Harmless on a ledger already current.

    Example: arr upgrade --db sqlite:///arr.db
    """

    def action() -> None:
        found, now = Ledger.upgrade(db)
        said = "already at" if found == now else f"upgraded from layout {found} to"
        out.print(f"ledger {said} layout {now}", highlight=False)

    run(action)


@app.command(name="import")
def import_(
    files: Annotated[
        list[str], typer.Argument(help=".csv or .jsonl files, or - for JSON Lines on stdin.")
    ],
    db: Db = None,
) -> None:
    """Append events from files; every row is checked before any is written.

    Example: arr import events.csv more.jsonl
    """

    def action() -> None:
        rows = (row for name in files for row in read_rows(name))
        with Ledger.open(db) as ledger:
            with steps(err) as progress:
                recorded = _counter(progress, "recording events")
                result = ledger.import_rows(progress.track(rows, "reading rows"), recorded)
            out.print(
                f"imported {result.appended} events, skipped {result.skipped} already recorded"
                + (
                    f" (positions {result.positions[0]}-{result.positions[-1]})"
                    if result.positions
                    else ""
                ),
                highlight=False,
            )

    run(action)


def _counter(progress: Steps, description: str) -> Callable[[int], None] | None:
    """A bar counting up to a number it is told (None when no bar is drawn)."""
    bar = progress.bar
    if bar is None:
        return None
    task = bar.add_task(description, total=None)
    return lambda done: bar.update(task, completed=done)


@app.command()
def append(
    event: Annotated[str, typer.Argument(help="One event as a JSON object.")],
    db: Db = None,
) -> None:
    """Append one event given as a JSON object.

    Example: arr append '{"event_id":"e1","type":"new","customer_id":"acme",
    "subscription_id":"s1","effective_date":"2024-01-01","amount":"1000"}'
    """

    def action() -> None:
        from ledger.rows import json_object  # (parsed as a JSON Lines row is)

        try:
            fields = json_object(event)
        except ValueError as exc:
            raise Refused([_problem(str(exc))]) from None
        with Ledger.open(db) as ledger:
            result = ledger.append(fields, location="event")
            if result.appended:
                out.print(f"recorded at position {result.positions[0]}", highlight=False)
            else:
                out.print("already recorded with identical content: nothing to do", highlight=False)

    run(action)


def _problem(message: str) -> Any:
    from ledger.errors import Problem

    return Problem("event", message)


@app.command()
def report(
    as_of: AsOf,
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    acv_policy: Policy = "recurring",
    format: FormatOption = "table",
) -> None:
    """Point-in-time figures: MRR, ARR, customers, contracts, ARPA, ACV, ACV:ARR.

    Example: arr report --as-of 2024-06-30 --known-at 2024-07-03 --format json
    """

    def action() -> None:
        fmt, day = output_format(format), parse_day(as_of)
        asked = knowledge(known_at, position)
        with Ledger.open(db) as ledger:
            figures = ledger.report(day, acv_policy=policy(acv_policy), **asked)
        emit(out, fmt, f"Report as of {day}", figures.as_json())

    run(action)


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many sample customers.")] = 300,
    folder: Annotated[
        str | None, typer.Option(help="Where to build it (default: a new temporary folder).")
    ] = None,
) -> None:
    """Build a sample ledger in a temporary folder and show what it answers: start here.

    The sample: a few hundred customers over 2021-2024, then a churn that arrives late,
    backdated. Prints the report, the last 12 months of movements, how the late churn
    restated November's figures, and the commands to try next against the sample.

    Example: arr demo
    """

    def action() -> None:
        from ledger.demo import run_demo

        run_demo(out, customers, folder)

    run(action)


def main() -> None:
    """The console script: usage errors exit 2, refusals and failed checks exit 1."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted: nothing more was written")
        sys.exit(130)
    except Exception as exc:  # a bug, but the user still gets one line, not a traceback
        if os.environ.get("ARR_DEBUG"):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _say(
            f"error: unexpected {type(exc).__name__}: {reason} "
            "(a bug in arr: rerun with ARR_DEBUG=1 for the traceback and report it)"
        )
        sys.exit(1)


# Each topic's commands live in their own module and register themselves on `app`.
COMMAND_MODULES: tuple[str, ...] = (
    "ledger.cli_movements",
    "ledger.cli_projections",
    "ledger.cli_chart",
    "ledger.cli_audit",
)
for _module in COMMAND_MODULES:
    importlib.import_module(_module)
