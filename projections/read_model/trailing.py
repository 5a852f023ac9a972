"""The trailing 12 months' retention of the model's customers (SPEC §13): at month ends
from the year rows' measures (`flows.YEAR`), snapshot lookups whatever the ledger's
size; at any other day from the MRR pieces covering it (or one pass over them all, for
many such days)."""

from __future__ import annotations

from sqlalchemy import Connection

from ledger.domain.dates import months_end
from projections.figures.trailing import Windows
from projections.read_model import netting
from projections.read_model.kinds import KINDS
from projections.read_model.report import measures

_YEAR = tuple(k for k in KINDS if k.name.startswith("year_"))


ODD_DAYS = 16
"""Up to this many days that are not month ends are read as the pieces covering them;
more, as one pass over every piece."""


def add_model(conn: Connection, windows: Windows, position: int) -> None:
    """Adds the customers the model holds, as believed at `position`, to `windows`: those
    ending at month ends from the year rows, the others from the MRR pieces."""
    ends = windows.ends
    months = [i for i, day in enumerate(ends) if day == months_end(day)]
    found = measures(conn, [ends[i] for i in months], position, _YEAR) if months else []
    for i, sums in zip(months, found, strict=True):
        windows.add_sums(
            i,
            sums["start_12m"],
            int(sums["opened_12m"]),
            sums["kept_12m"],
            sums["lost_12m"],
            int(sums["churned_12m"]),
        )
    others = [i for i, day in enumerate(ends) if day != months_end(day)]
    if others:
        _add_odd(conn, windows, others, position)


def _add_odd(conn: Connection, windows: Windows, others: list[int], position: int) -> None:
    """The windows `others` (not ending at month ends), from the pieces covering their
    days (all the pieces, when they are many)."""
    odd = Windows([windows.starts[i] for i in others], [windows.ends[i] for i in others])
    if len(odd.days) <= ODD_DAYS:
        pieces = netting.pieces_covering(conn, position, odd.days)
    else:
        pieces = netting.customer_pieces(conn, position, max(odd.ends))
    for found in pieces:
        odd.add_pieces(found)
    odd.settle()
    for n, i in enumerate(others):
        windows.add_sums(
            i,
            odd.start[n].value,
            odd.active[n],
            odd.kept[n].value,
            odd.lost[n].value,
            odd.churned[n],
        )
