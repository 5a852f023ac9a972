"""Cohorts (SPEC §13) of the model's customers: over spans from a month's first day to a
month end, where every period end is a month end, from each cohort's changes at month
ends (`read_model_cohort_snapshots`), a few thousand rows whatever the number of
customers; over other spans, piece by piece."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date

from sqlalchemy import Connection

from ledger.domain.dates import months_end
from projections.figures.cohorts import CohortSums
from projections.read_model import netting
from projections.read_model.cohort_snapshots import changes
from projections.read_model.flows import cohort_key
from projections.read_model.sql import Raw


def add_model(conn: Connection, sums: CohortSums, position: int) -> None:
    """Adds the customers the model holds, as believed at `position`, to `sums`."""
    if not aligned(sums):
        for pieces in netting.customer_pieces(conn, position, sums.span[1]):
            sums.add_pieces(pieces)
        return
    _, found = changes(Raw(conn), position)
    low, high = cohort_key(sums.span[0]), cohort_key(sums.span[1])
    for (cohort, day), (total, count) in found.items():
        if low <= cohort <= high:
            first = date(int(cohort[:4]), int(cohort[5:]), 1)
            sums.add_change(first, bisect_left(sums.ends, day), total.value, count[0])


def aligned(sums: CohortSums) -> bool:
    """Whether the span runs from a month's first day to a month end."""
    start, end = sums.span
    return start.day == 1 and end == months_end(end)
