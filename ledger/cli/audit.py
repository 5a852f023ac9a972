"""`arr audit verify|checkpoint|log` and `arr restatement`: the auditor's commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import JustifyMethod

from ledger.app.ledger import Ledger
from ledger.cli.options import (
    AsOf,
    Db,
    FormatOption,
    Fx,
    Policy,
    fx_policy,
    out,
    output_format,
    policy,
    run,
)
from ledger.cli.parse import parse_day, parse_known_at
from ledger.domain.errors import LedgerError, UsageError
from ledger.domain.text import inert
from ledger.store.chain import Checkpoint
from projections.figures.customer_log import months_name
from projections.render.text import emit, grouped, label, show, table

audit_app = typer.Typer(
    help="Tamper evidence and per-customer history.", no_args_is_help=True, rich_markup_mode=None
)
commands = typer.Typer()
commands.add_typer(audit_app, name="audit")


class VerifyFailed(LedgerError):
    """A failed check: every finding is already printed; exit 1."""


@audit_app.command()
def verify(
    db: Db = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="DIGEST@POSITION from `arr audit checkpoint`: prove history "
            "up to it is unchanged.",
            metavar="DIGEST@POSITION",
        ),
    ] = None,
    read_model: Annotated[
        bool,
        typer.Option(
            "--read-model/--events-only",
            help="Also derive the read model again from the events and compare (default).",
        ),
    ] = True,
) -> None:
    """Re-read the whole store: report every altered, removed or inserted event, settings
    or subscription owner changed behind the ledger's back, and every read-model row that
    the events do not imply (exit 1).

    Example: arr audit verify --checkpoint 3f5c...e1@1042
    """

    def action() -> None:
        point = _checkpoint(checkpoint) if checkpoint else None
        with Ledger.open(db) as ledger:
            result = ledger.verify(point, read_model=read_model)
        for finding in result.findings:
            print(inert(str(finding)))
        print(result.summary())
        if not result.ok:
            raise typer.Exit(1)

    run(action)


def _checkpoint(text: str) -> Checkpoint:
    try:
        return Checkpoint.parse(text)
    except ValueError as exc:
        raise UsageError(f"--checkpoint: {exc}") from None


@audit_app.command(name="checkpoint")
def checkpoint_(db: Db = None) -> None:
    """Print the ledger's head as DIGEST@POSITION, to keep outside the database.

    Example: arr audit checkpoint > checkpoint.txt
    """

    def action() -> None:
        with Ledger.open(db) as ledger:
            print(ledger.checkpoint())

    run(action)


@audit_app.command()
def log(
    customer: Annotated[str, typer.Option("--customer", help="The customer id.", metavar="ID")],
    db: Db = None,
    format: FormatOption = "table",
) -> None:
    """One customer's events in recording order with both clocks, voids shown, and its MRR
    after each event or lapse of a term in effective order.

    Example: arr audit log --customer acme
    """

    def action() -> None:
        fmt = output_format(format)
        with Ledger.open(db) as ledger:
            found = ledger.customer_log(customer)
        if fmt == "json":
            emit(out, fmt, "", found.as_json())
            return
        if fmt == "csv":
            emit(out, fmt, "", found.csv_rows())
            return
        head = f"as known at position {found.position} (head), amounts in {found.currency}"
        print(inert(f"Audit log of {customer} {head}"))
        print()
        _table(f"History of {customer} (recording order)", _compact(found.events()))
        _table(
            f"MRR of {customer} after each event or lapse (effective order)",
            _steps(found.steps()),
        )

    run(action)


JUSTIFY: dict[str, JustifyMethod] = {
    "recorded_position": "right",
    "amount": "right",
    "interval": "left",
    "term": "left",
}
"""Columns the renderer cannot tell numbers or words by their cells (strings, or none)."""


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    """A people's table, numbers right-aligned and words left-aligned."""
    grid = table(title, rows)
    justify = {label(key): side for key, side in JUSTIFY.items()}
    for column in grid.columns:
        column.justify = justify.get(str(column.header), column.justify)
    show(out, grid)


def _compact(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A table a person can read: a void's target and a voided event's void in one column,
    amounts with thousands separators, terms in months; why, when any event says."""
    rows = _rows(events)
    if any(e["reason"] or e["note"] for e in events):
        for shown, e in zip(rows, events, strict=True):
            shown["why"] = ": ".join(part for part in (e["reason"], e["note"]) if part) or None
    return rows


def _rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "recorded_position": _position(e["position"]),
            "recorded_at": _moment(e["recorded_at"]),
            "event_id": e["event_id"],
            "type": e["type"],
            "effective_date": e["effective_date"],
            "subscription_id": e["subscription_id"],
            "amount": grouped(e["amount"]) if e["amount"] is not None else None,
            "interval": e["interval"],
            "term": months_name(e["term_months"]) if e["term_months"] else None,
            "status": _status(e),
        }
        for e in events
    ]


def _steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The MRR steps for people: a lapse says whose term ended."""
    return [
        {
            "effective_date": s["effective_date"],
            "recorded_position": _position(s["position"]),
            "event_id": s["event_id"],
            "type": s["type"] if s["event_id"] else f"lapsed: term of {s['subscription_id']} ended",
            "mrr": s["mrr"],
        }
        for s in steps
    ]


def _position(position: int | None) -> str | None:
    """An event's own position, as is (an identifier, no separators). Not `position`:
    a table says once, under it, a position every row shares: the one it was computed at."""
    return str(position) if position is not None else None


def _moment(stamp: str) -> str:
    """A recorded time to the second, for people; JSON and CSV keep the microseconds."""
    return stamp[:19].replace("T", " ")


def _status(event: dict[str, Any]) -> str:
    if event["voided_by"]:
        return f"voided by {event['voided_by']} at {_moment(event['voided_at'])}"
    if event["target_event_id"]:
        return f"voids {event['target_event_id']}"
    return "live"


NOT_QUANTITIES = {"as_of", "currency", "acv_policy", "fx_policy", "from", "to"}
"""Figures that are the same before and after: said in the title, not in the table."""

KnownAt1 = Annotated[
    str,
    typer.Option(
        "--known-at",
        help="The first state of knowledge: timestamp with offset, or date.",
        metavar="TIME",
    ),
]
KnownAt2 = Annotated[
    str | None,
    typer.Option(
        "--known-at-2", help="The second state of knowledge (default: now).", metavar="TIME"
    ),
]
From = Annotated[
    str | None,
    typer.Option("--from", help="Also restate movements over (FROM, AS-OF].", metavar="DATE"),
]


@commands.command()
def restatement(
    as_of: AsOf,
    known_at: KnownAt1,
    db: Db = None,
    known_at_2: KnownAt2 = None,
    start: From = None,
    acv_policy: Policy = "recurring",
    fx: Fx = "spot",
    format: FormatOption = "table",
) -> None:
    """How the figures for a date changed between two states of knowledge, and the events
    recorded in between that changed them (their MRR effects add up to the change).

    Example: arr restatement --as-of 2024-02-15 --known-at 2024-03-01
    """

    def action() -> None:
        fmt, day = output_format(format), parse_day(as_of)
        first = parse_known_at(known_at)
        second = parse_known_at(known_at_2, "--known-at-2") if known_at_2 else None
        since = parse_day(start, "--from") if start else None
        with Ledger.open(db) as ledger:
            found = ledger.restatement(day, first, second, since, policy(acv_policy), fx_policy(fx))
        shown = found.as_json()
        if fmt == "json":
            emit(out, fmt, "", shown)
            return
        if fmt == "csv":
            emit(out, fmt, "", found.csv_rows())
            return
        rows = [
            {"figure": key, **values}
            for key, values in shown["figures"].items()
            if key not in NOT_QUANTITIES
        ]
        title = f"Restatement as of {day}: known at {shown['known_at']} → {shown['known_at_2']}"
        emit(out, fmt, title, rows)
        said = any(e["reason"] or e["note"] for e in shown["events"])
        left = ("position", "mrr_effect", "reason", "note")
        causes = [
            {k: v for k, v in e.items() if k not in left}
            | {"recorded_position": _position(e["position"]), "mrr_effect": e["mrr_effect"]}
            | ({"why": ": ".join(p for p in (e["reason"], e["note"]) if p) or None} if said else {})
            for e in shown["events"]
        ]
        _table("Events recorded in between that caused it", causes)

    run(action)
