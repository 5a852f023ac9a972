"""`arr projections status|rebuild`: the persistent read model behind the figures."""

from __future__ import annotations

import typer

from ledger.app.ledger import Ledger
from ledger.cli.options import Db, FormatOption, err, out, output_format, run
from ledger.cli.progress import reaching
from projections.render.text import emit

projections = typer.Typer(
    help="The read model that answers queries: its position and its rebuild.",
    no_args_is_help=True,
)
commands = typer.Typer()
commands.add_typer(projections, name="projections")


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
        with Ledger.open(db) as ledger, reaching(err, "rebuilding") as progress:
            position = ledger.read_model().rebuild(progress)
        out.print(f"read model rebuilt up to position {position}", highlight=False)

    run(action)
