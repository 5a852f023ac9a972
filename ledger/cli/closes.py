"""`arr close` and `arr closes`: named marks of what the ledger knew (SPEC §13)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.app.ledger import Ledger
from ledger.cli.options import Db, FormatOption, out, output_format, run
from ledger.domain.text import inert
from projections.render.text import emit

commands = typer.Typer()


@commands.command(name="close")
def close_command(
    name: Annotated[
        str, typer.Argument(help="A unique name: board-2025-07, 2024-Q4.", metavar="NAME")
    ],
    note: Annotated[
        str | None, typer.Option("--note", help="What the close is for.", metavar="TEXT")
    ] = None,
    db: Db = None,
) -> None:
    """Record a named close at the ledger's current position and time, sealed.

    Every query then takes --close NAME: the figures as the ledger knew them at the close,
    forever, whatever is recorded or backdated after it.

    Example: arr close board-2025-07 --note "July board pack"
    """

    def action() -> None:
        with Ledger.open(db) as ledger:
            made = ledger.record_close(name, note)
        print(
            inert(
                f"closed {made.name!r} at position {made.position} "
                f"({made.recorded_at.isoformat(timespec='seconds')})"
            )
        )

    run(action)


@commands.command(name="closes")
def closes_command(db: Db = None, format: FormatOption = "table") -> None:
    """List the named closes, by position.

    Example: arr closes --format json
    """

    def action() -> None:
        fmt = output_format(format)
        with Ledger.open(db) as ledger:
            found = [c.as_json() for c in ledger.closes()]
        if fmt != "table":
            emit(out, fmt, "Closes", found)
        elif not found:
            out.print("no closes yet: `arr close NAME` records one", highlight=False)
        else:  # for people: each close's own position, no digest (JSON and CSV have it)
            shown = [{"name": c["name"], "at_position": str(c["position"]),
                      "recorded_at": c["recorded_at"][:19].replace("T", " "), "note": c["note"]}
                     for c in found]  # fmt: skip
            emit(out, fmt, "Closes", shown)

    run(action)
