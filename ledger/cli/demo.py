"""`arr demo`: a sample ledger in a temporary folder, what a finance team asks of it, and
the commands to try next.

The sample is history (`arr import --historical`): each month's events were recorded at
its close, on the 3rd of the next month, up to November's close on 2024-12-03; then on
2024-12-10 a late churn (for non-payment) arrived, backdated into November; then the
months after. So `--known-at` answers what was known then, and November's figures as
closed differ from those known a week later. A fifth of its customers bill in EUR or GBP,
converted at a rate recorded every day; four more show 2024's trials, a pause and a
discount, each event with its reason. The demo shows the report and its parts by
currency, the last 12 months of movements (`fx` is what the rates moved), the trials,
pauses and discounts month by month, churn and contraction by reason, and how November's
figures were restated when the late event arrived.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ledger.app.ledger import Ledger
from ledger.app.sample import (
    LIFECYCLE_CUSTOMERS,
    lifecycle_events,
    month_close,
    sample_history,
)
from ledger.cli.movements import REASON_TABLE, SERIES_TABLE
from ledger.cli.options import out, run
from ledger.cli.progress import tracked
from ledger.domain.errors import LedgerError, Refused, UsageError
from ledger.domain.text import inert
from projections.render.text import figures, grouped, show, table

SAMPLE_START = date(2021, 1, 1)
SAMPLE_YEARS = 4
AS_OF = date(2024, 12, 31)
YEAR_START = date(2024, 1, 1)
LATE_CHURN = date(2024, 11, 1)
RESTATED = date(2024, 11, 30)
CLOSE = month_close(RESTATED)
"""When November's books were closed: 2024-12-03 09:00 UTC."""
LATE_RECORDED = datetime(2024, 12, 10, 9, tzinfo=UTC)
"""When the late churn arrived, a week after the close."""
BOARD = date(2024, 6, 30), date(2024, 7, 3)
"""What we told the board on 3 July: the figures as of June 30, as known then."""
PYTHON_DATE = "%Y, %-m, %-d"  # date(2024, 1, 1)
RESTATED_FIGURES = ("mrr", "arr", "active_customers", "active_contracts", "arpa")
FOREIGN = 0.2
"""The share of the sample's customers that bill in EUR or GBP."""
LIFECYCLE_TABLE = (
    "as_of",
    "trials_started",
    "trials_converted",
    "trialing_contracts",
    "paused_customers",
    "discounts",
)
"""SPEC §11's figures of each month end (paused and resumed are in the movements)."""
LIFECYCLE = (
    "northwind's trial converts, globex's expires, initech pauses for the summer "
    "and umbrella gets 20% off for 3 months"
)
"""What the sample's `lifecycle_events` show."""


def run_demo(console: Console, customers: int, folder: str | None) -> str:
    """Builds the sample ledger, prints what it shows; returns its URL."""
    where = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="arr-demo-"))
    where.mkdir(parents=True, exist_ok=True)
    if (where / "demo.db").exists():
        raise UsageError(f"--folder: {where} already holds a demo ledger; name an empty folder")
    url = f"sqlite:///{where / 'demo.db'}"
    with Ledger.init(url) as ledger:
        count, late = record_sample(ledger, customers)
        say(console, f"Built a sample ledger at {url}")
        say(console, f"  {customers} customers, {count} events from {SAMPLE_START} to {AS_OF}")
        say(console, "  (a fifth of the customers bill in EUR or GBP: a rate of each every day),")
        say(
            console,
            f"  and {len(LIFECYCLE_CUSTOMERS)} more customers in 2024, each event with a reason:",
        )
        say(console, f"  {LIFECYCLE};")
        say(console, "  each month recorded at its close, on the 3rd of the next month (history);")
        say(
            console,
            f"  then a churn for {late}, backdated to {LATE_CHURN}, arrived late: "
            f"on {LATE_RECORDED.date()}, after November's close on {CLOSE.date()}.\n",
        )
        show_report(console, ledger)
        rows = show_movements(console, ledger)
        show_lifecycle(console, ledger, rows)
        show_reasons(console, ledger)
        show_restatement(console, ledger)
    show_next(console, url)
    if not folder:
        say(console, f"\nThe sample stays in {where} for the commands above; remove it with:")
        say(console, f"  rm -r {where}")
    return url


def say(console: Console, text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def record_sample(ledger: Ledger, customers: int) -> tuple[int, str]:
    """Records the sample as history in three sittings: up to November's close, the late
    churn, the months after. How many events, and whose contract churned late."""
    more = lifecycle_events()
    rows = sample_history(customers, SAMPLE_YEARS, 7, SAMPLE_START, FOREIGN, more)
    closed = sum(1 for row in rows if datetime.fromisoformat(row["recorded_at"]) <= CLOSE)
    known, later = rows[:closed], rows[closed:]
    count = record_history(ledger, known, "recording the sample up to November's close")
    late = record_late_churn(ledger, {row.get("customer_id", "") for row in later})
    count += record_history(ledger, later, "recording the months after")
    return count, late


def record_history(ledger: Ledger, rows: list[dict[str, str]], doing: str) -> int:
    from ledger.intake.rows import Row

    located = (Row(f"sample:{row['event_id']}", row) for row in rows)
    result = ledger.import_rows(tracked(located, doing, total=len(rows)), historical=True)
    return result.appended + result.skipped


def record_late_churn(ledger: Ledger, busy: set[str]) -> str:
    """Churns the largest contract that can still end on LATE_CHURN, of a customer not
    `busy` (with events recorded after the churn, which could contradict it); the
    customer's id."""
    from ledger.intake.rows import Row

    book = ledger.book()
    candidates = sorted(
        (
            (contract.mrr_on(LATE_CHURN), account.customer_id, contract.subscription_id)
            for account in book.accounts
            if account.customer_id not in busy
            for contract in account.contracts
            if contract.active_on(LATE_CHURN) and contract.active_on(AS_OF)
        ),
        reverse=True,
    )
    for _mrr, customer, subscription in candidates:
        churn = {
            "event_id": "late-churn",
            "type": "churn",
            "customer_id": customer,
            "subscription_id": subscription,
            "effective_date": LATE_CHURN.isoformat(),
            "reason": "non_payment",
            "note": "card declined since October; recorded after the close",
            "recorded_at": LATE_RECORDED.isoformat(),
        }
        try:
            ledger.import_rows([Row("late churn", churn)], historical=True)
        except Refused:
            continue  # a later change of that contract would contradict the churn
        return customer
    raise LedgerError("the sample is too small to have a contract to churn: add --customers")


def show_report(console: Console, ledger: Ledger) -> None:
    shown = ledger.report(AS_OF).as_json()
    show(console, figures(f"Report as of {AS_OF}", shown, shown["currency"]))
    lines = [line.as_json() for line in ledger.by_currency(AS_OF)]
    parts = [{k: line[k] for k in ("currency", "local_mrr", "rate", "mrr")} for line in lines]
    show(console, table(f"MRR by currency, at the rate of {AS_OF} ({ledger.currency})", parts))


def show_movements(console: Console, ledger: Ledger) -> list[dict[str, Any]]:
    """The last 12 months of movements; their series rows."""
    rows = [r.as_json() for r in ledger.series(YEAR_START, AS_OF, "month")]
    headline = [{k: r[k] for k in SERIES_TABLE} for r in rows]
    show(console, table(f"MRR movements, last 12 months ({ledger.currency})", headline))
    return rows


def show_lifecycle(console: Console, ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    """Trials, pauses and discounts at each month end of the series `rows`."""
    lines = [{k: r[k] for k in LIFECYCLE_TABLE} for r in rows]
    show(console, table(f"Trials, pauses and discounts, last 12 months ({ledger.currency})", lines))


def show_reasons(console: Console, ledger: Ledger) -> None:
    """The last 12 months' churn and contraction by the reason of the events behind them."""
    lines = [line.as_json() for line in ledger.by_reason(YEAR_START - timedelta(days=1), AS_OF)]
    parts = [{k: line[k] for k in REASON_TABLE} for line in lines]
    say(console, "Why MRR was lost in the last 12 months (a lapse is a term not renewed):")
    show(console, table(f"Churn and contraction by reason ({ledger.currency})", parts))


def show_restatement(console: Console, ledger: Ledger) -> None:
    """November's figures as closed, and as known once the late churn arrived."""
    found = ledger.restatement(RESTATED, CLOSE, LATE_RECORDED).as_json()
    rows: list[dict[str, Any]] = [
        {"figure": key, **found["figures"][key]} for key in RESTATED_FIGURES
    ]
    say(
        console,
        f"How the late churn restated the figures as of {RESTATED}, known at November's "
        f"close ({CLOSE.isoformat()}) and once it arrived:",
    )
    title = f"As of {RESTATED}: known at the close → on {LATE_RECORDED.date()} ({ledger.currency})"
    show(console, table(title, rows))
    for cause in found["events"]:
        say(
            console,
            f"  caused by {cause['type']} {cause['event_id']} of {cause['customer_id']}, "
            f"effective {cause['effective_date']}, recorded at {cause['recorded_at']} "
            f"(position {cause['position']}): MRR effect "
            f"{grouped(cause['mrr_effect'])} {ledger.currency}{why(cause)}",
        )
    say(console, "")


def why(event: dict[str, Any]) -> str:
    """An event's reason and note, as the audit log shows them: `, why: price: a note`."""
    said = ": ".join(part for part in (event.get("reason"), event.get("note")) if part)
    return f", why: {inert(said)}" if said else ""


def show_next(console: Console, url: str) -> None:
    (as_of, board), db = BOARD, f"--db {url}"
    closed, late = CLOSE.date(), LATE_RECORDED.date()
    say(console, "Try next, against the sample:")
    for command, why in (
        (f"report {db} --as-of {as_of} --known-at {board}", "what we told the board on 3 July"),
        (f"report {db} --as-of {RESTATED} --known-at {closed}", "November, as closed"),
        (f"report {db} --as-of {RESTATED} --known-at {late}", "restated by the late churn"),
        (f"restatement {db} --as-of {RESTATED} --known-at {closed}", "what changed since"),
        (f"report {db} --as-of {AS_OF} --fx booked --by currency", ""),
        (f"movements {db} --from 2023-12-31 --to {AS_OF} --by customer", ""),
        (f"series {db} --from {YEAR_START} --to {AS_OF} --every month --format csv", ""),
        (f"chart {db} --from 2022-01-01 --to {AS_OF} --every month -o report.html", ""),
        (f"audit verify {db}", ""),
    ):
        say(console, f"  arr {command}" + (f"    # {why}" if why else ""))
    say(
        console,
        "In Python (a notebook), as pydantic models and pandas DataFrames "
        "(those need pip install 'arr-ledger[notebook]'):",
    )
    for line in (
        "from datetime import date",
        "from ledger import Ledger",
        f'ledger = Ledger.open("{url}")',
        f'ledger.series(date({YEAR_START:{PYTHON_DATE}}), date({AS_OF:{PYTHON_DATE}}), "month")'
        ".to_pandas()",
    ):
        say(console, f"  >>> {line}")


commands = typer.Typer()


@commands.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many sample customers.", metavar="N")] = 300,
    folder: Annotated[
        str | None,
        typer.Option(help="Where to build it (default: a new temporary folder).", metavar="FOLDER"),
    ] = None,
) -> None:
    """Build a sample ledger in a temporary folder and show what it answers: start here.

    The sample: a few hundred customers over 2021-2024, four more with 2024's trials, a
    pause and a discount, then a churn that arrives late, backdated. Prints the report,
    the last 12 months of movements, trials, pauses and discounts, churn and contraction
    by reason, how the late churn restated November's figures, and the commands to try
    next against the sample.

    Example: arr demo
    """

    def action() -> None:
        run_demo(out, customers, folder)

    run(action)
