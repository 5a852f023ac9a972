"""`arr movements` and `arr series`: what changed over a period, and the backfill (SPEC §9)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from ledger.app.knowledge import Knowledge
from ledger.app.ledger import Ledger
from ledger.cli.options import (
    CloseOption,
    Db,
    FormatOption,
    Fx,
    KnownAt,
    NettingOption,
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
from ledger.cli.progress import working
from ledger.domain.errors import UsageError
from ledger.domain.periods import Period, dates_or_period
from projections.figures.contract_value import AcvPolicy
from projections.figures.conversion import FxPolicy
from projections.figures.keys import BRIDGE
from projections.figures.movements import by_customer, check_period
from projections.figures.series import EVERY, Every, bounds
from projections.render.text import Format, emit, fitting

commands = typer.Typer()

# --from/--to or --period, never both: neither is required alone, so `dates_or_period`
# says what is missing, as one line like every other usage error.
From = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start date YYYY-MM-DD, excluded: movements over (from, to], so --from "
        "2024-01-01 leaves 1 January out. Or give --period.",
        metavar="DATE",
    ),
]
SeriesFrom = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="First day YYYY-MM-DD, included: rows at every period end from it on, the first "
        "row's movements over (from - 1 day, its end]. Or give --period.",
        metavar="DATE",
    ),
]
To = Annotated[
    str | None, typer.Option("--to", help="End date YYYY-MM-DD, included.", metavar="DATE")
]
PERIODS = "2024, 2024-Q4, 2024-11 or 2024-W05 (an ISO week)"
PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        help=f"Instead of --from/--to: {PERIODS}, its first day included: --period 2024 is "
        "(2023-12-31, 2024-12-31].",
        metavar="PERIOD",
    ),
]
SeriesPeriod = Annotated[
    str | None,
    typer.Option(
        "--period",
        help=f"Instead of --from/--to: {PERIODS}, from its first day to its last, both included.",
        metavar="PERIOD",
    ),
]
By = Annotated[
    str | None,
    typer.Option(
        "--by",
        help="customer | reason | day | week | month | quarter | year: one row each "
        "(reason: the churn and contraction each reason caused).",
        metavar="GROUP",
    ),
]
Wide = Annotated[
    bool,
    typer.Option(
        "--wide", help="Every column in the table (by default those that fit 80 columns)."
    ),
]
EveryOption = Annotated[
    str, typer.Option("--every", help="day | week | month | quarter | year", metavar="PERIOD")
]
# People's tables show the headline columns (currency in the title); json and csv carry
# every key, for spreadsheets.
SERIES_TABLE = ("as_of", "mrr", "arr", "active_customers", *BRIDGE[1:], "nrr", "grr")
SERIES_FIRST = (
    *("as_of", "mrr", "net_new", "new", "expansion", "churn", "nrr", "contraction"),
    *("active_customers", "grr", "arr", "reactivation", "fx", "paused", "resumed"),
)
"""A series table's columns by how much people need them: an 80-column terminal shows
the first ones that fit (`--wide`: all)."""
PERIOD_TABLE = ("from", "to", *BRIDGE, "end_mrr", "nrr", "grr")
CUSTOMER_TABLE = ("customer_id", *BRIDGE, "end_mrr", "why")
REASON_TABLE = ("reason", "churn", "contraction")
QUIET = ("paused", "resumed")
"""Columns a people's table leaves out when every row has 0 (SPEC §11's movements): most
ledgers have no pause. JSON and CSV always carry them."""


def period(start: str | None, end: str | None, named: str | None) -> tuple[date, date]:
    """Movements' `(from, to]`: the two dates, or `--period`'s span."""
    given = dates_or_period(start, end, named)
    return given.span if isinstance(given, Period) else dates(*given)


def days(start: str | None, end: str | None, named: str | None) -> tuple[date, date]:
    """A series' first and last day: the two dates, or `--period`'s first and last day."""
    given = dates_or_period(start, end, named)
    return given.days if isinstance(given, Period) else dates(*given)


def dates(start: str, end: str) -> tuple[date, date]:
    first, last = parse_day(start, "--from"), parse_day(end, "--to")
    check_period(first, last, ("--from", "--to"))
    return first, last


def every_option(value: str, option: str) -> Every:
    result: Every = choice(value, EVERY, option)
    return result


@commands.command(name="movements")
def movements_command(
    from_: From = None,
    to: To = None,
    period_: PeriodOption = None,
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    close: CloseOption = None,
    acv_policy: Policy = "recurring",
    fx: Fx = "spot",
    netting: NettingOption = "day",
    by: By = None,
    format: FormatOption = "table",
) -> None:
    """Movements, bridge and retention over (from, to]: new, expansion, contraction, churn.

    --from is excluded and --to included: --from 2024-01-01 --to 2024-12-31 leaves out
    1 January. --period 2024 is the whole year, (2023-12-31, 2024-12-31].

    Example: arr movements --period 2024-Q2 --by customer --format csv
    """

    def action() -> None:
        fmt, (start, end) = output_format(format), period(from_, to, period_)
        asked, chosen = knowledge(known_at, position, close), policy(acv_policy)
        rates = fx_policy(fx)
        grouping = None if by is None else choice(by, ("customer", "reason", *EVERY), "--by")
        with Ledger.open(db) as ledger:
            title = f"Movements over ({start}, {end}]"
            if grouping is None:
                found = ledger.movements(
                    start,
                    end,
                    acv_policy=chosen,
                    known_at=asked.known_at,
                    position=asked.position,
                    close=asked.close,
                    fx=rates,
                    netting=netting,
                )
                emit(out, fmt, title, found.as_json())
            else:
                ways = (chosen, rates, netting)
                rows, columns = grouped(ledger, (start, end), grouping, ways, asked)
                show(fmt, f"{title} by {grouping}", rows, columns, ledger.currency)

    run(action)


def grouped(
    ledger: Ledger,
    span: tuple[date, date],
    grouping: str,
    chosen: tuple[AcvPolicy, FxPolicy, str],
    asked: Knowledge,
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """One row per customer, or per period within `(start, end]`; and the table's columns."""
    acv, rates, netting = chosen
    if grouping == "reason" and netting != "day":
        raise UsageError("--by reason splits the movements of each day: give --netting day")
    if grouping == "reason":
        lines = ledger.by_reason(
            *span, known_at=asked.known_at, position=asked.position, close=asked.close, fx=rates
        )
        return [line.as_json() for line in lines], REASON_TABLE
    if grouping == "customer":
        book = ledger.book(known_at=asked.known_at, position=asked.position, close=asked.close)
        rows = by_customer(book, *span, rates, netting=netting)
        return [r.as_json() for r in rows], CUSTOMER_TABLE
    parts = bounds(*span, every_option(grouping, "--by"))
    found = ledger.movements_over(
        parts,
        acv_policy=acv,
        known_at=asked.known_at,
        position=asked.position,
        close=asked.close,
        fx=rates,
        netting=netting,
    )
    return [m.as_json() for m in found], PERIOD_TABLE


@commands.command(name="series")
def series_command(
    *,  # keyword-only, so that the required --every may follow the optional dates
    from_: SeriesFrom = None,
    to: To = None,
    period_: SeriesPeriod = None,
    every: EveryOption,
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    close: CloseOption = None,
    acv_policy: Policy = "recurring",
    fx: Fx = "spot",
    netting: NettingOption = "day",
    wide: Wide = False,
    format: FormatOption = "table",
) -> None:
    """One report row per period end, with that period's movements: the backfill.

    --from is the first day counted and --to the last: --period 2024 is the same as
    --from 2024-01-01 --to 2024-12-31.

    Example: arr series --period 2024 --every month --format csv
    """

    def action() -> None:
        fmt, (start, end) = output_format(format), days(from_, to, period_)
        step, asked = every_option(every, "--every"), knowledge(known_at, position, close)
        with Ledger.open(db) as ledger, working(f"computing every {step} to {end}"):
            found = ledger.series(
                start,
                end,
                step,
                acv_policy=policy(acv_policy),
                known_at=asked.known_at,
                position=asked.position,
                close=asked.close,
                fx=fx_policy(fx),
                netting=netting,
            )
            rows, currency = [r.as_json() for r in found], ledger.currency
        title = f"Series every {step} from {start} to {end}"
        show(fmt, title, rows, SERIES_TABLE, currency, None if wide else SERIES_FIRST)

    run(action)


def show(
    fmt: Format,
    title: str,
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    currency: str,
    first: tuple[str, ...] | None = None,
) -> None:
    """Rows in full for json and csv; for people, the headline columns."""
    if fmt != "table":
        emit(out, fmt, title, rows)
    elif not rows:
        out.print(f"{title}: nothing was active or moved", highlight=False, soft_wrap=True)
    else:
        shown = [k for k in columns if k not in QUIET or any(_moved(r[k]) for r in rows)]
        if "why" in shown and not any(r["why"] for r in rows):
            shown.remove("why")
        heading = f"{title} ({currency})"
        if first is not None:
            picked = [{k: r[k] for k in shown} for r in rows]
            shown = fitting(heading, picked, first)
        emit(out, fmt, heading, [{k: r[k] for k in shown} for r in rows])


def _moved(amount: str) -> bool:
    return amount not in ("0.00", "-0.00")
