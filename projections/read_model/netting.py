"""What SPEC §13 asks of the model's customers' MRR: movements netted by month, from the
netted movements' running totals (`read_model_flows`); and each customer's MRR pieces
read once, for cohorts (`figures.cohorts`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from fractions import Fraction
from functools import lru_cache
from itertools import groupby, pairwise

from sqlalchemy import Connection

from projections.figures.keys import MOVEMENT_KINDS
from projections.figures.netting import Piece, Sums, empty
from projections.read_model.flows import NETTED
from projections.read_model.kinds import KINDS, TABLES
from projections.read_model.report import measures
from projections.read_model.sql import Raw

_NETTED = tuple(k for k in KINDS if k.name in NETTED)
_PIECES = """
SELECT customer_id, start, "end", num, big, den FROM {t}
 WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? ORDER BY customer_id, start
"""


def netted(conn: Connection, bounds: Sequence[date], position: int) -> Sums:
    """The month-netted movements over each period between `bounds` (month ends) of the
    customers the model holds, as believed at `position`: the differences of the netted
    movements' running totals (`flows.NETTED`) at the bounds."""
    sums = empty(bounds)
    found = measures(conn, bounds, position, _NETTED)
    for period, (before, after) in zip(sums, pairwise(found), strict=True):
        for kind in MOVEMENT_KINDS:
            name = f"netted_{kind}"
            if name in after:
                period[kind].add(after[name] - before[name])
    return sums


def customer_pieces(conn: Connection, position: int, upto: date) -> Iterator[list[Piece]]:
    """Each customer's MRR pieces believed at `position` that begin by `upto`, in start
    order (one list per customer)."""
    raw = Raw(conn)
    rows = raw.rows(_PIECES.format(t=TABLES["pieces"]), (position, position, raw.day(upto)))
    for _, group in groupby(rows, key=lambda r: r[0]):
        yield [
            (raw.to_day(start), raw.to_day(end), _value(num, big, den))
            for _, start, end, num, big, den in group
        ]


def _value(num: int, big: str | None, den: int) -> Fraction:
    return _fraction(int(num), int(den)) if big is None else Fraction(int(big), int(den))


@lru_cache(maxsize=1 << 16)  # prices repeat: making a Fraction is the cost of reading
def _fraction(num: int, den: int) -> Fraction:
    return Fraction(num, den)
