"""The trailing 12 months' retention of the model's customers (SPEC §13), on any day:
from the year rows' measures (`flows.YEAR`), snapshot lookups whatever the ledger's
size."""

from __future__ import annotations

from sqlalchemy import Connection

from projections.figures.trailing import Windows
from projections.read_model.kinds import KINDS
from projections.read_model.report import measures

_YEAR = tuple(k for k in KINDS if k.name.startswith("year_"))


def add_model(conn: Connection, windows: Windows, position: int) -> None:
    """Adds the customers the model holds, as believed at `position`, to `windows`."""
    for i, found in enumerate(measures(conn, windows.ends, position, _YEAR)):
        windows.add_sums(
            i,
            found["start_12m"],
            int(found["opened_12m"]),
            found["kept_12m"],
            found["lost_12m"],
            int(found["churned_12m"]),
        )
