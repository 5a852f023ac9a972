"""Building many small objects at once, as a query over every customer does."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector meanwhile. Making 100,000 lines of a
    report triggers collections of every live object, which cost a third of the time,
    and finds no cycle to free: the lines and their parts make none."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
