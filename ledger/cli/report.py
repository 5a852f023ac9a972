"""`arr report`: the figures as of one day."""

from __future__ import annotations

import typer

from ledger.app.ledger import Ledger
from ledger.cli.options import (
    AsOf,
    Db,
    FormatOption,
    KnownAt,
    Policy,
    Position,
    knowledge,
    out,
    output_format,
    policy,
    run,
)
from ledger.cli.parse import parse_day
from projections.render.text import emit

commands = typer.Typer()


@commands.command()
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
            figures = ledger.report(
                day, acv_policy=policy(acv_policy), known_at=asked.known_at, position=asked.position
            )
        emit(out, fmt, f"Report as of {day}", figures.as_json())

    run(action)
