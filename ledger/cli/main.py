"""The `arr` command: a thin shell over the ledger and its figures (its contract: docs/commands.md).

Each command group lives in its own module, with its own `typer.Typer`, added here."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from typing import Annotated

import typer

from ledger.cli import (
    audit,
    chart,
    closes,
    cohorts,
    demo,
    fields,
    movements,
    projections,
    record,
    report,
)
from ledger.cli.options import err, out, say

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for group in (record, fields, report, movements, cohorts, chart, closes, audit, projections, demo):
    app.add_typer(group.commands)


def _version(asked: bool) -> None:
    if asked:
        out.print(f"arr {version('arr-ledger')}", highlight=False)
        raise typer.Exit()


@app.callback()
def arr(
    shown: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """arr-ledger: an event-sourced ledger of subscription revenue. MRR, ARR, ACV,
    movements and retention as of any date, as the ledger knew them at any moment.

    Start with `arr demo`, which builds a sample ledger and prints what to try next;
    `arr fields` lists what an event may hold, `arr template` prints a CSV to fill in.

    Example: arr init && arr import events.csv && arr report --as-of 2024-06-30
    """


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
        say(
            f"error: unexpected {type(exc).__name__}: {reason} "
            "(a bug in arr: rerun with ARR_DEBUG=1 for the traceback and report it)"
        )
        sys.exit(1)
