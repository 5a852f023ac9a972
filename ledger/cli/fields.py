"""`arr fields` and `arr template`: what an event may hold, and a CSV to fill in."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.options import FormatOption, choice, out, output_format, run
from ledger.domain.events import EVENT_TYPES
from projections.render.text import as_csv, emit

commands = typer.Typer()

EXAMPLES = (
    {"event_id": "e1", "type": "new", "customer_id": "acme", "subscription_id": "s1"}
    | {"effective_date": "2024-01-01", "amount": "1000", "interval": "month", "plan": "pro"},
    {"event_id": "e2", "type": "new", "customer_id": "bolt", "subscription_id": "s2"}
    | {"effective_date": "2024-01-01", "amount": "12000", "interval": "year", "term_months": "12"},
    {"event_id": "e3", "type": "one_time_fee", "customer_id": "bolt", "subscription_id": "s2"}
    | {"effective_date": "2024-01-15", "amount": "5000", "description": "implementation"},
    {"event_id": "e4", "type": "upgrade", "customer_id": "acme", "subscription_id": "s1"}
    | {"effective_date": "2024-03-01", "amount": "1500"},
    {"event_id": "e5", "type": "downgrade", "customer_id": "acme", "subscription_id": "s1"}
    | {"effective_date": "2024-06-01", "amount": "1200"},
    {"event_id": "e6", "type": "renewal", "customer_id": "bolt", "subscription_id": "s2"}
    | {"effective_date": "2025-01-01", "term_months": "12"},
    {"event_id": "e7", "type": "churn", "customer_id": "acme", "subscription_id": "s1"}
    | {"effective_date": "2024-09-01", "reason": "price", "note": "moved to a cheaper tool"},
    {"event_id": "e8", "type": "void", "customer_id": "acme", "target_event_id": "e5"},
    {"event_id": "e9", "type": "trial", "customer_id": "cove", "subscription_id": "s3"}
    | {"effective_date": "2024-02-01", "trial_end": "2024-02-15"},
    {"event_id": "e10", "type": "new", "customer_id": "cove", "subscription_id": "s3"}
    | {"effective_date": "2024-02-10", "amount": "300"},
    {"event_id": "e11", "type": "discount", "customer_id": "cove", "subscription_id": "s3"}
    | {"effective_date": "2024-02-10", "percent_off": "20", "duration_months": "3"},
    {"event_id": "e12", "type": "pause", "customer_id": "cove", "subscription_id": "s3"}
    | {"effective_date": "2024-07-01", "reason": "seasonal"},
    {"event_id": "e13", "type": "resume", "customer_id": "cove", "subscription_id": "s3"}
    | {"effective_date": "2024-09-01"},
)
"""One event of each type, a history `arr import` takes as it is."""


@commands.command(name="fields")
def fields_command(
    kind: Annotated[
        str | None,
        typer.Argument(help=f"One event type: {', '.join(EVENT_TYPES)}.", metavar="TYPE"),
    ] = None,
    format: FormatOption = "table",
) -> None:
    """List every field of every event type (or of TYPE), required or not, and what it takes.

    Example: arr fields renewal
    """

    def action() -> None:
        from ledger.intake.fields import FIELD_RULES, fields_of  # pydantic: only when asked

        kinds = [choice(kind, EVENT_TYPES, "TYPE")] if kind else list(EVENT_TYPES)
        rows = [
            {"type": k, "field": name, "required": "yes" if needed else "no"}
            | {"takes": FIELD_RULES[name]}
            for k in kinds
            for name, needed in fields_of(k)
        ]
        emit(out, output_format(format), "Event fields", rows)

    run(action)


@commands.command()
def template() -> None:
    """Print a CSV file to fill in: a header naming every field, one example of each type.

    Every row is valid as it stands: `arr template > events.csv && arr import events.csv`.
    An empty cell is an absent field.

    Example: arr template > events.csv
    """
    from ledger.intake.fields import FIELD_ORDER

    rows = [{name: example.get(name, "") for name in FIELD_ORDER} for example in EXAMPLES]
    out.print(as_csv(rows), end="", highlight=False, markup=False, soft_wrap=True)
