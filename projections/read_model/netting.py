"""Each customer's MRR pieces (`read_model_flows`) read once, for what SPEC §13 asks of
them: movements netted by month (`figures.netting`) and cohorts (`figures.cohorts`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from fractions import Fraction
from functools import lru_cache
from itertools import groupby

from sqlalchemy import Connection

from projections.figures.netting import Piece, Sums, add_pieces, empty
from projections.read_model.kinds import TABLES
from projections.read_model.sql import Raw

_PIECES = """
SELECT customer_id, start, "end", num, big, den FROM {t}
 WHERE recorded_from <= ? AND recorded_to > ? AND start <= ? ORDER BY customer_id, start
"""


def netted(conn: Connection, bounds: Sequence[date], position: int) -> Sums:
    """The month-netted movements over each period between `bounds` (month ends) of the
    customers the model holds, as believed at `position`."""
    sums = empty(bounds)
    for pieces in customer_pieces(conn, position, bounds[-1]):
        add_pieces(sums, bounds, pieces)
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
