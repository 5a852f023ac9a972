"""`arr projections status|rebuild`: the persistent read model behind the figures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ledger.application import Ledger
from ledger.cli import Db, FormatOption, app, err, out, output_format, run
from projections.read_model import Progress as Report
from projections.render import emit

projections = typer.Typer(
    help="The read model that answers queries: its position and its rebuild.",
    no_args_is_help=True,
)
app.add_typer(projections, name="projections")


@projections.command()
def status(db: Db = None, format: FormatOption = "table") -> None:
    """The position the read model reflects, the ledger's head, and the lag between them.

    Example: arr projections status --format json
    """

    def action() -> None:
        fmt = output_format(format)
        with Ledger.open(db) as ledger:
            state = ledger.read_model().status()
        emit(out, fmt, "Read model", state.as_json())

    run(action)


@projections.command()
def rebuild(db: Db = None) -> None:
    """Drop the read model and rebuild it from the event store (same rows as incremental).

    Example: arr projections rebuild --db sqlite:///arr.db
    """

    def action() -> None:
        with Ledger.open(db) as ledger, _bar() as progress:
            position = ledger.read_model().rebuild(progress)
        out.print(f"read model rebuilt up to position {position}", highlight=False)

    run(action)


@contextmanager
def _bar() -> Iterator[Report | None]:
    """A progress bar on a terminal only; nothing in a pipe or a log."""
    if not err.is_terminal:
        yield None
        return
    columns = (TextColumn("rebuilding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("events", total=None)
        yield lambda done, head: bar.update(task, completed=done, total=head)
