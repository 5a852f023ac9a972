"""`arr cohorts`: customers by the period they started in, followed (SPEC §13)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.app.ledger import Ledger
from ledger.cli.movements import SeriesFrom, SeriesPeriod, To, days
from ledger.cli.options import (
    CloseOption,
    Db,
    FormatOption,
    Fx,
    KnownAt,
    Position,
    choice,
    fx_policy,
    knowledge,
    out,
    output_format,
    run,
)
from projections.render.text import emit

commands = typer.Typer()
CohortEvery = Annotated[
    str, typer.Option("--every", help="month | quarter | year", metavar="PERIOD")
]
TABLE = ("cohort", "as_of", "customers", "mrr", "nrr")
"""People's columns: position and currency are said once, in the title."""


@commands.command(name="cohorts")
def cohorts_command(
    *,
    from_: SeriesFrom = None,
    to: To = None,
    period_: SeriesPeriod = None,
    every: CohortEvery = "month",
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    close: CloseOption = None,
    fx: Fx = "spot",
    format: FormatOption = "table",
) -> None:
    """Cohorts: customers by the period their MRR first rose above 0, at each period end
    from theirs on: active customers, MRR, and NRR against the end of their first period.

    Example: arr cohorts --period 2024 --every quarter --format csv
    """

    def action() -> None:
        fmt, (start, end) = output_format(format), days(from_, to, period_)
        step = choice(every, ("month", "quarter", "year"), "--every")
        asked = knowledge(known_at, position, close)
        with Ledger.open(db) as ledger:
            cells = ledger.cohorts(
                start,
                end,
                step,
                known_at=asked.known_at,
                position=asked.position,
                close=asked.close,
                fx=fx_policy(fx),
            )
            currency = ledger.currency
        rows = [c.as_json() for c in cells]
        title = f"Cohorts by {step} from {start} to {end}"
        if fmt != "table":
            emit(out, fmt, title, rows)
        elif not rows:
            out.print(f"{title}: no customer's MRR first rose above 0 then", highlight=False)
        else:
            emit(out, fmt, f"{title} ({currency})", [{k: r[k] for k in TABLE} for r in rows])

    run(action)
