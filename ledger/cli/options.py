"""What every `arr` command shares: its options, consoles, and the one way errors are said."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ledger.app.knowledge import Knowledge
from ledger.cli.parse import parse_known_at
from ledger.domain.errors import LedgerError, Refused, UsageError
from projections.figures.contract_value import ACV_POLICIES, AcvPolicy
from projections.figures.conversion import FxPolicy
from projections.render.text import FORMATS, Format

T = TypeVar("T")
FLAGS = {
    "known_at": "--known-at",
    "known_at_2": "--known-at-2",
    "position": "--position",
    "start": "--from",
    "end": "--to",
    "period": "--period",
    "as_of": "--as-of",
    "url": "--db",
    "currency": "--currency",
    "fx": "--fx",
    "close": "--close",
    "netting": "--netting",
    "note": "--note",
}
"""The Python API's parameter names as the command line's flags, for its messages."""
out = Console()
err = Console(stderr=True)

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the ledger (default: $ARR_DB, else sqlite:///arr.db).",
        metavar="URL",
    ),
]
AsOf = Annotated[
    str,
    typer.Option(
        "--as-of", help="Effective date YYYY-MM-DD (state at the end of that day).", metavar="DATE"
    ),
]
KnownAt = Annotated[
    str | None,
    typer.Option(
        "--known-at",
        help="Only what was recorded by then: ISO timestamp with offset, or a date "
        "(end of that day, UTC).",
        metavar="TIME",
    ),
]
Position = Annotated[
    int | None,
    typer.Option(
        "--position", help="Only what was recorded up to this ledger position.", metavar="N"
    ),
]
CloseOption = Annotated[
    str | None,
    typer.Option(
        "--close",
        help="As known at a named close (arr closes lists them): its position.",
        metavar="NAME",
    ),
]
NettingOption = Annotated[
    str,
    typer.Option(
        "--netting",
        help="day | month: net each customer's movements per day, or between consecutive "
        "month ends (as ProfitWell and saas-metrics do; --from and --to then month ends).",
        metavar="WINDOW",
    ),
]
Policy = Annotated[
    str, typer.Option("--acv-policy", help="recurring | including_fees", metavar="POLICY")
]
FormatOption = Annotated[str, typer.Option("--format", help="table | json | csv", metavar="FORMAT")]
Fx = Annotated[
    str,
    typer.Option(
        "--fx",
        help="How other currencies are converted: spot (the day's rate), booked (the rate "
        "when the price was set) or fixed:YYYY-MM-DD (one day's rate throughout).",
        metavar="POLICY",
    ),
]


def run(action: Callable[[], T]) -> T:
    """Errors become one located message and an exit code, never a traceback."""
    try:
        return action()
    except Refused as refused:
        for problem in refused.problems:
            say(str(problem))
        say("nothing was written")
        raise typer.Exit(1) from None
    except UsageError as exc:
        say(f"usage: {exc.worded(FLAGS)}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        say(f"error: {exc.worded(FLAGS)}")
        raise typer.Exit(1) from None


def say(message: str) -> None:
    """One message, one line: never wrapped to the terminal, no markup or emoji codes read
    into user data (ids may contain `[red]` or `:x:`)."""
    err.print(message, markup=False, highlight=False, emoji=False, soft_wrap=True)


def choice(value: str, options: tuple[str, ...], option: str) -> Any:
    if value not in options:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(options)}")
    return value


def policy(value: str) -> AcvPolicy:
    result: AcvPolicy = choice(value, ACV_POLICIES, "--acv-policy")
    return result


def fx_policy(value: str) -> FxPolicy:
    return FxPolicy.parse(value)


def output_format(value: str) -> Format:
    result: Format = choice(value, FORMATS, "--format")
    return result


def knowledge(known_at: str | None, position: int | None, close: str | None = None) -> Knowledge:
    """What the query knows, from its flags."""
    return Knowledge(parse_known_at(known_at) if known_at else None, position, close)
