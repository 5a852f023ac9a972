"""The kinds of derived row, declared in ONE place: table, derivation, measures.

A measure is a sum over the rows of one kind that cover a day (`start <= day < end`), as
believed at a position: of their count, or of their exact value. To add a kind, derive
its rows from a customer's `Timeline` (`read_model_rows`), give it a `belief_table` and
a line below; maintenance, rebuild, snapshots and `measures` then cover it. A kind that
feeds no measure is only maintained (bitemporal rows, read by queries of their own). A quantity
summed over a period (bookings, movements) is a kind whose rows run to `OPEN_END`: its
measure on a day is then the running total up to that day, and a period's sum the
difference of two days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Table

from ledger.timeline import Timeline
from projections import read_model_flows as flows
from projections.read_model_rows import Row, customer_span_rows, fee_span_rows, segment_rows
from projections.read_model_tables import belief_table

Source = Literal["segments", "books"]
"""What of a customer's timeline a kind's rows depend on: its segments alone, or its
bookings and fees (and, when it has fees, its segments: they decide which booking owns a
fee, and on which days a fee counts)."""


def changed(before: Timeline | None, now: Timeline) -> set[Source]:
    """The sources whose rows may differ from one prefix of a history to the next: a
    price change leaves the bookings' rows as they were, a fee the movements'."""
    if before is None:
        return {"segments", "books"}
    found: set[Source] = set()
    if before.segments != now.segments:
        found.add("segments")
    fees = before.fees != now.fees or (bool(now.fees) and "segments" in found)
    if fees or before.bookings != now.bookings:
        found.add("books")
    return found


@dataclass(frozen=True)
class Kind:
    name: str
    table: Table
    derive: Callable[[Timeline], Iterable[Row]]
    count: str | None = None  # the measure fed by the number of covering rows
    value: str | None = None  # the measure fed by the sum of their values
    source: Source = "segments"  # what of the timeline its rows depend on (`changed`)

    @property
    def measured(self) -> bool:
        """Whether it feeds a measure: only then does it get snapshots."""
        return bool(self.count or self.value)


KINDS: tuple[Kind, ...] = (
    Kind(
        "segment",
        belief_table("arr_rm_segments"),
        segment_rows,
        count="active_contracts",
        value="mrr",
    ),
    Kind(
        "customer_span",
        belief_table("arr_rm_customer_spans"),
        customer_span_rows,
        count="active_customers",
    ),
    Kind("fee_span", belief_table("arr_rm_fee_spans"), fee_span_rows, value="fees", source="books"),
    # The flows of `movements` and `series` (`read_model_flows`): running totals over days
    *(
        Kind(name, belief_table(f"arr_rm_{name}"), flows.rows_of(name), value=name)
        for name in flows.MOVEMENTS
    ),
    Kind(
        "recurring_acv",
        belief_table("arr_rm_booking_acv"),
        flows.rows_of("recurring_acv"),
        count="bookings",
        value="bookings_recurring_acv",
        source="books",
    ),
    Kind(
        "including_fees_acv",
        belief_table("arr_rm_booking_acv_with_fees"),
        flows.rows_of("including_fees_acv"),
        value="bookings_including_fees_acv",
        source="books",
    ),
    Kind(
        "tcv",
        belief_table("arr_rm_booking_tcv"),
        flows.rows_of("tcv"),
        value="bookings_tcv",
        source="books",
    ),
    Kind(
        "fees",
        belief_table("arr_rm_one_time_fees"),
        flows.rows_of("fees"),
        value="one_time_fees",
        source="books",
    ),
    # Retention (`read_model_flows`): any period's from the pieces, a month's from its end
    Kind("pieces", belief_table("arr_rm_customer_mrr", bounded=True), flows.rows_of("pieces")),
    Kind(
        "month_kept", belief_table("arr_rm_month_kept"), flows.rows_of("month_kept"), value="kept"
    ),
    Kind(
        "month_lost", belief_table("arr_rm_month_lost"), flows.rows_of("month_lost"), value="lost"
    ),
    Kind(
        "month_churned",
        belief_table("arr_rm_month_churned"),
        flows.rows_of("month_churned"),
        count="churned",
        value="churned_mrr",
    ),
)
TABLES: dict[str, str] = {kind.name: kind.table.name for kind in KINDS}
REPORTED: tuple[Kind, ...] = KINDS[:3]
"""The kinds a `report` reads: the others feed `movements` and `series`."""
