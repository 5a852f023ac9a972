"""Finding the rows that cover a day without scanning the others: a relational interval tree.

Days are numbered (`date.toordinal`) and placed in a virtual binary tree whose nodes are
the numbers 1 .. 2^22 - 1. A row `[start, end)` is stored at its *fork node*: the first
node, walking down from the root, that lies within `[start, end - 1]`. The rows covering a
day `d` can only sit on the path from the root to `d`: at a node n > d they cover d iff
`start <= d`, at a node n < d iff `end > d`, and at n = d always. So a query reads a
couple of dozen short index ranges whose entries are (nearly) all hits, instead of every
row that started before `d` (Kriegel, Pötke, Seidl: "Managing intervals efficiently in
object-relational databases", VLDB 2000).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ROOT = 2**21  # the tree spans days 1 .. 2^22 - 1, beyond `date.max`


def fork_node(start: date, end: date) -> int:
    """The node a row holding on the days `[start, end)` is stored at."""
    low, high = start.toordinal(), end.toordinal() - 1
    node, step = ROOT, ROOT // 2
    while not low <= node <= high:
        node += step if low > node else -step
        step //= 2
    return node


@dataclass(frozen=True)
class Path:
    """The nodes from the root to `day`: where rows that cover `day` may be stored."""

    day: int
    right: tuple[int, ...]  # nodes after the day: a row there covers it iff start <= day
    left: tuple[int, ...]  # nodes before the day: a row there covers it iff end > day


def path_to(day: date) -> Path:
    target = day.toordinal()
    node, step = ROOT, ROOT // 2
    right: list[int] = []
    left: list[int] = []
    while node != target:
        (right if node > target else left).append(node)
        node += step if target > node else -step
        step //= 2
    return Path(target, tuple(right), tuple(left))
