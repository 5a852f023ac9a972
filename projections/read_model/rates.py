"""The live rates believed at a position, read from their rows (`rows.rate_rows`): a
converting query reads a few thousand rows instead of decoding as many rate events."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import Connection

from ledger.domain.rates import Rate, Rates
from projections.read_model.kinds import TABLES
from projections.read_model.sql import Raw

_BELIEVED = (
    "SELECT subscription_id, start, num, big, den FROM {t} "
    "WHERE recorded_from <= ? AND recorded_to > ?"
)
UNKNOWN_POSITION = 0
"""A rate read from the model does not say its position: no figure uses it."""


def believed(conn: Connection, position: int) -> Rates:
    raw = Raw(conn)
    found = []
    for key, start, num, big, den in raw.rows(_BELIEVED.format(t=TABLES["rate"]), (position,) * 2):
        currency, _, event_id = str(key).partition("|")
        value = Fraction(int(big) if big is not None else int(num), int(den))
        found.append(Rate(currency, raw.to_day(start), value, event_id, UNKNOWN_POSITION))
    return Rates.of(found)
