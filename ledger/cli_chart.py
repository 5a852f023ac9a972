"""`arr chart`: ARR, MRR movements and NRR/GRR over time, as one HTML file or a PNG."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.application import Ledger
from ledger.cli import Db, KnownAt, Policy, Position, app, choice, knowledge, out, policy, run
from ledger.cli_movements import EveryOption, To, every_option, period
from ledger.errors import LedgerError
from ledger.progress import working
from projections.chart_page import page
from projections.chart_png import write_png

From = Annotated[
    str,
    typer.Option("--from", help="First day YYYY-MM-DD: rows at every period end from it on."),
]
Output = Annotated[
    str, typer.Option("--output", "-o", help="report.html (charts and figures) or chart.png.")
]


def knowledge_note(asked: dict[str, Any]) -> str:
    if asked["position"] is not None:
        return f"as known at position {asked['position']}"
    if asked["known_at"] is not None:
        return f"as known at {asked['known_at'].isoformat()}"
    return "as known now"


def kind_of(output: str) -> str:
    suffix = Path(output).suffix.lower().lstrip(".")
    kind: str = choice({"htm": "html"}.get(suffix, suffix), ("html", "png"), "--output suffix")
    return kind


def write(
    path: Path, kind: str, rows: list[dict[str, Any]], start: date, every: str, note: str
) -> None:
    try:
        if kind == "png":
            write_png(rows, every, path)
        else:
            path.write_text(page(rows, start, every, note), encoding="utf-8")
    except OSError as exc:
        raise LedgerError(f"cannot write {path}: {exc.strerror or exc}") from None


@app.command(name="chart")
def chart_command(
    from_: From,
    to: To,
    output: Output,
    every: EveryOption = "month",
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    acv_policy: Policy = "recurring",
) -> None:
    """Chart ARR, MRR movements and NRR/GRR per period into one offline HTML file or a PNG.

    The HTML file is self-contained (no network fetches): open it in any browser. A PNG
    (ARR and movements) needs matplotlib: pip install 'arr-ledger[charts]'.

    \b
    Example: arr chart --from 2024-01-01 --to 2024-12-31 --every month -o report.html
    """

    def action() -> None:
        (start, end), step = period(from_, to), every_option(every, "--every")
        kind, asked = kind_of(output), knowledge(known_at, position)
        with Ledger.open(db) as ledger, working(f"computing every {step} to {end}"):
            found = ledger.series(start, end, step, acv_policy=policy(acv_policy), **asked)
        rows = [r.as_json() for r in found]
        write(Path(output), kind, rows, start, step, knowledge_note(asked))
        note = f"wrote {output}: {len(rows)} periods, every {step}"
        out.print(note, soft_wrap=True, markup=False, highlight=False)

    run(action)
