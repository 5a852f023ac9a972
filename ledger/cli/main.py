"""The `arr` command: a thin shell over the ledger and its figures (its contract: docs/commands.md).

Each command group lives in its own module, with its own `typer.Typer`, added here."""

from __future__ import annotations

import os
import sys

import typer

from ledger.cli import audit, chart, demo, movements, projections, record, report
from ledger.cli.options import err, say

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
for group in (record, report, movements, chart, audit, projections, demo):
    app.add_typer(group.commands)


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
