"""Movements netted by month from the read model (SPEC §13): each customer's MRR pieces
(`read_model_flows`), read once, evaluated at the month ends (`figures.netting`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fractions import Fraction
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
    raw, sums = Raw(conn), empty(bounds)
    rows = raw.rows(_PIECES.format(t=TABLES["pieces"]), (position, position, raw.day(bounds[-1])))
    for _, group in groupby(rows, key=lambda r: r[0]):
        pieces: list[Piece] = [
            (raw.to_day(start), raw.to_day(end), _value(num, big, den))
            for _, start, end, num, big, den in group
        ]
        add_pieces(sums, bounds, pieces)
    return sums


def _value(num: int, big: str | None, den: int) -> Fraction:
    return Fraction(int(big) if big is not None else int(num), int(den))
