"""The kinds of derived row, declared in ONE place: table, derivation, source, measures.

A measure is a sum over the rows of one kind that cover a day (`start <= day < end`), as
believed at a position: of their count, or of their exact value. To add a kind, derive
its rows from a customer's `Timeline` (`read_model_rows`), give it a `belief_table`, the
part of the timeline it depends on (its `Source`) and a line below; maintenance,
rebuild, snapshots and `measures` then cover it. A kind that feeds no measure is only
maintained (bitemporal rows, read by queries of their own). A quantity
summed over a period (bookings, movements) is a kind whose rows run to `OPEN_END`: its
measure on a day is then the running total up to that day, and a period's sum the
difference of two days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Table

from ledger.domain.timeline import Timeline
from projections.read_model import flows
from projections.read_model.rows import (
    Derived,
    Source,
    customer_span_rows,
    fee_span_rows,
    foreign_rows,
    rate_rows,
    segment_rows,
    unit_fee_span_rows,
    unit_segment_rows,
)
from projections.read_model.tables import belief_table
from projections.read_model.unit_flows import unit_booking_rows, unit_fee_rows, unit_move_rows


@dataclass(frozen=True)
class RowKind:
    name: str
    table: Table
    derive: Callable[[Timeline], Iterable[Derived]]
    count: str | None = None  # the measure fed by the number of covering rows
    value: str | None = None  # the measure fed by the sum of their values
    source: Source = "segments"  # what of the timeline its rows depend on (`changed`)
    foreign: bool = False  # whether its rows are those of foreign customers, or of the others

    @property
    def measured(self) -> bool:
        """Whether it feeds a measure: only then does it get snapshots."""
        return bool(self.count or self.value)


def _flow(
    name: str, table: str, count: str | None = None, value: str | None = None, bounded: bool = False
) -> RowKind:
    """A flow kind (`read_model_flows`): derived again only when what it is made from
    changed."""
    rows = flows.rows_of(name)
    return RowKind(
        name, belief_table(table, bounded=bounded), rows, count, value, flows.source_of(name)
    )


KINDS: tuple[RowKind, ...] = (
    RowKind(
        "segment",
        belief_table("arr_rm_segments"),
        segment_rows,
        count="active_contracts",
        value="mrr",
    ),
    RowKind(
        "customer_span",
        belief_table("arr_rm_customer_spans"),
        customer_span_rows,
        count="active_customers",
    ),
    RowKind(
        "fee_span", belief_table("arr_rm_fee_spans"), fee_span_rows, value="fees", source="books"
    ),
    # The flows of `movements` and `series` (`read_model_flows`): running totals over days
    *(_flow(name, f"arr_rm_{name}", value=name) for name in flows.MOVEMENTS),
    _flow("recurring_acv", "arr_rm_booking_acv", count="bookings", value="bookings_recurring_acv"),
    _flow(
        "including_fees_acv", "arr_rm_booking_acv_with_fees", value="bookings_including_fees_acv"
    ),
    _flow("tcv", "arr_rm_booking_tcv", value="bookings_tcv"),
    _flow("fees", "arr_rm_one_time_fees", value="one_time_fees"),
    # Retention (`read_model_flows`): any period's from the pieces, a month's from its end
    _flow("pieces", "arr_rm_customer_mrr", bounded=True),
    _flow("month_kept", "arr_rm_month_kept", value="kept"),
    _flow("month_lost", "arr_rm_month_lost", value="lost"),
    _flow("month_churned", "arr_rm_month_churned", count="churned", value="churned_mrr"),
    # and the trailing 12 months' at each month end (SPEC §13)
    _flow("year_opened", "arr_rm_year_opened", count="opened_12m", value="start_12m"),
    _flow("year_kept", "arr_rm_year_kept", value="kept_12m"),
    _flow("year_lost", "arr_rm_year_lost", value="lost_12m"),
    _flow("year_churned", "arr_rm_year_churned", count="churned_12m"),
    # Movements netted by month (SPEC §13), on month ends
    *(_flow(name, f"arr_rm_{name}", value=name) for name in flows.NETTED),
    # The customers with anything in another currency (`foreign`): their rows in their
    # own currencies, by unit, which a report converts (`read_model_foreign`)
    RowKind("foreign", belief_table("arr_rm_foreign"), foreign_rows, foreign=True),
    RowKind("unit_segment", belief_table("arr_rm_unit_segments"), unit_segment_rows, foreign=True),
    RowKind(
        "unit_customer_span",
        belief_table("arr_rm_unit_customer_spans"),
        customer_span_rows,
        foreign=True,
    ),
    RowKind(
        "unit_fee_span",
        belief_table("arr_rm_unit_fee_spans"),
        unit_fee_span_rows,
        source="books",
        foreign=True,
    ),
    # and their flows, for movements and series (`read_model_unit_flows`)
    RowKind("unit_move", belief_table("arr_rm_unit_moves"), unit_move_rows, foreign=True),
    RowKind(
        "unit_booking",
        belief_table("arr_rm_unit_bookings"),
        unit_booking_rows,
        source="books",
        foreign=True,
    ),
    RowKind(
        "unit_fee", belief_table("arr_rm_unit_fees"), unit_fee_rows, source="books", foreign=True
    ),
    # The rates' stream's live rates (`RATES`): a converting query reads those believed
    # at its position instead of decoding every rate event
    RowKind("rate", belief_table("arr_rm_rates"), rate_rows, source="rates"),
)
TABLES: dict[str, str] = {kind.name: kind.table.name for kind in KINDS}
REPORTED: tuple[RowKind, ...] = KINDS[:3]
"""The kinds a `report` reads: the others feed `movements` and `series`."""
