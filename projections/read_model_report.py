"""`report` figures (SPEC §4, §7) as indexed SQL over the read model, exact to the cent.

A figure for `(as_of, position)` sums the rows that cover `as_of` in effective time and
were believed at `position`. Values are exact fractions stored as `num / den`; SQL sums
the numerators per denominator (few distinct ones) and Python adds those exactly.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, exists, func, or_, select

from projections.contract_value import AcvPolicy
from projections.read_model_nodes import path_to
from projections.read_model_tables import fee_spans, segments
from projections.report import Report, share


def covering(table: Table, as_of: date, position: int) -> ColumnElement[bool]:
    """Rows in force at the end of `as_of`, as believed at `position`: found by the path
    of `as_of` in the interval tree, so only (nearly) covering rows are read."""
    c, path = table.c, path_to(as_of)
    return and_(
        or_(
            and_(c.node.in_(path.right), c.start <= as_of),
            and_(c.node.in_(path.left), c.end > as_of),
            c.node == path.day,
        ),
        believed_at(table, position),
    )


def in_force(table: Table, as_of: date, position: int) -> ColumnElement[bool]:
    """The same rows, for a lookup that has already narrowed them down (by subscription)."""
    c = table.c
    return and_(c.start <= as_of, c.end > as_of, believed_at(table, position))


def believed_at(table: Table, position: int) -> ColumnElement[bool]:
    c = table.c
    return and_(c.recorded_to > position, c.recorded_from <= position)


def _exact_sum(conn: Connection, query: Any) -> Fraction:
    return sum((Fraction(int(num), int(den)) for den, num in conn.execute(query)), Fraction(0))


def figures_report(
    conn: Connection, as_of: date, position: int, currency: str, policy: AcvPolicy
) -> Report:
    seg, fee = segments.c, fee_spans.c
    live = covering(segments, as_of, position)
    # A subscription has at most one segment on a day (the fold's segments are disjoint).
    sums = conn.execute(
        select(seg.den, func.sum(seg.num), func.count()).where(live).group_by(seg.den)
    ).all()
    mrr = sum((Fraction(int(num), int(den)) for den, num, _ in sums), Fraction(0))
    contracts = sum(int(count) for _, _, count in sums)
    customers = conn.execute(select(func.count(func.distinct(seg.customer_id))).where(live))
    of_active = exists().where(
        seg.subscription_id == fee.subscription_id, in_force(segments, as_of, position)
    )
    fees = _exact_sum(
        conn,
        select(fee.den, func.sum(fee.num))
        .where(covering(fee_spans, as_of, position), of_active)
        .group_by(fee.den),
    )
    recurring, with_fees = mrr * 12, mrr * 12 + fees
    return Report(
        as_of=as_of,
        position=position,
        currency=currency,
        mrr=mrr,
        active_customers=int(customers.scalar_one()),
        active_contracts=int(contracts),
        acv=share(recurring if policy == "recurring" else with_fees, Fraction(contracts)),
        acv_policy=policy,
        acv_arr_ratio=share(with_fees, recurring),
    )
