"""`arr report`: the figures as of one day."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.app.ledger import Ledger
from ledger.cli.options import (
    AsOf,
    CloseOption,
    Db,
    FormatOption,
    Fx,
    KnownAt,
    Policy,
    Position,
    choice,
    fx_policy,
    knowledge,
    out,
    output_format,
    policy,
    run,
)
from ledger.cli.parse import parse_day
from projections.render.text import emit

commands = typer.Typer()
TOP = 50
"""The lines of a table by customer or plan: the largest by ARR. A people's table of a
hundred thousand customers would take a minute to draw and scroll past unread; CSV
and JSON give every line."""
By = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="customer, plan or currency: one line per customer, plan or currency",
        metavar="GROUP",
    ),
]


@commands.command()
def report(
    as_of: AsOf,
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    close: CloseOption = None,
    acv_policy: Policy = "recurring",
    fx: Fx = "spot",
    by: By = None,
    format: FormatOption = "table",
) -> None:
    """Point-in-time figures: MRR, ARR, customers, contracts, ARPA, ACV, ACV:ARR.

    Example: arr report --as-of 2024-06-30 --known-at 2024-07-03 --format json
    """

    def action() -> None:
        fmt, day = output_format(format), parse_day(as_of)
        asked, rates = knowledge(known_at, position, close), fx_policy(fx)
        grouping = None if by is None else choice(by, ("customer", "plan", "currency"), "--by")
        with Ledger.open(db) as ledger:
            if grouping == "currency":
                lines = ledger.by_currency(
                    day,
                    known_at=asked.known_at,
                    position=asked.position,
                    close=asked.close,
                    fx=rates,
                )
                title = f"Report as of {day} by currency ({rates}, into {ledger.currency})"
                emit(out, fmt, title, [line.as_json() for line in lines])
                return
            if grouping is not None:
                query = ledger.by_customer if grouping == "customer" else ledger.by_plan
                found = query(
                    day,
                    known_at=asked.known_at,
                    position=asked.position,
                    close=asked.close,
                    fx=rates,
                )
                title = f"Report as of {day} by {grouping} ({rates}, in {ledger.currency})"
                shown = found[:TOP] if fmt == "table" else found
                emit(out, fmt, title, [line.as_json() for line in shown])
                if len(shown) < len(found):
                    out.print(
                        f"the {TOP} largest of {len(found):,} {grouping}s by ARR; every line: "
                        "--format csv or json"
                    )
                return
            figures = ledger.report(
                day,
                acv_policy=policy(acv_policy),
                known_at=asked.known_at,
                position=asked.position,
                close=asked.close,
                fx=rates,
            )
        emit(out, fmt, f"Report as of {day}", figures.as_json())

    run(action)
