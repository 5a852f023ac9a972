"""`arr chart`: MRR, ARR, movements, the bridge, customers, ARPA, NRR/GRR (per period and
over 12 months), the quick ratio and the cohorts' heat map, as one HTML file; or a PNG of
MRR, ARR, the movements and the bridge."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from ledger.app.knowledge import Knowledge
from ledger.app.ledger import Ledger
from ledger.cli.movements import EveryOption, SeriesFrom, SeriesPeriod, To, days, every_option
from ledger.cli.options import (
    CloseOption,
    Db,
    Fx,
    KnownAt,
    Policy,
    Position,
    choice,
    fx_policy,
    knowledge,
    out,
    policy,
    run,
)
from ledger.cli.progress import working
from ledger.domain.errors import LedgerError, UsageError
from ledger.store.location import Location
from projections.figures.conversion import FxPolicy
from projections.figures.series import Every
from projections.render.page import page
from projections.render.png import write_png

commands = typer.Typer()

Output = Annotated[
    str,
    typer.Option(
        "--output", "-o", help="report.html (charts and figures) or chart.png.", metavar="FILE"
    ),
]


def kind_of(output: str) -> str:
    suffix = Path(output).suffix.lower().lstrip(".")
    kind: str = choice({"htm": "html"}.get(suffix, suffix), ("html", "png"), "--output suffix")
    return kind


COMPANIONS = ("", "-wal", "-journal", "-shm")
"""SQLite's own files beside a database: its write-ahead log, rollback journal, index."""


def _entry(path: Path) -> Path:
    """The file a replace swaps: the folder resolved, the name as given (a symlink itself)."""
    return path.absolute().parent.resolve() / path.name


def not_the_ledger(output: str, location: Location) -> None:
    """Refuses an output that is the ledger's own database file or one of its companions,
    by name or through a symlink."""
    if not location.is_sqlite or location.sqlite_path() in ("", ":memory:"):
        return
    database = Path(location.sqlite_path())
    names = (_entry(database), database.resolve())
    own = {Path(f"{name}{end}") for name in names for end in COMPANIONS}
    path = Path(output)
    if {_entry(path), path.resolve()} & own:
        raise UsageError(
            f"--output: {output!r} is a file of the ledger's own database ({location}); "
            "write the chart elsewhere"
        )


Cells = list[dict[str, Any]]


def cohort_every(every: Every) -> Every:
    """The cohorts' period for a chart's: a chart every day or week has them by month."""
    return every if every in ("month", "quarter", "year") else "month"


def cohort_cells(
    ledger: Ledger,
    span: tuple[date, date],
    every: Every,
    asked: Knowledge,
    seen: int,
    rates: FxPolicy,
) -> Cells:
    """The cohorts of the chart's range, as known where its series was (`seen`): nothing
    asked of what the ledger knew reads it at the series' position, so that an event
    recorded between the two reads is in neither."""
    unasked = asked.known_at is None and asked.close is None and asked.position is None
    found = ledger.cohorts(
        *span,
        cohort_every(every),
        known_at=asked.known_at,
        position=seen if unasked else asked.position,
        close=asked.close,
        fx=rates,
    )
    return [cell.as_json() for cell in found]


def write(
    path: Path,
    kind: str,
    rows: list[dict[str, Any]],
    start: date,
    every: Every,
    note: str,
    cells: Cells,
) -> None:
    try:
        with replacing(path) as file:
            if kind == "png":
                write_png(rows, start, every, note, file)
            else:
                html = page(rows, start, every, note, cells, cohort_every(every))
                file.write(html.encode("utf-8"))
    except OSError as exc:
        raise LedgerError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A new file in `path`'s folder that replaces `path` once written whole: a symlink at
    `path` is replaced itself, its target never written; a failure leaves `path` as it was."""
    temp, fd = _new_file(path)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _new_file(path: Path) -> tuple[Path, int]:
    """A file of our own beside `path` (O_EXCL: never an existing file or symlink), with
    the mode any new file gets (0o666 less the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return temp, os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


@commands.command(name="chart")
def chart_command(
    *,  # keyword-only, so that the required --output may follow the optional dates
    from_: SeriesFrom = None,
    to: To = None,
    period_: SeriesPeriod = None,
    output: Output,
    every: EveryOption = "month",
    db: Db = None,
    known_at: KnownAt = None,
    position: Position = None,
    close: CloseOption = None,
    acv_policy: Policy = "recurring",
    fx: Fx = "spot",
) -> None:
    """Chart MRR, ARR, movements, customers, ARPA, NRR/GRR and the quick ratio per period.

    Into one offline HTML file, self-contained (no network fetches): open it in any
    browser. It also draws NRR and GRR over the 12 months to each period end, and a heat
    map of the cohorts that started in the range (by --every; by month when that is day
    or week), as arr cohorts computes them. A PNG (MRR, ARR, movements and the last
    period's bridge) needs matplotlib: pip install 'arr-ledger[charts]'.

    \b
    --from is the first day counted and --to the last, as in arr series: --period 2024
    is the same as --from 2024-01-01 --to 2024-12-31.

    \b
    Example: arr chart --period 2024 --every month -o report.html
    """

    def action() -> None:
        (start, end), step = days(from_, to, period_), every_option(every, "--every")
        asked, chosen = knowledge(known_at, position, close), policy(acv_policy)
        rates = fx_policy(fx)
        with Ledger.open(db) as ledger:
            not_the_ledger(output, ledger.store.location)
            kind = kind_of(output)
            with working(f"computing every {step} to {end}"):
                found = ledger.series(
                    start,
                    end,
                    step,
                    acv_policy=chosen,
                    known_at=asked.known_at,
                    position=asked.position,
                    close=asked.close,
                    fx=rates,
                )
            cells: Cells = []
            if kind == "html":
                at = found[-1].report.position
                with working(f"computing the cohorts by {cohort_every(step)} to {end}"):
                    cells = cohort_cells(ledger, (start, end), step, asked, at, rates)
        rows = [r.as_json() for r in found]
        write(Path(output), kind, rows, start, step, asked.describe(), cells)
        note = f"wrote {output}: {len(rows)} periods, every {step}"
        out.print(note, soft_wrap=True, markup=False, highlight=False)

    run(action)
