"""DataFrames of results, for notebooks: pandas is optional and imported only here.

Money and ratios become float64 columns of the printed (rounded) figures, so that a
DataFrame plots, pivots and sums like a spreadsheet; undefined figures (`null`) are NaN.
Dates become datetime64. For exact values use the result itself or its `.model()`.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LedgerError

if TYPE_CHECKING:
    from pydantic import BaseModel

INDEX_KEYS = ("as_of", "to")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise LedgerError("to_pandas() needs pandas: pip install 'arr-ledger[notebook]'") from None


def plain(value: Any) -> Any:
    """A cell for pandas: a decimal → float, None → NaN."""
    if value is None:
        return float("nan")
    return float(value) if isinstance(value, Decimal) else value


def printed(value: Any) -> Any:
    """A cell of printed figures: "1234.50" → 1234.5; words and dates stay as they are."""
    return float(value) if isinstance(value, str) and _NUMBER.match(value) else plain(value)


def frame(models: Sequence[BaseModel]) -> Any:
    """One row per model, columns named by the SPEC's JSON keys, indexed by date."""
    pd = pandas()
    dumped = [m.model_dump(by_alias=True) for m in models]
    table = pd.DataFrame.from_records([{k: plain(v) for k, v in d.items()} for d in dumped])
    for key, value in dumped[0].items() if dumped else ():
        if isinstance(value, date):
            table[key] = pd.to_datetime(table[key])
    index = next((k for k in INDEX_KEYS if k in table.columns), None)
    return table.set_index(index) if index else table


def listing(records: dict[str, dict[str, Any]]) -> Any:
    """One row per key, for figures that share their fields (before, after, change)."""
    cells = {key: {k: printed(v) for k, v in fields.items()} for key, fields in records.items()}
    return pandas().DataFrame.from_dict(cells, orient="index")
